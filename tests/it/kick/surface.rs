//! Kick chat as a control surface, through the whole app: the Pusher reader (fake Pusher) or
//! the webhook route (signed deliveries to the web server), dispatch, OBS (fake), replies
//! through the fake Kick's chat endpoint; Twitch and Kick at once; the stop after a host.

use super::{Rig, TWO_HOURS, secrets};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::{Event, GuardTransition, ObsConnection};
use stream_control_test_support::fake_eventsub::{ChatMessage as TwitchChat, FakeEventSub, User};
use stream_control_test_support::fake_kick::pusher::{FakePusher, FakePusherOptions, KickChat};
use stream_control_test_support::fake_kick::webhook::FakeKickWebhooks;
use stream_control_test_support::fake_kick::{self, FakeKick};
use stream_control_test_support::fake_obs::{FakeObs, FakeObsOptions};
use stream_control_test_support::fake_twitch::{self, BROADCASTER_ID, FakeTwitch};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
const CHATROOM: u64 = 77;
const CHANNEL: u64 = 88;

struct App2 {
    kick: FakeKick,
    pusher: FakePusher,
    obs: FakeObs,
    app: App,
    ctx: Arc<Context>,
    _rig: Rig,
}

/// OBS (streaming when `streaming`), Kick with the Pusher reader on the fake socket, and
/// `extra` top-level sections; started and connected.
async fn start(kick_extra: &str, obs_extra: &str, extra: &str, streaming: bool) -> App2 {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let pusher = FakePusher::start(FakePusherOptions::new(&[
        &format!("chatrooms.{CHATROOM}.v2"),
        &format!("channel.{CHANNEL}"),
    ]))
    .await;
    let obs = FakeObs::start(FakeObsOptions {
        password: None,
        streaming,
        ..FakeObsOptions::default()
    })
    .await;
    let text = format!(
        r#"(state_dir: "{state}", {ca},
            obs: (port: {port}, reconnect_min: "100ms", stop: (ending_delay: "50ms", confirm_timeout: "3s"), {obs_extra}),
            commands: (cooldowns: (command: "0s", user: "0s")),
            kick: (channel: "{channel}", {urls},
                   reader: Some(Pusher(chatroom_id: {CHATROOM}, channel_id: Some({CHANNEL}), url: "{url}")),
                   {kick_extra}),
            {extra})"#,
        state = rig.dir.path().join("state").display(),
        ca = rig.ca.config_entry(),
        port = obs.port(),
        channel = fake_kick::BROADCASTER_NAME,
        urls = rig.kick.config_urls(),
        url = pusher.url(),
    );
    let config = Config::parse(&text).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut values: BTreeMap<&str, &str> = BTreeMap::from([
        ("KICK_CLIENT_ID", fake_kick::CLIENT_ID),
        ("KICK_CLIENT_SECRET", fake_kick::CLIENT_SECRET),
    ]);
    if extra.contains("twitch:") {
        values.insert("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID);
        values.insert("TWITCH_CLIENT_SECRET", fake_twitch::CLIENT_SECRET);
    }
    let secrets = Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()));
    let redactor = Redactor::new(&secrets);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.kick.as_ref().is_some_and(|k| k.chat == "connected")
                && s.obs
                    .as_ref()
                    .is_some_and(|o| o.connection == ObsConnection::Connected)
        }),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "Kick chat and OBS connected: {:?}",
            ctx.status.borrow().kick
        )
    })
    .unwrap();
    App2 {
        kick: rig.kick.clone(),
        pusher,
        obs,
        app,
        ctx,
        _rig: rig,
    }
}

impl App2 {
    fn say(&self, id: &str, who: &str, text: &str, badge: Option<&str>) {
        let mut chat = KickChat::new(id, who, text);
        if let Some(badge) = badge {
            chat = chat.with_badge(badge);
        }
        assert_eq!(self.pusher.send_chat(CHATROOM, &chat), 1, "one reader");
    }

