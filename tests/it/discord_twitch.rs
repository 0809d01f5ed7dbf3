//! Discord and Twitch together: real Twitch chat (fake EventSub → the bot) mirrored into the
//! Discord channel, `/twitch category` completed from Helix's category search, and guard alerts
//! that reach both surfaces through a chat flood while both are slow. The real bot against the
//! fake Discord, the fake Twitch (OAuth + Helix), the fake EventSub, the fake OBS and a stats
//! server.

use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_discord::{FakeDiscord, GUILD_ID, Member};
use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::twitch::auth::{self, TOKEN_FILE};

const MIRROR_CHANNEL: u64 = 300_000_000_000_000_012;
const ALERTS_CHANNEL: u64 = 300_000_000_000_000_013;
const STATUS_CHANNEL: u64 = 300_000_000_000_000_014;

struct Rig {
    eventsub: FakeEventSub,
    twitch: FakeTwitch,
    discord: FakeDiscord,
    ctx: Arc<Context>,
    app: App,
    state: tempfile::TempDir,
}

/// The bot with Twitch and Discord (chat mirrored into [`MIRROR_CHANNEL`]), ready: chat
/// subscribed and the Discord commands registered. `extra` goes into the config's top level.
async fn rig(discord_extra: &str, extra: &str) -> Rig {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    twitch.add_user("2002", "viewer_one", "Viewer_One");
    let discord = FakeDiscord::start().await;
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in(
        state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    let config = format!(
        r#"(state_dir: "{state}",
            twitch: (helix_url: "{helix}", oauth_url: "{oauth}", eventsub_url: "{es}"),
            discord: (guild_id: {GUILD_ID}, users: {{"800000000000000001": Moderator}},
                      chat_mirror_channel: Some({MIRROR_CHANNEL}), {proxy},
                      {discord_extra}),
            {tls}, {extra})"#,
        state = state.path().display(),
        helix = twitch.helix_url(),
        oauth = twitch.oauth_url(),
        es = eventsub.url(),
        proxy = discord.bot_config(),
        tls = discord.tls_config(),
    );
    let config = stream_control_test_support::test_config(&config);
    let values = BTreeMap::from([
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID.to_string()),
        (
            "TWITCH_CLIENT_SECRET",
            fake_twitch::CLIENT_SECRET.to_string(),
        ),
        (
            "DISCORD_TOKEN",
            "fake-discord-token-for-this-test".to_string(),
        ),
    ]);
    let secrets = Secrets::from_lookup(|name| values.get(name).cloned());
    let redactor = Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(15),
        status.wait_for(|s| {
            let chat = s.twitch.as_ref().is_some_and(|t| {
                t.eventsub.state == "connected"
                    && t.eventsub
                        .subscriptions
                        .get("channel.chat.message")
                        .is_some_and(|v| v == "enabled")
            });
            chat && s.discord.as_ref().is_some_and(|d| d.commands.is_some())
        }),
    )
    .await
    .expect("Twitch and Discord ready")
    .unwrap();
    Rig {
        eventsub,
        twitch,
        discord,
        ctx,
        app,
        state,
    }
}

#[tokio::test]
async fn twitch_chat_is_mirrored_and_categories_complete_from_helix() {
    let rig = rig("", "").await;
    let (eventsub, discord) = (&rig.eventsub, &rig.discord);

    // Chat → mirror.
    let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN);
    let chatter = User::new("2002", "viewer_one", "Viewer_One");
    for text in ["first <@123> hi", "second *line*"] {
        eventsub
            .send_chat(&ChatMessage::new(&broadcaster, &chatter, text))
            .expect("someone subscribed to chat");
    }
    let mirrored = discord
        .wait_for("both chat lines mirrored", |v| {
            let all: String = v
                .messages_in(MIRROR_CHANNEL)
                .iter()
                .map(|m| m.content.clone())
                .collect();
            (all.contains("first") && all.contains("second")).then_some(all)
        })
        .await;
    // Markdown is escaped, so a pasted mention shows as text (and `allowed_mentions` is empty).
    assert!(
        mirrored.contains("**Viewer\\_One**: first <@123\\> hi"),
        "{mirrored}"
    );
    assert!(mirrored.contains("second \\*line\\*"), "{mirrored}");
    let mentions = discord.view(|v| {
        v.messages_in(MIRROR_CHANNEL)
            .iter()
            .map(|m| m.allowed_mentions.clone())
            .collect::<Vec<_>>()
    });
    assert!(mentions.iter().all(|m| m["parse"] == json!([])));

    // `/twitch category` completes from Helix's search.
    let member = Member {
        user_id: 800_000_000_000_000_001,
        name: "modder".into(),
        roles: vec![],
    };
    let token = discord.autocomplete_sub(&member, &["twitch", "category"], "query", "Mine");
    let answer = discord.answer(&token, |a| !a.callbacks.is_empty()).await;
    assert_eq!(answer.callbacks[0]["type"], 8);
    let names: Vec<&str> = answer.callbacks[0]["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Minecraft"]);
    assert!(rig.app.shutdown(Duration::from_secs(5)).await);
}

