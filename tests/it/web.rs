//! The web server from outside: status page and its API, the live stream, history, metrics,
//! access keys, IP bans (by command and automatic) on every route, trusted proxies, rate
//! limits, security headers, the alert API's status codes, and "no state-changing route
//! without a token".

use stream_control_test_support as support;

use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::{Invocation, Invoker, Progress, Surface, dispatch};
use stream_control::history::{HistorySample, SwitchMark};
use stream_control::reply::{Outcome, keys};
use stream_control::status::{Event, SwitchedBy, TaskState, TaskStatus};

/// Every GET route, and whether it is behind `STATUS_KEY`, `OVERLAY_KEY` or open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Status,
    Overlay,
    Open,
}

const ROUTES: &[(&str, Group)] = &[
    ("/", Group::Status),
    ("/api/status", Group::Status),
    ("/api/status/stream", Group::Status),
    ("/api/history", Group::Status),
    ("/metrics", Group::Status),
    ("/overlay", Group::Overlay),
    ("/ws/overlay", Group::Overlay),
    ("/assets/status.js", Group::Open),
    ("/assets/overlay.js", Group::Open),
    ("/assets/sounds/low.wav", Group::Open),
    ("/healthz", Group::Open),
];

fn config(state: &tempfile::TempDir, web_extra: &str) -> String {
    format!(
        r#"(state_dir: "{}", web: (bind: "127.0.0.1:0", overlay: (banner: "6s"), {web_extra}))"#,
        state.path().display()
    )
}

/// `path` with the right key for its group (when the context has keys).
fn keyed(path: &str, group: Group) -> String {
    match group {
        Group::Status => format!("{path}?key={}", support::secret("STATUS_KEY")),
        Group::Overlay => format!("{path}?key={}", support::secret("OVERLAY_KEY")),
        Group::Open => path.to_string(),
    }
}

async fn get(base: &str, path: &str) -> reqwest::Response {
    support::http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap()
}

fn console_invocation(line: &str, invoker: Invoker) -> Invocation {
    Invocation {
        command: commands::parse(line, "!").unwrap().unwrap(),
        invoker,
        locale: "en-US".into(),
        reply_to: None,
        progress: Progress::none(),
    }
}

fn discord_admin() -> Invoker {
    Invoker {
        surface: Surface::Discord,
        user_id: "4242".into(),
        display_name: "admin".into(),
        permission: commands::Permission::Broadcaster,
    }
}

async fn run(ctx: &Arc<Context>, line: &str, invoker: Invoker) -> String {
    let reply = dispatch(ctx, console_invocation(line, invoker)).await;
    ctx.render("en-US", &reply)
}