    async fn reply(&self, index: usize) -> fake_kick::SentChat {
        self.kick
            .wait_for_chat(index, WAIT)
            .await
            .expect("a Kick chat reply")
    }

    async fn stop(self) {
        assert!(self.app.shutdown(Duration::from_secs(5)).await);
    }
}

#[tokio::test]
async fn a_moderators_brb_from_kick_switches_obs_and_a_viewer_is_refused() {
    let app = start("", "", "", false).await;
    let mark = app.obs.request_mark();
    app.say("m-1", "amod", "!brb", Some("moderator"));
    app.obs
        .wait_for_request_since(mark, "SetCurrentProgramScene", WAIT)
        .await
        .expect("a switch");
    assert_eq!(app.obs.current_scene(), "BRB");
    let reply = app.reply(0).await;
    assert_eq!(reply.content, "Switched to BRB.");
    assert_eq!(reply.reply_to_message_id.as_deref(), Some("m-1"));
    assert_eq!(reply.broadcaster_user_id, fake_kick::BROADCASTER_ID);

    // A viewer: refused, in words that do not start like a command; OBS untouched.
    let mark = app.obs.request_mark();
    app.say("m-2", "aviewer", "!live", None);
    let reply = app.reply(1).await;
    assert_eq!(reply.content, "» !live needs moderator or higher.");
    assert_eq!(reply.reply_to_message_id.as_deref(), Some("m-2"));
    // An answer to a later command proves the refused one switched nothing meanwhile.
    app.say("m-3", "amod", "!ping", Some("moderator"));
    assert_eq!(app.reply(2).await.content, "Pong!");
    assert!(
        app.obs.requests()[mark..]
            .iter()
            .all(|r| r.request_type != "SetCurrentProgramScene"),
        "the viewer switched nothing"
    );
    assert_eq!(app.obs.current_scene(), "BRB");
    // The same message delivered twice (Pusher redelivers after a reconnect) runs once.
    app.pusher.replay_last(&format!("chatrooms.{CHATROOM}.v2"));
    app.say("m-4", "amod", "!ping", Some("moderator"));
    assert_eq!(
        app.reply(3).await.reply_to_message_id.as_deref(),
        Some("m-4")
    );
    assert_eq!(app.kick.chats().len(), 4, "the replayed !ping ran once");
    app.stop().await;
}

#[tokio::test]
async fn twitch_and_kick_at_once_each_answer_their_own_and_both_get_the_announcement() {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    twitch.add_user("3003", "amod", "AMod");
    let twitch_section = format!(
        r#"twitch: (helix_url: "{}", oauth_url: "{}", eventsub_url: "{}")"#,
        twitch.helix_url(),
        twitch.oauth_url(),
        eventsub.url()
    );
    let app = start("", "", &twitch_section, false).await;
    let state = app.ctx.config.state_dir.clone();
    twitch.sign_in(
        &state,
        stream_control::twitch::auth::TOKEN_FILE,
        BROADCASTER_ID,
        stream_control::twitch::auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    // Twitch's chat subscription made (the token file appeared after the start).
    let mut status = app.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch.as_ref().is_some_and(|t| {
                t.eventsub
                    .subscriptions
                    .get("channel.chat.message")
                    .is_some_and(|v| v == "enabled")
            })
        }),
    )
    .await
    .expect("Twitch chat subscribed")
    .unwrap();

    // Kick's !ping is answered on Kick only.
    app.say("k-1", "amod", "!ping", Some("moderator"));
    assert_eq!(app.reply(0).await.content, "Pong!");
    // Twitch's on Twitch only.
    let broadcaster = User::new(
        BROADCASTER_ID,
        fake_twitch::BROADCASTER_LOGIN,
        fake_twitch::BROADCASTER_LOGIN,
    );
    let moderator = User::new("3003", "amod", "amod");
    let chat = TwitchChat::new(&broadcaster, &moderator, "!ping").with_badge("moderator", "1");
    eventsub.send_chat(&chat).unwrap();
    let reply = twitch.wait_for_chat(0, WAIT).await.expect("a Twitch reply");
    assert_eq!(reply.message, "Pong!");
    assert_eq!(
        app.kick.chats().len(),
        1,
        "Kick heard nothing of Twitch's !ping"
    );

    // A guard transition is announced in both chats.
    let _ = app.ctx.events.send(Event::BitrateLow(GuardTransition {
        from: "live",
        to: "low",
        cause: "low_bitrate",
        bitrate_kbps: Some(420),
        rtt_ms: None,
        server: Some("sls".into()),
        error: None,
        dry_run: false,
    }));
    let on_kick = app.reply(1).await;
    let on_twitch = twitch.wait_for_chat(1, WAIT).await.expect("Twitch's copy");
    assert_eq!(on_kick.content, on_twitch.message);
    assert!(on_kick.content.contains("420"), "{}", on_kick.content);
    assert_eq!(on_kick.reply_to_message_id, None);
    app.stop().await;
}

