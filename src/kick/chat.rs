//! What Kick's chat readers hand over: [`KickEvent`] (a chat message, or our channel sending
//! its viewers to another), read leniently from both sources.
//!
//! - Pusher (`kick::pusher`, unofficial: what Kick's own web client reads):
//!   `App\Events\ChatMessageEvent` on `chatrooms.<chatroom id>.v2`, its `data` a JSON *string*
//!   ([`from_pusher_chat`]); `App\Events\ChatMoveToSupportedChannelEvent` on
//!   `channel.<channel id>` when the channel hosts (raids) another ([`from_pusher_host`]; NOALBS
//!   reads the same event as its `HostRaidEvent`). `App\Events\StreamHostEvent` on the chatroom
//!   is the other direction (someone hosting us) and is not read.
//! - Webhooks (`kick::webhook`, official): `chat.message.sent` v1 (KickDevDocs
//!   `events/event-types.md`, "Chat Message") ([`from_webhook_chat`]). Kick's webhooks have no
//!   host or raid event.
//!
//! Lenient means: unknown fields are ignored, ids may come as numbers or numeric strings, an
//! unknown badge is kept as [`Badge::Other`], a badge that does not read is skipped. A missing
//! required field (message id, sender id and name, content) or one over its cap is a
//! [`Refusal`], never a panic: the input is whatever arrived on the wire.

use serde_json::Value;
use std::time::SystemTime;

/// Kick's limit on a chat message's length in characters (`POST /public/v1/chat`: `content`,
/// at most 500 characters, api.kick.com/swagger/v1/doc.json). Longer did not come from Kick.
pub const MAX_CONTENT_CHARS: usize = 500;
/// Longest message id accepted (Pusher sends UUIDs, webhooks ULIDs or similar).
pub const MAX_ID_BYTES: usize = 128;
/// Longest username or slug accepted (Kick's are at most 25 characters).
pub const MAX_NAME_BYTES: usize = 64;
/// Badges kept per sender; more are dropped (a real sender has a handful).
pub const MAX_BADGES: usize = 16;
/// Longest unknown badge type kept.
pub const MAX_BADGE_TYPE_BYTES: usize = 32;

/// What a reader hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KickEvent {
    Chat(ChatMessage),
    /// Our channel sent its viewers to another channel (Kick's host, its raid): what the stop
    /// after a raid waits for. Only Pusher reports it.
    OutgoingRaid(OutgoingRaid),
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Kick's message id: the key deduplication uses.
    pub id: String,
    /// The chatroom it was sent in (Pusher names it; webhooks do not).
    pub chatroom_id: Option<u64>,
    /// The channel owner's user id (webhooks name it; Pusher does not).
    pub broadcaster_user_id: Option<u64>,
    pub sender: Sender,
    /// The text as sent (emotes as `[emote:<id>:<name>]`), at most [`MAX_CONTENT_CHARS`].
    pub content: String,
    pub kind: MessageKind,
    /// When Kick says it was sent (`created_at`), when it says so readably.
    pub sent_at: Option<SystemTime>,
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub user_id: u64,
    /// The display name (`username`).
    pub username: String,
    /// The lower-case channel name (Pusher `slug`, webhook `channel_slug`), when given.
    pub slug: Option<String>,
    pub badges: Vec<Badge>,
}

impl Sender {
    pub fn has(&self, badge: &Badge) -> bool {
        self.badges.contains(badge)
    }
}

/// A chat badge by its `type` (the badge types Kick's clients draw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Badge {
    Broadcaster,
    Moderator,
    Vip,
    Og,
    Founder,
    /// `count`: months subscribed, when given.
    Subscriber,
    /// `count`: subscriptions gifted, when given.
    SubGifter,
    Verified,
    Staff,
    Bot,
    /// Any other type, as sent (at most [`MAX_BADGE_TYPE_BYTES`]).
    Other(String),
}

