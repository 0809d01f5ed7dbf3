//! The stats fetchers against a fake HTTP server on 127.0.0.1: good bodies, HTML with status
//! 200, garbage, a streamed body over the size cap, 503, 404, a server slower than the timeout,
//! a closed port, and the two-request types (MediaMTX's SRT round-trip time, Nimble).

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::{Duration, Instant};
use stream_control::guard::stats::{
    MAX_BODY_BYTES, Reading, ServerKind, StatsError, belabox, client, mediamtx, nginx, nimble,
    node_media_server, openirl, sls, srs,
};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/",
            $name
        ))
        .as_slice()
    };
}

/// The timeout for requests that should succeed.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The timeout for requests to routes that answer late.
const SHORT: Duration = Duration::from_millis(300);
/// How late the slow routes answer.
const LATE: Duration = Duration::from_secs(5);

const SRT_ID: &str = "a3b5e2c0-7d1f-4b7e-9c2a-5f0e8d1c6b42";

fn json(status: StatusCode, body: &'static [u8]) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok_json(
    body: &'static [u8],
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move || std::future::ready(json(StatusCode::OK, body))
}

/// An SRT path whose connection id is `id`.
fn srt_path(id: &'static str) -> Response {
    let body = format!(
        r#"{{"name":"irl","ready":true,"online":true,"source":{{"type":"srtConn","id":"{id}"}},"bytesReceived":1000,"inboundBytes":1000}}"#
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(LATE).await;
    json(StatusCode::OK, fixture!("sls_publishers.json"))
}

fn router() -> Router {
    Router::new()
        // Generic answers, used with every type.
        .route(
            "/html",
            get(|| async {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    fixture!("html_error_page.html"),
                )
            }),
        )
        .route(
            "/garbage",
            get(|| async { (StatusCode::OK, b"\x00\x01\xfe\xff garbage \x9f".as_slice()) }),
        )
        .route(
            "/big",
            get(|| async {
                // Streamed (chunked, no length): 40 × 64 KiB = 2.5 MiB.
                let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/unavailable",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "404 page not found") }),
        )
        .route("/slow", get(slow))
        // nginx-rtmp.
        .route(
            "/stat",
            get(|| async {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/xml")],
                    fixture!("nginx_stat_sample.xml"),
                )
            }),
        )
        // SLS, BELABOX, OpenIRL.
        .route("/sls/stats", get(ok_json(fixture!("sls_publishers.json"))))
        .route(
            "/belabox/abc",
            get(ok_json(fixture!("belabox_publishers.json"))),
        )
        .route(
            "/stats/play_abc",
            get(ok_json(fixture!("openirl_bonded.json"))),
        )
        .route(
            "/stats/play_off",
            get(ok_json(fixture!("openirl_not_streaming.json"))),
        )
        // MediaMTX.
        .route(
            "/v3/paths/get/irl",
            get(ok_json(fixture!("mediamtx_path_srt.json"))),
        )
        .route(
            &format!("/v3/srtconns/get/{SRT_ID}"),
            get(ok_json(fixture!("mediamtx_srtconn.json"))),
        )
        .route(
            "/v3/paths/get/live",
            get(ok_json(fixture!("mediamtx_path_rtmp.json"))),
        )
        .route(
            "/v3/paths/get/offline",
            get(ok_json(fixture!("mediamtx_path_offline.json"))),
        )
        .route("/v3/paths/get/broken", get(|| async { srt_path("gone") }))
        .route(
            "/v3/srtconns/get/gone",
            get(|| async {
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    br#"{"error":"terminated"}"#,
                )
            }),
        )
        .route("/v3/paths/get/slowrtt", get(|| async { srt_path("slow") }))
        .route("/v3/srtconns/get/slow", get(slow))
        .route("/v3/paths/get/htmlrtt", get(|| async { srt_path("html") }))
        .route(
            "/v3/srtconns/get/html",
            get(|| async { (StatusCode::OK, fixture!("html_error_page.html")) }),
        )
        .route(
            "/v3/paths/get/missing",
            get(|| async { json(StatusCode::NOT_FOUND, fixture!("mediamtx_not_found.json")) }),
        )
        .route(
            "/v3/paths/get/old",
            get(|| async { json(StatusCode::BAD_REQUEST, br#"{"error":"path not found"}"#) }),
        )
        .route(
            "/v3/paths/get/fail",
            get(|| async {
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    br#"{"error":"internal"}"#,
                )
            }),
        )
        // Nimble: both pages; only rtmp_status; rtmp_status failing; rtmp_status slow.
        .route(
            "/nimble/manage/rtmp_status",
            get(ok_json(fixture!("nimble_rtmp_status.json"))),
        )
        .route(
            "/nimble/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        .route(
            "/nimble-rtmp-only/manage/rtmp_status",
            get(ok_json(fixture!("nimble_rtmp_status.json"))),
        )
        .route(
            "/nimble-down/manage/rtmp_status",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/nimble-down/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        .route("/nimble-slow/manage/rtmp_status", get(slow))
        .route(
            "/nimble-slow/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        // Node-Media-Server and SRS.
        .route(
            "/api/streams/live/irl",
            get(ok_json(fixture!("nms_stream_live.json"))),
        )
        .route(
            "/api/streams/live/off",
            get(ok_json(fixture!("nms_stream_offline.json"))),
        )
        .route(
            "/api/v1/streams/",
            get(ok_json(fixture!("srs_streams.json"))),
        )
}

/// Starts the fake server on 127.0.0.1 and returns its base URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router()).await.expect("fake server");
    });
    format!("http://{address}")
}

/// A base URL where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{address}")
}