#[tokio::test]
async fn api_status_is_versioned_json_without_secrets() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, ""));
    let (app, base) = support::start_web(&ctx).await;
    let response = get(&base, &keyed("/api/status", Group::Status)).await;
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
    assert_eq!(json["features"]["overlay"], true);
    assert_eq!(json["features"]["obs"], false);
    assert_eq!(json["tasks"]["web"]["state"], "running");
    // The health the page renders: what is not configured is off, the whole is fine.
    assert_eq!(json["health"]["overall"], "ok", "{json}");
    assert_eq!(json["health"]["obs"], "off");
    assert_eq!(json["health"]["tasks"], "ok");
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
async fn every_response_carries_the_security_headers_and_the_overlay_may_be_embedded() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, ""));
    let (app, base) = support::start_web(&ctx).await;
    let mut paths: Vec<(String, u16, bool)> = ROUTES
        .iter()
        .filter(|(path, _)| *path != "/ws/overlay" && *path != "/api/status/stream")
        .map(|(path, group)| (keyed(path, *group), 200, *path == "/overlay"))
        .collect();
    paths.extend([
        ("/nope".into(), 404, false),
        ("/assets/..%2FCargo.toml".into(), 404, false),
        ("/assets/sounds/..%2F..%2FCargo.toml".into(), 404, false),
        ("/api/status".into(), 401, false),
    ]);
    for (path, status, embeddable) in paths {
        let response = get(&base, &path).await;
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(!headers.contains_key("strict-transport-security"), "{path}");
        if embeddable {
            assert!(csp.contains("frame-ancestors *"), "{path}: {csp}");
            assert!(!headers.contains_key("x-frame-options"), "{path}");
        } else {
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        }
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);

    // Behind a TLS proxy: HSTS, on errors too.
    let ctx = support::context(&config(&state, "hsts: true"));
    let (app, base) = support::start_web(&ctx).await;
    for path in ["/healthz", "/nope", "/api/status"] {
        let response = get(&base, path).await;
        assert!(
            response.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn no_route_changes_state_without_a_token() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, ""));
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    for (path, group) in ROUTES {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let response = client
                .request(method.clone(), format!("{base}{}", keyed(path, *group)))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
        }
    }
    // The one route that changes something needs the alert token.
    let response = client
        .post(format!("{base}/api/alert"))
        .json(&serde_json::json!({"type": "low"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = client
        .get(format!("{base}/api/alert"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn access_keys_guard_their_routes_and_leave_assets_open() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, "auto_ban: None"));
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    for (path, group) in ROUTES {
        let open = get(&base, path).await;
        if *group == Group::Open {
            assert_eq!(open.status(), 200, "{path}");
            continue;
        }
        assert_eq!(open.status(), 401, "{path} without a key");
        assert_eq!(open.headers()["www-authenticate"], "Bearer", "{path}");
        let wrong = get(&base, &format!("{path}?key=wrong")).await;
        assert_eq!(wrong.status(), 401, "{path} with a wrong key");
        let (right, other) = match group {
            Group::Status => ("STATUS_KEY", "OVERLAY_KEY"),
            _ => ("OVERLAY_KEY", "STATUS_KEY"),
        };
        let crossed = get(&base, &format!("{path}?key={}", support::secret(other))).await;
        assert_eq!(crossed.status(), 401, "{path} with the other key");
        let query = get(&base, &format!("{path}?key={}", support::secret(right))).await;
        let bearer = client
            .get(format!("{base}{path}"))
            .bearer_auth(support::secret(right))
            .send()
            .await
            .unwrap();
        for response in [query, bearer] {
            // The WebSocket route wants an upgrade, but the key let the request through.
            if *path == "/ws/overlay" {
                assert_ne!(response.status(), 401, "{path}");
            } else {
                assert_eq!(response.status(), 200, "{path}");
            }
        }
    }
    // Without keys in the environment, everything is open.
    let ctx2 = support::context_with_secrets(&config(&state, ""), &[]);
    let (app2, base2) = support::start_web(&ctx2).await;
    for path in ["/", "/api/status", "/api/history", "/metrics", "/overlay"] {
        assert_eq!(get(&base2, path).await.status(), 200, "{path}");
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
    assert!(app2.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn bad_keys_ban_the_client_on_every_route_until_unbanned() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, r#"auto_ban: (after: 3, within: "10m")"#));
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    // Missing keys are mistakes, not guesses: they do not count.
    for _ in 0..5 {
        assert_eq!(get(&base, "/api/status").await.status(), 401);
    }
    assert_eq!(get(&base, "/healthz").await.status(), 200);
    // Wrong keys and alert tokens do.
    assert_eq!(get(&base, "/?key=guess1").await.status(), 401);
    assert_eq!(get(&base, "/overlay?key=guess2").await.status(), 401);
    let alert = client
        .post(format!("{base}/api/alert"))
        .header("x-alert-token", "guess3")
        .json(&serde_json::json!({"type": "low"}))
        .send()
        .await
        .unwrap();
    assert_eq!(alert.status(), 403);
    for (path, group) in ROUTES {
        let response = get(&base, &keyed(path, *group)).await;
        assert_eq!(response.status(), 403, "{path} after the ban");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "banned");
    }
    let file = state.path().join("bans.json");
    // An automatic ban is saved by a task of its own: wait for the file (bounded).
    tokio::time::timeout(Duration::from_secs(10), async {
        while !file.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("bans.json written");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        saved["bans"]["127.0.0.1"]["banned_ts"].as_u64().is_some(),
        "{saved}"
    );

    let listed = run(&ctx, "!bans", Invoker::console()).await;
    assert!(
        listed.starts_with("Banned: 127.0.0.1 (since ") && listed.contains("automatically"),
        "{listed}"
    );
    let reply = run(&ctx, "!unban-ip 127.0.0.1", Invoker::console()).await;
    assert_eq!(reply, "127.0.0.1 is no longer banned.");
    assert_eq!(get(&base, &keyed("/", Group::Status)).await.status(), 200);
    assert_eq!(
        run(&ctx, "!bans", Invoker::console()).await,
        "No IP address is banned."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);

    // The ban list survives a restart (and the restart reads it back).
    let ctx = support::context(&config(&state, ""));
    assert_eq!(
        run(&ctx, "!ban-ip ::ffff:127.0.0.1", discord_admin()).await,
        "127.0.0.1 is banned from the web server."
    );
    let ctx = support::context(&config(&state, ""));
    let (app, base) = support::start_web(&ctx).await;
    assert_eq!(get(&base, "/healthz").await.status(), 403);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn ban_commands_are_for_discord_and_the_console_only() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(&state, ""));
    let twitch = Invoker {
        surface: Surface::Twitch,
        user_id: "1".into(),
        display_name: "streamer".into(),
        permission: commands::Permission::Broadcaster,
    };
    for line in ["!ban-ip 203.0.113.5", "!unban-ip 203.0.113.5", "!bans"] {
        let reply = dispatch(&ctx, console_invocation(line, twitch.clone())).await;
        assert_eq!(reply.key, keys::ERROR_PRIVATE, "{line}");
        assert_eq!(reply.outcome, Outcome::Refused, "{line}");
        assert!(
            ctx.render("nb-NO", &reply)
                .contains("spør i Discord eller på botens konsoll"),
            "{line}"
        );
    }
    assert!(!state.path().join("bans.json").exists());
    assert_eq!(
        run(&ctx, "!ban-ip 203.0.113.5", discord_admin()).await,
        "203.0.113.5 is banned from the web server."
    );
    assert_eq!(
        run(&ctx, "!ban-ip 203.0.113.5", discord_admin()).await,
        "203.0.113.5 is already banned."
    );
    let listed = run(&ctx, "!bans", discord_admin()).await;
    assert!(listed.contains("by discord:4242"), "{listed}");
    assert_eq!(
        run(&ctx, "!unban-ip 198.51.100.1", Invoker::console()).await,
        "198.51.100.1 is not banned."
    );
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let state = tempfile::tempdir().unwrap();
    let banned = "203.0.113.66";
    // (trusted_proxies, which of X-Forwarded-For / CF-Connecting-IP / X-Real-IP name the client)
    let cases = [
        (
            r#"trusted_proxies: [(net: "127.0.0.0/8", header: XForwardedFor)]"#,
            [true, false, false],
        ),
        (
            r#"trusted_proxies: [(net: "127.0.0.0/8", header: CfConnectingIp)]"#,
            [false, true, false],
        ),
        (
            r#"trusted_proxies: [(net: "127.0.0.0/8", header: XRealIp)]"#,
            [false, false, true],
        ),
        (
            r#"trusted_proxies: [(net: "10.0.0.0/8", header: XForwardedFor)]"#,
            [false, false, false],
        ),
        ("", [false, false, false]),
    ];
    for (trusted, believed) in cases {
        let ctx = support::context_with_secrets(&config(&state, trusted), &[]);
        run(&ctx, &format!("!ban-ip {banned}"), Invoker::console()).await;
        let (app, base) = support::start_web(&ctx).await;
        let client = support::http();
        let mut codes = Vec::new();
        for header in ["x-forwarded-for", "cf-connecting-ip", "x-real-ip"] {
            let response = client
                .get(format!("{base}/healthz"))
                .header(header, banned)
                .send()
                .await
                .unwrap();
            codes.push(response.status().as_u16());
        }
        let expected = believed.map(|b| if b { 403 } else { 200 }).to_vec();
        assert_eq!(codes, expected, "{trusted:?}");
        assert_eq!(get(&base, "/healthz").await.status(), 200, "{trusted:?}");
        assert!(app.shutdown(Duration::from_secs(5)).await);
    }
}

#[tokio::test]
async fn a_spoofed_header_behind_nginx_neither_escapes_the_limit_nor_bans_another() {
    // The issue: behind nginx a client set CF-Connecting-IP to the OBS PC's address, escaped
    // its rate limit and got the OBS PC banned with bad keys.
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context(&config(
        &state,
        r#"rate_limit: (per_second: 1, burst: 3),
           auto_ban: Some((after: 2, within: "10m", for: "1h")),
           trusted_proxies: [(net: "127.0.0.1", header: XForwardedFor)]"#,
    ));
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    let attacker = "203.0.113.5";
    let obs_pc = "192.168.1.20";
    let mut codes = Vec::new();
    for i in 0..4 {
        let response = client
            .get(format!("{base}/api/status?key=wrong"))
            .header("x-forwarded-for", format!("{obs_pc}, {attacker}"))
            .header("cf-connecting-ip", format!("192.168.1.{}", 20 + i))
            .header("x-real-ip", obs_pc)
            .send()
            .await
            .unwrap();
        codes.push(response.status().as_u16());
    }
    assert_eq!(codes, vec![401, 401, 403, 403], "the attacker is banned");
    let bans = ctx.bans.as_ref().unwrap().list();
    let banned: Vec<String> = bans.iter().map(|(ip, _)| ip.to_string()).collect();
    assert_eq!(banned, vec![attacker.to_string()]);
    let from_obs = client
        .get(format!("{base}/healthz"))
        .header("x-forwarded-for", obs_pc)
        .send()
        .await
        .unwrap();
    assert_eq!(from_obs.status(), 200, "the OBS PC is not banned");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_rate_limit_holds_per_client_on_every_route() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(
        &config(
            &state,
            r#"rate_limit: (per_second: 1, burst: 4), trusted_proxies: [(net: "127.0.0.1", header: XForwardedFor)]"#,
        ),
        &[],
    );
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    let from = |ip: &'static str, path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("x-forwarded-for", ip)
            .send()
    };
    let mut codes = Vec::new();
    for path in [
        "/healthz",
        "/",
        "/assets/status.css",
        "/nope",
        "/api/status",
        "/metrics",
    ] {
        codes.push(from("203.0.113.1", path).await.unwrap().status().as_u16());
    }
    assert_eq!(codes, vec![200, 200, 200, 404, 429, 429]);
    let limited = from("203.0.113.1", "/healthz").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert!(limited.headers().contains_key("content-security-policy"));
    // Another client is not held back.
    assert_eq!(from("203.0.113.2", "/healthz").await.unwrap().status(), 200);
    let metrics = ctx
        .metrics
        .refused(stream_control::metrics::Refusal::RateLimited);
    assert_eq!(metrics, 3);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_alert_api_answers_like_the_seed() {
    let state = tempfile::tempdir().unwrap();
    let token = support::secret("ALERT_TOKEN");
    let post = |base: String, token: Option<String>, body: String| async move {
        let mut request = support::http()
            .post(format!("{base}/api/alert"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.header("x-alert-token", token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        (status, json)
    };
    let low = r#"{"type": "low", "message": "LOW BITRATE!"}"#.to_string();

    // No token configured: 503, as the seed.
    let ctx = support::context_with_secrets(&config(&state, ""), &[]);
    let (app, base) = support::start_web(&ctx).await;
    let (status, json) = post(base.clone(), Some(token.clone()), low.clone()).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (503, Some("alert token not configured"))
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);

    // No overlay configured: 503 too.
    let no_overlay = format!(
        r#"(state_dir: "{}", web: (bind: "127.0.0.1:0"))"#,
        state.path().display()
    );
    let ctx = support::context_with_secrets(&no_overlay, &["ALERT_TOKEN"]);
    let (app, base) = support::start_web(&ctx).await;
    let (status, json) = post(base.clone(), Some(token.clone()), low.clone()).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (503, Some("overlay not enabled"))
    );
    assert_eq!(get(&base, "/overlay").await.status(), 404);
    assert!(app.shutdown(Duration::from_secs(5)).await);

    let ctx = support::context_with_secrets(&config(&state, "auto_ban: None"), &["ALERT_TOKEN"]);
    let (app, base) = support::start_web(&ctx).await;
    let cases: Vec<(Option<String>, String, u16, &str)> = vec![
        (None, low.clone(), 403, "forbidden"),
        (Some("wrong".into()), low.clone(), 403, "forbidden"),
        (
            Some(token.clone()),
            r#"{"type": "boom", "message": "x"}"#.into(),
            400,
            "invalid type",
        ),
        (
            Some(token.clone()),
            r#"{"message": "x"}"#.into(),
            400,
            "invalid type",
        ),
        (Some(token.clone()), "not json".into(), 400, "invalid JSON"),
        (
            Some(token.clone()),
            r#"{"type": "custom"}"#.into(),
            400,
            "message required",
        ),
        (
            Some(token.clone()),
            format!(r#"{{"type": "custom", "message": "{}"}}"#, "x".repeat(301)),
            400,
            "message too long",
        ),
    ];
    for (token, body, status, error) in cases {
        let (got, json) = post(base.clone(), token.clone(), body.clone()).await;
        assert_eq!(
            (got, json["error"].as_str(), json["ok"].as_bool()),
            (status, Some(error), Some(false)),
            "{token:?} {body}"
        );
    }
    let huge = format!(
        r#"{{"type": "custom", "message": "{}"}}"#,
        "x".repeat(20_000)
    );
    let (status, _) = post(base.clone(), Some(token.clone()), huge).await;
    assert_eq!(status, 413);
    let (status, first) = post(base.clone(), Some(token.clone()), low.clone()).await;
    assert_eq!((status, first["ok"].as_bool()), (200, Some(true)));
    let (status, second) = post(
        base.clone(),
        Some(token.clone()),
        r#"{"type": "restored"}"#.into(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        second["id"].as_u64().unwrap(),
        first["id"].as_u64().unwrap() + 1
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_status_page_is_localised_and_carries_no_inline_script() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &[]);
    let (app, base) = support::start_web(&ctx).await;
    let client = support::http();
    let english = get(&base, "/").await;
    assert!(
        english.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let english = english.text().await.unwrap();
    assert!(english.contains("<html lang=\"en-US\">"));
    assert!(english.contains("Bitrate and RTT, last 30 minutes"));
    assert!(!english.contains("{{"), "every placeholder filled");
    assert!(english.contains("/assets/status.js") && english.contains("/assets/status.css"));
    // Only a JSON data block, never script the CSP would have to allow.
    assert!(!english.contains("<script>"));
    let block = english
        .split("<script type=\"application/json\" id=\"strings\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the strings block");
    let strings: serde_json::Value = serde_json::from_str(block).unwrap();
    assert_eq!(strings["web-not-configured"], "not configured");
    let norwegian = client
        .get(format!("{base}/"))
        .header("accept-language", "nb;q=0.9, en;q=0.8")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(norwegian.contains("<html lang=\"nb-NO\">"));
    assert!(norwegian.contains("Bitrate og RTT, siste 30 minutter"));
    let js = get(&base, "/assets/status.js").await;
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = js.text().await.unwrap();
    assert!(js.contains("/api/status/stream") && js.contains("/api/history"));
    assert_eq!(get(&base, "/healthz").await.text().await.unwrap(), "ok\n");
    let sound = get(&base, "/assets/sounds/raid.wav").await;
    assert_eq!(sound.headers()["content-type"], "audio/wav");
    assert!(sound.bytes().await.unwrap().starts_with(b"RIFF"));
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_stream_sends_status_samples_and_switches_as_they_happen() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &[]);
    let (app, base) = support::start_web(&ctx).await;
    let mut response = get(&base, "/api/status/stream").await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = String::from_utf8(response.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.starts_with("event: status\ndata: {"), "{first}");
    ctx.status.publisher(|s| s).modify(|s| {
        s.tasks.insert(
            "probe".into(),
            TaskStatus {
                state: TaskState::Restarting,
                restarts: 7,
                last_error: None,
            },
        );
    });
    let now = stream_control::history::now_unix_ms();
    ctx.history.record_sample(HistorySample {
        at_unix_ms: now,
        bitrate_kbps: Some(4321),
        rtt_ms: Some(55),
    });
    ctx.history.record_switch(SwitchMark {
        at_unix_ms: now,
        scene: "LOW".into(),
        by: Some(SwitchedBy::Guard),
    });
    let mut seen = String::new();
    while !(seen.contains("\"restarts\":7")
        && seen.contains("event: sample")
        && seen.contains("event: switch"))
    {
        let chunk = response.chunk().await.unwrap().expect("stream ended early");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains(r#"data: {"at_unix_ms":"#) && seen.contains(r#""bitrate_kbps":4321"#),
        "{seen}"
    );
    assert!(seen.contains(r#""scene":"LOW","by":"guard""#), "{seen}");
    // The history as the page loads it.
    let history: serde_json::Value = get(&base, "/api/history").await.json().await.unwrap();
    assert_eq!(history["samples"][0]["bitrate_kbps"], 4321);
    assert_eq!(history["switches"][0]["scene"], "LOW");
    assert!(history["now_unix_ms"].as_u64().unwrap() >= now);
    // An open stream does not hold up shutdown.
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let rest = response.chunk().await;
    assert!(
        matches!(rest, Ok(None) | Err(_)),
        "stream closed on shutdown"
    );
}

/// Prometheus text: `# HELP`/`# TYPE` before each family's samples; `name{labels} value`.
fn parse_metrics(text: &str) -> Vec<(String, f64)> {
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            typed.insert(parts.next().unwrap().to_string());
            assert!(matches!(parts.next(), Some("counter" | "gauge")), "{line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "{name} has no # TYPE");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        samples.push((
            series.to_string(),
            value.parse().unwrap_or_else(|_| panic!("{line}")),
        ));
    }
    samples
}

#[tokio::test]
async fn metrics_count_commands_switches_reconnects_and_show_gauges() {
    let state = tempfile::tempdir().unwrap();
    let ctx = support::context_with_secrets(&config(&state, ""), &[]);
    let (app, base) = support::start_web(&ctx).await;
    ctx.status
        .publisher(|s| s)
        .modify(|s| s.guard = Some(support::live_guard("bela\"box", 2345, 61, 800, 1200)));
    ctx.status.publisher(|s| s).modify(|s| {
        s.obs = Some(stream_control::status::ObsStatus {
            upload_problems: vec![stream_control::status::UploadProblem::DroppedFrames],
            ..Default::default()
        })
    });
    run(&ctx, "!ping", Invoker::console()).await;
    run(&ctx, "!ping", Invoker::console()).await;
    for event in [
        Event::SceneSwitched {
            by: SwitchedBy::Guard,
            from: None,
            to: "LOW".into(),
        },
        Event::ObsConnected {
            version: "31".into(),
        },
        Event::ObsLost {
            reason: "gone".into(),
        },
        Event::ObsConnected {
            version: "31".into(),
        },
        Event::EventSubReconnected { requested: false },
    ] {
        ctx.events.send(event).unwrap();
    }
    let overlay =
        tokio_tungstenite::connect_async(format!("{}/ws/overlay", base.replace("http", "ws")))
            .await
            .unwrap();
    let expected = [
        (
            "stream_control_commands_total{command=\"ping\",surface=\"console\",outcome=\"done\"}",
            2.0,
        ),
        ("stream_control_scene_switches_total{by=\"guard\"}", 1.0),
        (
            "stream_control_reconnects_total{connection=\"obs\",cause=\"lost\"}",
            1.0,
        ),
        (
            "stream_control_reconnects_total{connection=\"eventsub\",cause=\"lost\"}",
            1.0,
        ),
        (
            "stream_control_ingest_bitrate_kbps{server=\"bela\\\"box\"}",
            2345.0,
        ),
        ("stream_control_ingest_rtt_ms{server=\"bela\\\"box\"}", 61.0),
        ("stream_control_overlay_clients", 1.0),
        (
            "stream_control_obs_upload_problem{problem=\"dropped_frames\"}",
            1.0,
        ),
        (
            "stream_control_obs_upload_problem{problem=\"congestion\"}",
            0.0,
        ),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(&base, "/metrics").await;
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let samples = parse_metrics(&response.text().await.unwrap());
        let missing: Vec<_> = expected
            .iter()
            .filter(|(series, value)| !samples.iter().any(|(s, v)| s == series && v == value))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in {samples:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(overlay);
    assert!(app.shutdown(Duration::from_secs(5)).await);
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
