//! Twitch end to end: the real twitch_api/twitch_oauth2 clients and the EventSub session against
//! fakes of Twitch (OAuth + Helix over HTTP, EventSub over WebSocket) and of OBS, all on
//! 127.0.0.1. Real sockets, real time; every wait is bounded and event-driven.

use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_eventsub::{ChatMessage, FakeEventSub, User};
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, BROADCASTER_LOGIN, FakeTwitch};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::Config;
use stream_control::secrets::{Redactor, Secrets};
use stream_control::state_store::StateDir;
use stream_control::status::{Event, TokenState, UploadProblem};
use stream_control::twitch::auth::{self, TOKEN_FILE};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(15);

struct Rig {
    eventsub: FakeEventSub,
    twitch: FakeTwitch,
    obs: FakeObs,
    app: App,
    ctx: Arc<Context>,
    state: tempfile::TempDir,
    broadcaster: User,
}

fn user(id: &str, login: &str) -> User {
    User::new(id, login, login)
}

/// Token `expires_in` for the stored token; `obs_extra` goes in the `obs` section.
async fn rig_with(
    expires_in: Duration,
    obs_extra: &str,
    obs_options: FakeObsOptions,
    before_start: impl FnOnce(&FakeEventSub, &FakeTwitch, &std::path::Path),
) -> Rig {
    let rig = rig_with_scopes(
        expires_in,
        Some(auth::SCOPES),
        obs_extra,
        obs_options,
        before_start,
    )
    .await;
    rig.wait_subscribed().await;
    rig
}

