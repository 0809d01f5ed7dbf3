//! The web server's own limits, from outside, on real sockets and paused time: header timeout
//! (slow and silent clients, idle keep-alive), request timeout, connection caps in all and per
//! address, caps on status streams and overlays (503), the overlay's WebSocket message limit, and
//! the `Host` check of pages without an access key (DNS rebinding).
//!
//! Time is paused: while the server waits on a timer and every socket is quiet, the clock jumps
//! to the timer, so "closed at 10 s" is exact and costs no wall time.

use stream_control_test_support as support;

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context};
use stream_control::metrics::Refusal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

fn config(state: &tempfile::TempDir, web_extra: &str) -> String {
    format!(
        r#"(state_dir: "{}", web: (bind: "127.0.0.1:0", overlay: (banner: "6s"), {web_extra}))"#,
        state.path().display()
    )
}

async fn start(ctx: &Arc<Context>) -> (App, SocketAddr) {
    let (app, base) = support::start_web(ctx).await;
    let addr = base.trim_start_matches("http://").parse().unwrap();
    (app, addr)
}

/// A bot with every fake secret and `web_extra` in its `web` section, listening.
async fn start_with(web_extra: &str) -> (tempfile::TempDir, Arc<Context>, App, SocketAddr) {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, web_extra));
    let (app, addr) = start(&ctx).await;
    (state, ctx, app, addr)
}

/// A connection from `source` (another loopback address stands for another client).
async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Send one request on `stream` and read its answer's status line and headers (and a body of
/// `Content-Length`), or `None` when the server closes the connection without one.
async fn request(stream: &mut TcpStream, text: &str) -> Option<(u16, String)> {
    stream.write_all(text.as_bytes()).await.ok()?;
    read_answer(stream).await
}

