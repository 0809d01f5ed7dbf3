//! TLS on the outgoing paths, against local endpoints with a certificate authority made at test
//! time (`support/test_ca.rs`), trusted through `tls.extra_ca_files`: Twitch's OAuth, Helix
//! and EventSub (the real twitch_api/twitch_oauth2 clients and the bot's EventSub session, as
//! in `twitch.rs`), a stats page over https; and the same endpoints refused, with a reason,
//! when the CA is not configured. `src/tls.rs`'s unit tests check the one client configuration
//! itself; `config.rs` tests check the option's errors.

use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_twitch;

use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_twitch::test_ca::{TestCa, TlsListener};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::guard::stats::{Reading, StatsError, client, sls};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::{TokenState, TwitchStatus};
use stream_control::twitch::auth::{self, TOKEN_FILE};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(15);

struct Rig {
    eventsub: FakeEventSub,
    twitch: FakeTwitch,
    app: App,
    ctx: Arc<Context>,
    _state: tempfile::TempDir,
}

/// EventSub over `wss://`; Helix and OAuth over `https://` when `twitch_tls`; the test CA in
/// `tls.extra_ca_files` when `trusted`. The broadcaster's stored token has ten minutes left,
/// under the refresh margin: the bot refreshes it at once (OAuth), then subscribes (Helix).
async fn rig(ca: &TestCa, twitch_tls: bool, trusted: bool) -> Rig {
    let eventsub = FakeEventSub::start_tls(ca.acceptor()).await;
    let twitch = if twitch_tls {
        FakeTwitch::start_tls(Some(eventsub.clone()), ca.acceptor()).await
    } else {
        FakeTwitch::start(Some(eventsub.clone())).await
    };
    twitch.add_user("3003", "amod", "AMod");
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in(
        state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(600),
    );
    let config = format!(
        r#"(state_dir: "{}",
            twitch: (helix_url: "{}", oauth_url: "{}", eventsub_url: "{}"),
            {}
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        state.path().display(),
        twitch.helix_url(),
        twitch.oauth_url(),
        eventsub.url(),
        if trusted {
            format!("{},", ca.config_entry())
        } else {
            String::new()
        },
    );
    let config = Config::parse(&config).unwrap_or_else(|p| panic!("{p:#?}"));
    let values = BTreeMap::from([
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID),
        ("TWITCH_CLIENT_SECRET", fake_twitch::CLIENT_SECRET),
    ]);
    let secrets = Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()));
    let redactor = Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    Rig {
        eventsub,
        twitch,
        app,
        ctx,
        _state: state,
    }
}

impl Rig {
    /// Waits until Twitch's status satisfies `done`; panics with the status otherwise.
    async fn wait_twitch(&self, what: &str, done: impl Fn(&TwitchStatus) -> bool) -> TwitchStatus {
        let mut status = self.ctx.status.subscribe();
        let reached = timeout(
            WAIT,
            status.wait_for(|s| s.twitch.as_ref().is_some_and(&done)),
        )
        .await;
        assert!(
            reached.is_ok(),
            "{what}: {:?}",
            self.ctx.status.borrow().twitch
        );
        self.ctx.status.borrow().twitch.clone().unwrap()
    }

    async fn stop(self) {
        assert!(self.app.shutdown(Duration::from_secs(5)).await);
    }
}

#[tokio::test]
async fn twitch_refreshes_subscribes_and_reads_chat_all_over_tls_with_the_configured_ca() {
    let ca = TestCa::new();
    let rig = rig(&ca, true, true).await;
    // OAuth: validated, then refreshed (ten minutes left), over https.
    rig.wait_twitch("a refreshed token", |t| {
        t.token == TokenState::Valid && t.token_expires_in_secs.is_some_and(|e| e > 3600)
    })
    .await;
    // Helix (the subscriptions) over https, EventSub over wss.
    rig.wait_twitch("subscribed", |t| {
        t.eventsub.state == "connected"
            && t.eventsub.subscriptions.len() == stream_control::twitch::eventsub::TYPES.len()
            && t.eventsub.subscriptions.values().all(|v| v == "enabled")
    })
    .await;
    assert!(rig.eventsub.url().starts_with("wss://127.0.0.1:"));
    let paths: Vec<(String, String)> = rig
        .twitch
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    for (method, path) in [
        ("GET", "/oauth2/validate"),
        ("POST", "/oauth2/token"),
        ("POST", "/helix/eventsub/subscriptions"),
    ] {
        assert!(
            paths.iter().any(|(m, p)| m == method && p == path),
            "no {method} {path} in {paths:?}"
        );
    }
    // A chat message arrives over EventSub; the reply goes out through Helix.
    let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN);
    let chat = ChatMessage::new(&broadcaster, &User::new("3003", "amod", "AMod"), "!ping")
        .with_badge("moderator", "1");
    rig.eventsub.send_chat(&chat).expect("subscribed to chat");
    let reply = rig.twitch.wait_for_chat(0, WAIT).await.expect("a reply");
    assert_eq!(reply.message, "Pong!");
    assert_eq!(rig.twitch.handshake_errors(), Vec::<String>::new());
    assert_eq!(rig.eventsub.tls_failures(), Vec::<String>::new());
    rig.stop().await;
}