/// [`rig_with`], the broadcaster signed in with `scopes` (`None`: not signed in), without
/// waiting for the subscriptions.
/// A rig whose streamer has not logged in yet (no token file).
async fn logged_out_rig() -> Rig {
    rig_with_scopes(
        Duration::from_secs(4 * 3600),
        None,
        "",
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await
}

async fn rig_with_scopes(
    expires_in: Duration,
    scopes: Option<&[&str]>,
    obs_extra: &str,
    obs_options: FakeObsOptions,
    before_start: impl FnOnce(&FakeEventSub, &FakeTwitch, &std::path::Path),
) -> Rig {
    rig_with_twitch(expires_in, scopes, obs_extra, "", obs_options, before_start).await
}

/// [`rig_with_scopes`] with `twitch_extra` appended inside the `twitch` section.
async fn rig_with_twitch(
    expires_in: Duration,
    scopes: Option<&[&str]>,
    obs_extra: &str,
    twitch_extra: &str,
    obs_options: FakeObsOptions,
    before_start: impl FnOnce(&FakeEventSub, &FakeTwitch, &std::path::Path),
) -> Rig {
    let eventsub = FakeEventSub::start().await;
    // Every socket is pinged; one that does not answer within 2 s is closed with 4002.
    eventsub.set_ping(Some((Duration::from_millis(200), Duration::from_secs(2))));
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    twitch.add_user("2002", "someone", "Someone");
    twitch.add_user("3003", "amod", "AMod");
    twitch.add_user("4004", "aviewer", "AViewer");
    twitch.add_user("5005", "theadmin", "TheAdmin");
    let state = tempfile::tempdir().unwrap();
    before_start(&eventsub, &twitch, state.path());
    if let Some(scopes) = scopes {
        twitch.sign_in(state.path(), TOKEN_FILE, BROADCASTER_ID, scopes, expires_in);
    }
    let obs = FakeObs::start(FakeObsOptions {
        password: None,
        ..obs_options
    })
    .await;
    let config = format!(
        r#"(state_dir: "{}",
            obs: (port: {}, reconnect_min: "100ms", stop: (ending_delay: "50ms", confirm_timeout: "3s"), {obs_extra}),
            twitch: (helix_url: "{}", oauth_url: "{}", eventsub_url: "{}", admins: ["theadmin"], {twitch_extra}),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        state.path().display(),
        obs.port(),
        twitch.helix_url(),
        twitch.oauth_url(),
        eventsub.url()
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
        obs,
        app,
        ctx,
        state,
        broadcaster: user(BROADCASTER_ID, BROADCASTER_LOGIN),
    }
}

async fn rig() -> Rig {
    rig_with(
        Duration::from_secs(4 * 3600),
        "",
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await
}

impl Rig {
    async fn wait_subscribed(&self) {
        let mut status = self.ctx.status.subscribe();
        let ok = timeout(
            WAIT,
            status.wait_for(|s| {
                s.twitch.as_ref().is_some_and(|t| {
                    t.eventsub.state == "connected"
                        && t.eventsub.subscriptions.len()
                            == stream_control::twitch::eventsub::TYPES.len()
                        && t.eventsub.subscriptions.values().all(|v| v == "enabled")
                })
            }),
        )
        .await;
        assert!(
            ok.is_ok(),
            "not subscribed: {:?}",
            self.ctx.status.borrow().twitch
        );
    }

    fn chat(&self, chatter: &User, text: &str, badge: Option<&str>) {
        let mut message = ChatMessage::new(&self.broadcaster, chatter, text);
        if let Some(badge) = badge {
            message = message.with_badge(badge, "1");
        }
        self.eventsub
            .send_chat(&message)
            .expect("someone subscribed to chat");
    }

    /// The next chat message the bot sends (index `since`).
    async fn reply(&self, since: usize) -> fake_twitch::SentChat {
        self.twitch
            .wait_for_chat(since, WAIT)
            .await
            .expect("a chat reply")
    }

    async fn stop(self) {
        assert!(self.app.shutdown(Duration::from_secs(5)).await);
    }

    /// `stream-control twitch login` in another shell: a new token file for the broadcaster.
    fn log_in(&self) {
        self.twitch.sign_in(
            self.state.path(),
            TOKEN_FILE,
            BROADCASTER_ID,
            auth::SCOPES,
            Duration::from_secs(4 * 3600),
        );
    }
}

#[tokio::test]
async fn a_moderator_switches_to_brb_from_chat_and_gets_a_reply() {
    let rig = rig().await;
    let moderator = user("3003", "amod");
    let mark = rig.obs.request_mark();
    let chat = ChatMessage::new(&rig.broadcaster, &moderator, "!brb")
        .with_badge("moderator", "1")
        .with_message_id("msg-1");
    rig.eventsub.send_chat(&chat).unwrap();
    rig.obs
        .wait_for_request_since(mark, "SetCurrentProgramScene", WAIT)
        .await
        .expect("a switch");
    assert_eq!(rig.obs.current_scene(), "BRB");
    let reply = rig.reply(0).await;
    assert_eq!(reply.message, "Switched to BRB.");
    assert_eq!(reply.reply_parent_message_id.as_deref(), Some("msg-1"));
    assert_eq!(
        (reply.broadcaster_id.as_str(), reply.sender_id.as_str()),
        (BROADCASTER_ID, BROADCASTER_ID)
    );
    rig.stop().await;
}

#[tokio::test]
async fn our_own_message_is_never_a_command_even_when_its_echo_comes_first() {
    // The raid message is the operator's own text, sent as written (it may be meant for another
    // bot): here a command of ours, sent as the broadcaster (no bot account).
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        r#"raid_stop: (delay: "0s", min_live: "0s", message: Some("!ping"))"#,
        FakeObsOptions {
            streaming: true,
            ..FakeObsOptions::default()
        },
        |_, _, _| {},
    )
    .await;
    // Twitch delivers the echo over EventSub before it answers the post.
    rig.twitch.hold_chat_answers();
    rig.eventsub
        .send_raid(&rig.broadcaster, &user("2002", "someone"), 42)
        .unwrap();
    let posted = rig.reply(0).await;
    assert_eq!(
        (posted.message.as_str(), posted.sender_id.as_str()),
        ("!ping", BROADCASTER_ID)
    );
    let echo = ChatMessage::new(&rig.broadcaster, &rig.broadcaster, "!ping")
        .with_badge("broadcaster", "1")
        .with_message_id(&posted.message_id);
    rig.eventsub.send_chat(&echo).unwrap();
    rig.twitch.release_chat_answers();
    // The broadcaster typing the same words afterwards is a command again.
    rig.chat(&rig.broadcaster, "!ping", Some("broadcaster"));
    assert_eq!(rig.reply(1).await.message, "Pong!");
    rig.chat(&user("3003", "amod"), "!version", Some("moderator"));
    assert!(rig.reply(2).await.message.starts_with("stream-control "));
    let sent: Vec<String> = rig
        .twitch
        .chat_messages()
        .into_iter()
        .map(|c| c.message)
        .collect();
    assert_eq!(sent.len(), 3, "the echo was not answered: {sent:?}");
    rig.stop().await;
}

#[tokio::test]
async fn notifications_on_the_old_socket_during_a_reconnect_are_handled_once() {
    const ROUNDS: usize = 100;
    let rig = rig().await;
    // The new socket welcomes 50 ms after it connects; until then Twitch sends on the old one.
    rig.eventsub
        .set_reconnect_welcome_delay(Duration::from_millis(50));
    let moderator = user("3003", "amod");
    for round in 0..ROUNDS {
        let moving = {
            let eventsub = rig.eventsub.clone();
            tokio::spawn(async move { eventsub.reconnect().await })
        };
        assert!(rig.eventsub.wait_for_unwelcomed_reconnect(WAIT).await);
        // Both on the old socket, in the window; the second is also repeated on the new one.
        let only_old =
            ChatMessage::new(&rig.broadcaster, &moderator, "!ping").with_badge("moderator", "1");
        rig.eventsub.send_chat(&only_old).expect("delivered");
        let repeated =
            ChatMessage::new(&rig.broadcaster, &moderator, "!version").with_badge("moderator", "1");
        let id = rig.eventsub.send_chat(&repeated).expect("delivered");
        assert!(moving.await.unwrap().is_some(), "round {round}: moved");
        rig.eventsub.resend(&id);
    }
    rig.chat(&moderator, "!status", Some("moderator"));
    let last = rig.reply(2 * ROUNDS).await;
    let sent = rig.twitch.chat_messages();
    assert_eq!(sent.len(), 2 * ROUNDS + 1, "each exactly once: {sent:?}");
    let pongs = sent
        .iter()
        .filter(|c| c.message.starts_with("Pong!"))
        .count();
    assert_eq!(pongs, ROUNDS, "none lost on the old socket");
    assert!(!last.message.starts_with("Pong!"));
    rig.stop().await;
}

#[tokio::test]
async fn twenty_network_drops_never_leave_an_old_socket_open() {
    let rig = rig().await;
    for round in 0..20 {
        let mark = rig.eventsub.session_mark();
        rig.eventsub
            .close_all(fake_eventsub::close_code::NETWORK_ERROR, "network error");
        rig.eventsub
            .wait_for_session_after(mark, WAIT)
            .await
            .unwrap_or_else(|| panic!("round {round}: a new session"));
        rig.wait_subscribed().await;
    }
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    assert_eq!(rig.eventsub.connections(), 1);
    assert!(
        rig.eventsub.max_connections() <= 2,
        "never more than one socket beyond an overlap: {}",
        rig.eventsub.max_connections()
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_subscription_refused_for_a_missing_scope_names_the_scope() {
    let scopes: Vec<&str> = auth::SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "user:read:chat")
        .collect();
    let rig = rig_with_scopes(
        Duration::from_secs(4 * 3600),
        Some(&scopes),
        "",
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await;
    let mut status = rig.ctx.status.subscribe();
    let chat = timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch.as_ref().is_some_and(|t| {
                let made = &t.eventsub.subscriptions;
                made.len() == stream_control::twitch::eventsub::TYPES.len()
                    && made
                        .get("channel.chat.message")
                        .is_some_and(|v| v.starts_with("failed"))
            })
        }),
    )
    .await
    .expect("the chat subscription fails")
    .unwrap()
    .twitch
    .as_ref()
    .unwrap()
    .eventsub
    .subscriptions["channel.chat.message"]
        .clone();
    assert_eq!(
        chat,
        "failed: the Twitch token lacks a scope: user:read:chat"
    );
    // The others need no scope and are made.
    let twitch = rig.ctx.status.borrow().twitch.clone().unwrap();
    for kind in ["channel.raid", "stream.online", "stream.offline"] {
        assert_eq!(twitch.eventsub.subscriptions[kind], "enabled", "{kind}");
    }
    rig.stop().await;
}

#[tokio::test]
async fn eventsub_pings_are_answered_and_the_session_stays() {
    let rig = rig().await;
    let session = rig
        .eventsub
        .wait_for_session(WAIT)
        .await
        .expect("a session");
    assert!(rig.eventsub.wait_for_pongs(5, WAIT).await, "pongs");
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    let sessions = rig.eventsub.sessions();
    let ours = sessions.iter().find(|s| s.id == session).unwrap();
    assert!(ours.connected, "{}", ours.status);
    assert_eq!(sessions.len(), 1, "never reconnected");
    // It asked for a keepalive that leaves room to subscribe (the time allowed is the same).
    assert_eq!(ours.paths, ["/ws?keepalive_timeout_seconds=20"]);
    assert_eq!(ours.keepalive_secs, 20);
    rig.stop().await;
}