/// An SRT Live Server stats page (`/stats`) whose one publisher sends what the test sets.
async fn stats_server(kbps: Arc<AtomicU32>) -> String {
    let app = axum::Router::new().route(
        "/stats",
        axum::routing::get(move || {
            let kbps = kbps.load(Ordering::SeqCst);
            async move {
                format!(
                    r#"{{"publishers": {{"live/feed": {{"bitrate": {kbps}, "rtt": 40, "uptime": 10}}}}, "status": "ok"}}"#
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stats", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The next guard transition on the bus (`low`, `restored`).
async fn transition(events: &mut stream_control::status::Events) -> &'static str {
    use stream_control::status::Event;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(Event::BitrateLow(_)) => return "low",
                Ok(Event::BitrateRestored(_)) => return "restored",
                Ok(_) => {}
                Err(error) => panic!("the test's own receiver: {error}"),
            }
        }
    })
    .await
    .expect("a guard transition")
}

/// Chat traffic and alerts share the event bus. While Discord answers every call after 5 s and
/// Twitch holds the answer to the bot's first chat post, 2,000 chat lines go by with a RESTORED
/// and a LOW among them (1,500 lines after the LOW): every transition still reaches the
/// Discord alerts channel and is announced in Twitch chat.
#[tokio::test]
async fn no_alert_is_lost_to_a_chat_flood_while_discord_and_twitch_are_slow() {
    let kbps = Arc::new(AtomicU32::new(2500));
    let stats = stats_server(kbps.clone()).await;
    let obs = FakeObs::start(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let rig = rig(
        &format!("alerts: Some((channel: {ALERTS_CHANNEL}, kinds: [\"low\", \"restored\"]))"),
        &format!(
            r#"obs: (port: {port}, reconnect_min: "100ms"),
               guard: (poll_interval: "100ms",
                       servers: [(name: "sls", kind: SrtLiveServer(url: "{stats}", publisher: Some("live/feed")), timeout: "1s")],
                       policy: (degrade_after: "300ms", offline_after: "300ms", recover_after: "600ms", live_grace: "0s"))"#,
            port = obs.port(),
        ),
    )
    .await;
    let mut status = rig.ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| {
            s.guard
                .as_ref()
                .is_some_and(|g| g.servers.iter().any(|v| v.state == "live"))
        }),
    )
    .await
    .expect("the guard sees the stream live")
    .unwrap();
    let mut events = rig.ctx.events.subscribe_notable();

    rig.discord.set_delay(Some(Duration::from_secs(5)));
    rig.twitch.hold_chat_answers();
    kbps.store(300, Ordering::SeqCst);
    assert_eq!(transition(&mut events).await, "low");
    // The announcement is on its way, and its answer held: the announcer is busy.
    let first = rig
        .twitch
        .wait_for_chat(0, Duration::from_secs(10))
        .await
        .expect("LOW announced");
    assert!(first.message.contains("Low bitrate"), "{first:?}");

    let broadcaster = User::new(BROADCASTER_ID, BROADCASTER_LOGIN, BROADCASTER_LOGIN);
    let chatter = User::new("2002", "viewer_one", "Viewer_One");
    let say = |from: usize, to: usize| {
        for i in from..to {
            rig.eventsub
                .send_chat(&ChatMessage::new(
                    &broadcaster,
                    &chatter,
                    format!("line {i}"),
                ))
                .expect("chat subscribed");
        }
    };
    say(0, 250);
    kbps.store(2500, Ordering::SeqCst);
    assert_eq!(transition(&mut events).await, "restored");
    say(250, 500);
    kbps.store(300, Ordering::SeqCst);
    assert_eq!(transition(&mut events).await, "low");
    say(500, 2000);
    rig.twitch.release_chat_answers();

    // Twitch chat: LOW, RESTORED, LOW, in order.
    let mut said = Vec::new();
    for index in 0..3 {
        let chat = rig
            .twitch
            .wait_for_chat(index, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("announcement {index}: {said:?}"));
        said.push(chat.message);
    }
    assert!(
        said[1].contains("LIVE") && said[2].contains("LOW"),
        "{said:?}"
    );
    // Discord: three alerts, each answered after 5 s.
    let alerts = rig
        .discord
        .wait_for_within("three alerts", Duration::from_secs(30), |v| {
            let posted: Vec<String> = v
                .messages_in(ALERTS_CHANNEL)
                .into_iter()
                .map(|m| m.content)
                .collect();
            (posted.len() >= 3).then_some(posted)
        })
        .await;
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    assert!(alerts[0].contains("Low bitrate"), "{alerts:?}");
    assert!(!alerts[1].contains("Low bitrate"), "{alerts:?}");
    assert!(alerts[2].contains("Low bitrate"), "{alerts:?}");
    // The mirror could not keep up: it says how many lines it skipped instead.
    rig.discord
        .wait_for_within("the mirror's skipped note", Duration::from_secs(30), |v| {
            v.messages_in(MIRROR_CHANNEL)
                .iter()
                .any(|m| m.content.contains("skipped while Discord was slow"))
                .then_some(())
        })
        .await;
    assert!(rig.app.shutdown(Duration::from_secs(10)).await);
}

