//! The web server under load, on loopback, release build (`cargo bench --bench web`):
//!
//! 1. Overlay fan-out: 1,000 WebSocket clients on `/ws/overlay`; 200 alerts POSTed to
//!    `/api/alert` one after another. Latency from just before the POST to each client's receipt
//!    of the frame (p50, p99, max over all 200,000 deliveries) and until the last of the 1,000
//!    has it (p50, p99 over the 200 alerts).
//! 2. `/api/status` requests per second: 64 keep-alive connections for 5 s, a realistic Status
//!    (OBS, guard with three servers, Twitch).
//!
//! Server and clients run in one process (two runtimes of two threads each) on the same cores,
//! so the figures include the clients' own work.

mod common;

use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::{GuardStatus, ObsStatus, ServerStatus, TwitchStatus};
use tokio::sync::mpsc;

const CLIENTS: usize = 1000;
const ALERTS: usize = 200;
const TOKEN: &str = "bench-alert-token-0123456789";

fn main() {
    common::raise_fd_limit(16_384);
    let server = common::runtime();
    let state = tempfile::tempdir().unwrap();
    let (ctx, app, base) = server.block_on(start(&state));
    let clients = common::runtime();
    clients.block_on(fan_out(&ctx, &base));
    clients.block_on(status_rps(&base));
    server.block_on(async move {
        app.shutdown(Duration::from_secs(5)).await;
    });
}

async fn start(state: &tempfile::TempDir) -> (Arc<Context>, App, String) {
    let config = Config::parse(&format!(
        r#"(state_dir: "{}", log: (filter: "warn"),
            web: (bind: "127.0.0.1:0", rate_limit: (per_second: 1000000, burst: 1000000),
                  limits: (max_overlays: 2000, max_connections_per_ip: 4000), overlay: (banner: "6s")))"#,
        state.path().display()
    ))
    .unwrap();
    let secrets = Secrets::from_lookup(|name| (name == "ALERT_TOKEN").then(|| TOKEN.to_string()));
    let ctx = Context::new(config, secrets, Redactor::default()).unwrap();
    ctx.status.publisher(|s| s).modify(|s| {
        s.obs = Some(ObsStatus {
            version: Some("31.0.2".into()),
            scene: Some("LIVE".into()),
            scenes: ["LIVE", "LOW", "BRB", "OFFLINE", "Starting soon"]
                .map(String::from)
                .to_vec(),
            streaming: true,
            stream_uptime_secs: Some(5400),
            outgoing_kbps: Some(6000),
            fps: Some(60.0),
            ..Default::default()
        });
        s.guard = Some(GuardStatus {
            enabled: true,
            level: Some("live"),
            active_server: Some("belabox".into()),
            servers: ["belabox", "nginx", "obs"]
                .map(|name| ServerStatus {
                    name: name.into(),
                    kind: "belabox",
                    state: "live",
                    bitrate_kbps: Some(5800),
                    rtt_ms: Some(48),
                    error: None,
                })
                .to_vec(),
            ..Default::default()
        });
        s.twitch = Some(TwitchStatus {
            login: Some("streamer".into()),
            title: Some("Cycling across Norway, day 12".into()),
            category: Some("IRL".into()),
            viewers: Some(1234),
            live: Some(true),
            ..Default::default()
        });
    });
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    let listening = status
        .wait_for(|s| s.web.is_some())
        .await
        .unwrap()
        .web
        .clone()
        .unwrap()
        .listening;
    (ctx, app, format!("http://{listening}"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn fan_out(ctx: &Arc<Context>, base: &str) {
    let url = format!("{}/ws/overlay", base.replace("http://", "ws://"));
    // Each delivery: (alert id, when it arrived).
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let ready = Arc::new(AtomicUsize::new(0));
    for _ in 0..CLIENTS {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let tx = tx.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            ready.fetch_add(1, Ordering::Relaxed);
            while let Some(Ok(message)) = socket.next().await {
                let at = Instant::now();
                let Ok(text) = message.to_text() else {
                    continue;
                };
                // Only the id matters here; skip a full parse.
                if let Some(rest) = text.split("\"id\":").nth(1) {
                    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(id) = id.parse() {
                        let _ = tx.send((id, at));
                    }
                }
            }
        });
    }
    while ctx.alerts.as_ref().unwrap().clients() < CLIENTS
        || ready.load(Ordering::Relaxed) < CLIENTS
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let http = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap();
    let mut deliveries = Vec::with_capacity(CLIENTS * ALERTS);
    let mut complete = Vec::with_capacity(ALERTS);
    for i in 0..ALERTS {
        let sent = Instant::now();
        let response = http
            .post(format!("{base}/api/alert"))
            .header("x-alert-token", TOKEN)
            .json(&serde_json::json!({"type": "custom", "message": format!("alert {i}")}))
            .send()
            .await
            .unwrap();
        let id = response.json::<serde_json::Value>().await.unwrap()["id"]
            .as_u64()
            .unwrap();
        let mut last = sent;
        for _ in 0..CLIENTS {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every client receives every alert")
                .unwrap();
            assert_eq!(got, id);
            deliveries.push(at - sent);
            last = last.max(at);
        }
        complete.push(last - sent);
    }
    deliveries.sort();
    complete.sort();
    println!("Overlay fan-out, {CLIENTS} clients, {ALERTS} alerts (POST → frame received):");
    println!("| | p50 | p99 | max |");
    println!("|---|---|---|---|");
    println!(
        "| each delivery | {:.2} ms | {:.2} ms | {:.2} ms |",
        ms(common::percentile(&deliveries, 0.5)),
        ms(common::percentile(&deliveries, 0.99)),
        ms(deliveries[deliveries.len() - 1])
    );
    println!(
        "| all {CLIENTS} clients | {:.2} ms | {:.2} ms | {:.2} ms |",
        ms(common::percentile(&complete, 0.5)),
        ms(common::percentile(&complete, 0.99)),
        ms(complete[complete.len() - 1])
    );
}

async fn status_rps(base: &str) {
    const CONNECTIONS: usize = 64;
    const RUN: Duration = Duration::from_secs(5);
    let http = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let size = http
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    let started = Instant::now();
    let workers = (0..CONNECTIONS).map(|_| {
        let http = http.clone();
        let url = format!("{base}/api/status");
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < RUN {
                let t = Instant::now();
                let response = http.get(&url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        })
    });
    let mut latencies: Vec<Duration> = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!();
    println!("/api/status ({size} bytes), {CONNECTIONS} keep-alive connections, {RUN:?}:");
    println!("| requests | per second | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| {} | {:.0} | {:.2} ms | {:.2} ms |",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(common::percentile(&latencies, 0.5)),
        ms(common::percentile(&latencies, 0.99))
    );
}