#[tokio::test]
async fn without_the_ca_twitch_oauth_fails_with_an_untrusted_certificate_not_a_hang() {
    let ca = TestCa::new();
    let rig = rig(&ca, true, false).await;
    let twitch = rig
        .wait_twitch("a failing token", |t| t.token == TokenState::Failing)
        .await;
    let reason = twitch.token_error.clone().unwrap_or_default();
    assert!(
        reason.contains("invalid peer certificate") && reason.contains("UnknownIssuer"),
        "{reason}"
    );
    // Nothing reached the fake's handlers, and EventSub waits for a token.
    assert!(rig.twitch.requests().is_empty());
    assert_eq!(twitch.eventsub.state, "waiting_for_token");
    assert_eq!(rig.eventsub.connections(), 0);
    rig.stop().await;
}

#[tokio::test]
async fn without_the_ca_the_eventsub_socket_is_refused_by_the_bot_and_retried() {
    let ca = TestCa::new();
    // Helix and OAuth over plain HTTP: the token is fine; only the wss:// socket is TLS.
    let rig = rig(&ca, false, false).await;
    let failure = rig
        .eventsub
        .wait_for_tls_failure(WAIT)
        .await
        .expect("a refused TLS handshake");
    // The bot ended the handshake with the `unknown_ca` alert (RFC 8446 §6.2: "a valid
    // certificate chain … was received, but the certificate was not accepted because the CA
    // certificate could not be located or could not be matched with a known trust anchor").
    assert!(failure.contains("UnknownCA"), "{failure}");
    rig.wait_twitch("reconnecting", |t| {
        t.token == TokenState::Valid && t.eventsub.state == "reconnecting"
    })
    .await;
    assert_eq!(rig.eventsub.connections(), 0);
    rig.stop().await;
}

/// SRT Live Server's stats (as in `stats_fetch.rs`) over https on 127.0.0.1; the base URL.
async fn https_stats_server(ca: &TestCa) -> String {
    use axum::routing::get;
    let body = include_str!("../fixtures/stats/sls_publishers.json");
    let router = axum::Router::new().route(
        "/sls/stats",
        get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    );
    let listener = TlsListener::bind(ca.acceptor()).await;
    let address = axum::serve::Listener::local_addr(&listener).unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("https://{address}")
}

#[tokio::test]
async fn a_stats_page_over_https_is_read_with_the_configured_ca_and_refused_without() {
    let ca = TestCa::new();
    let base = https_stats_server(&ca).await;
    let url = format!("{base}/sls/stats");
    let ctx = {
        let config = Config::parse(&format!("({})", ca.config_entry())).unwrap();
        let secrets = Secrets::from_lookup(|_| None);
        let redactor = Redactor::new(&secrets);
        Context::new(config, secrets, redactor).unwrap()
    };
    let trusted = client(&ctx.tls);
    let reading = sls::fetch(&trusted, &url, None, WAIT).await;
    assert_eq!(
        reading,
        Ok(Reading::Rate {
            bitrate: commands::Kbps(3990),
            rtt: Some(commands::Millis(51)),
        })
    );

    let untrusted = client(&stream_control::tls::Tls::system());
    match sls::fetch(&untrusted, &url, None, WAIT).await {
        Err(StatsError::Unreachable { url: got, reason }) => {
            assert_eq!(got, url.as_str().into());
            assert!(reason.contains("UnknownIssuer"), "{reason}");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
}

#[test]
fn unusable_extra_ca_files_are_config_problems_naming_the_file_at_its_position() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("ca.der");
    std::fs::write(&not_pem, [0x30, 0x82, 0x01]).unwrap();
    let text = format!(
        "(\n  tls: (\n    extra_ca_files: [\n      {:?},\n      {:?},\n      {:?},\n    ],\n  ),\n)",
        ca.ca_file().display().to_string(),
        missing.display().to_string(),
        not_pem.display().to_string(),
    );
    let problems = Config::parse(&text).expect_err("two bad files");
    let found: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.path.as_str())).collect();
    assert_eq!(
        found,
        [(5, "tls.extra_ca_files[1]"), (6, "tls.extra_ca_files[2]")],
        "{problems:#?}"
    );
    assert!(
        problems[0]
            .message
            .starts_with(&missing.display().to_string())
    );
    assert!(problems[0].message.contains("cannot read it"));
    assert!(
        problems[1]
            .message
            .starts_with(&not_pem.display().to_string())
    );
    assert!(problems[1].message.contains("not a PEM file"));

    // Through `load`, the whole message names config.ron, the line and the CA file.
    let config_file = dir.path().join("config.ron");
    std::fs::write(&config_file, &text).unwrap();
    let error = Config::load(&config_file).unwrap_err().to_string();
    assert!(error.contains(":5:"), "{error}");
    assert!(error.contains("missing.pem: cannot read it"), "{error}");
}