async fn read_answer(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    while bytes.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    let status = head[9..12].parse().unwrap();
    Some((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Wait until the server closes `stream` (EOF or reset), ignoring whatever it sends first.
async fn closed(stream: &mut TcpStream) {
    let mut chunk = [0u8; 1024];
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            return;
        }
    }
}

/// Ask for `path` and read the status line's first 12 bytes (`HTTP/1.1 200`); the stream stays
/// open.
async fn open_stream(addr: SocketAddr, path: &str) -> (TcpStream, [u8; 12]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(get(path, "127.0.0.1").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    (stream, head)
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n")
}

fn status_key() -> String {
    support::secret("STATUS_KEY")
}

#[tokio::test(start_paused = true)]
async fn slow_and_silent_clients_are_closed_at_the_header_timeout_while_healthz_answers() {
    let (_state, _ctx, app, addr) = start_with(r#"limits: (header_timeout: "10s")"#).await;
    let started = Instant::now();
    // A slowloris: a header byte every 2 s, never the end of the headers.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
        slow
    });
    // A client that connects and says nothing.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    // Meanwhile a health check gets its answer at once.
    let mut health = TcpStream::connect(addr).await.unwrap();
    let (status, answer) = request(&mut health, &get("/healthz", "127.0.0.1"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(started.elapsed(), Duration::ZERO);

    closed(&mut silent).await;
    assert_eq!(started.elapsed(), Duration::from_secs(10), "silent");
    let mut slow = trickle.await.unwrap();
    closed(&mut slow).await;
    assert!(
        started.elapsed() <= Duration::from_secs(12),
        "the slowloris is cut at 10 s however it trickles: {:?}",
        started.elapsed()
    );
    // The idle keep-alive connection of the health check ends by the same timer.
    closed(&mut health).await;
    assert!(started.elapsed() <= Duration::from_secs(12));
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn a_body_that_never_arrives_gets_408_at_the_request_timeout() {
    let (_state, ctx, app, addr) = start_with(r#"limits: (request_timeout: "15s")"#).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let head = format!(
        "POST /api/alert HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Alert-Token: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"type\"",
        support::secret("ALERT_TOKEN")
    );
    let (status, _) = request(&mut stream, &head).await.unwrap();
    assert_eq!(status, 408);
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    assert_eq!(ctx.metrics.refused(Refusal::Timeout), 1);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn connections_over_the_caps_are_closed_before_a_byte_is_read() {
    let (_state, ctx, app, addr) = start_with(
        r#"limits: (max_connections: 5, max_connections_per_ip: 3, header_timeout: "1h")"#,
    )
    .await;
    let healthz = get("/healthz", "127.0.0.1");
    let mut open = Vec::new();
    // Three from one client, the fourth closed; then another client gets in, up to the cap in
    // all.
    for (source, admitted) in [("127.0.0.1", 3), ("127.0.0.2", 2)] {
        for _ in 0..admitted {
            let mut stream = connect_from(source, addr).await;
            assert_eq!(request(&mut stream, &healthz).await.unwrap().0, 200);
            open.push(stream);
        }
        if source == "127.0.0.1" {
            let mut fourth = connect_from(source, addr).await;
            assert_eq!(request(&mut fourth, &healthz).await, None, "per address");
        }
    }
    let mut sixth = connect_from("127.0.0.3", addr).await;
    assert_eq!(request(&mut sixth, &healthz).await, None, "in all");
    assert_eq!(ctx.metrics.refused(Refusal::TooManyConnections), 2);
    // A closed connection gives its place back.
    drop(open.remove(0));
    let mut again = loop {
        let mut stream = connect_from("127.0.0.1", addr).await;
        if let Some((status, _)) = request(&mut stream, &healthz).await {
            assert_eq!(status, 200);
            break stream;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let metrics = get(&format!("/metrics?key={}", status_key()), "127.0.0.1");
    let (_, text) = request(&mut again, &metrics).await.unwrap();
    assert!(
        text.contains("stream_control_http_connections 5\n"),
        "{text}"
    );
    assert!(
        text.contains("stream_control_http_refused_total{reason=\"too_many_connections\"} 2\n"),
        "{text}"
    );
    drop(open);
    drop(again);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn a_live_status_stream_outlives_the_idle_timeout() {
    let (_state, _ctx, app, addr) = start_with(r#"limits: (idle_timeout: "30s")"#).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let path = format!("/api/status/stream?key={}", status_key());
    stream
        .write_all(get(&path, "127.0.0.1").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let mut chunk = [0u8; 4096];
    let mut received = String::new();
    // Ten minutes of a quiet stream: its keep-alive comment every 15 s is traffic.
    while started.elapsed() < Duration::from_secs(600) {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed after {:?}", started.elapsed());
        received.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.matches("\n:\n").count() >= 39, "{received}");
    drop(stream);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn status_streams_and_overlays_beyond_their_caps_get_503_until_a_place_is_free() {
    let (_state, ctx, app, addr) =
        start_with("limits: (max_status_streams: 2, max_overlays: 1)").await;
    let path = format!("/api/status/stream?key={}", status_key());
    let mut streams = Vec::new();
    for _ in 0..2 {
        let (stream, head) = open_stream(addr, &path).await;
        assert_eq!(&head, b"HTTP/1.1 200");
        streams.push(stream);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    let (status, answer) = request(&mut third, &get(&path, "127.0.0.1")).await.unwrap();
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer.to_lowercase().contains("retry-after: 30"),
        "{answer}"
    );
    // A page that goes away frees its place (noticed at the latest by the next keep-alive).
    drop(streams.remove(0));
    let served = 'retry: {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if &open_stream(addr, &path).await.1 == b"HTTP/1.1 200" {
                break 'retry true;
            }
        }
        false
    };
    assert!(served, "the place came back within 40 s");

    let overlay = format!(
        "ws://{addr}/ws/overlay?key={}",
        support::secret("OVERLAY_KEY")
    );
    let (_first, _) = tokio_tungstenite::connect_async(&overlay).await.unwrap();
    match tokio_tungstenite::connect_async(&overlay).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("a second overlay: {other:?}"),
    }
    assert_eq!(ctx.metrics.refused(Refusal::Busy), 2);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn an_overlay_message_over_4_kib_ends_the_socket() {
    let (_state, _ctx, app, addr) = start_with("").await;
    let overlay = format!(
        "ws://{addr}/ws/overlay?key={}",
        support::secret("OVERLAY_KEY")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(&overlay).await.unwrap();
    let hello = socket.next().await.unwrap().unwrap();
    assert!(hello.is_text());
    // A small frame is ignored, and the socket lives on: the next frame is the server's ping.
    socket.send(Message::text("x".repeat(1024))).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Ping(_))) => {}
        other => panic!("after a 1 KiB message: {other:?}"),
    }
    socket.send(Message::text("x".repeat(5000))).await.unwrap();
    loop {
        match socket.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Ping(_))) => panic!("the socket lived on after 5,000 bytes"),
            Some(Ok(_)) => {}
        }
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(start_paused = true)]
async fn a_page_without_an_access_key_answers_only_its_own_host_names() {
    let state = tempfile::tempdir().unwrap();
    let ctx =
        support::context_with_secrets(&config(&state, r#"hosts: ["stream.example.com"]"#), &[]);
    let (app, addr) = start(&ctx).await;
    for (host, expected) in [
        (format!("{addr}"), 200),
        ("localhost:8080".to_string(), 200),
        ("stream.example.com".to_string(), 200),
        // A DNS-rebinding page: its own name now points at the bot.
        ("attacker.example:8080".to_string(), 421),
        ("stream.example.com.attacker.example".to_string(), 421),
    ] {
        for path in ["/api/status", "/overlay"] {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let (status, answer) = request(&mut stream, &get(path, &host)).await.unwrap();
            assert_eq!(status, expected, "{path} for {host}: {answer}");
        }
    }
    // Open routes carry nothing to steal.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, _) = request(&mut stream, &get("/healthz", "attacker.example"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(ctx.metrics.refused(Refusal::UnknownHost), 4);
    assert!(app.shutdown(Duration::from_secs(5)).await);

    // With a key, the key is the check: a reverse proxy may pass any name.
    let (_state, _ctx, app, addr) = start_with("").await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let path = format!("/api/status?key={}", status_key());
    let (status, _) = request(&mut stream, &get(&path, "attacker.example"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
