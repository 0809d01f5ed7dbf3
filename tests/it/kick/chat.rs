//! Chat messages through the product's client, and the fake's chat rules seen on the wire.

use super::{Rig, TWO_HOURS};
use serde_json::Value;
use std::time::Duration;
use stream_control::kick::auth;
use stream_control::kick::{CHAT_LIMIT, KickError};
use stream_control::reply::DEFUSE;
use stream_control_test_support::fake_kick;

fn body(rig: &Rig, n: usize) -> Value {
    serde_json::from_str(&rig.kick.requests_to("/public/v1/chat")[n].body).unwrap()
}

#[tokio::test]
async fn bot_messages_come_from_the_applications_bot_or_the_bot_account() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let kick = rig.product("send_as: Bot");
    // No bot account: Kick's own bot, into the broadcaster's channel (the token's user).
    let sent = kick
        .send_chat("Pong!", Some("msg-1"))
        .await
        .unwrap()
        .unwrap();
    let chat = &rig.kick.chats()[0];
    assert_eq!(chat.kind, "bot");
    assert_eq!(chat.sender, "bot");
    assert_eq!(chat.broadcaster_user_id, fake_kick::BROADCASTER_ID);
    assert_eq!(chat.reply_to_message_id.as_deref(), Some("msg-1"));
    assert_eq!(chat.message_id, sent.message_id);
    assert!(kick.own_message(&sent.message_id), "its echo is known");
    assert!(!kick.own_message("someone-elses"));
    assert_eq!(
        body(&rig, 0),
        serde_json::json!({"type": "bot", "content": "Pong!", "reply_to_message_id": "msg-1"})
    );
    // With a bot account logged in: as that account, into the broadcaster's channel.
    rig.sign_in_bot();
    kick.send_chat("Pong!", None).await.unwrap();
    let chat = &rig.kick.chats()[1];
    assert_eq!(chat.kind, "user");
    assert_eq!(chat.sender, fake_kick::BOT_NAME);
    assert_eq!(chat.broadcaster_user_id, fake_kick::BROADCASTER_ID);
}

#[tokio::test]
async fn broadcaster_messages_come_from_the_broadcaster_even_with_a_bot_account() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    rig.sign_in_bot();
    let kick = rig.product("send_as: Broadcaster");
    kick.send_chat("hi", None).await.unwrap();
    kick.send_chat("again", None).await.unwrap();
    let chats = rig.kick.chats();
    assert_eq!(chats[0].kind, "user");
    assert_eq!(chats[0].sender, fake_kick::BROADCASTER_NAME);
    assert_eq!(
        body(&rig, 0)["broadcaster_user_id"],
        fake_kick::BROADCASTER_ID
    );
    assert_eq!(
        rig.kick.requests_to("/public/v1/channels").len(),
        1,
        "the channel id is looked up once"
    );
}

#[tokio::test]
async fn a_long_reply_is_cut_to_500_characters_and_one_starting_like_a_command_is_defused() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let kick = rig.product("send_as: Bot");
    kick.send_chat(&"ø".repeat(700), None).await.unwrap();
    kick.send_chat("!brb → switched", None).await.unwrap();
    kick.send_chat("  /ban someone", None).await.unwrap();
    assert_eq!(
        kick.send_chat("   ", None).await.unwrap(),
        None,
        "nothing to post"
    );
    let chats = rig.kick.chats();
    assert_eq!(chats.len(), 3);
    assert_eq!(chats[0].content.chars().count(), CHAT_LIMIT);
    assert_eq!(chats[1].content, format!("{DEFUSE}!brb → switched"));
    assert_eq!(chats[2].content, format!("{DEFUSE}/ban someone"));
}

#[tokio::test]
async fn kicks_refusals_become_typed_errors() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let kick = rig.product("send_as: Bot");
    // The application's bot is off: Kick answers 500, the error says what to do.
    rig.kick.set_bot_enabled(false);
    let error = kick.send_chat("hi", None).await.unwrap_err();
    assert!(matches!(error, KickError::BotRefused(_)), "{error}");
    assert!(
        error.to_string().contains("kick.send_as: Broadcaster"),
        "{error}"
    );
    rig.kick.set_bot_enabled(true);
    // 401 to a bot message whatever the token: one refresh, one retry, then the bot is named.
    rig.kick.set_bot_unauthorized(true);
    let error = kick.send_chat("hi", None).await.unwrap_err();
    assert!(matches!(error, KickError::BotRefused(_)), "{error}");
    assert_eq!(rig.kick.requests_to("/oauth/token").len(), 1);
    let chats: Vec<u16> = rig
        .kick
        .requests_to("/public/v1/chat")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(chats, [500, 401, 401]);
    rig.kick.set_bot_unauthorized(false);
    // The rate limit: 429 with Retry-After.
    rig.kick.set_chat_rate_limit(1, Duration::from_secs(30));
    kick.send_chat("one", None).await.unwrap();
    let error = kick.send_chat("two", None).await.unwrap_err();
    match error {
        KickError::RateLimited { retry_after } => {
            let wait = retry_after.expect("Retry-After");
            assert!(
                wait > Duration::ZERO && wait <= Duration::from_secs(30),
                "{wait:?}"
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        error_key(&kick.send_chat("three", None).await.unwrap_err()),
        "kick-rate-limited"
    );
}

fn error_key(error: &KickError) -> &'static str {
    error.reply().key.id()
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let rig = Rig::new().await;
    rig.kick.sign_in(
        &rig.dir.path().join("state"),
        auth::TOKEN_FILE,
        fake_kick::BROADCASTER_ID,
        &["user:read", "channel:read", "events:subscribe"],
        TWO_HOURS,
    );
    let kick = rig.product("send_as: Broadcaster");
    let error = kick.send_chat("hi", None).await.unwrap_err();
    assert_eq!(
        error,
        KickError::Forbidden {
            reason: "Forbidden: missing scope chat:write".into(),
            missing_scope: Some("chat:write".into())
        }
    );
    assert_eq!(error_key(&error), "kick-missing-scope");
    assert!(rig.kick.chats().is_empty());
}