impl Badge {
    /// A badge from its `type`; `None` for an empty or overlong unknown type.
    pub fn from_type(kind: &str) -> Option<Badge> {
        Some(match kind {
            "broadcaster" => Badge::Broadcaster,
            "moderator" => Badge::Moderator,
            "vip" => Badge::Vip,
            "og" => Badge::Og,
            "founder" => Badge::Founder,
            "subscriber" => Badge::Subscriber,
            "sub_gifter" => Badge::SubGifter,
            "verified" => Badge::Verified,
            "staff" => Badge::Staff,
            "bot" => Badge::Bot,
            other if !other.is_empty() && other.len() <= MAX_BADGE_TYPE_BYTES => {
                Badge::Other(other.to_string())
            }
            _ => return None,
        })
    }
}

/// Pusher's `type` of a chat message (`message`, `reply`, `celebration`); webhooks send plain
/// messages (a reply names its parent in `replies_to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    Message,
    Reply,
    /// A subscription anniversary shared in chat: the text is the viewer's, the occasion Kick's.
    Celebration,
    Other(String),
}

/// Our channel hosted (raided) another: `App\Events\ChatMoveToSupportedChannelEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRaid {
    /// Our channel's id (`channel.id`), when given.
    pub channel_id: Option<u64>,
    /// The target's slug (`hosted.slug`, else the top-level `slug`).
    pub target_slug: String,
    /// The target's display name (`hosted.username`).
    pub target_username: Option<String>,
    /// The target's own viewers at the time (`hosted.viewers_count`), not the raid party's.
    pub target_viewers: Option<u64>,
}

/// Why a payload was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("no {0}")]
    Missing(&'static str),
    #[error("{field} is longer than {max}")]
    TooLong { field: &'static str, max: usize },
}

/// Read `App\Events\ChatMessageEvent`'s data (the JSON string inside the Pusher frame):
/// `{"id","chatroom_id","content","type","created_at","sender":{"id","username","slug",
/// "identity":{"color","badges":[{"type","text","count"}]}},"metadata":{…}}`.
pub fn from_pusher_chat(data: &str) -> Result<ChatMessage, Refusal> {
    let value = json(data.as_bytes())?;
    let sender = value.get("sender").ok_or(Refusal::Missing("sender"))?;
    Ok(ChatMessage {
        id: id_text(value.get("id"), "id")?,
        chatroom_id: number(value.get("chatroom_id")),
        broadcaster_user_id: None,
        sender: Sender {
            user_id: number(sender.get("id")).ok_or(Refusal::Missing("sender.id"))?,
            username: name(sender.get("username"), "sender.username")?,
            slug: name(sender.get("slug"), "sender.slug").ok(),
            badges: badges(sender.get("identity")),
        },
        content: content(value.get("content"))?,
        kind: match value.get("type").and_then(Value::as_str) {
            None | Some("message") => MessageKind::Message,
            Some("reply") => MessageKind::Reply,
            Some("celebration") => MessageKind::Celebration,
            Some(other) => MessageKind::Other(truncated(other, MAX_BADGE_TYPE_BYTES)),
        },
        sent_at: time(value.get("created_at")),
    })
}

/// Read a `chat.message.sent` v1 webhook body: `{"message_id","broadcaster":{"user_id",…},
/// "sender":{"user_id","username","channel_slug","identity":{"username_color","badges"}},
/// "content","emotes","created_at"}` (KickDevDocs `events/event-types.md`).
pub fn from_webhook_chat(body: &[u8]) -> Result<ChatMessage, Refusal> {
    let value = json(body)?;
    let sender = value.get("sender").ok_or(Refusal::Missing("sender"))?;
    Ok(ChatMessage {
        id: id_text(value.get("message_id"), "message_id")?,
        chatroom_id: None,
        broadcaster_user_id: value
            .get("broadcaster")
            .and_then(|b| number(b.get("user_id"))),
        sender: Sender {
            user_id: number(sender.get("user_id")).ok_or(Refusal::Missing("sender.user_id"))?,
            username: name(sender.get("username"), "sender.username")?,
            slug: name(sender.get("channel_slug"), "sender.channel_slug").ok(),
            badges: badges(sender.get("identity")),
        },
        content: content(value.get("content"))?,
        kind: MessageKind::Message,
        sent_at: time(value.get("created_at")),
    })
}

/// Read `App\Events\ChatMoveToSupportedChannelEvent`'s data: `{"channel":{"id","slug",…},
/// "slug","hosted":{"id","username","slug","viewers_count",…}}`.
pub fn from_pusher_host(data: &str) -> Result<OutgoingRaid, Refusal> {
    let value = json(data.as_bytes())?;
    let hosted = value.get("hosted");
    let target_slug = hosted
        .and_then(|h| name(h.get("slug"), "hosted.slug").ok())
        .map(Ok)
        .unwrap_or_else(|| name(value.get("slug"), "hosted.slug"))?;
    Ok(OutgoingRaid {
        channel_id: value.get("channel").and_then(|c| number(c.get("id"))),
        target_slug,
        target_username: hosted.and_then(|h| name(h.get("username"), "hosted.username").ok()),
        target_viewers: hosted.and_then(|h| number(h.get("viewers_count"))),
    })
}

fn json(bytes: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| Refusal::Json(e.to_string()))
}

