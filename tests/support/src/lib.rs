//! What the integration tests (`tests/it/`) and the benchmarks (`benches/`) share, compiled once:
//! the fakes that speak the real protocols on `127.0.0.1:0` and the real parts' harnesses (one
//! module each), and the helpers below (build a context from config text, fake secrets, an HTTP
//! client that only talks to loopback).

#![allow(dead_code)]

pub mod chromium;
pub mod discord_commands;
pub mod fake_discord;
pub mod fake_eventsub;
pub mod fake_exec;
pub mod fake_kick;
pub mod fake_obs;
pub mod fake_twitch;
pub mod irl;
pub mod nginx;
pub mod real_obs;
pub mod test_ca;
pub mod traces;

use std::collections::BTreeMap;
use std::sync::Arc;
use stream_control::app::Context;
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets, VARIABLES};

/// A recognisable fake value for each secret variable.
pub fn fake_secret_values() -> BTreeMap<String, String> {
    VARIABLES
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                format!("fake-{}-s3cr3t-9f8e7d", name.to_lowercase()),
            )
        })
        .collect()
}

pub fn fake_secrets() -> Secrets {
    let values = fake_secret_values();
    Secrets::from_lookup(|name| values.get(name).cloned())
}

/// Parse a test configuration. Without a `state_dir`, each gets a fresh one of its own (the
/// default, `state` in the working directory, would be shared by every test: one test's
/// `guard off`, kept across restarts, would pause the next test's guard).
pub fn test_config(text: &str) -> Config {
    let mut config = Config::parse(text).unwrap_or_else(|p| panic!("test config: {p:#?}"));
    if config.state_dir == std::path::Path::new("state") {
        config.state_dir = tempfile::tempdir().unwrap().keep();
    }
    config
}

/// A context from config text, with fake secrets.
pub fn context(config: &str) -> Arc<Context> {
    let config = test_config(config);
    let secrets = fake_secrets();
    let redactor = Redactor::new(&secrets);
    Context::new(config, secrets, redactor).unwrap()
}

/// An HTTP client for the app under test: no proxy, short timeout.
pub fn http() -> reqwest::Client {
    stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Run a command line through dispatch as `invoker`: the final reply and every progress reply
/// (in order).
pub async fn command(
    ctx: &Context,
    line: &str,
    invoker: stream_control::dispatch::Invoker,
) -> (
    stream_control::reply::Reply,
    Vec<stream_control::reply::Reply>,
) {
    use stream_control::dispatch::{Invocation, Progress, dispatch, parse_line};
    let command = parse_line(&ctx.config.commands, line)
        .unwrap_or_else(|| panic!("not a command: {line}"))
        .unwrap_or_else(|e| panic!("{line}: {e:?}"));
    let (progress, mut steps) = Progress::channel();
    let reply = dispatch(
        ctx,
        Invocation {
            command,
            invoker,
            locale: "en-US".into(),
            reply_to: None,
            progress,
        },
    )
    .await;
    let mut seen = Vec::new();
    while let Ok(step) = steps.try_recv() {
        seen.push(step);
    }
    (reply, seen)
}

/// `Status.restream.last_apply` (it must be there).
pub fn last_apply(ctx: &Context) -> stream_control::status::ApplyStatus {
    ctx.status
        .borrow()
        .restream
        .as_ref()
        .and_then(|r| r.last_apply.clone())
        .expect("an apply was recorded")
}

/// A context from config text with only the named fake secrets (the others unset).
pub fn context_with_secrets(config: &str, names: &[&str]) -> Arc<Context> {
    let config = test_config(config);
    let values = fake_secret_values();
    let secrets = Secrets::from_lookup(|name| {
        names
            .contains(&name)
            .then(|| values.get(name).cloned())
            .flatten()
    });
    let redactor = Redactor::new(&secrets);
    Context::new(config, secrets, redactor).unwrap()
}

/// The fake value of one secret.
pub fn secret(name: &str) -> String {
    fake_secret_values()[name].clone()
}

/// Start the app and wait until the web server listens; returns its base URL.
pub async fn start_web(ctx: &Arc<Context>) -> (stream_control::app::App, String) {
    let app =
        stream_control::app::App::start(ctx.clone(), stream_control::app::RunOptions::default());
    let mut status = ctx.status.subscribe();
    let status = status.wait_for(|s| s.web.is_some()).await.unwrap();
    let base = format!("http://{}", status.web.as_ref().unwrap().listening);
    drop(status);
    (app, base)
}

/// A guard whose one stats server `name` is live at `kbps` and `rtt_ms`, the active server, with
/// LOW below `low_kbps` and LIVE again from `recover_kbps`.
pub fn live_guard(
    name: &str,
    kbps: u32,
    rtt_ms: u32,
    low_kbps: u32,
    recover_kbps: u32,
) -> stream_control::status::GuardStatus {
    use stream_control::status::{GuardStatus, ServerStatus, Triggers};
    GuardStatus {
        enabled: true,
        active_server: Some(name.into()),
        servers: vec![ServerStatus {
            name: name.into(),
            kind: "belabox",
            state: "live",
            bitrate_kbps: Some(kbps),
            rtt_ms: Some(rtt_ms),
            error: None,
        }],
        triggers: Triggers {
            low_kbps: Some(low_kbps),
            recover_kbps,
            ..Default::default()
        },
        ..Default::default()
    }
}
