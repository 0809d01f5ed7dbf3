//! Slash command in at the (fake) Discord gateway → `SetCurrentProgramScene` out at the (fake)
//! OBS, and → the interaction's answer back at the (fake) Discord REST API; loopback, 2,000
//! commands one after another: p50, p99 and max. The path measured is the product's: gateway
//! frame → serenity → poise → the slash tree → parse → permission and cooldown → handler → obws;
//! then the localised answer over HTTP. Run: `cargo bench --bench discord_to_obs`.

mod common;

use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_obs;

use fake_discord::{FakeDiscord, GUILD_ID, Member};
use fake_obs::{FakeObs, FakeObsOptions};
use serde_json::json;
use std::time::{Duration, Instant};
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};

const COMMANDS: usize = 2_000;

fn main() {
    let runtime = common::runtime();
    runtime.block_on(bench());
}

async fn bench() {
    let discord = FakeDiscord::start().await;
    let obs = FakeObs::start(FakeObsOptions::default()).await;
    let state = tempfile::tempdir().unwrap();
    let config = Config::parse(&format!(
        r#"(state_dir: "{}", log: (filter: "warn"), obs: (port: {}),
            discord: (guild_id: {GUILD_ID}, users: {{"800000000000000001": Moderator}},
                      api_url: Some("{}")),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        state.path().display(),
        obs.port(),
        discord.api_url,
    ))
    .unwrap();
    let secrets = Secrets::from_lookup(|name| {
        (name == "DISCORD_TOKEN").then(|| "bench-discord-token".to_string())
    });
    let ctx = Context::new(config, secrets, Redactor::default()).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    status
        .wait_for(|s| {
            s.obs.as_ref().is_some_and(|o| !o.scenes.is_empty())
                && s.discord.as_ref().is_some_and(|d| d.commands.is_some())
        })
        .await
        .unwrap();
    let member = Member {
        user_id: 800_000_000_000_000_001,
        name: "modder".into(),
        roles: vec![],
    };
    let scenes = ["LOW", "BRB", "OFFLINE", "LIVE"];
    let mut to_obs = Vec::with_capacity(COMMANDS);
    let mut to_answer = Vec::with_capacity(COMMANDS);
    let started = Instant::now();
    for i in 0..COMMANDS {
        let mark = obs.request_mark();
        let sent = tokio::time::Instant::now();
        let token = discord.slash(
            &member,
            Some(GUILD_ID),
            &["scene"],
            json!([{"name": "name", "type": 3, "value": scenes[i % 4]}]),
        );
        let request = obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("command {i} did not reach OBS"));
        to_obs.push(request.received.saturating_duration_since(sent));
        discord.answer(&token, |a| a.text().is_some()).await;
        to_answer.push(sent.elapsed());
    }
    let total = started.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| commands | measured to | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (what, mut latencies) in [("OBS request", to_obs), ("Discord answer", to_answer)] {
        latencies.sort();
        let at = |q: f64| common::percentile(&latencies, q);
        println!(
            "| {} | {what} | {:.2} ms | {:.2} ms | {:.2} ms |",
            latencies.len(),
            ms(at(0.50)),
            ms(at(0.99)),
            ms(latencies[latencies.len() - 1]),
        );
    }
    println!("total {:.1} s", total.as_secs_f64());
    app.shutdown(Duration::from_secs(5)).await;
}