/// A non-negative integer, as a JSON number or a string of digits.
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.len() <= 20 => s.parse().ok(),
        _ => None,
    }
}

/// A message id: a non-empty string (or number) of at most [`MAX_ID_BYTES`].
fn id_text(value: Option<&Value>, field: &'static str) -> Result<String, Refusal> {
    let text = match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Refusal::Missing(field)),
    };
    if text.is_empty() {
        return Err(Refusal::Missing(field));
    }
    if text.len() > MAX_ID_BYTES {
        return Err(Refusal::TooLong {
            field,
            max: MAX_ID_BYTES,
        });
    }
    Ok(text)
}

/// A username or slug: a non-empty string of at most [`MAX_NAME_BYTES`].
fn name(value: Option<&Value>, field: &'static str) -> Result<String, Refusal> {
    match value.and_then(Value::as_str) {
        None | Some("") => Err(Refusal::Missing(field)),
        Some(s) if s.len() > MAX_NAME_BYTES => Err(Refusal::TooLong {
            field,
            max: MAX_NAME_BYTES,
        }),
        Some(s) => Ok(s.to_string()),
    }
}

fn content(value: Option<&Value>) -> Result<String, Refusal> {
    let text = value
        .and_then(Value::as_str)
        .ok_or(Refusal::Missing("content"))?;
    if text.chars().count() > MAX_CONTENT_CHARS {
        return Err(Refusal::TooLong {
            field: "content",
            max: MAX_CONTENT_CHARS,
        });
    }
    Ok(text.to_string())
}

