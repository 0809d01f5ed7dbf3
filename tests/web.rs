//! The web skeleton: status page, /api/status, the live stream, /healthz, headers, no secrets,
//! graceful shutdown with clients connected.

mod support;

use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::status::{TaskState, TaskStatus};

const CONFIG: &str = r#"(web: (bind: "127.0.0.1:0"))"#;

async fn start() -> (App, String) {
    let ctx = support::context(CONFIG);
    let app = App::start(ctx.clone(), RunOptions::default());
    let base = listening(&ctx).await;
    (app, base)
}

async fn listening(ctx: &Arc<Context>) -> String {
    let mut status = ctx.status.subscribe();
    let status = status.wait_for(|s| s.web.is_some()).await.unwrap();
    format!("http://{}", status.web.as_ref().unwrap().listening)
}

#[tokio::test]
async fn api_status_is_versioned_json_without_secrets() {
    let (app, base) = start().await;
    let response = support::http()
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    for secret in support::fake_secret_values().values() {
        assert!(
            !body.contains(secret.as_str()),
            "secret in /api/status: {body}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["features"]["web"], true);
    assert_eq!(json["features"]["obs"], false);
    assert_eq!(json["tasks"]["web"]["state"], "running");
    assert!(json["started_at_unix"].as_u64().unwrap() > 1_600_000_000);
    assert!(json["now_unix"].as_u64().unwrap() >= json["started_at_unix"].as_u64().unwrap());
    assert!(
        json["web"]["listening"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (app, base) = start().await;
    let client = support::http();
    for (path, status) in [
        ("/", 200),
        ("/api/status", 200),
        ("/healthz", 200),
        ("/assets/status.js", 200),
        ("/nope", 404),
        ("/assets/..%2FCargo.toml", 404),
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    let response = client
        .post(format!("{base}/api/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405, "no route changes state");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_status_page_and_its_assets_are_served() {
    let (app, base) = start().await;
    let client = support::http();
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/status.js") && html.contains("/assets/status.css"));
    assert!(
        !html.contains("<script>"),
        "no inline script (CSP is self-only)"
    );
    let js = client
        .get(format!("{base}/assets/status.js"))
        .send()
        .await
        .unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().await.unwrap().contains("/api/status/stream"));
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_stream_sends_the_status_now_and_on_every_change() {
    let (app, base) = start().await;
    let mut response = support::http()
        .get(format!("{base}/api/status/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = String::from_utf8(response.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.starts_with("event: status\ndata: {"), "{first}");
    app.context().status.send_modify(|s| {
        s.tasks.insert(
            "probe".into(),
            TaskStatus {
                state: TaskState::Restarting,
                restarts: 7,
                last_error: None,
            },
        );
    });
    let mut seen = String::new();
    while !seen.contains("\"probe\"") {
        let chunk = response.chunk().await.unwrap().expect("stream ended early");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"restarts\":7"), "{seen}");
    // An open stream does not hold up shutdown.
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let rest = response.chunk().await;
    assert!(
        matches!(rest, Ok(None) | Err(_)),
        "stream closed on shutdown"
    );
}

#[tokio::test]
async fn a_port_in_use_is_a_task_failure_not_a_crash() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let ctx = support::context(&format!(r#"(web: (bind: "127.0.0.1:{port}"))"#));
    let mut events = ctx.events.subscribe();
    let app = App::start(ctx.clone(), RunOptions::default());
    let event = events.recv().await.unwrap();
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["event"], "task_failed");
    assert_eq!(json["data"]["task"], "web");
    assert!(
        json["data"]["error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}"))
    );
    let status = ctx.status.borrow().tasks["web"].clone();
    assert_eq!(status.state, TaskState::Restarting);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
