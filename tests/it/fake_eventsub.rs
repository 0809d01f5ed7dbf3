//! Tests of the fake EventSub WebSocket server (`tests/support/src/fake_eventsub.rs`), driven by a
//! raw tokio-tungstenite client. Every text frame the fake sends is parsed with twitch_api
//! 0.8's `Event::parse_websocket` (except the deliberate garbage of `send_raw`): parsing is
//! the point of the fake.
//!
//! Real time; nothing sleeps to wait. Frames are awaited with `tokio::time::timeout`; the few
//! "nothing arrives" checks are bounded waits that are expected to time out.
//!
//! Scripted faults the product tests already drive are not tested again here: a silent socket
//! (`twitch::a_silent_socket_is_replaced_and_subscriptions_are_made_again`) and raw garbage
//! frames (`twitch::bad_frames_and_odd_chat_never_crash_and_never_act`).

use stream_control_test_support::fake_eventsub;

use std::time::Duration;

use fake_eventsub::{ChatMessage, FakeEventSub, User, close_code};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use twitch_api::eventsub::channel::chat::message::MessageType;
use twitch_api::eventsub::{Event, EventsubWebsocketData, Message, Payload, Status};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// What the client saw next.
#[derive(Debug)]
enum Frame {
    Text(String),
    Close(Option<u16>),
    Ended,
}

fn streamer() -> User {
    User::new("1001", "streamer", "Streamer")
}

fn viewer() -> User {
    User::new("2002", "viewer32", "Viewer32")
}

fn chat_condition(broadcaster: &User) -> serde_json::Value {
    json!({"broadcaster_user_id": broadcaster.id, "user_id": broadcaster.id})
}

async fn connect(url: &str) -> Ws {
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("connect");
    ws
}

/// The next text / close / end within `wait`; `None` if nothing came.
async fn next_frame(ws: &mut Ws, wait: Duration) -> Option<Frame> {
    timeout(wait, async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(t))) => return Frame::Text(t.as_str().to_string()),
                Some(Ok(WsMessage::Close(c))) => return Frame::Close(c.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Frame::Ended,
            }
        }
    })
    .await
    .ok()
}

/// Parses a frame with twitch_api, failing the test if it does not parse.
fn parse(text: &str) -> EventsubWebsocketData<'_> {
    Event::parse_websocket(text).unwrap_or_else(|e| panic!("twitch_api cannot parse {text}: {e}"))
}