/// `identity.badges`: each readable badge once, at most [`MAX_BADGES`]; `identity` may be null.
fn badges(identity: Option<&Value>) -> Vec<Badge> {
    let Some(list) = identity
        .and_then(|i| i.get("badges"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut badges: Vec<Badge> = Vec::new();
    for badge in list {
        if badges.len() >= MAX_BADGES {
            break;
        }
        let Some(badge) = badge
            .get("type")
            .and_then(Value::as_str)
            .and_then(Badge::from_type)
        else {
            continue;
        };
        if !badges.contains(&badge) {
            badges.push(badge);
        }
    }
    badges
}

fn time(value: Option<&Value>) -> Option<SystemTime> {
    let text = value?.as_str()?;
    // Pusher writes `2025-07-17T08:44:56+00:00`; anything longer is not a timestamp.
    (text.len() <= 64)
        .then(|| crate::timestamp::parse_rfc3339(text))
        .flatten()
}

/// At most `max` bytes of `text`, cut on a character boundary.
fn truncated(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ChatMessageEvent` as Kick sent it (2025-07, from a public capture), identity and all.
    const PUSHER_CHAT: &str = r##"{"id":"bbcdbcfd-8619-40c2-a0d0-ae7cf4c7a932","chatroom_id":1221707,"content":"[emote:3989851:litneyspears4Max]on my way","type":"message","created_at":"2025-07-17T08:44:56+00:00","sender":{"id":3528468,"username":"OhLookItsMax","slug":"ohlookitsmax","identity":{"color":"#FF9D00","badges":[{"type":"vip","text":"VIP"},{"type":"subscriber","text":"Subscriber","count":26}]}},"metadata":{"message_ref":"1752741896375"}}"##;

    /// KickDevDocs' `chat.message.sent` example (its trailing commas and comments removed).
    const WEBHOOK_CHAT: &str = r##"{"message_id":"unique_message_id_123","replies_to":{"message_id":"unique_message_id_456","content":"This is the parent message!","sender":{"is_anonymous":false,"user_id":12345,"username":"parent_sender_name","is_verified":false,"profile_picture":"https://example.com/parent_sender_avatar.jpg","channel_slug":"parent_sender_channel","identity":null}},"broadcaster":{"is_anonymous":false,"user_id":123456789,"username":"broadcaster_name","is_verified":true,"profile_picture":"https://example.com/broadcaster_avatar.jpg","channel_slug":"broadcaster_channel","identity":null},"sender":{"is_anonymous":false,"user_id":987654321,"username":"sender_name","is_verified":false,"profile_picture":"https://example.com/sender_avatar.jpg","channel_slug":"sender_channel","identity":{"username_color":"#FF5733","badges":[{"text":"Moderator","type":"moderator"},{"text":"Sub Gifter","type":"sub_gifter","count":5},{"text":"Subscriber","type":"subscriber","count":3}]}},"content":"Hello [emote:4148074:HYPERCLAP]","emotes":[{"emote_id":"4148074","positions":[{"s":6,"e":30}]}],"created_at":"2025-01-14T16:08:06Z"}"##;

    #[test]
    fn a_pusher_chat_message_reads_with_its_badges() {
        let message = from_pusher_chat(PUSHER_CHAT).unwrap();
        assert_eq!(message.id, "bbcdbcfd-8619-40c2-a0d0-ae7cf4c7a932");
        assert_eq!(message.chatroom_id, Some(1221707));
        assert_eq!(message.sender.user_id, 3528468);
        assert_eq!(message.sender.username, "OhLookItsMax");
        assert_eq!(message.sender.slug.as_deref(), Some("ohlookitsmax"));
        assert_eq!(message.sender.badges, [Badge::Vip, Badge::Subscriber]);
        assert_eq!(message.kind, MessageKind::Message);
        assert_eq!(
            message.sent_at,
            crate::timestamp::parse_rfc3339("2025-07-17T08:44:56Z")
        );
    }

    #[test]
    fn a_webhook_chat_message_reads_with_its_broadcaster() {
        let message = from_webhook_chat(WEBHOOK_CHAT.as_bytes()).unwrap();
        assert_eq!(message.id, "unique_message_id_123");
        assert_eq!(message.broadcaster_user_id, Some(123456789));
        assert_eq!(message.sender.user_id, 987654321);
        assert_eq!(message.sender.slug.as_deref(), Some("sender_channel"));
        assert_eq!(
            message.sender.badges,
            [Badge::Moderator, Badge::SubGifter, Badge::Subscriber]
        );
        assert_eq!(message.content, "Hello [emote:4148074:HYPERCLAP]");
    }

    #[test]
    fn a_host_event_names_its_target() {
        let data = r#"{"channel":{"id":1228709,"user_id":1270821,"slug":"litneyspears"},"slug":"vixie_vu","hosted":{"id":28325733,"username":"Vixie_Vu","slug":"vixie_vu","viewers_count":509,"is_live":true}}"#;
        assert_eq!(
            from_pusher_host(data).unwrap(),
            OutgoingRaid {
                channel_id: Some(1228709),
                target_slug: "vixie_vu".into(),
                target_username: Some("Vixie_Vu".into()),
                target_viewers: Some(509),
            }
        );
        // Only the top-level slug: still a target.
        let bare = from_pusher_host(r#"{"slug":"other"}"#).unwrap();
        assert_eq!(bare.target_slug, "other");
        assert_eq!(from_pusher_host("{}"), Err(Refusal::Missing("hosted.slug")));
    }

    fn check(data: &str, expected: Result<(), Refusal>) {
        assert_eq!(from_pusher_chat(data).map(drop), expected, "{data}");
    }

    #[test]
    fn missing_or_oversized_required_fields_are_refused() {
        let base: Value = serde_json::from_str(PUSHER_CHAT).unwrap();
        let with = |path: &[&str], v: Value| {
            let mut value = base.clone();
            let mut at = &mut value;
            for key in &path[..path.len() - 1] {
                at = at.get_mut(*key).unwrap();
            }
            let last = path[path.len() - 1];
            if v.is_null() {
                at.as_object_mut().unwrap().remove(last);
            } else {
                at[last] = v;
            }
            value.to_string()
        };
        check(&with(&["id"], Value::Null), Err(Refusal::Missing("id")));
        check(&with(&["id"], "".into()), Err(Refusal::Missing("id")));
        check(
            &with(&["id"], "x".repeat(MAX_ID_BYTES + 1).into()),
            Err(Refusal::TooLong {
                field: "id",
                max: MAX_ID_BYTES,
            }),
        );
        check(&with(&["id"], 42.into()), Ok(()));
        check(
            &with(&["sender"], Value::Null),
            Err(Refusal::Missing("sender")),
        );
        check(
            &with(&["sender", "id"], "not a number".into()),
            Err(Refusal::Missing("sender.id")),
        );
        check(&with(&["sender", "id"], "3528468".into()), Ok(()));
        check(
            &with(&["sender", "id"], (-1).into()),
            Err(Refusal::Missing("sender.id")),
        );
        check(
            &with(&["sender", "username"], Value::Null),
            Err(Refusal::Missing("sender.username")),
        );
        check(
            &with(&["content"], Value::Null),
            Err(Refusal::Missing("content")),
        );
        check(
            &with(&["content"], "é".repeat(MAX_CONTENT_CHARS).into()),
            Ok(()),
        );
        check(
            &with(&["content"], "a".repeat(MAX_CONTENT_CHARS + 1).into()),
            Err(Refusal::TooLong {
                field: "content",
                max: MAX_CONTENT_CHARS,
            }),
        );
        // Not needed, so not required: identity, slug, type, time.
        check(&with(&["sender", "identity"], Value::Null), Ok(()));
        check(&with(&["sender", "slug"], Value::Null), Ok(()));
        check(&with(&["type"], Value::Null), Ok(()));
        check(&with(&["created_at"], "yesterday".into()), Ok(()));
        check("[]", Err(Refusal::Missing("sender")));
        check("null", Err(Refusal::Missing("sender")));
        assert!(matches!(from_pusher_chat("{"), Err(Refusal::Json(_))));
    }

    #[test]
    fn badges_are_read_leniently() {
        let identity = serde_json::json!({"badges": [
            {"type": "broadcaster"}, {"type": "broadcaster"}, {"type": 7}, {"text": "no type"},
            {"type": ""}, {"type": "x".repeat(MAX_BADGE_TYPE_BYTES + 1)}, {"type": "sidekick"},
            "not an object", null
        ]});
        assert_eq!(
            badges(Some(&identity)),
            [Badge::Broadcaster, Badge::Other("sidekick".into())]
        );
        let many = serde_json::json!({"badges": (0..100).map(|i| serde_json::json!({"type": format!("b{i}")})).collect::<Vec<_>>()});
        assert_eq!(badges(Some(&many)).len(), MAX_BADGES);
        assert!(badges(Some(&serde_json::json!({"badges": "moderator"}))).is_empty());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncated("ééé", 3), "é");
        assert_eq!(truncated("abc", 10), "abc");
    }

    use proptest::prelude::*;

    proptest! {
        /// Arbitrary text, and arbitrary JSON in every field of a real message, never panics.
        #[test]
        fn any_input_reads_or_is_refused(text in ".{0,600}") {
            let _ = from_pusher_chat(&text);
            let _ = from_webhook_chat(text.as_bytes());
            let _ = from_pusher_host(&text);
        }

        #[test]
        fn any_field_value_reads_or_is_refused(
            field in proptest::sample::select(vec!["id", "chatroom_id", "content", "type", "created_at", "sender"]),
            value in prop_oneof![
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                ".{0,40}".prop_map(Value::from),
                Just(Value::Null),
                Just(serde_json::json!([{"type": "moderator"}])),
                Just(serde_json::json!({"id": "1", "badges": {}})),
            ],
        ) {
            let original: Value = serde_json::from_str(PUSHER_CHAT).unwrap();
            let mut message = original.clone();
            message[field] = value.clone();
            let _ = from_pusher_chat(&message.to_string());
            let mut message = original;
            message["sender"]["identity"] = value;
            let _ = from_pusher_chat(&message.to_string());
        }
    }
}