#[tokio::test]
async fn a_viewer_is_refused_and_nothing_happens() {
    let rig = rig().await;
    let mark = rig.obs.request_mark();
    rig.chat(&user("4004", "aviewer"), "!brb", None);
    let reply = rig.reply(0).await;
    // Starting with the command, the refusal would come back as the broadcaster's `!brb`.
    assert_eq!(reply.message, "» !brb needs moderator or higher.");
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_millis(300))
            .await
            .is_none()
    );
    assert_eq!(rig.obs.current_scene(), "LIVE");
    // Unknown words: silence. An admin listed by login may use admin commands.
    rig.chat(&user("4004", "aviewer"), "!hello there", None);
    rig.chat(&user("5005", "theadmin"), "!raid someone", None);
    let reply = rig.reply(1).await;
    assert_eq!(reply.message, "Raiding Someone!");
    assert_eq!(
        rig.twitch.chat_messages().len(),
        2,
        "no answer to an unknown word"
    );
    rig.stop().await;
}

#[tokio::test]
async fn raid_title_and_category_go_through_helix() {
    let rig = rig().await;
    let me = rig.broadcaster.clone();
    rig.chat(&me, "!raid @Someone", Some("broadcaster"));
    assert_eq!(rig.reply(0).await.message, "Raiding Someone!");
    assert_eq!(
        rig.twitch.raids(),
        [(BROADCASTER_ID.to_string(), "2002".to_string())]
    );
    rig.chat(&me, "!raid nobodyatall", Some("broadcaster"));
    assert_eq!(
        rig.reply(1).await.message,
        "There is no Twitch channel “nobodyatall”."
    );
    rig.chat(&me, "!title IRL in Oslo — day 3", Some("broadcaster"));
    assert_eq!(rig.reply(2).await.message, "Title set: IRL in Oslo — day 3");
    assert_eq!(rig.twitch.channel().title, "IRL in Oslo — day 3");
    rig.chat(&me, "!category just chatting", Some("broadcaster"));
    assert_eq!(rig.reply(3).await.message, "Category set: Just Chatting");
    assert_eq!(rig.twitch.channel().game_name, "Just Chatting");
    rig.chat(&me, "!category zzzzzz", Some("broadcaster"));
    assert_eq!(rig.reply(4).await.message, "No category matches “zzzzzz”.");
    rig.stop().await;
}