fn rate(kbps: u32, rtt: Option<u32>) -> Reading {
    Reading::Rate {
        bitrate: commands::Kbps(kbps),
        rtt: rtt.map(commands::Millis),
    }
}

fn counter(bytes: u64, fallback: Option<u32>, rtt: Option<u32>) -> Reading {
    Reading::Counter {
        bytes,
        fallback: fallback.map(commands::Kbps),
        rtt: rtt.map(commands::Millis),
    }
}

#[track_caller]
fn assert_parse(result: Result<Reading, StatsError>, kind: ServerKind, piece: &str) {
    match result {
        Err(StatsError::Parse { kind: got, reason }) => {
            assert_eq!(got, kind, "{reason}");
            assert!(
                reason.contains(piece),
                "{reason:?} does not mention {piece:?}"
            );
        }
        other => panic!("expected a {kind} parse error mentioning {piece:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_http(result: Result<Reading, StatsError>, url: &str, status: u16) {
    assert_eq!(
        result,
        Err(StatsError::Http {
            url: url.into(),
            status
        })
    );
}

#[track_caller]
fn assert_too_large(result: Result<Reading, StatsError>, url: &str) {
    assert_eq!(
        result,
        Err(StatsError::TooLarge {
            url: url.into(),
            limit: MAX_BODY_BYTES
        })
    );
}

#[track_caller]
fn assert_timeout(result: Result<Reading, StatsError>, url: &str) {
    assert_eq!(
        result,
        Err(StatsError::Timeout {
            url: url.into(),
            timeout_ms: 300
        })
    );
}

#[track_caller]
fn assert_unreachable(result: Result<Reading, StatsError>, url: &str) {
    match result {
        Err(StatsError::Unreachable { url: got, reason }) => {
            assert_eq!(got, url.into());
            assert!(!reason.trim().is_empty(), "no reason given");
        }
        other => panic!("expected Unreachable for {url}, got {other:?}"),
    }
}

#[tokio::test]
async fn nginx_stat_pages_and_failures() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let fetch = |path: &str, application: &'static str, stream: &'static str, timeout| {
        let url = format!("{base}{path}");
        let http = http.clone();
        async move { nginx::fetch(&http, &url, application, stream, timeout).await }
    };
    let url = |path: &str| format!("{base}{path}");

    assert_eq!(
        fetch("/stat", "publish", "test", TIMEOUT).await,
        Ok(counter(3_837_829, Some(2578), None))
    );
    assert_eq!(
        fetch("/stat", "restream", "ep1", TIMEOUT).await,
        Ok(counter(3_241_164, Some(2233), None))
    );
    assert_eq!(
        fetch("/stat", "publish", "nope", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/stat", "live", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "no application `live` (found: publish, restream)",
    );
    assert_parse(
        fetch("/html", "publish", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "got HTML",
    );
    assert_parse(
        fetch("/garbage", "publish", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "not UTF-8",
    );
    assert_too_large(
        fetch("/big", "publish", "test", TIMEOUT).await,
        &url("/big"),
    );
    assert_http(
        fetch("/unavailable", "publish", "test", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_http(
        fetch("/missing", "publish", "test", TIMEOUT).await,
        &url("/missing"),
        404,
    );
    assert_timeout(
        fetch("/slow", "publish", "test", SHORT).await,
        &url("/slow"),
    );
}

#[tokio::test]
async fn sls_stats_and_failures() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");
    let fetch = |path: &str, publisher: Option<&'static str>, timeout| {
        let url = url(path);
        let http = http.clone();
        async move { sls::fetch(&http, &url, publisher, timeout).await }
    };

    assert_eq!(
        fetch("/sls/stats", Some("publish/live/feed1"), TIMEOUT).await,
        Ok(rate(3990, Some(51)))
    );
    assert_eq!(
        fetch("/sls/stats", None, TIMEOUT).await,
        Ok(rate(3990, Some(51)))
    );
    assert_eq!(
        fetch("/sls/stats", Some("publish/live/absent"), TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/html", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "expected JSON, got HTML",
    );
    assert_parse(
        fetch("/stat", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "set the type to NginxRtmp",
    );
    assert_parse(
        fetch("/garbage", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "invalid JSON",
    );
    assert_too_large(fetch("/big", None, TIMEOUT).await, &url("/big"));
    assert_http(
        fetch("/unavailable", None, TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_http(
        fetch("/missing", None, TIMEOUT).await,
        &url("/missing"),
        404,
    );
    assert_timeout(fetch("/slow", None, SHORT).await, &url("/slow"));
}

#[tokio::test]
async fn mediamtx_paths_and_srt_round_trip_times() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");
    let fetch = |path: &str, timeout| {
        let url = url(path);
        let http = http.clone();
        async move { mediamtx::fetch(&http, &url, timeout).await }
    };

    // SRT publisher: the second request adds msRTT 23.441 → 23 ms.
    assert_eq!(
        fetch("/v3/paths/get/irl", TIMEOUT).await,
        Ok(counter(52_811_264, None, Some(23)))
    );
    // RTMP publisher: one request, no RTT.
    assert_eq!(
        fetch("/v3/paths/get/live", TIMEOUT).await,
        Ok(counter(184_305_719, None, None))
    );
    // A failing second request drops only the RTT: 500, HTML, and too slow.
    assert_eq!(
        fetch("/v3/paths/get/broken", TIMEOUT).await,
        Ok(counter(1000, None, None))
    );
    assert_eq!(
        fetch("/v3/paths/get/htmlrtt", TIMEOUT).await,
        Ok(counter(1000, None, None))
    );
    let started = Instant::now();
    assert_eq!(
        fetch("/v3/paths/get/slowrtt", SHORT).await,
        Ok(counter(1000, None, None))
    );
    assert!(started.elapsed() < LATE, "the RTT request was not cut off");
    // No publisher: 404, old-style 400 "path not found", or an offline path.
    assert_eq!(
        fetch("/v3/paths/get/missing", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/v3/paths/get/old", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/v3/paths/get/offline", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(fetch("/missing", TIMEOUT).await, Ok(Reading::NoPublisher));
    // Real failures.
    assert_http(
        fetch("/v3/paths/get/fail", TIMEOUT).await,
        &url("/v3/paths/get/fail"),
        500,
    );
    assert_http(
        fetch("/unavailable", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_parse(
        fetch("/html", TIMEOUT).await,
        ServerKind::Mediamtx,
        "expected JSON, got HTML",
    );
    assert_parse(
        fetch("/garbage", TIMEOUT).await,
        ServerKind::Mediamtx,
        "invalid JSON",
    );
    assert_too_large(fetch("/big", TIMEOUT).await, &url("/big"));
    assert_timeout(fetch("/slow", SHORT).await, &url("/slow"));
}

#[tokio::test]
async fn nimble_needs_both_pages() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let fetch = |prefix: &str, id: &'static str, stream: &'static str, timeout| {
        let url = format!("{base}{prefix}");
        let http = http.clone();
        async move { nimble::fetch(&http, &url, id, "live", stream, timeout).await }
    };

    assert_eq!(
        fetch("/nimble", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, Some(43)))
    );
    assert_eq!(
        fetch("/nimble/", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, Some(43)))
    );
    assert_eq!(
        fetch("/nimble", "0.0.0.0:4001", "irl", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/nimble", "0.0.0.0:4000", "other", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/nimble", "0.0.0.0:4000", "broken", TIMEOUT).await,
        ServerKind::Nimble,
        "`bandwidth` the text \"n/a\"",
    );
    assert_parse(
        fetch("/nimble", "0.0.0.0:9", "irl", TIMEOUT).await,
        ServerKind::Nimble,
        "no SRT receiver `0.0.0.0:9`",
    );
    // srt_receiver_stats answers 404 here: the reading stands, without RTT.
    assert_eq!(
        fetch("/nimble-rtmp-only", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, None))
    );
    assert_http(
        fetch("/nimble-down", "0.0.0.0:4000", "irl", TIMEOUT).await,
        &format!("{base}/nimble-down/manage/rtmp_status"),
        503,
    );
    assert_timeout(
        fetch("/nimble-slow", "0.0.0.0:4000", "irl", SHORT).await,
        &format!("{base}/nimble-slow/manage/rtmp_status"),
    );
}

#[tokio::test]
async fn the_other_types_fetch_too() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");

    assert_eq!(
        belabox::fetch(&http, &url("/belabox/abc"), Some("live/belabox"), TIMEOUT).await,
        Ok(rate(4321, Some(36)))
    );
    assert_eq!(
        openirl::fetch(&http, &url("/stats/play_abc"), TIMEOUT).await,
        Ok(rate(763, Some(44)))
    );
    assert_eq!(
        openirl::fetch(&http, &url("/stats/play_off"), TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    let nms = url("/api/streams");
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "irl", TIMEOUT).await,
        Ok(rate(5873, None))
    );
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "off", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "nobody", TIMEOUT).await,
        Ok(Reading::NoPublisher),
        "NMS answers 404 for unknown routes"
    );
    assert_eq!(
        srs::fetch(
            &http,
            &url("/api/v1/streams/"),
            "live",
            "livestream",
            TIMEOUT
        )
        .await,
        Ok(counter(92_811_264, Some(6012), None))
    );
    assert_http(
        srs::fetch(&http, &url("/unavailable"), "live", "s", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_parse(
        openirl::fetch(&http, &url("/html"), TIMEOUT).await,
        ServerKind::OpenIrl,
        "expected JSON, got HTML",
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable_with_a_reason() {
    let base = closed_port().await;
    let http = client(&stream_control::tls::Tls::system());
    let stat = format!("{base}/stat");
    assert_unreachable(
        nginx::fetch(&http, &stat, "publish", "test", TIMEOUT).await,
        &stat,
    );
    let stats = format!("{base}/stats");
    assert_unreachable(sls::fetch(&http, &stats, None, TIMEOUT).await, &stats);
    let path = format!("{base}/v3/paths/get/live");
    assert_unreachable(mediamtx::fetch(&http, &path, TIMEOUT).await, &path);
    assert_unreachable(
        nimble::fetch(&http, &base, "0.0.0.0:4000", "live", "irl", TIMEOUT).await,
        &format!("{base}/manage/rtmp_status"),
    );
}

/// How the raw server below treats a connection.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Manner {
    /// Answers every request and keeps the connection open.
    KeepAlive,
    /// Answers with `Connection: close`, then closes.
    CloseHeader,
    /// Answers without a word about closing, then closes (a server without keep-alive, or one
    /// whose idle timeout struck).
    CloseSilently,
    /// Answers the first request of a connection; reads the second, then closes without an
    /// answer (the idle timeout striking as the request went out).
    DropSecondRequest,
    /// Reads every request and closes without an answer.
    DropEveryRequest,
    /// Sends the head and part of the body, then nothing: waits for the client to close.
    StallBody,
}

const SLS_BODY: &str =
    r#"{"publishers":{"publish/live/feed1":{"bitrate":3990,"rtt":50.5}},"status":"ok"}"#;

/// A hand-written HTTP/1.1 server: it counts the connections it accepts and those the client
/// closed, and keeps every request head it read.
struct RawServer {
    address: std::net::SocketAddr,
    accepted: tokio::sync::watch::Receiver<usize>,
    closed_by_client: tokio::sync::watch::Receiver<usize>,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RawServer {
    async fn start(manner: Manner) -> RawServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (accepted_tx, accepted) = tokio::sync::watch::channel(0usize);
        let (closed_tx, closed_by_client) = tokio::sync::watch::channel(0usize);
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = heads.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                accepted_tx.send_modify(|n| *n += 1);
                let (heads, closed_tx) = (kept.clone(), closed_tx.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut requests = 0;
                    loop {
                        // One request head (a GET has no body).
                        let end = loop {
                            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                                break end + 4;
                            }
                            let mut chunk = [0u8; 1024];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => {
                                    closed_tx.send_modify(|n| *n += 1);
                                    return;
                                }
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head: Vec<u8> = buffer.drain(..end).collect();
                        heads
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&head).to_lowercase());
                        requests += 1;
                        let answer = |close: bool| {
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n{SLS_BODY}",
                                SLS_BODY.len(),
                                if close { "connection: close\r\n" } else { "" },
                            )
                        };
                        match manner {
                            Manner::KeepAlive => {
                                socket.write_all(answer(false).as_bytes()).await.unwrap();
                            }
                            Manner::CloseHeader | Manner::CloseSilently => {
                                let close = manner == Manner::CloseHeader;
                                socket.write_all(answer(close).as_bytes()).await.unwrap();
                                let _ = socket.shutdown().await;
                                return;
                            }
                            Manner::DropSecondRequest if requests == 1 => {
                                socket.write_all(answer(false).as_bytes()).await.unwrap();
                            }
                            Manner::DropSecondRequest | Manner::DropEveryRequest => return,
                            Manner::StallBody => {
                                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"publishers\":";
                                socket.write_all(head.as_bytes()).await.unwrap();
                                // Until the client gives up and closes.
                                let mut rest = [0u8; 64];
                                while !matches!(socket.read(&mut rest).await, Ok(0) | Err(_)) {}
                                closed_tx.send_modify(|n| *n += 1);
                                return;
                            }
                        }
                    }
                });
            }
        });
        RawServer {
            address,
            accepted,
            closed_by_client,
            heads,
        }
    }

    fn accepted(&self) -> usize {
        *self.accepted.borrow()
    }
}

/// A stats address asked every poll is asked over one kept-alive connection, with the
/// prepared headers (credentials in the URL as Basic authentication).
#[tokio::test]
async fn one_connection_carries_every_poll_with_the_urls_credentials() {
    let server = RawServer::start(Manner::KeepAlive).await;
    let http = client(&stream_control::tls::Tls::system());
    let url = format!("http://user:p%40ss@{}/stats", server.address);
    for _ in 0..5 {
        assert_eq!(
            sls::fetch(&http, &url, Some("publish/live/feed1"), TIMEOUT).await,
            Ok(rate(3990, Some(51)))
        );
    }
    assert_eq!(server.accepted(), 1, "one connection for five polls");
    let heads = server.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 5);
    let host = format!("host: {}\r\n", server.address);
    for head in &heads {
        assert!(head.starts_with("get /stats http/1.1\r\n"), "{head}");
        assert!(head.contains(&host), "{head}");
        // base64("user:p@ss")
        assert!(
            head.contains("authorization: basic dxnlcjpwqhnz\r\n"),
            "{head}"
        );
        assert!(head.contains("user-agent: stream-control/"), "{head}");
    }
    // The credentials never reach what a person is shown.
    let closed = format!("http://user:secret@{}/stats", {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    });
    match sls::fetch(&http, &closed, None, TIMEOUT).await {
        Err(error) => assert!(!error.to_string().contains("secret"), "{error}"),
        other => panic!("a closed port answered: {other:?}"),
    }
}

