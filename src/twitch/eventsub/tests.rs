//! EventSub's unit tests: frames, keepalive, subscriptions.

use super::*;

#[test]
fn a_fresh_session_asks_for_a_keepalive_that_leaves_room_to_subscribe() {
    assert_eq!(
        session_url("wss://eventsub.wss.twitch.tv/ws"),
        "wss://eventsub.wss.twitch.tv/ws?keepalive_timeout_seconds=20"
    );
    assert_eq!(
        session_url("ws://127.0.0.1:1/ws?x=1"),
        "ws://127.0.0.1:1/ws?x=1&keepalive_timeout_seconds=20"
    );
    let own = "ws://127.0.0.1:1/ws?keepalive_timeout_seconds=60";
    assert_eq!(session_url(own), own);
}

#[test]
fn dedupe_remembers_a_bounded_number_of_ids() {
    let mut seen = Seen::default();
    assert!(seen.first_time("a"));
    assert!(!seen.first_time("a"));
    for i in 0..DEDUPE {
        seen.first_time(&i.to_string());
    }
    assert!(seen.first_time("a"), "forgotten after DEDUPE newer ids");
    assert!(seen.order.len() <= DEDUPE && seen.ids.len() <= DEDUPE);
}

const AT: &str = "2026-11-25T07:30:00.123456789Z";

fn frame(message_type: &str, kind: Option<(&str, &str)>, payload: serde_json::Value) -> String {
    let mut metadata = serde_json::json!({
        "message_id": "5f6e-frame",
        "message_type": message_type,
        "message_timestamp": AT,
    });
    if let Some((kind, version)) = kind {
        metadata["subscription_type"] = kind.into();
        metadata["subscription_version"] = version.into();
    }
    serde_json::json!({"metadata": metadata, "payload": payload}).to_string()
}

fn session(reconnect_url: Option<&str>) -> serde_json::Value {
    serde_json::json!({"session": {
        "id": "AQoQILE98gtqShGmLD7AM6yJThAB",
        "status": if reconnect_url.is_some() { "reconnecting" } else { "connected" },
        "connected_at": AT,
        "keepalive_timeout_seconds": if reconnect_url.is_some() { None } else { Some(30) },
        "reconnect_url": reconnect_url,
        "recovery_url": null,
    }})
}

fn notification(kind: &str, status: &str, event: serde_json::Value) -> serde_json::Value {
    let condition = match kind {
        "channel.chat.message" => {
            serde_json::json!({"broadcaster_user_id": "1337", "user_id": "1337"})
        }
        "channel.raid" => serde_json::json!({"from_broadcaster_user_id": "1337"}),
        _ => serde_json::json!({"broadcaster_user_id": "1337"}),
    };
    serde_json::json!({
        "subscription": {
            "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
            "status": status,
            "type": kind,
            "version": "1",
            "cost": 0,
            "condition": condition,
            "transport": {"method": "websocket", "session_id": "AQoQILE98gtqShGmLD7AM6yJThAB"},
            "created_at": AT,
        },
        "event": event,
    })
}

/// `parse_frame` of a `notification` frame of `kind` (version `version`) carrying `event`.
fn notified(kind: &str, version: &str, event: serde_json::Value) -> Result<Frame, String> {
    let payload = notification(kind, "enabled", event);
    parse_frame(&frame("notification", Some((kind, version)), payload))
}

fn broadcaster(prefix: &str, id: &str, login: &str) -> serde_json::Value {
    serde_json::json!({
        format!("{prefix}user_id"): id,
        format!("{prefix}user_login"): login,
        format!("{prefix}user_name"): login,
    })
}