#[tokio::test]
async fn our_raid_stops_the_stream_confirmed_then_offline_and_posts_the_message() {
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        r#"raid_stop: (delay: "0s", min_live: "0s", message: Some("Raided {channel}! Thanks for watching."))"#,
        FakeObsOptions {
            streaming: true,
            ..FakeObsOptions::default()
        },
        |_, _, _| {},
    )
    .await;
    let mut events = rig.ctx.events.subscribe();
    rig.eventsub
        .send_raid(&rig.broadcaster, &user("2002", "someone"), 42)
        .unwrap();
    let outcome = timeout(WAIT, async {
        loop {
            if let Ok(Event::RaidHandled { outcome, .. }) = events.recv().await {
                return outcome;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(outcome, stream_control::status::RaidOutcome::Stopped);
    assert!(!rig.obs.is_streaming());
    assert_eq!(rig.obs.current_scene(), "OFFLINE");
    assert_eq!(
        rig.reply(0).await.message,
        "Raided someone! Thanks for watching."
    );
    // An incoming raid is not even delivered: the subscription is for raids *from* us.
    assert!(
        rig.eventsub
            .send_raid(&user("2002", "someone"), &rig.broadcaster, 5)
            .is_none()
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_hundred_session_reconnects_lose_and_double_nothing() {
    let rig = rig().await;
    let mut events = rig.ctx.events.subscribe();
    let moderator = user("3003", "amod");
    let mut sent = Vec::new();
    for round in 0..100 {
        let before = format!("before-{round}");
        let chat = ChatMessage::new(&rig.broadcaster, &moderator, "!ping")
            .with_badge("moderator", "1")
            .with_message_id(&before);
        let id = rig.eventsub.send_chat(&chat).expect("subscribed");
        sent.push(before);
        assert!(
            rig.eventsub.reconnect().await.is_some(),
            "round {round}: the bot followed the reconnect"
        );
        // The old socket is gone before Twitch's next move (under load its close can trail the
        // new welcome; a third socket then would be this test's doing, not the bot's).
        assert!(
            rig.eventsub.wait_for_connections(1, WAIT).await,
            "round {round}: the old socket closed"
        );
        // Twitch may deliver a message twice around a reconnect.
        rig.eventsub.resend(&id);
        let after = format!("after-{round}");
        let chat = ChatMessage::new(&rig.broadcaster, &moderator, "!ping")
            .with_badge("moderator", "1")
            .with_message_id(&after);
        rig.eventsub.send_chat(&chat).expect("still subscribed");
        sent.push(after);
    }
    rig.twitch
        .wait_for_chat(sent.len() - 1, WAIT)
        .await
        .expect("every ping answered");
    // Nothing more arrives once all are answered.
    assert!(
        rig.twitch
            .wait_for_chat(sent.len(), Duration::from_millis(500))
            .await
            .is_none()
    );
    let mut parents: Vec<String> = rig
        .twitch
        .chat_messages()
        .into_iter()
        .filter_map(|c| c.reply_parent_message_id)
        .collect();
    parents.sort();
    sent.sort();
    assert_eq!(parents, sent, "each chat message answered exactly once");
    assert!(
        rig.eventsub.max_connections() <= 2,
        "never more than one socket beyond a move's overlap: {}",
        rig.eventsub.max_connections()
    );
    assert_eq!(
        rig.eventsub.subscriptions().len(),
        stream_control::twitch::eventsub::TYPES.len(),
        "subscriptions carried over, none added"
    );
    // Each move is announced once (metrics count them).
    let mut moved = 0;
    while let Ok(event) = events.try_recv() {
        match event {
            Event::EventSubReconnected { requested: true } => moved += 1,
            Event::EventSubReconnected { requested: false } => panic!("never lost"),
            _ => {}
        }
    }
    assert_eq!(moved, 100);
    rig.stop().await;
}

#[tokio::test]
async fn a_silent_socket_is_replaced_and_subscriptions_are_made_again() {
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        "",
        FakeObsOptions::default(),
        |eventsub, _, _| {
            eventsub.set_keepalive_secs(1);
            // About silence: the time to subscribe stays Twitch's minimum, not 1 s.
            eventsub.set_unused_timeout(Some(Duration::from_secs(10)));
        },
    )
    .await;
    let mut events = rig.ctx.events.subscribe();
    let mark = rig.eventsub.session_mark();
    rig.eventsub.go_silent(true);
    let mut status = rig.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| s.twitch.as_ref().unwrap().eventsub.state != "connected"),
    )
    .await
    .unwrap()
    .unwrap();
    rig.eventsub.go_silent(false);
    rig.eventsub
        .wait_for_session_after(mark, WAIT)
        .await
        .expect("a new session");
    rig.wait_subscribed().await;
    timeout(WAIT, async {
        loop {
            if let Ok(Event::EventSubReconnected { requested }) = events.recv().await {
                assert!(!requested, "lost, not moved");
                break;
            }
        }
    })
    .await
    .expect("the reconnect is announced");
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    // The admin listed by login is still one, and Twitch was asked for that login only once.
    rig.chat(&user("5005", "theadmin"), "!raid someone", None);
    assert_eq!(rig.reply(1).await.message, "Raiding Someone!");
    let lookups = rig
        .twitch
        .requests()
        .into_iter()
        .filter(|r| r.path == "/helix/users" && r.query.contains("login=theadmin"))
        .count();
    assert_eq!(lookups, 1, "{:?}", rig.twitch.requests());
    rig.stop().await;
}

/// The next EventSub outage event (down or back), skipping the rest.
async fn next_outage_event(events: &mut stream_control::status::Events) -> Event {
    timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event @ (Event::EventSubDown { .. } | Event::EventSubBack)) => return event,
                Ok(_) => continue,
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await
    .expect("an EventSub outage event")
}

#[tokio::test]
async fn eventsub_lost_beyond_its_grace_is_down_once_and_back_once_and_a_blip_is_neither() {
    let rig = rig_with_twitch(
        Duration::from_secs(4 * 3600),
        Some(auth::SCOPES),
        "",
        r#"eventsub_down_after: "3s""#,
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await;
    rig.wait_subscribed().await;
    let mut events = rig.ctx.events.subscribe_notable();
    // A drop that reconnects at the first retry (after 1 s): no outage.
    let mark = rig.eventsub.session_mark();
    rig.eventsub
        .close_all(fake_eventsub::close_code::NETWORK_ERROR, "network error");
    rig.eventsub
        .wait_for_session_after(mark, WAIT)
        .await
        .expect("a new session");
    rig.wait_subscribed().await;
    let no_outage = |events: &mut stream_control::status::Events| {
        while let Ok(event) = events.try_recv() {
            assert!(
                !matches!(event, Event::EventSubDown { .. } | Event::EventSubBack),
                "{event:?}"
            );
        }
    };
    no_outage(&mut events);
    // Out of reach: down once the grace has passed, while the retries fail.
    rig.eventsub.set_unreachable(true);
    let Event::EventSubDown { reason } = next_outage_event(&mut events).await else {
        panic!("down first");
    };
    assert!(
        reason.contains("4006") || reason.contains("network"),
        "{reason}"
    );
    assert_eq!(
        rig.ctx.status.borrow().health().eventsub,
        stream_control::status::Level::Warn
    );
    rig.eventsub.set_unreachable(false);
    assert_eq!(next_outage_event(&mut events).await, Event::EventSubBack);
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    // Nothing more: one down, one back.
    no_outage(&mut events);
    rig.stop().await;
}

#[tokio::test]
async fn upload_alerts_are_announced_in_chat_and_the_streamers_own_troubles_only_opted_in() {
    // Every reading of OBS's statistics (every 5 s) judges; no hold time for reconnecting.
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        r#"upload: (reconnecting_for: "0s")"#,
        FakeObsOptions {
            streaming: true,
            ..FakeObsOptions::default()
        },
        |_, _, _| {},
    )
    .await;
    // Off by default: the stream PC and EventSub are the streamer's business, not the chat's.
    for event in [
        Event::PowerStateChanged { reachable: false },
        Event::EventSubDown {
            reason: "network error".into(),
        },
    ] {
        rig.ctx.events.send(event).unwrap();
    }
    rig.obs.set_reconnecting(true);
    assert_eq!(
        rig.reply(0).await.message,
        "The stream lost its connection to the ingest; OBS is reconnecting."
    );
    rig.obs.set_reconnecting(false);
    assert_eq!(
        rig.reply(1).await.message,
        "The stream is connected to the ingest again."
    );
    // The recording disk is off by default, an alert over because the stream stopped is not
    // said, the numbers are said with their unit.
    for (problem, active, value) in [
        (UploadProblem::DiskLow, true, Some(800.0)),
        (UploadProblem::Reconnecting, false, None),
        (UploadProblem::Congestion, true, Some(0.734)),
        (UploadProblem::DroppedFrames, true, Some(7.46)),
    ] {
        rig.ctx
            .events
            .send(Event::ObsUpload {
                problem,
                active,
                value,
                gone: !active,
            })
            .unwrap();
    }
    assert_eq!(
        rig.reply(2).await.message,
        "The upload is congested (73 %): the stream may stutter."
    );
    assert_eq!(
        rig.reply(3).await.message,
        "OBS is dropping frames (7.5 %): the stream may stutter."
    );
    rig.stop().await;
}

#[tokio::test]
async fn the_streamers_own_troubles_are_announced_when_opted_in() {
    let rig = rig_with_twitch(
        Duration::from_secs(4 * 3600),
        Some(auth::SCOPES),
        "",
        r#"announce: (disk_low: true, offline_timeout: true, task_failed: true, service: true,
                      pc: true, eventsub: true)"#,
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await;
    rig.wait_subscribed().await;
    let said = [
        (
            Event::ObsUpload {
                problem: UploadProblem::DiskLow,
                active: true,
                value: Some(812.4),
                gone: false,
            },
            "The recording disk is running low: 812 MB free.",
        ),
        (
            Event::OfflineTimeout { stopped: true },
            "Offline too long: the stream was stopped.",
        ),
        (
            Event::TaskFailed {
                task: "guard".into(),
                error: "boom".into(),
            },
            "The bot's task guard failed and restarts.",
        ),
        (
            Event::ServiceStateChanged {
                key: "nginx".into(),
                unit: "nginx.service".into(),
                from: "active".into(),
                to: "failed".into(),
            },
            "Service nginx: active → failed.",
        ),
        (
            Event::PowerStateChanged { reachable: false },
            "The stream PC stopped answering.",
        ),
        (
            Event::EventSubDown {
                reason: "network error".into(),
            },
            "The bot lost Twitch's events: chat commands wait until they are back.",
        ),
        (
            Event::EventSubBack,
            "Twitch's events are back: chat commands work again.",
        ),
    ];
    for (i, (event, text)) in said.into_iter().enumerate() {
        rig.ctx.events.send(event).unwrap();
        assert_eq!(rig.reply(i).await.message, text);
    }
    rig.stop().await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_stored() {
    let rig = rig_with(
        Duration::from_secs(600),
        "",
        FakeObsOptions::default(),
        |_, _, _| {},
    )
    .await;
    // Ten minutes left is under the 15-minute margin: refreshed right away, stored 0600.
    let state = StateDir::new(rig.state.path());
    let mut status = rig.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch.as_ref().is_some_and(|t| {
                t.token == TokenState::Valid && t.token_expires_in_secs.is_some_and(|e| e > 3600)
            })
        }),
    )
    .await
    .unwrap()
    .unwrap();
    let stored = auth::load(&state, TOKEN_FILE).unwrap().unwrap();
    assert_eq!(stored.login.as_deref(), Some(BROADCASTER_LOGIN));
    assert!(stored.expires_in().unwrap() > Duration::from_secs(3600));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.path(TOKEN_FILE))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    rig.stop().await;
}

