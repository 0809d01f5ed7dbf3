//! The overlay's alert stream from outside: 1,000 WebSocket clients all get one alert; a client
//! that stops reading is dropped without holding up the others; guard and raid events, the
//! alert API and `alert test` all reach the overlays, localised; dry runs do not.

use stream_control_test_support as support;

use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use stream_control::alerts::OverlayAlert;
use stream_control::app::Context;
use stream_control::dispatch::{Invocation, Invoker, Progress, dispatch};
use stream_control::status::{Event, GuardTransition, RaidOutcome};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(20);

fn config(state: &tempfile::TempDir, overlay: &str) -> String {
    format!(
        r#"(state_dir: "{}", locale: "nb-NO",
            web: (bind: "127.0.0.1:0", rate_limit: (per_second: 100000, burst: 100000), limits: (max_overlays: 2000, max_connections_per_ip: 4000), overlay: ({overlay})))"#,
        state.path().display()
    )
}

/// Raise the open-file limit to what 1,000 sockets on both ends need (the soft limit is often
/// 1,024).
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(16_384);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    assert!(
        limit.rlim_cur >= 4_096,
        "this test needs 4,096 open files; the hard limit is {}",
        limit.rlim_max
    );
}

async fn connect(base: &str) -> Socket {
    let url = format!("{}/ws/overlay", base.replace("http://", "ws://"));
    let (socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    socket
}

/// The next JSON text frame.
async fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn wait_for_clients(ctx: &Arc<Context>, n: usize) {
    let alerts = ctx.alerts.clone().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while alerts.clients() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} clients, expected {n}",
            alerts.clients()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_reaches_a_thousand_overlays() {
    raise_fd_limit();
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &["ALERT_TOKEN"]);
    let (app, base) = support::start_web(&ctx).await;
    let mut clients = Vec::new();
    for chunk in 0..10 {
        let connects = (0..100).map(|_| connect(&base));
        for mut socket in futures_util::future::join_all(connects).await {
            let hello = next_json(&mut socket).await;
            assert_eq!(hello["event"], "hello", "chunk {chunk}");
            clients.push(socket);
        }
    }
    wait_for_clients(&ctx, 1000).await;
    let response = support::http()
        .post(format!("{base}/api/alert"))
        .header("x-alert-token", support::secret("ALERT_TOKEN"))
        .json(&serde_json::json!({"type": "low", "message": "LOW BITRATE!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let receivers = clients.into_iter().map(|mut socket| async move {
        let frame = next_json(&mut socket).await;
        (frame, socket)
    });
    let frames = futures_util::future::join_all(receivers).await;
    assert_eq!(frames.len(), 1000);
    for (frame, _) in &frames {
        assert_eq!(frame["event"], "alert");
        assert_eq!(frame["data"]["id"], id);
        assert_eq!(frame["data"]["type"], "low");
        assert_eq!(frame["data"]["message"], "LOW BITRATE!");
        assert_eq!(frame["data"]["speak"], true);
    }
    drop(frames);
    wait_for_clients(&ctx, 0).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &[]);
    let (app, base) = support::start_web(&ctx).await;
    let alerts = ctx.alerts.clone().unwrap();
    // Reads its hello, then never again: its socket buffers fill up.
    let mut stuck = connect(&base).await;
    next_json(&mut stuck).await;
    let mut reader = connect(&base).await;
    next_json(&mut reader).await;
    wait_for_clients(&ctx, 2).await;
    let text = "x".repeat(32 * 1024);
    let mut sent = 0;
    let started = tokio::time::Instant::now();
    // In lock step with the reader, so only the stuck client can fall behind. It is dropped
    // once a send to it has waited 5 s (or it is 64 alerts behind).
    while alerts.clients() == 2 {
        assert!(
            started.elapsed() < WAIT,
            "the stuck client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        let id = alerts.publish(&OverlayAlert {
            kind: commands::AlertKind::Custom,
            message: format!("{sent} {text}"),
        });
        let frame = next_json(&mut reader).await;
        assert_eq!(frame["data"]["id"], id);
        sent += 1;
    }
    wait_for_clients(&ctx, 1).await;
    // The reader still gets alerts.
    let id = alerts.publish(&OverlayAlert {
        kind: commands::AlertKind::Low,
        message: "still here".into(),
    });
    assert_eq!(next_json(&mut reader).await["data"]["id"], id);
    drop(stuck);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

fn transition(dry_run: bool) -> GuardTransition {
    GuardTransition {
        from: "live",
        to: "low",
        cause: "low_bitrate",
        error: None,
        bitrate_kbps: Some(300),
        rtt_ms: None,
        server: Some("nginx".into()),
        dry_run,
    }
}

#[tokio::test]
async fn guard_and_raid_events_and_alert_test_reach_the_overlay_localised() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(
        &config(
            &state,
            r#"speak: (low: false), language: "nb-NO", rate: 1.2"#,
        ),
        &[],
    );
    let (app, base) = support::start_web(&ctx).await;
    let mut socket = connect(&base).await;
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["data"]["speech"]["language"], "nb-NO");
    assert!((hello["data"]["speech"]["rate"].as_f64().unwrap() - 1.2).abs() < 1e-6);
    assert_eq!(hello["data"]["banner_ms"], 6000);
    wait_for_clients(&ctx, 1).await;

    // A rehearsal plays nothing; the real drop does, in the configured locale.
    ctx.events
        .send(Event::BitrateLow(transition(true)))
        .unwrap();
    ctx.events
        .send(Event::BitrateLow(transition(false)))
        .unwrap();
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["data"]["type"], "low");
    assert_eq!(frame["data"]["message"], "LAV BITRATE!");
    assert_eq!(frame["data"]["speak"], false, "speech off for low");
    ctx.events
        .send(Event::RaidHandled {
            channel: "venn".into(),
            outcome: RaidOutcome::Stopped,
            message: None,
        })
        .unwrap();
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["data"]["type"], "raid");
    assert_eq!(frame["data"]["message"], "RAIDER venn!");
    assert_eq!(frame["data"]["speak"], true);

    let invocation = |line: &str| Invocation {
        command: commands::parse(line, "!").unwrap().unwrap(),
        invoker: Invoker::console(),
        locale: "en-US".into(),
        reply_to: None,
        progress: Progress::none(),
    };
    let reply = dispatch(&ctx, invocation("!alert test restored")).await;
    assert_eq!(
        ctx.render("en-US", &reply),
        "Test alert “restored” sent to one overlay."
    );
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["data"]["type"], "restored");
    assert_eq!(frame["data"]["message"], "FORBINDELSEN ER TILBAKE!");
    let reply = dispatch(&ctx, invocation("!alert test custom")).await;
    assert_eq!(next_json(&mut socket).await["data"]["type"], "custom");
    assert!(
        ctx.render("nb-NO", &reply)
            .contains("sendt til ett overlegg")
    );
    drop(socket);
    wait_for_clients(&ctx, 0).await;
    let reply = dispatch(&ctx, invocation("!alert test low")).await;
    assert_eq!(
        ctx.render("en-US", &reply),
        "Test alert “low” sent, but no overlay is connected."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_overlay_key_guards_the_socket() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &["OVERLAY_KEY"]);
    let (app, base) = support::start_web(&ctx).await;
    let url = format!("{}/ws/overlay", base.replace("http://", "ws://"));
    let refused = tokio_tungstenite::connect_async(&url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{url}?key={}", support::secret("OVERLAY_KEY")))
            .await
            .unwrap();
    assert_eq!(next_json(&mut socket).await["event"], "hello");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
