//! Chat frame in at the (fake) EventSub → `SetCurrentProgramScene` out at the (fake) OBS,
//! loopback, 10,000 commands one after another: p50, p99 and max. The path measured is the
//! product's: WebSocket frame → twitch_api parse → dedupe → chat surface → parse → permission
//! and cooldown → handler → obws request. Run: `cargo bench --bench chat_to_obs`.

mod common;

use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::twitch::auth::{self, TOKEN_FILE};

const COMMANDS: usize = 10_000;

fn main() {
    let runtime = common::runtime();
    runtime.block_on(bench());
}

async fn bench() {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in(
        state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    let obs = FakeObs::start(FakeObsOptions::default()).await;
    let config = Config::parse(&format!(
        r#"(state_dir: "{}", log: (filter: "warn"), obs: (port: {}),
            twitch: (helix_url: "{}", oauth_url: "{}", eventsub_url: "{}"),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        state.path().display(),
        obs.port(),
        twitch.helix_url(),
        twitch.oauth_url(),
        eventsub.url()
    ))
    .unwrap();
    let values = BTreeMap::from([("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID)]);
    let secrets = Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()));
    let ctx = Context::new(config, secrets, Redactor::default()).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    eventsub
        .wait_for_subscription("channel.chat.message", Duration::from_secs(15))
        .await
        .expect("subscribed");
    let mut status = ctx.status.subscribe();
    status
        .wait_for(|s| s.obs.as_ref().is_some_and(|o| !o.scenes.is_empty()))
        .await
        .unwrap();

    let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, "Streamer");
    let moderator = User::new("3003", "amod", "AMod");
    // Four different scenes in turn: every command really switches.
    let scenes = ["LOW", "BRB", "OFFLINE", "LIVE"];
    let mut latencies = Vec::with_capacity(COMMANDS);
    let started = Instant::now();
    for i in 0..COMMANDS {
        let chat = ChatMessage::new(
            &broadcaster,
            &moderator,
            format!("!scene {}", scenes[i % 4]),
        )
        .with_badge("moderator", "1");
        let mark = obs.request_mark();
        let sent = tokio::time::Instant::now();
        eventsub.send_chat(&chat).expect("delivered");
        let request = obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_secs(5))
            .await
            .unwrap_or_else(|| {
                let replies: Vec<String> = twitch.chat_messages().into_iter().rev().take(3).map(|c| c.message).collect();
                panic!(
                    "command {i} did not reach OBS; last replies {replies:?}; eventsub {:?}; obs scene {:?}",
                    ctx.status.borrow().twitch.as_ref().map(|t| t.eventsub.clone()),
                    ctx.status.borrow().obs.as_ref().map(|o| o.scene.clone())
                )
            });
        latencies.push(request.received.saturating_duration_since(sent));
    }
    let total = started.elapsed();
    latencies.sort();
    let at = |q: f64| common::percentile(&latencies, q);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| commands | p50 | p99 | max | total |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} s |",
        latencies.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(latencies[latencies.len() - 1]),
        total.as_secs_f64()
    );
    app.shutdown(Duration::from_secs(5)).await;
}