#[tokio::test]
async fn a_failing_refresh_is_an_event_and_a_health_state_and_the_bot_keeps_running() {
    let rig = rig().await;
    let mut events = rig.ctx.events.subscribe();
    rig.twitch.fail_refresh(true);
    let token = rig.ctx.twitch.as_ref().unwrap().token().unwrap();
    rig.twitch.expire(token.access_token.secret());
    // A call now gets 401, asks for a refresh, which fails.
    rig.chat(
        &rig.broadcaster.clone(),
        "!title will fail",
        Some("broadcaster"),
    );
    let reason = timeout(WAIT, async {
        loop {
            if let Ok(Event::TwitchTokenFailing { reason }) = events.recv().await {
                return reason;
            }
        }
    })
    .await
    .unwrap();
    assert!(reason.contains("refresh"), "{reason}");
    let status = rig.ctx.status.borrow().twitch.clone().unwrap();
    assert_eq!(status.token, TokenState::Failing);
    assert!(!format!("{status:?}").contains(token.access_token.secret()));
    // Other features keep working.
    assert!(rig.ctx.obs.as_ref().unwrap().is_connected());
    rig.stop().await;
}

#[tokio::test]
async fn bad_frames_and_odd_chat_never_crash_and_never_act() {
    let rig = rig().await;
    let moderator = user("3003", "amod");
    for raw in [
        "garbage",
        "{}",
        r#"{"metadata":{"message_type":"notification"}}"#,
        &"x".repeat(100_000),
    ] {
        rig.eventsub.send_raw(raw);
    }
    let mark = rig.obs.request_mark();
    // A command inside an emote-laden message is not a command; a zero-width space inside the
    // word and a client's invisible tag after it are removed: both are `!brb`.
    rig.chat(&moderator, "PogChamp !brb PogChamp", Some("moderator"));
    rig.chat(&moderator, "!b\u{200B}rb", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Switched to BRB.");
    rig.obs.set_scene("LIVE");
    rig.chat(&moderator, "!brb \u{E0000}", Some("moderator"));
    // The same answer within 30 s: varied, or Twitch would drop it as a duplicate.
    assert_eq!(rig.reply(1).await.message, "Switched to BRB. \u{E0000}");
    assert!(rig.twitch.dropped_chat_messages().is_empty());
    let scenes: Vec<String> = rig
        .obs
        .requests()
        .into_iter()
        .skip(mark)
        .filter(|r| r.request_type == "SetCurrentProgramScene")
        .map(|r| r.data["sceneName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        scenes,
        ["BRB", "BRB"],
        "nothing but the two intended switches"
    );
    let long = format!("!ping {}", "x".repeat(2000));
    rig.chat(&moderator, &long, Some("moderator"));
    let usage = rig.reply(2).await;
    assert!(
        usage.message.starts_with("Usage: !ping (unexpected"),
        "{}",
        usage.message
    );
    assert!(usage.message.chars().count() <= 500);
    assert_eq!(
        rig.ctx
            .status
            .borrow()
            .twitch
            .as_ref()
            .unwrap()
            .eventsub
            .state,
        "connected"
    );
    rig.stop().await;
}

#[tokio::test]
async fn stream_info_reaches_status_and_rate_limits_wait_for_the_reset() {
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        "",
        FakeObsOptions::default(),
        |_, twitch, _| {
            twitch.set_live(BROADCASTER_ID, true, 1234);
        },
    )
    .await;
    let mut status = rig.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch
                .as_ref()
                .is_some_and(|t| t.live == Some(true) && t.viewers == Some(1234))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    // A 429 waits for Ratelimit-Reset and is tried once more.
    rig.twitch.rate_limit_next(1, Duration::from_secs(1));
    rig.chat(
        &rig.broadcaster.clone(),
        "!title after the limit",
        Some("broadcaster"),
    );
    assert_eq!(rig.reply(0).await.message, "Title set: after the limit");
    assert_eq!(rig.twitch.channel().title, "after the limit");
    rig.stop().await;
}

#[tokio::test]
async fn device_login_stores_the_token() {
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub)).await;
    let state = tempfile::tempdir().unwrap();
    let config = Config::parse(&format!(
        r#"(state_dir: "{}", twitch: (helix_url: "{}", oauth_url: "{}"))"#,
        state.path().display(),
        twitch.helix_url(),
        twitch.oauth_url()
    ))
    .unwrap();
    let secrets = Secrets::from_lookup(|name| {
        (name == "TWITCH_CLIENT_ID").then(|| fake_twitch::CLIENT_ID.to_string())
    });
    let (code_tx, code_rx) = tokio::sync::oneshot::channel();
    let login = tokio::spawn(async move {
        auth::device_login(&config, &secrets, false, |uri, code| {
            let _ = code_tx.send((uri.to_string(), code.to_string()));
        })
        .await
    });
    let (uri, code) = timeout(WAIT, code_rx).await.unwrap().unwrap();
    assert!(uri.starts_with("http"), "{uri}");
    assert!(twitch.approve_device(&code, BROADCASTER_ID, auth::SCOPES));
    // The client polls every `interval` (5 s at the fake, as at Twitch).
    let stored = timeout(Duration::from_secs(20), login)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stored.login.as_deref(), Some(BROADCASTER_LOGIN));
    assert!(stored.missing_scopes(auth::SCOPES).is_empty());
    assert_eq!(
        auth::load(&StateDir::new(state.path()), TOKEN_FILE).unwrap(),
        Some(stored)
    );
}

#[tokio::test]
async fn a_close_code_from_twitch_means_a_new_session_with_new_subscriptions() {
    let rig = rig().await;
    let mark = rig.eventsub.session_mark();
    rig.eventsub.close_all(4000, "internal server error");
    rig.eventsub
        .wait_for_session_after(mark, WAIT)
        .await
        .expect("a new session");
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    rig.stop().await;
}

#[tokio::test]
async fn a_subscription_revoked_for_maintenance_is_made_again() {
    let rig = rig().await;
    rig.eventsub
        .revoke("channel.chat.message", "beta_maintenance");
    let mut status = rig.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch
                .as_ref()
                .unwrap()
                .eventsub
                .subscriptions
                .get("channel.chat.message")
                .is_some_and(|v| v.starts_with("revoked"))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    rig.stop().await;
}

#[tokio::test]
async fn notifications_older_than_ten_minutes_are_dropped() {
    let rig = rig().await;
    let mark = rig.obs.request_mark();
    let old = ChatMessage::new(&rig.broadcaster, &user("3003", "amod"), "!brb")
        .with_badge("moderator", "1");
    rig.eventsub
        .send_old(&old, Duration::from_secs(11 * 60))
        .unwrap();
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(
        rig.reply(0).await.message,
        "Pong!",
        "only the fresh message is answered"
    );
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_millis(200))
            .await
            .is_none()
    );
    assert_eq!(rig.twitch.chat_messages().len(), 1);
    rig.stop().await;
}