fn merged(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

#[test]
fn session_frames_parse() {
    match parse_frame(&frame("session_welcome", None, session(None))) {
        Ok(Frame::Welcome { session, keepalive }) => {
            assert_eq!(session, "AQoQILE98gtqShGmLD7AM6yJThAB");
            assert_eq!(keepalive, Duration::from_secs(30));
        }
        other => panic!("{other:?}"),
    }
    let url = "wss://eventsub.wss.twitch.tv?session=moved";
    match parse_frame(&frame("session_reconnect", None, session(Some(url)))) {
        Ok(Frame::Reconnect { url: Some(u) }) => assert_eq!(u, url),
        other => panic!("{other:?}"),
    }
    let keepalive = frame("session_keepalive", None, serde_json::json!({}));
    assert!(matches!(parse_frame(&keepalive), Ok(Frame::Keepalive)));
}

#[test]
fn the_subscribed_notifications_parse_with_twitch_api_types() {
    let chat = merged(
        merged(
            broadcaster("broadcaster_", "1337", "streamer"),
            broadcaster("chatter_", "4242", "viewer"),
        ),
        serde_json::json!({
            "message_id": "cc106a89-1814-919d-454c-f4f2f970aae7",
            "message": {"text": "!brb", "fragments": [
                {"type": "text", "text": "!brb", "cheermote": null, "emote": null, "mention": null}
            ]},
            "message_type": "text",
            "badges": [{"set_id": "moderator", "id": "1", "info": ""}],
            "cheer": null, "color": "", "reply": null,
            "channel_points_custom_reward_id": null, "channel_points_animation_id": null,
            "source_broadcaster_user_id": null, "source_broadcaster_user_login": null,
            "source_broadcaster_user_name": null, "source_message_id": null,
            "source_badges": null, "is_source_only": null,
        }),
    );
    match notified("channel.chat.message", "1", chat) {
        Ok(Frame::Notification {
            id,
            timestamp,
            notification: Notification::Chat(message),
        }) => {
            assert_eq!((id.as_str(), timestamp.as_str()), ("5f6e-frame", AT));
            assert_eq!(message.message.text, "!brb");
            assert_eq!(message.chatter_user_login.as_str(), "viewer");
            assert_eq!(message.badges[0].set_id.as_str(), "moderator");
        }
        other => panic!("{other:?}"),
    }

    let raid = merged(
        merged(
            broadcaster("from_broadcaster_", "1337", "streamer"),
            broadcaster("to_broadcaster_", "99", "friend"),
        ),
        serde_json::json!({"viewers": 42}),
    );
    match notified("channel.raid", "1", raid) {
        Ok(Frame::Notification {
            notification: Notification::Raid(raid),
            ..
        }) => {
            assert_eq!(raid.to_broadcaster_user_login.as_str(), "friend");
            assert_eq!(raid.viewers, 42);
        }
        other => panic!("{other:?}"),
    }

    let online = merged(
        broadcaster("broadcaster_", "1337", "streamer"),
        serde_json::json!({"id": "9001", "type": "live", "started_at": AT}),
    );
    let offline = broadcaster("broadcaster_", "1337", "streamer");
    for (kind, event, live) in [
        ("stream.online", online, true),
        ("stream.offline", offline, false),
    ] {
        match notified(kind, "1", event) {
            Ok(Frame::Notification {
                notification: Notification::Live(l),
                ..
            }) => assert_eq!(l, live, "{kind}"),
            other => panic!("{kind}: {other:?}"),
        }
    }
    // An ad break, as the reference's example writes it and with the count as a string (the
    // examples and answers have disagreed on types: github.com/twitchdev/issues/issues/857).
    for duration in [serde_json::json!(60), serde_json::json!("60")] {
        let event = merged(
            broadcaster("broadcaster_", "1337", "streamer"),
            serde_json::json!({
                "duration_seconds": duration,
                "started_at": AT,
                "is_automatic": true,
                "requester_user_id": "",
                "requester_user_login": "",
                "requester_user_name": "",
            }),
        );
        match notified("channel.ad_break.begin", "1", event) {
            Ok(Frame::Notification {
                notification: Notification::AdBreak(begin),
                ..
            }) => {
                assert_eq!(begin.duration_seconds.0, 60);
                assert!(begin.is_automatic);
                assert_eq!(begin.broadcaster_user_id, "1337");
            }
            other => panic!("ad break: {other:?}"),
        }
    }
    // What is subscribed (TYPES, helix::subscribe) is what this test parses, and no more.
    assert_eq!(
        TYPES,
        [
            "channel.chat.message",
            "channel.raid",
            "stream.online",
            "stream.offline",
            "channel.ad_break.begin"
        ]
    );
}

#[test]
fn revocations_of_any_type_carry_their_status() {
    let mut payload = notification(
        "channel.follow",
        "authorization_revoked",
        serde_json::Value::Null,
    );
    payload.as_object_mut().unwrap().remove("event");
    let text = frame("revocation", Some(("channel.follow", "2")), payload);
    match parse_frame(&text) {
        Ok(Frame::Revocation { kind, status }) => {
            assert_eq!(
                (kind.as_str(), status.as_str()),
                ("channel.follow", "authorization_revoked")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_frames_are_refused_with_a_reason() {
    let error = notified("channel.follow", "2", serde_json::json!({})).unwrap_err();
    assert!(
        error.contains("channel.follow") && error.contains("not subscribed"),
        "{error}"
    );
    // A subscribed type whose event lacks its fields.
    assert!(notified("channel.raid", "1", serde_json::json!({"viewers": "many"})).is_err());
    for junk in [
        "",
        "{}",
        "null",
        "[1]",
        "{\"metadata\": {\"message_type\": \"weird\"}}",
    ] {
        assert!(parse_frame(junk).is_err(), "{junk:?}");
    }
}

#[test]
fn close_codes_are_explained() {
    assert!(close_reason(Some(4003)).contains("no subscription in time"));
    assert!(close_reason(None).contains("closed"));
}

#[test]
fn an_outage_is_said_once_after_its_grace_and_back_once() {
    let start = tokio::time::Instant::now();
    let at = |secs: u64| start + Duration::from_secs(secs);
    let mut outage = Outage::new(Duration::from_secs(30));
    // A drop that is back within the grace says nothing.
    outage.lost("network error", at(0));
    assert_eq!(outage.due(at(29)), None);
    assert_eq!(outage.back(), None);
    assert_eq!(outage.deadline(), None);
    // Lost again; failed reconnects do not move its start.
    outage.lost("network error", at(100));
    outage.lost("cannot connect", at(110));
    assert_eq!(outage.deadline(), Some(at(130)));
    assert_eq!(
        outage.due(at(130)),
        Some(Event::EventSubDown {
            reason: "network error".into()
        })
    );
    assert_eq!(outage.due(at(200)), None, "once");
    assert_eq!(outage.deadline(), None);
    assert_eq!(outage.back(), Some(Event::EventSubBack));
    assert_eq!(outage.back(), None, "once");
}