#[tokio::test]
async fn an_outgoing_host_on_kick_stops_the_stream_when_kick_raid_stop_is_on() {
    let app = start(
        "raid_stop: true",
        r#"raid_stop: (delay: "0s", min_live: "0s", message: Some("Hosted {channel}!"))"#,
        "",
        true,
    )
    .await;
    let mark = app.obs.request_mark();
    assert_eq!(app.pusher.send_host(CHANNEL, "friendly-streamer", 12), 1);
    app.obs
        .wait_for_request_since(mark, "StopStream", WAIT)
        .await
        .expect("the stream stopped after the host");
    // The raid message goes to Kick chat (the only chat here).
    let message = app.reply(0).await;
    assert_eq!(message.content, "Hosted friendly-streamer!");
    app.stop().await;
}

#[tokio::test]
async fn webhook_chat_reaches_the_surface_and_forged_or_foreign_deliveries_do_not() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let webhooks = FakeKickWebhooks::new();
    let key = rig.dir.path().join("kick-test.pub.pem");
    std::fs::write(
        &key,
        stream_control_test_support::fake_kick::webhook::TEST_PUBLIC_KEY_PEM,
    )
    .unwrap();
    let obs = FakeObs::start(FakeObsOptions {
        password: None,
        ..FakeObsOptions::default()
    })
    .await;
    let port = stream_control_test_support::nginx::free_port();
    let text = format!(
        r#"(state_dir: "{state}", {ca},
            obs: (port: {obs}, reconnect_min: "100ms"),
            web: (bind: "127.0.0.1:{port}"),
            commands: (cooldowns: (command: "0s", user: "0s")),
            kick: (channel: "{channel}", {urls},
                   reader: Some(Webhook(public_key_file: Some("{key}")))))"#,
        state = rig.dir.path().join("state").display(),
        ca = rig.ca.config_entry(),
        obs = obs.port(),
        channel = fake_kick::BROADCASTER_NAME,
        urls = rig.kick.config_urls(),
        key = key.display(),
    );
    let config = Config::parse(&text).unwrap_or_else(|p| panic!("{p:#?}"));
    let ctx = Context::new(config, secrets(), Redactor::default()).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.web.is_some()
                && s.obs
                    .as_ref()
                    .is_some_and(|o| o.connection == ObsConnection::Connected)
        }),
    )
    .await
    .expect("the web server listens and OBS is connected")
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/kick/webhook");
    let client = stream_control_test_support::http();
    let now = SystemTime::now();

    // Forged: refused at the door.
    let forged = webhooks
        .chat_in(
            fake_kick::BROADCASTER_ID,
            7,
            "amod",
            &["moderator"],
            "!brb",
            now,
        )
        .tampered();
    assert_eq!(forged.post(&client, &url).await.as_u16(), 401);
    // Another channel's chat (the app serves several): acknowledged, not obeyed.
    let foreign = webhooks.chat_in(999, 7, "amod", &["moderator"], "!brb", now);
    assert_eq!(foreign.post(&client, &url).await.as_u16(), 200);
    // Ours, signed: obeyed and answered.
    let mark = obs.request_mark();
    let ours = webhooks.chat_in(
        fake_kick::BROADCASTER_ID,
        7,
        "amod",
        &["moderator"],
        "!brb",
        now,
    );
    assert_eq!(ours.post(&client, &url).await.as_u16(), 200);
    obs.wait_for_request_since(mark, "SetCurrentProgramScene", WAIT)
        .await
        .expect("a switch");
    assert_eq!(obs.current_scene(), "BRB");
    let reply = rig.kick.wait_for_chat(0, WAIT).await.expect("a reply");
    assert_eq!(reply.content, "Switched to BRB.");
    // Kick delivering the same message again: acknowledged, run once.
    assert_eq!(ours.post(&client, &url).await.as_u16(), 200);
    let status_kick = ctx.status.borrow().kick.clone().unwrap();
    assert_eq!(
        (status_kick.reader, status_kick.chat),
        ("webhook", "receiving")
    );
    assert_eq!(status_kick.refused, Some(1));
    assert!(app.shutdown(Duration::from_secs(5)).await);
    assert_eq!(
        rig.kick.chats().len(),
        1,
        "one answer: the foreign and the repeated one ran nothing"
    );
    assert_eq!(obs.current_scene(), "BRB");
}