#[tokio::test]
async fn with_a_bot_account_chat_goes_out_as_the_bot_and_its_messages_are_ignored() {
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        "",
        FakeObsOptions::default(),
        |_, twitch, state| {
            twitch.add_user("6006", "streambot", "StreamBot");
            twitch.sign_in(
                state,
                auth::BOT_TOKEN_FILE,
                "6006",
                auth::BOT_SCOPES,
                Duration::from_secs(4 * 3600),
            );
        },
    )
    .await;
    let mut status = rig.ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.twitch
                .as_ref()
                .is_some_and(|t| t.bot_login.as_deref() == Some("streambot"))
        }),
    )
    .await
    .unwrap()
    .unwrap();
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    let reply = rig.reply(0).await;
    assert_eq!(reply.message, "Pong!");
    assert_eq!(
        (reply.broadcaster_id.as_str(), reply.sender_id.as_str()),
        (BROADCASTER_ID, "6006")
    );
    assert_eq!(reply.token_user_id, "6006");
    // The bot account typing a command (or echoing one) is never answered.
    rig.chat(&user("6006", "streambot"), "!ping", Some("moderator"));
    rig.chat(&user("3003", "amod"), "!version", Some("moderator"));
    assert!(rig.reply(1).await.message.starts_with("stream-control "));
    assert_eq!(rig.twitch.chat_messages().len(), 2);
    rig.stop().await;
}

/// Waits until `check` holds for the Twitch status; panics with the status otherwise.
async fn wait_twitch(
    rig: &Rig,
    wait: Duration,
    what: &str,
    check: impl Fn(&stream_control::status::TwitchStatus) -> bool,
) -> stream_control::status::TwitchStatus {
    let mut status = rig.ctx.status.subscribe();
    let found = timeout(
        wait,
        status.wait_for(|s| s.twitch.as_ref().is_some_and(&check)),
    )
    .await;
    match found {
        Ok(Ok(s)) => s.twitch.clone().unwrap(),
        _ => panic!("{what}: {:#?}", rig.ctx.status.borrow().twitch),
    }
}

#[tokio::test]
async fn a_revoked_authorization_stops_subscribing_says_log_in_once_and_a_new_login_recovers() {
    let rig = rig().await;
    let mut events = rig.ctx.events.subscribe();
    let posts = || rig.twitch.request_count("/helix/eventsub/subscriptions");
    rig.twitch.revoke_authorization(BROADCASTER_ID);
    let twitch = wait_twitch(&rig, WAIT, "the token fails for good", |t| {
        t.token == TokenState::Failing && t.eventsub.state == "authorization_revoked"
    })
    .await;
    assert!(twitch.login_required);
    let error = twitch.token_error.unwrap();
    assert!(error.contains("`stream-control twitch login`"), "{error}");
    for (kind, state) in &twitch.eventsub.subscriptions {
        assert!(
            state.starts_with("revoked: the authorization was revoked"),
            "{kind}: {state}"
        );
    }
    let before = posts();
    // `twitch login` in another shell: the new file is picked up without a restart.
    rig.log_in();
    rig.wait_subscribed().await;
    let twitch = rig.ctx.status.borrow().twitch.clone().unwrap();
    assert_eq!(twitch.token, TokenState::Valid);
    assert!(!twitch.login_required);
    // Until then nothing was subscribed: the only posts are the ones made now.
    assert_eq!(
        posts() - before,
        stream_control::twitch::eventsub::TYPES.len(),
        "no subscription attempt while revoked"
    );
    let mut failing = 0;
    while let Ok(event) = events.try_recv() {
        if let Event::TwitchTokenFailing { reason } = event {
            failing += 1;
            assert!(reason.contains("`stream-control twitch login`"), "{reason}");
        }
    }
    assert_eq!(failing, 1, "one alert, not one per retry");
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    rig.stop().await;
}