/// The next text frame (which must parse).
async fn next_text(ws: &mut Ws) -> String {
    match next_frame(ws, WAIT).await {
        Some(Frame::Text(t)) => {
            parse(&t);
            t
        }
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next text frame that is not a keepalive (every frame must parse).
async fn next_message(ws: &mut Ws) -> String {
    loop {
        let t = next_text(ws).await;
        if !matches!(parse(&t), EventsubWebsocketData::Keepalive { .. }) {
            return t;
        }
    }
}

/// The close code of the next close, skipping (parsed) keepalives.
async fn next_close(ws: &mut Ws) -> Option<u16> {
    loop {
        match next_frame(ws, WAIT).await {
            Some(Frame::Text(t)) => match parse(&t) {
                EventsubWebsocketData::Keepalive { .. } => continue,
                _ => panic!("expected a close, got {t}"),
            },
            Some(Frame::Close(code)) => {
                // Keep reading so tungstenite sends the close reply and the socket ends.
                let _ = timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
                return code;
            }
            other => panic!("expected a close, got {other:?}"),
        }
    }
}

/// Reads the welcome: (session id, keepalive seconds).
async fn welcome(ws: &mut Ws) -> (String, Option<i64>) {
    let t = next_text(ws).await;
    match parse(&t) {
        EventsubWebsocketData::Welcome { payload, .. } => {
            let s = payload.session;
            assert_eq!(s.status, "connected");
            assert!(s.reconnect_url.is_none());
            (s.id.to_string(), s.keepalive_timeout_seconds)
        }
        _ => panic!("expected a welcome, got {t}"),
    }
}

/// The metadata message id and timestamp of a frame.
fn id_and_timestamp(text: &str) -> (String, String) {
    let d = parse(text);
    (
        d.message_id().to_string(),
        d.message_timestamp().as_str().to_string(),
    )
}

/// Connects a client, reads its welcome; returns (socket, session id).
async fn session(fake: &FakeEventSub) -> (Ws, String) {
    let mut ws = connect(&fake.url()).await;
    let (id, _) = welcome(&mut ws).await;
    (ws, id)
}

#[tokio::test]
async fn welcome_carries_session_id_and_default_keepalive() {
    let fake = FakeEventSub::start().await;
    assert!(fake.url().starts_with("ws://127.0.0.1:") && fake.url().ends_with("/ws"));
    let mark = fake.session_mark();
    let mut ws = connect(&fake.url()).await;
    let t = next_text(&mut ws).await;
    let EventsubWebsocketData::Welcome { payload, .. } = parse(&t) else {
        panic!("{t}")
    };
    let s = payload.session;
    let id = s.id.to_string();
    assert_eq!(s.status, "connected");
    assert_eq!(s.keepalive_timeout_seconds, Some(10));
    assert_eq!(s.reconnect_url, None);
    assert_eq!(s.recovery_url, None);
    assert_timestamp_shape(s.connected_at.as_str());
    assert_timestamp_shape(&id_and_timestamp(&t).1);
    assert!(id.starts_with("AgoQ"), "{id}");

    assert_eq!(
        fake.wait_for_session(WAIT).await.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        fake.wait_for_session_after(mark, WAIT).await.as_deref(),
        Some(id.as_str())
    );
    let sessions = fake.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, id);
    assert!(sessions[0].connected);
    assert_eq!(sessions[0].status, "connected");
    assert_eq!(sessions[0].paths, vec!["/ws".to_string()]);
    assert_eq!(sessions[0].keepalive_secs, 10);
    assert!(sessions[0].subscription_types.is_empty());
    assert_eq!(fake.connections(), 1);
}

fn assert_timestamp_shape(t: &str) {
    // 2024-05-01T12:34:56.123456789Z
    assert_eq!(t.len(), 30, "{t}");
    assert!(
        t.ends_with('Z') && &t[10..11] == "T" && &t[19..20] == ".",
        "{t}"
    );
    assert!(t[20..29].chars().all(|c| c.is_ascii_digit()), "{t}");
}

#[tokio::test]
async fn keepalives_follow_the_configured_cadence_and_any_message_resets_it() {
    let fake = FakeEventSub::start().await;
    fake.set_keepalive_secs(1);
    let (mut ws, id) = {
        let mut ws = connect(&fake.url()).await;
        let (id, keepalive) = welcome(&mut ws).await;
        assert_eq!(keepalive, Some(1));
        (ws, id)
    };
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .expect("subscribe");

    let mut last = Instant::now();
    for _ in 0..3 {
        let t = next_text(&mut ws).await;
        assert!(
            matches!(parse(&t), EventsubWebsocketData::Keepalive { .. }),
            "{t}"
        );
        let gap = last.elapsed();
        assert!(gap >= Duration::from_millis(800), "keepalive after {gap:?}");
        assert!(
            gap <= Duration::from_millis(1800),
            "keepalive after {gap:?}"
        );
        last = Instant::now();
    }

    // A notification resets the timer: the next keepalive comes a full period after it.
    fake.send_chat(&ChatMessage::new(&streamer(), &viewer(), "hi"))
        .expect("delivered");
    let sent = Instant::now();
    let t = next_text(&mut ws).await;
    assert!(matches!(
        parse(&t),
        EventsubWebsocketData::Notification { .. }
    ));
    let t = next_text(&mut ws).await;
    assert!(matches!(parse(&t), EventsubWebsocketData::Keepalive { .. }));
    assert!(sent.elapsed() >= Duration::from_millis(800));
}

#[tokio::test]
async fn keepalive_query_parameter_is_clamped_like_twitch() {
    let fake = FakeEventSub::start().await;
    for (asked, got) in [(3, 10), (30, 30), (9999, 600)] {
        let mut ws = connect(&format!("{}?keepalive_timeout_seconds={asked}", fake.url())).await;
        assert_eq!(welcome(&mut ws).await.1, Some(got));
    }
    // A test value below Twitch's minimum wins over the query parameter.
    fake.set_keepalive_secs(1);
    let mut ws = connect(&format!("{}?keepalive_timeout_seconds=30", fake.url())).await;
    assert_eq!(welcome(&mut ws).await.1, Some(1));
    let paths: Vec<String> = fake.sessions().iter().map(|s| s.paths[0].clone()).collect();
    assert_eq!(paths[1], "/ws?keepalive_timeout_seconds=30");
}

#[tokio::test]
async fn chat_raid_online_offline_notifications_parse_with_their_fields() {
    let fake = FakeEventSub::start().await;
    let (mut ws, id) = session(&fake).await;
    let other = User::new("3003", "raider", "Raider");

    let chat_sub = fake
        .register_subscription(
            "channel.chat.message",
            "1",
            chat_condition(&streamer()),
            &id,
        )
        .expect("chat");
    assert_eq!(chat_sub["status"], "enabled");
    assert_eq!(chat_sub["type"], "channel.chat.message");
    assert_eq!(chat_sub["transport"]["method"], "websocket");
    assert_eq!(chat_sub["transport"]["session_id"], id.as_str());
    assert_eq!(chat_sub["cost"], 0);
    // The Helix shape deserializes as twitch_api's subscription type.
    let typed: twitch_api::eventsub::EventSubSubscription =
        serde_json::from_value(chat_sub.clone()).expect("Helix subscription shape");
    assert_eq!(typed.status, Status::Enabled);
    assert_eq!(
        typed
            .transport
            .as_websocket()
            .map(|t| t.session_id.as_str()),
        Some(id.as_str())
    );
    fake.register_subscription(
        "channel.raid",
        "1",
        json!({"from_broadcaster_user_id": null, "to_broadcaster_user_id": "1001"}),
        &id,
    )
    .expect("raid");
    for t in ["stream.online", "stream.offline"] {
        fake.register_subscription(t, "1", json!({"broadcaster_user_id": "1001"}), &id)
            .expect(t);
    }
    assert_eq!(fake.subscriptions().len(), 4);
    assert_eq!(fake.sessions()[0].subscription_types.len(), 4);

    // Chat, with badges.
    let chat = ChatMessage::new(&streamer(), &viewer(), "!scene brb")
        .with_badge("moderator", "1")
        .with_badge("subscriber", "12")
        .with_message_id("c0ffee00-0000-4000-8000-000000000001");
    let sent_id = fake.send_chat(&chat).expect("delivered");
    let t = next_message(&mut ws).await;
    let (msg_id, ts) = id_and_timestamp(&t);
    assert_eq!(msg_id, sent_id);
    assert_timestamp_shape(&ts);
    let EventsubWebsocketData::Notification { metadata, payload } = parse(&t) else {
        panic!("{t}")
    };
    assert_eq!(metadata.subscription_version, "1");
    let Event::ChannelChatMessageV1(Payload {
        subscription,
        message: Message::Notification(ev),
        ..
    }) = payload
    else {
        panic!("{t}")
    };
    assert_eq!(subscription.id.as_str(), chat_sub["id"].as_str().unwrap());
    assert_eq!(subscription.status, Status::Enabled);
    assert_eq!(ev.broadcaster_user_id.as_str(), "1001");
    assert_eq!(ev.broadcaster_user_login.as_str(), "streamer");
    assert_eq!(ev.chatter_user_id.as_str(), "2002");
    assert_eq!(ev.chatter_user_login.as_str(), "viewer32");
    assert_eq!(ev.chatter_user_name.as_str(), "Viewer32");
    assert_eq!(
        ev.message_id.as_str(),
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert_eq!(ev.message.text, "!scene brb");
    assert_eq!(ev.message.fragments.len(), 1);
    assert_eq!(ev.message.fragments[0].text(), "!scene brb");
    assert!(matches!(ev.message_type, MessageType::Text));
    let badges: Vec<(&str, &str)> = ev
        .badges
        .iter()
        .map(|b| (b.set_id.as_str(), b.id.as_str()))
        .collect();
    assert_eq!(badges, vec![("moderator", "1"), ("subscriber", "12")]);
    assert!(ev.reply.is_none() && ev.cheer.is_none() && ev.source_badges.is_empty());

    // A reply to it.
    let reply = ChatMessage::new(&streamer(), &streamer(), "@viewer32 ok")
        .with_reply_to("c0ffee00-0000-4000-8000-000000000001");
    fake.send_chat(&reply).expect("delivered");
    let t = next_message(&mut ws).await;
    let EventsubWebsocketData::Notification {
        payload:
            Event::ChannelChatMessageV1(Payload {
                message: Message::Notification(ev),
                ..
            }),
        ..
    } = parse(&t)
    else {
        panic!("{t}")
    };
    let r = ev.reply.expect("reply object");
    assert_eq!(
        r.parent_message_id.as_str(),
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert_eq!(r.parent_message_body, "!scene brb");
    assert_eq!(r.parent_user_login.as_str(), "viewer32");
    assert_eq!(
        r.thread_message_id.as_str(),
        "c0ffee00-0000-4000-8000-000000000001"
    );

    // Raid into the channel.
    let raid_id = fake.send_raid(&other, &streamer(), 42).expect("delivered");
    let t = next_message(&mut ws).await;
    assert_eq!(id_and_timestamp(&t).0, raid_id);
    let EventsubWebsocketData::Notification {
        payload:
            Event::ChannelRaidV1(Payload {
                message: Message::Notification(ev),
                ..
            }),
        ..
    } = parse(&t)
    else {
        panic!("{t}")
    };
    assert_eq!(ev.from_broadcaster_user_login.as_str(), "raider");
    assert_eq!(ev.to_broadcaster_user_id.as_str(), "1001");
    assert_eq!(ev.viewers, 42);

    // Online, offline.
    fake.send_stream_online(&streamer()).expect("delivered");
    let t = next_message(&mut ws).await;
    let EventsubWebsocketData::Notification {
        payload:
            Event::StreamOnlineV1(Payload {
                message: Message::Notification(ev),
                ..
            }),
        ..
    } = parse(&t)
    else {
        panic!("{t}")
    };
    assert_eq!(ev.broadcaster_user_login.as_str(), "streamer");
    assert!(matches!(ev.type_, twitch_api::types::VideoType::Live));
    assert!(!ev.id.is_empty());

    fake.send_stream_offline(&streamer()).expect("delivered");
    let t = next_message(&mut ws).await;
    let EventsubWebsocketData::Notification {
        payload:
            Event::StreamOfflineV1(Payload {
                message: Message::Notification(ev),
                ..
            }),
        ..
    } = parse(&t)
    else {
        panic!("{t}")
    };
    assert_eq!(ev.broadcaster_user_name.as_str(), "Streamer");
}

#[tokio::test]
async fn only_matching_subscriptions_get_notifications() {
    let fake = FakeEventSub::start().await;
    let (mut chat_ws, chat_sid) = session(&fake).await;
    let (mut raid_ws, raid_sid) = session(&fake).await;
    assert_ne!(chat_sid, raid_sid);
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &chat_sid,
    )
    .unwrap();
    fake.register_subscription(
        "channel.raid",
        "1",
        json!({"to_broadcaster_user_id": "1001"}),
        &raid_sid,
    )
    .unwrap();

    // Nobody subscribed to these.
    assert_eq!(fake.send_stream_online(&streamer()), None);
    assert_eq!(
        fake.send_chat(&ChatMessage::new(&viewer(), &viewer(), "other channel")),
        None
    );
    assert_eq!(fake.send_raid(&streamer(), &viewer(), 5), None);

    // Chat only reaches the chat session: the raid session's next message is the raid.
    let chat_id = fake
        .send_chat(&ChatMessage::new(&streamer(), &viewer(), "first"))
        .unwrap();
    let raid_id = fake.send_raid(&viewer(), &streamer(), 7).unwrap();
    assert_ne!(chat_id, raid_id);
    let t = next_message(&mut raid_ws).await;
    assert_eq!(id_and_timestamp(&t).0, raid_id);
    assert!(matches!(
        parse(&t),
        EventsubWebsocketData::Notification {
            payload: Event::ChannelRaidV1(_),
            ..
        }
    ));
    // ... and the raid did not reach the chat session: after "first" comes "second".
    fake.send_chat(&ChatMessage::new(&streamer(), &viewer(), "second"))
        .unwrap();
    for want in ["first", "second"] {
        let t = next_message(&mut chat_ws).await;
        let EventsubWebsocketData::Notification {
            payload:
                Event::ChannelChatMessageV1(Payload {
                    message: Message::Notification(ev),
                    ..
                }),
            ..
        } = parse(&t)
        else {
            panic!("{t}")
        };
        assert_eq!(ev.message.text, want);
    }
}

#[tokio::test]
async fn register_subscription_rejects_like_helix() {
    let fake = FakeEventSub::start().await;
    let (_ws, id) = session(&fake).await;
    let cond = chat_condition(&streamer());
    assert_eq!(
        fake.register_subscription("channel.chat.message", "1", cond.clone(), "AgoQnope"),
        Err(400)
    );
    assert_eq!(
        fake.register_subscription(
            "channel.chat.message",
            "1",
            json!({"broadcaster_user_id": "1001"}),
            &id
        ),
        Err(400)
    );
    assert_eq!(
        fake.register_subscription("channel.chat.message", "2", cond.clone(), &id),
        Err(400)
    );
    assert_eq!(
        fake.register_subscription(
            "channel.raid",
            "1",
            json!({"from_broadcaster_user_id": "1", "to_broadcaster_user_id": "2"}),
            &id
        ),
        Err(400)
    );
    let sub = fake
        .register_subscription("channel.chat.message", "1", cond.clone(), &id)
        .unwrap();
    assert_eq!(
        fake.register_subscription("channel.chat.message", "1", cond.clone(), &id),
        Err(409)
    );
    // Another condition is another subscription.
    fake.register_subscription(
        "channel.chat.message",
        "1",
        json!({"broadcaster_user_id": "5005", "user_id": "1001"}),
        &id,
    )
    .unwrap();
    assert_eq!(
        fake.wait_for_subscription("channel.chat.message", WAIT)
            .await
            .unwrap()["id"],
        sub["id"]
    );
    let sub_id = sub["id"].as_str().unwrap();
    assert_eq!(fake.delete_subscription(sub_id), Ok(()));
    assert_eq!(fake.delete_subscription(sub_id), Err(404));
    assert_eq!(fake.subscriptions().len(), 1);
}

#[tokio::test]
async fn a_ping_not_answered_in_time_closes_with_4002() {
    let fake = FakeEventSub::start().await;
    fake.set_ping(Some((
        Duration::from_millis(50),
        Duration::from_millis(200),
    )));
    // This client reads (and so answers pings: tungstenite queues the pong).
    let (mut reader, reader_id) = session(&fake).await;
    let reading = tokio::spawn(async move { while let Some(Ok(_)) = reader.next().await {} });
    // This one does not read, so it never answers.
    let (mut deaf, deaf_id) = session(&fake).await;
    assert_eq!(
        fake.wait_for_session_end(&deaf_id, WAIT).await.as_deref(),
        Some("websocket_failed_ping_pong")
    );
    assert_eq!(
        next_close(&mut deaf).await,
        Some(close_code::CLIENT_FAILED_PING_PONG)
    );
    assert!(fake.wait_for_pongs(3, WAIT).await, "the reader answers");
    let reader = fake.sessions();
    let reader = reader.iter().find(|s| s.id == reader_id).unwrap();
    assert!(reader.connected, "{:?}", reader.status);
    reading.abort();
}

#[tokio::test]
async fn the_time_to_subscribe_is_the_welcomes_keepalive() {
    let fake = FakeEventSub::start().await;
    fake.set_keepalive_secs(1);
    let (mut idle, idle_id) = session(&fake).await;
    assert_eq!(
        next_close(&mut idle).await,
        Some(close_code::CONNECTION_UNUSED)
    );
    let sessions = fake.sessions();
    let idle = sessions.iter().find(|s| s.id == idle_id).unwrap();
    assert_eq!(idle.status, "websocket_connection_unused");
}

#[tokio::test]
async fn unused_session_is_closed_with_4003() {
    let fake = FakeEventSub::start().await;
    fake.set_unused_timeout(Some(Duration::from_millis(300)));
    fake.set_keepalive_secs(1);
    let (mut idle, idle_id) = session(&fake).await;
    let (mut used, used_id) = session(&fake).await;
    fake.register_subscription(
        "stream.online",
        "1",
        json!({"broadcaster_user_id": "1001"}),
        &used_id,
    )
    .unwrap();

    assert_eq!(
        next_close(&mut idle).await,
        Some(close_code::CONNECTION_UNUSED)
    );
    let info = fake.sessions();
    let idle_info = info.iter().find(|s| s.id == idle_id).unwrap();
    assert!(!idle_info.connected);
    assert_eq!(idle_info.status, "websocket_connection_unused");
    assert_eq!(
        fake.register_subscription(
            "stream.online",
            "1",
            json!({"broadcaster_user_id": "1001"}),
            &idle_id
        ),
        Err(400)
    );
    // The used session is still served after the deadline: a keepalive arrives.
    let t = next_text(&mut used).await;
    assert!(matches!(parse(&t), EventsubWebsocketData::Keepalive { .. }));
    assert!(fake.wait_for_connections(1, WAIT).await);
}

#[tokio::test]
async fn reconnect_continues_the_session_on_the_new_socket() {
    let fake = FakeEventSub::start().await;
    let (mut old, id) = session(&fake).await;
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .unwrap();

    let handle = fake.clone();
    let reconnecting = tokio::spawn(async move { handle.reconnect().await });

    let t = next_message(&mut old).await;
    let EventsubWebsocketData::Reconnect { payload, .. } = parse(&t) else {
        panic!("{t}")
    };
    assert_eq!(payload.session.id, id.as_str());
    assert_eq!(payload.session.status, "reconnecting");
    assert_eq!(payload.session.keepalive_timeout_seconds, None);
    let url = payload
        .session
        .reconnect_url
        .expect("reconnect_url")
        .to_string();
    assert_eq!(url, format!("{}?reconnect=1", fake.url()));

    // Until the client moved, notifications still go to the old socket.
    fake.send_chat(&ChatMessage::new(&streamer(), &viewer(), "still old"))
        .unwrap();
    let t = next_message(&mut old).await;
    assert!(t.contains("still old"));

    let mut new = connect(&url).await;
    let (new_id, keepalive) = welcome(&mut new).await;
    assert_eq!(new_id, id);
    assert_eq!(keepalive, Some(10));
    let done = timeout(WAIT, reconnecting).await.expect("in time").unwrap();
    assert_eq!(done.as_deref(), Some(id.as_str()));
    assert_eq!(next_close(&mut old).await, Some(close_code::NORMAL));

    let subs = fake.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["transport"]["session_id"], id.as_str());
    let info = &fake.sessions()[0];
    assert!(info.connected);
    assert_eq!(
        info.paths,
        vec!["/ws".to_string(), "/ws?reconnect=1".to_string()]
    );
    assert_eq!(fake.sessions().len(), 1);

    fake.send_chat(&ChatMessage::new(&streamer(), &viewer(), "on new"))
        .unwrap();
    let t = next_message(&mut new).await;
    assert!(matches!(
        parse(&t),
        EventsubWebsocketData::Notification {
            payload: Event::ChannelChatMessageV1(_),
            ..
        }
    ));
    assert!(t.contains("on new"));
    assert!(fake.wait_for_connections(1, WAIT).await);

    // A reconnect URL works once.
    let mut again = connect(&url).await;
    assert_eq!(
        next_close(&mut again).await,
        Some(close_code::INVALID_RECONNECT)
    );
    assert!(fake.sessions()[0].connected);
}

#[tokio::test]
async fn reconnect_grace_expiry_closes_with_4004() {
    let fake = FakeEventSub::start().await;
    fake.set_reconnect_grace(Duration::from_millis(300));
    let (mut old, id) = session(&fake).await;
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .unwrap();
    let handle = fake.clone();
    let reconnecting = tokio::spawn(async move { handle.reconnect().await });
    let t = next_message(&mut old).await;
    let EventsubWebsocketData::Reconnect { payload, .. } = parse(&t) else {
        panic!("{t}")
    };
    let url = payload.session.reconnect_url.unwrap().to_string();
    assert_eq!(
        next_close(&mut old).await,
        Some(close_code::RECONNECT_GRACE_TIME_EXPIRED)
    );
    assert_eq!(timeout(WAIT, reconnecting).await.unwrap().unwrap(), None);
    assert_eq!(fake.sessions()[0].status, "websocket_failed_to_reconnect");
    assert!(fake.subscriptions().is_empty());
    let mut late = connect(&url).await;
    assert_eq!(
        next_close(&mut late).await,
        Some(close_code::INVALID_RECONNECT)
    );
    // No live session: nothing to reconnect.
    assert_eq!(fake.reconnect().await, None);
}

#[tokio::test]
async fn closing_the_old_socket_first_loses_the_session() {
    let fake = FakeEventSub::start().await;
    let (mut first, first_id) = session(&fake).await;
    let (mut old, id) = session(&fake).await;
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .unwrap();
    let handle = fake.clone();
    let target = id.clone();
    let reconnecting = tokio::spawn(async move { handle.reconnect_session(&target).await });
    let t = next_message(&mut old).await;
    let EventsubWebsocketData::Reconnect { payload, .. } = parse(&t) else {
        panic!("{t}")
    };
    let url = payload.session.reconnect_url.unwrap().to_string();
    old.close(None).await.unwrap();
    assert_eq!(timeout(WAIT, reconnecting).await.unwrap().unwrap(), None);
    let mut late = connect(&url).await;
    assert_eq!(
        next_close(&mut late).await,
        Some(close_code::INVALID_RECONNECT)
    );
    let info = fake.sessions();
    let lost = info.iter().find(|s| s.id == id).unwrap();
    assert_eq!(lost.status, "websocket_disconnected");
    assert!(fake.subscriptions().is_empty());
    // The other session was not asked to reconnect and is still live.
    assert_eq!(fake.wait_for_session(WAIT).await, Some(first_id));
    fake.send_raw(r#"{"still":"live"}"#);
    assert!(matches!(
        next_frame(&mut first, WAIT).await,
        Some(Frame::Text(_))
    ));
}

#[tokio::test]
async fn revocation_parses_and_removes_the_subscription() {
    let fake = FakeEventSub::start().await;
    let (mut ws, id) = session(&fake).await;
    let sub = fake
        .register_subscription(
            "channel.raid",
            "1",
            json!({"to_broadcaster_user_id": "1001"}),
            &id,
        )
        .unwrap();
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .unwrap();
    fake.revoke("channel.raid", "authorization_revoked");
    let t = next_message(&mut ws).await;
    let EventsubWebsocketData::Revocation { metadata, payload } = parse(&t) else {
        panic!("{t}")
    };
    assert_eq!(metadata.subscription_version, "1");
    let Event::ChannelRaidV1(Payload {
        subscription,
        message: Message::Revocation(),
        ..
    }) = payload
    else {
        panic!("{t}")
    };
    assert_eq!(subscription.status, Status::AuthorizationRevoked);
    assert_eq!(subscription.id.as_str(), sub["id"].as_str().unwrap());
    assert_eq!(fake.subscriptions().len(), 1);
    assert_eq!(fake.send_raid(&viewer(), &streamer(), 1), None);
    assert_eq!(
        fake.sessions()[0].subscription_types,
        vec!["channel.chat.message".to_string()]
    );
}

#[tokio::test]
async fn each_delivered_notification_has_its_own_message_id() {
    let fake = FakeEventSub::start().await;
    let (mut first_ws, first) = session(&fake).await;
    let (mut second_ws, second) = session(&fake).await;
    for id in [&first, &second] {
        fake.register_subscription("channel.chat.message", "1", chat_condition(&streamer()), id)
            .unwrap();
    }
    let returned = fake
        .send_chat(&ChatMessage::new(&streamer(), &viewer(), "hi"))
        .unwrap();
    let a = id_and_timestamp(&next_message(&mut first_ws).await).0;
    let b = id_and_timestamp(&next_message(&mut second_ws).await).0;
    assert_ne!(a, b, "one id per delivered message");
    assert_eq!(returned, a);
    // A resend keeps its id.
    fake.resend(&b);
    assert_eq!(id_and_timestamp(&next_message(&mut second_ws).await).0, b);
}

#[tokio::test]
async fn resend_duplicates_keep_the_message_id_and_old_messages_are_old() {
    let fake = FakeEventSub::start().await;
    let (mut ws, id) = session(&fake).await;
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &id,
    )
    .unwrap();
    let chat = ChatMessage::new(&streamer(), &viewer(), "dup");
    let msg_id = fake.send_chat(&chat).unwrap();
    let first = next_message(&mut ws).await;
    fake.resend(&msg_id);
    let second = next_message(&mut ws).await;
    assert_eq!(id_and_timestamp(&second).0, msg_id);
    assert_eq!(first, second);

    let old_id = fake.send_old(&chat, Duration::from_secs(3600)).unwrap();
    let old = next_message(&mut ws).await;
    let (got_id, old_ts) = id_and_timestamp(&old);
    assert_eq!(got_id, old_id);
    let (_, fresh_ts) = id_and_timestamp(&first);
    assert_timestamp_shape(&old_ts);
    // One hour earlier: the "YYYY-MM-DDTHH" prefix differs and it sorts first.
    assert!(old_ts < fresh_ts, "{old_ts} vs {fresh_ts}");
    assert_ne!(old_ts[..13], fresh_ts[..13]);
}

#[tokio::test]
async fn inbound_traffic_is_closed_with_4001() {
    let fake = FakeEventSub::start().await;
    let (mut ws, _id) = session(&fake).await;
    // Pings are fine (answered); text is not.
    ws.send(WsMessage::Ping(vec![1, 2, 3].into()))
        .await
        .unwrap();
    ws.send(WsMessage::text(r#"{"type":"LISTEN"}"#))
        .await
        .unwrap();
    assert_eq!(
        next_close(&mut ws).await,
        Some(close_code::CLIENT_SENT_INBOUND_TRAFFIC)
    );
    assert_eq!(
        fake.received_frames(),
        vec![r#"{"type":"LISTEN"}"#.to_string()]
    );
    let info = &fake.sessions()[0];
    assert!(!info.connected);
    assert_eq!(info.status, "websocket_received_inbound_traffic");
    assert!(fake.wait_for_connections(0, WAIT).await);
}

#[tokio::test]
async fn close_all_sends_the_close_code_and_ends_sessions_at_once() {
    let fake = FakeEventSub::start().await;
    let (mut a, a_id) = session(&fake).await;
    let (mut b, _) = session(&fake).await;
    fake.register_subscription(
        "channel.chat.message",
        "1",
        chat_condition(&streamer()),
        &a_id,
    )
    .unwrap();
    fake.close_all(close_code::INTERNAL_SERVER_ERROR, "internal server error");
    assert!(fake.sessions().iter().all(|s| !s.connected));
    assert!(fake.subscriptions().is_empty());
    let all = fake.all_subscriptions();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["status"], "websocket_internal_error");
    assert!(all[0]["transport"]["disconnected_at"].is_string());
    let typed: twitch_api::eventsub::EventSubSubscription =
        serde_json::from_value(all[0].clone()).expect("Helix subscription shape");
    assert_eq!(typed.status, Status::WebsocketInternalError);
    assert!(
        typed
            .transport
            .as_websocket()
            .unwrap()
            .disconnected_at
            .is_some()
    );
    for ws in [&mut a, &mut b] {
        assert_eq!(
            next_close(ws).await,
            Some(close_code::INTERNAL_SERVER_ERROR)
        );
    }
    assert!(fake.wait_for_connections(0, WAIT).await);

    // No live session now; the next one is the client's new session.
    assert_eq!(
        fake.wait_for_session(Duration::from_millis(200)).await,
        None
    );
    let (_c, c_id) = session(&fake).await;
    assert_eq!(fake.wait_for_session(WAIT).await, Some(c_id));
}

#[tokio::test]
async fn wrong_path_is_refused_and_dropping_the_fake_closes_sockets() {
    let fake = FakeEventSub::start().await;
    let wrong = fake.url().replace("/ws", "/eventsub");
    match tokio_tungstenite::connect_async(wrong.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 404)
        }
        other => panic!("expected HTTP 404, got {other:?}"),
    }
    let (mut ws, _) = session(&fake).await;
    let (mut ws2, _) = session(&fake).await;
    let clone = fake.clone();
    drop(fake);
    // A clone keeps it alive ...
    clone.send_raw("still here");
    assert!(matches!(next_frame(&mut ws, WAIT).await, Some(Frame::Text(t)) if t == "still here"));
    // ... dropping the last handle ends every socket.
    drop(clone);
    for ws in [&mut ws, &mut ws2] {
        loop {
            match next_frame(ws, WAIT).await {
                // ws2 also got the raw frame.
                Some(Frame::Text(t)) if t == "still here" => {}
                Some(Frame::Text(t)) => {
                    parse(&t);
                }
                Some(Frame::Ended | Frame::Close(_)) => break,
                None => panic!("socket still open after the fake was dropped"),
            }
        }
    }
}