/// A server that closes connections (with or without saying so, or just as the next request
/// went out) is asked on a new one: every poll gets its answer, none is lost to a stale
/// connection; a request that got no answer on a new connection is not sent again.
#[tokio::test]
async fn closed_connections_are_replaced_and_a_lost_request_is_sent_once_more() {
    let http = client(&stream_control::tls::Tls::system());
    for manner in [
        Manner::CloseHeader,
        Manner::CloseSilently,
        Manner::DropSecondRequest,
    ] {
        let server = RawServer::start(manner).await;
        let url = format!("http://{}/stats", server.address);
        for poll in 0..5 {
            assert_eq!(
                sls::fetch(&http, &url, None, TIMEOUT).await,
                Ok(rate(3990, Some(51))),
                "{manner:?}, poll {poll}"
            );
        }
        assert_eq!(server.accepted(), 5, "{manner:?}");
        let asked = server.heads.lock().unwrap().len();
        let expected = if manner == Manner::DropSecondRequest {
            9
        } else {
            5
        };
        assert_eq!(asked, expected, "{manner:?}: requests the server read");
    }

    let server = RawServer::start(Manner::DropEveryRequest).await;
    let url = format!("http://{}/stats", server.address);
    assert_unreachable(sls::fetch(&http, &url, None, TIMEOUT).await, &url);
    assert_eq!(server.accepted(), 1, "sent once on a new connection");
    assert_eq!(server.heads.lock().unwrap().len(), 1);
}

/// An answer that stalls past the timeout closes its connection (no task left waiting on it),
/// and the next poll opens a new one.
#[tokio::test]
async fn a_stalled_answer_closes_its_connection() {
    let server = RawServer::start(Manner::StallBody).await;
    let http = client(&stream_control::tls::Tls::system());
    let url = format!("http://{}/stats", server.address);
    assert_timeout(sls::fetch(&http, &url, None, SHORT).await, &url);
    let mut closed = server.closed_by_client.clone();
    closed.wait_for(|n| *n == 1).await.unwrap();
    assert_timeout(sls::fetch(&http, &url, None, SHORT).await, &url);
    assert_eq!(server.accepted(), 2);
    closed.wait_for(|n| *n == 2).await.unwrap();
}