#[tokio::test]
async fn removed_users_and_versions_are_not_subscribed_again_and_say_why() {
    let rig = rig().await;
    let posts = rig.twitch.request_count("/helix/eventsub/subscriptions");
    rig.eventsub.revoke("channel.raid", "beta_maintenance");
    rig.eventsub.revoke("stream.online", "version_removed");
    rig.eventsub.revoke("stream.offline", "user_removed");
    let twitch = wait_twitch(&rig, WAIT, "the raid subscription is made again", |t| {
        let s = &t.eventsub.subscriptions;
        s["channel.raid"] == "enabled" && s["stream.offline"].starts_with("revoked")
    })
    .await;
    let subs = &twitch.eventsub.subscriptions;
    assert_eq!(
        subs["stream.online"],
        "revoked: Twitch no longer supports this subscription version (version_removed): update stream-control"
    );
    assert_eq!(
        subs["stream.offline"],
        "revoked: the Twitch account no longer exists (user_removed)"
    );
    // Only the maintenance revocation was made again.
    assert_eq!(
        rig.twitch.request_count("/helix/eventsub/subscriptions") - posts,
        1
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_token_stored_while_running_is_picked_up_without_a_restart() {
    let rig = logged_out_rig().await;
    let twitch = wait_twitch(&rig, WAIT, "not logged in", |t| {
        t.token == TokenState::Missing && t.eventsub.state == "waiting_for_token"
    })
    .await;
    assert!(twitch.login_required);
    rig.log_in();
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    // The bot's own saves are no new login: validated once, not once per poll.
    let validations = rig.twitch.request_count("/oauth2/validate");
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert!(rig.reply(1).await.message.starts_with("Pong!"));
    assert_eq!(rig.twitch.request_count("/oauth2/validate"), validations);
    rig.stop().await;
}

#[tokio::test]
async fn a_slow_and_rate_limited_helix_still_subscribes_within_the_window() {
    // Each Helix answer takes 2 s and the first one is a 429 whose reset is 7 s away: the
    // first subscription lands about 11 s after the welcome. Twitch's default keepalive (10 s)
    // would close the socket with 4003; the keepalive the bot asks for leaves room.
    let rig = rig_with_scopes(
        Duration::from_secs(4 * 3600),
        Some(auth::SCOPES),
        "",
        FakeObsOptions::default(),
        |_, twitch, _| {
            twitch.set_helix_delay(Duration::from_secs(2));
            twitch.rate_limit_next_on("/helix/eventsub", 1, Duration::from_secs(7));
        },
    )
    .await;
    let session = rig
        .eventsub
        .wait_for_session(WAIT)
        .await
        .expect("a session");
    wait_twitch(&rig, Duration::from_secs(40), "subscribed", |t| {
        t.eventsub.subscriptions.len() == stream_control::twitch::eventsub::TYPES.len()
            && t.eventsub.subscriptions.values().all(|v| v == "enabled")
    })
    .await;
    let sessions = rig.eventsub.sessions();
    assert_eq!(sessions.len(), 1, "one session, never closed: {sessions:?}");
    assert_eq!(sessions[0].id, session);
    assert!(sessions[0].connected, "{sessions:?}");
    assert_eq!(
        rig.twitch
            .requests()
            .iter()
            .filter(|r| r.status == 429)
            .count(),
        1,
        "the 429 was met"
    );
    rig.stop().await;
}

/// Another program signed in as the broadcaster: an EventSub socket with one subscription,
/// answering pings until dropped.
struct OtherProgram {
    task: tokio::task::JoinHandle<()>,
}

impl OtherProgram {
    async fn start(eventsub: &FakeEventSub, twitch: &FakeTwitch) -> OtherProgram {
        use futures_util::StreamExt;
        let (mut socket, _) = tokio_tungstenite::connect_async(eventsub.url())
            .await
            .expect("a socket");
        let session = loop {
            let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = socket.next().await
            else {
                panic!("no welcome");
            };
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            if frame["metadata"]["message_type"] == "session_welcome" {
                break frame["payload"]["session"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
            }
        };
        let (access, _) =
            twitch.issue_token(BROADCASTER_ID, auth::SCOPES, Duration::from_secs(3600));
        let answer = reqwest::Client::new()
            .post(format!("{}eventsub/subscriptions", twitch.helix_url()))
            .header("Client-Id", fake_twitch::CLIENT_ID)
            .bearer_auth(access)
            .json(&serde_json::json!({
                "type": "stream.online", "version": "1",
                "condition": {"broadcaster_user_id": BROADCASTER_ID},
                "transport": {"method": "websocket", "session_id": session},
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202, "{:?}", answer.text().await);
        // Reading answers pings.
        let task = tokio::spawn(async move { while socket.next().await.is_some() {} });
        OtherProgram { task }
    }
}

impl Drop for OtherProgram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn when_other_programs_hold_the_three_sockets_the_bot_says_so_and_gets_in_once_one_leaves() {
    let rig = logged_out_rig().await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(OtherProgram::start(&rig.eventsub, &rig.twitch).await);
    }
    rig.log_in();
    let twitch = wait_twitch(&rig, WAIT, "refused by the socket limit", |t| {
        t.eventsub.subscriptions.len() == stream_control::twitch::eventsub::TYPES.len()
            && t.eventsub
                .subscriptions
                .values()
                .all(|v| v.starts_with("failed"))
    })
    .await;
    let state = &twitch.eventsub.subscriptions["channel.chat.message"];
    assert!(
        state.contains("number of websocket transports limit exceeded")
            && state.contains("3 EventSub connections"),
        "{state}"
    );
    // Not taken for a rate limit (which would wait for the reset and retry at once).
    assert_eq!(
        rig.twitch
            .requests()
            .iter()
            .filter(|r| r.status == 429)
            .count(),
        stream_control::twitch::eventsub::TYPES.len()
    );
    others.pop();
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    drop(others);
    rig.stop().await;
}

#[tokio::test]
async fn a_move_twitch_gives_up_on_with_4004_becomes_a_fresh_session_at_once() {
    let rig = rig().await;
    // The new socket is never welcomed in time: Twitch closes the old one with 4004.
    rig.eventsub.set_reconnect_grace(Duration::from_millis(500));
    rig.eventsub
        .set_reconnect_welcome_delay(Duration::from_secs(60));
    let mark = rig.eventsub.session_mark();
    assert_eq!(rig.eventsub.reconnect().await, None, "the move fails");
    // Well before the bot's own 10 s wait for a welcome would end.
    let fresh = rig
        .eventsub
        .wait_for_session_after(mark, Duration::from_secs(8))
        .await
        .expect("a fresh session soon after the 4004");
    let info = rig.eventsub.sessions();
    let fresh = info.iter().find(|s| s.id == fresh).unwrap();
    assert_eq!(
        fresh.paths[0], "/ws?keepalive_timeout_seconds=20",
        "{info:?}"
    );
    rig.eventsub.set_reconnect_welcome_delay(Duration::ZERO);
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    rig.stop().await;
}

#[tokio::test]
async fn a_reconnect_url_refused_with_4007_becomes_a_fresh_session() {
    let rig = rig().await;
    let old = rig.eventsub.wait_for_session(WAIT).await.unwrap();
    let mark = rig.eventsub.session_mark();
    // A reconnect URL the server does not know (used or expired) answers 4007.
    let port = rig
        .eventsub
        .url()
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    rig.eventsub.send_raw(
        &serde_json::json!({
            "metadata": {
                "message_id": "reconnect-to-nowhere",
                "message_type": "session_reconnect",
                "message_timestamp": "2026-12-04T12:00:00.000Z",
            },
            "payload": {"session": {
                "id": old, "status": "reconnecting", "keepalive_timeout_seconds": null,
                "reconnect_url": format!("ws://127.0.0.1:{port}/ws?reconnect=999"),
                "connected_at": "2026-12-04T11:00:00.000Z", "recovery_url": null,
            }},
        })
        .to_string(),
    );
    let fresh = rig
        .eventsub
        .wait_for_session_after(mark, WAIT)
        .await
        .expect("a fresh session");
    assert_ne!(fresh, old);
    rig.wait_subscribed().await;
    rig.chat(&user("3003", "amod"), "!ping", Some("moderator"));
    assert_eq!(rig.reply(0).await.message, "Pong!");
    assert_eq!(rig.eventsub.connections(), 1, "the old socket was closed");
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_welcomes_is_left_after_10_s_with_capped_backoff() {
    use tokio::time::Instant;
    // Accepts the WebSocket upgrade, then says nothing; notes when each attempt came.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (attempts_tx, mut attempts) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            let _ = attempts_tx.send(Instant::now());
            if let Ok(ws) = tokio_tungstenite::accept_async(socket).await {
                held.push(ws);
            }
        }
    });
    let twitch = FakeTwitch::start(None).await;
    let state = tempfile::tempdir().unwrap();
    twitch.sign_in(
        state.path(),
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    let config = format!(
        r#"(state_dir: "{}", twitch: (helix_url: "{}", oauth_url: "{}", eventsub_url: "{url}"))"#,
        state.path().display(),
        twitch.helix_url(),
        twitch.oauth_url(),
    );
    let config = Config::parse(&config).unwrap_or_else(|p| panic!("{p:#?}"));
    let values = BTreeMap::from([
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID),
        ("TWITCH_CLIENT_SECRET", fake_twitch::CLIENT_SECRET),
    ]);
    let secrets = Secrets::from_lookup(|name| values.get(name).map(|v| v.to_string()));
    let ctx = Context::new(config, secrets.clone(), Redactor::new(&secrets)).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    let mut at = Vec::new();
    for _ in 0..10 {
        at.push(attempts.recv().await.expect("another attempt"));
    }
    let gaps: Vec<u64> = at
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    // 10 s waiting for the welcome, then 1, 2, 4 … s, doubling up to 60 s.
    let expected = [11, 12, 14, 18, 26, 42, 70, 70, 70];
    for (gap, want) in gaps.iter().zip(expected) {
        assert!(
            gap.abs_diff(want * 1000) < 500,
            "gaps {gaps:?} ms, expected {expected:?} s"
        );
    }
    let eventsub = ctx.status.borrow().twitch.clone().unwrap().eventsub;
    assert!(
        matches!(eventsub.state, "reconnecting" | "connecting"),
        "{eventsub:?}"
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// Issue #15: a crowd spamming a command it may not use gets one refusal per
/// `commands.cooldowns.refusal` (30 s by default), not one each. Without the refusal cooldown
/// the 200 refusals below are 200 chat messages.
#[tokio::test]
async fn fifty_viewers_spamming_start_get_one_refusal_not_two_hundred() {
    let rig = rig().await;
    let mut events = rig.ctx.events.subscribe();
    let mark = rig.obs.request_mark();
    for _round in 0..4 {
        for viewer in 0..50 {
            let id = format!("{}", 7000 + viewer);
            rig.chat(&user(&id, &format!("viewer{viewer}")), "!start", None);
        }
    }
    // Every one of the 200 went through dispatch (and was refused) before we count.
    let handled = timeout(WAIT, async {
        let mut refused = 0;
        while refused < 200 {
            if let Ok(Event::CommandHandled {
                command: "start",
                outcome,
                ..
            }) = events.recv().await
            {
                assert_eq!(outcome, stream_control::reply::Outcome::Refused);
                refused += 1;
            }
        }
    })
    .await;
    assert!(handled.is_ok(), "200 refusals handled");
    // A moderator is still answered at once, and is the only other message.
    let moderator = user("3003", "amod");
    rig.chat(&moderator, "!brb", Some("moderator"));
    let twitch = rig.twitch.clone();
    let brb = timeout(WAIT, async move {
        loop {
            let sent = twitch.chat_messages();
            if sent.iter().any(|m| m.message == "Switched to BRB.") {
                return sent;
            }
            let _ = twitch.wait_for_chat(sent.len(), WAIT).await;
        }
    })
    .await
    .expect("the moderator's reply");
    let refusals: Vec<&str> = brb
        .iter()
        .map(|m| m.message.as_str())
        .filter(|m| m.contains("!start"))
        .collect();
    assert_eq!(
        refusals,
        vec!["» !start needs admin or higher."],
        "one refusal for 200 attempts"
    );
    assert_eq!(brb.len(), 2, "{brb:?}");
    assert!(
        rig.obs.requests()[mark..]
            .iter()
            .all(|r| r.request_type != "StartStream"),
        "nothing started"
    );
    rig.stop().await;
}

/// Issue #15: in a Shared Chat session another channel's messages arrive too, with that
/// channel's badges; its moderators are nobody here.
#[tokio::test]
async fn a_shared_chat_message_from_another_channel_is_ignored() {
    let rig = rig().await;
    let mark = rig.obs.request_mark();
    let mut events = rig.ctx.events.subscribe();
    let other = user("8008", "otherchannel");
    let their_mod = user("8009", "theirmod");
    let shared = ChatMessage::new(&rig.broadcaster, &their_mod, "!brb")
        .with_badge("moderator", "1")
        .shared_from(&other);
    rig.eventsub.send_chat(&shared).unwrap();
    // Our own moderator right after: answered, and the only answer.
    rig.chat(&user("3003", "amod"), "!brb", Some("moderator"));
    let reply = rig.reply(0).await;
    assert_eq!(reply.message, "Switched to BRB.");
    assert_eq!(rig.twitch.chat_messages().len(), 1);
    let switches = rig.obs.requests()[mark..]
        .iter()
        .filter(|r| r.request_type == "SetCurrentProgramScene")
        .count();
    assert_eq!(switches, 1, "only our moderator's switch");
    // Dispatch saw only ours: the shared message never became an invocation.
    let mut handled = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::CommandHandled { user_id, .. } = event {
            handled.push(user_id);
        }
    }
    assert_eq!(handled, vec!["3003".to_string()]);
    rig.stop().await;
}

/// Issue #15: answers carrying logs, addresses, bans or restream targets never go to public
/// chat, whoever asks: the broadcaster is told where to ask instead.
#[tokio::test]
async fn private_answers_are_refused_in_public_chat_even_to_the_broadcaster() {
    let rig = rig().await;
    let me = user(BROADCASTER_ID, BROADCASTER_LOGIN);
    for (i, word) in ["!bans", "!restream", "!logs obs"].into_iter().enumerate() {
        rig.chat(&me, word, Some("broadcaster"));
        let reply = rig.reply(i).await;
        let name = word.split(' ').next().unwrap_or(word);
        assert_eq!(
            reply.message,
            format!(
                "» {name} answers with private data (logs, addresses, bans, restream targets): \
                 ask on Discord or on the bot's console."
            )
        );
    }
    rig.stop().await;
}

/// Issue #15: `scene` reaches only the configured scenes and `obs.switchable_scenes`; any
/// other OBS scene is unknown to chat, and "not found" never names it.
#[tokio::test]
async fn scene_reaches_only_switchable_scenes_and_never_names_the_others() {
    let options = FakeObsOptions {
        scenes: [
            "LIVE",
            "LOW",
            "BRB",
            "OFFLINE",
            "Starting soon",
            "Camera 2",
            "Secret Desk",
        ]
        .map(String::from)
        .to_vec(),
        ..FakeObsOptions::default()
    };
    let rig = rig_with(
        Duration::from_secs(4 * 3600),
        r#"switchable_scenes: ["Camera 2"]"#,
        options,
        |_, _, _| {},
    )
    .await;
    let moderator = user("3003", "amod");
    let mark = rig.obs.request_mark();
    rig.chat(&moderator, "!scene secret desk", Some("moderator"));
    let reply = rig.reply(0).await;
    assert!(reply.message.starts_with("There is no scene"), "{reply:?}");
    assert!(!reply.message.contains("Secret"), "{reply:?}");
    assert!(
        rig.obs.requests()[mark..]
            .iter()
            .all(|r| r.request_type != "SetCurrentProgramScene")
    );
    rig.chat(&moderator, "!scene camera", Some("moderator"));
    let reply = rig.reply(1).await;
    assert_eq!(reply.message, "Switched to Camera 2.");
    assert_eq!(rig.obs.current_scene(), "Camera 2");
    rig.stop().await;
}

mod moments;