/// Kick's health where people look: `/api/status` (`kick` and `health.kick`), the status
/// page's texts and the Discord embed; a socket Kick closes for good (Pusher 4001: do not
/// reconnect) turns it red and says why.
#[tokio::test]
async fn kicks_health_shows_on_the_status_api_the_page_and_the_embed() {
    let port = stream_control_test_support::nginx::free_port();
    let app = start(
        "",
        "",
        &format!(r#"web: (bind: "127.0.0.1:{port}")"#),
        false,
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let http = stream_control_test_support::http();
    let api = |http: reqwest::Client| {
        let url = format!("{base}/api/status");
        async move {
            let response = http.get(url).send().await.unwrap();
            assert!(response.status().is_success());
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let status = api(http.clone()).await;
    assert_eq!(status["kick"]["reader"], "pusher");
    assert_eq!(status["kick"]["chat"], "connected");
    assert_eq!(status["health"]["kick"], "ok");
    let page = http
        .get(format!("{base}/"))
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#""web-kick":"Kick chat""#), "{page}");
    let embed = |ctx: &Context| {
        let status = ctx.status.borrow().clone();
        serde_json::to_value(stream_control::surfaces::discord::embed::status_embed(
            ctx, &status, "en-US",
        ))
        .unwrap()
    };
    let kick_field = |embed: serde_json::Value| {
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "Kick")
            .map(|f| f["value"].as_str().unwrap().to_string())
            .expect("a Kick field")
    };
    assert_eq!(kick_field(embed(&app.ctx)), "Chat: connected · chat socket");

    app.pusher.error_all(4001, "Application does not exist");
    let mut watch = app.ctx.status.subscribe();
    timeout(
        WAIT,
        watch.wait_for(|s| s.kick.as_ref().is_some_and(|k| k.chat == "gave_up")),
    )
    .await
    .expect("the reader gives up")
    .unwrap();
    let status = api(http.clone()).await;
    assert_eq!(status["health"]["kick"], "bad");
    assert_eq!(status["health"]["overall"], "bad");
    let why = status["kick"]["chat_error"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("4001: ") && why.contains("Application does not exist"),
        "{status}"
    );
    let field = kick_field(embed(&app.ctx));
    assert!(
        field.starts_with("Chat: gave up (restart needed) · chat socket\n4001: "),
        "{field}"
    );
    app.stop().await;
}