/// A revoked Twitch authorization shows on Discord's surfaces: one alert naming the fix, and the
/// status message says to log in; after `twitch login` in another shell the status message is
/// green again and no second alert was posted.
#[tokio::test]
async fn a_revoked_authorization_is_alerted_once_and_shown_until_the_next_login() {
    let rig = rig(
        &format!(
            r#"alerts: Some((channel: {ALERTS_CHANNEL}, kinds: ["token_failing"])),
               status_channel: Some({STATUS_CHANNEL})"#
        ),
        "",
    )
    .await;
    rig.twitch.revoke_authorization(BROADCASTER_ID);
    let alert = rig
        .discord
        .wait_for("the token alert", |v| {
            v.messages_in(ALERTS_CHANNEL)
                .first()
                .map(|m| m.content.clone())
        })
        .await;
    assert!(alert.contains("`stream-control twitch login`"), "{alert}");
    let says = |text: &'static str| {
        move |v: &fake_discord::FakeView<'_>| {
            v.messages_in(STATUS_CHANNEL)
                .iter()
                .any(|m| m.embeds.iter().any(|e| e.to_string().contains(text)))
                .then_some(())
        }
    };
    rig.discord
        .wait_for_within(
            "the status message asks for a login",
            Duration::from_secs(30),
            says("log in again with `stream-control twitch login`"),
        )
        .await;
    rig.twitch.sign_in(
        rig.state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    rig.discord
        .wait_for_within(
            "the status message without the login request",
            Duration::from_secs(30),
            |v| {
                v.messages_in(STATUS_CHANNEL)
                    .iter()
                    .any(|m| {
                        m.embeds
                            .iter()
                            .all(|e| !e.to_string().contains("stream-control twitch login"))
                    })
                    .then_some(())
            },
        )
        .await;
    assert_eq!(
        rig.discord.view(|v| v.messages_in(ALERTS_CHANNEL).len()),
        1,
        "one alert, not one per retry"
    );
    assert!(rig.app.shutdown(Duration::from_secs(10)).await);
}