#[tokio::test]
async fn an_unknown_channel_is_not_found() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    let config = rig.config_text("").replace(
        &format!("channel: \"{}\"", fake_kick::BROADCASTER_NAME),
        "channel: \"nobody-here\", send_as: Broadcaster",
    );
    let config = stream_control::config::Config::parse(&config).unwrap();
    let kick = stream_control::kick::Kick::new(
        config.kick.clone().unwrap(),
        "!",
        &super::secrets(),
        rig.state(),
        stream_control::secrets::Redactor::default(),
        &stream_control::tls::Tls::new(&config.tls).unwrap(),
    );
    let error = kick.send_chat("hi", None).await.unwrap_err();
    assert!(
        matches!(&error, KickError::NotFound(r) if r.contains("nobody-here")),
        "{error}"
    );
}

/// The fake's chat rules, on the wire: what Kick refuses, in Kick's shapes.
#[tokio::test]
async fn the_fake_refuses_what_kick_refuses_on_chat() {
    let rig = Rig::new().await;
    let (access, _) = rig.sign_in_broadcaster(TWO_HOURS);
    let url = format!("{}public/v1/chat", rig.kick.url());
    let post = |body: Value, token: Option<&str>| {
        let mut request = rig.browser().post(&url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let id = fake_kick::BROADCASTER_ID;
    let cases = [
        (
            serde_json::json!({"type": "user", "broadcaster_user_id": id, "content": ""}),
            "content is empty",
        ),
        (
            serde_json::json!({"type": "user", "broadcaster_user_id": id, "content": "x".repeat(501)}),
            "longer than 500",
        ),
        (
            serde_json::json!({"type": "user", "content": "hi"}),
            "without broadcaster_user_id",
        ),
        (
            serde_json::json!({"type": "shout", "content": "hi"}),
            "neither user nor bot",
        ),
        (
            serde_json::json!({"type": "user", "broadcaster_user_id": 999_999, "content": "hi"}),
            "unknown broadcaster_user_id",
        ),
    ];
    for (i, (body, reason)) in cases.into_iter().enumerate() {
        let (status, answer) = post(body, Some(&access)).await;
        assert_eq!(status, 400, "{reason}");
        assert_eq!(answer["message"], "Bad request", "{reason}");
        assert!(answer.get("data").is_some(), "{reason}");
        assert!(
            rig.kick.refusals()[i].contains(reason),
            "{:?}",
            rig.kick.refusals()
        );
    }
    // Exactly 500 characters is fine.
    let (status, answer) = post(
        serde_json::json!({"type": "user", "broadcaster_user_id": id, "content": "x".repeat(500)}),
        Some(&access),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["is_sent"], true);
    let (status, answer) = post(serde_json::json!({"type": "bot", "content": "hi"}), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        answer,
        serde_json::json!({"data": {}, "message": "Unauthorized"})
    );
    rig.kick.expire(&access);
    let (status, _) = post(
        serde_json::json!({"type": "bot", "content": "hi"}),
        Some(&access),
    )
    .await;
    assert_eq!(status, 401);
    // Without a User-Agent, Cloudflare's refusal; the product names itself on every request.
    let bare = stream_control::tls::Tls::new(&rig.config("").tls)
        .unwrap()
        .http_client()
        .no_proxy()
        .build()
        .unwrap();
    let answer = bare.post(&url).bearer_auth(&access).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    assert_eq!(
        answer.json::<Value>().await.unwrap()["error"],
        "Request blocked by security policy."
    );
    let before = rig.kick.requests().len();
    rig.product("").send_chat("named", None).await.unwrap();
    let ours = &rig.kick.requests()[before..];
    assert_eq!(ours.len(), 3, "401, refresh, retry");
    for request in ours {
        let agent = request.user_agent.as_deref().unwrap_or_default();
        assert!(agent.starts_with("stream-control/"), "{agent:?}");
    }
}

#[tokio::test]
async fn admins_are_resolved_to_ids_once_by_their_channels_slug() {
    let rig = Rig::new().await;
    rig.sign_in_broadcaster(TWO_HOURS);
    rig.kick.add_user(7007, "Mod_Friend");
    let kick = rig.product(r#"admins: ["@mod_friend", "9009", "nobody_here"]"#);
    assert!(!kick.is_admin(7007));
    kick.resolve_admins().await;
    assert!(kick.is_admin(7007), "by the slug mod-friend");
    assert!(kick.is_admin(9009), "an id as it is");
    assert!(!kick.is_admin(fake_kick::BOT_ID));
    let asked = rig.kick.requests_to("/public/v1/channels");
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0].query, "slug=mod-friend");
    // Answered ones are not asked again; the unknown one is.
    kick.resolve_admins().await;
    assert_eq!(rig.kick.requests_to("/public/v1/channels").len(), 3);
}
