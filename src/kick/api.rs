//! Kick's public API (`https://api.kick.com/public/v1/…`) and token introspection, one
//! function per call, each with an access token: the chat message, the channel by its slug,
//! the token's user, introspection. [`super::Kick`] calls them with a token from
//! [`super::auth::Tokens`] (and refreshes and retries once after a 401).
//!
//! Every answer is Kick's envelope `{"data": …, "message": "…"}` (KickDevDocs, the API pages'
//! OpenAPI operations; errors: issues #123, #253).

use super::http::{Answer, KickError, KickHttp};
use serde::{Deserialize, Serialize};

/// The longest chat message Kick takes, in characters (`POST /public/v1/chat`, `content`:
/// "max 500 characters").
pub const CHAT_LIMIT: usize = 500;

/// A chat message as `POST /public/v1/chat` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `"bot"`: from the application's bot into the channel of the token's user; `"user"`: as
    /// the token's user into `broadcaster_user_id`'s channel.
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// Required for `user`, ignored for `bot`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcaster_user_id: Option<u64>,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Bot,
    User,
}

/// Kick's answer to a chat message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    pub is_sent: bool,
    #[serde(default)]
    pub message_id: String,
}

/// A channel (`GET /public/v1/channels`). The public API gives no chatroom id (that is
/// Kick's internal Pusher id).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    pub broadcaster_user_id: u64,
    pub slug: String,
}

/// A user (`GET /public/v1/users`: the token's own user without `id`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub user_id: u64,
    pub name: String,
}

/// What introspection says of a token (`POST /oauth/token/introspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    pub client_id: Option<String>,
    /// `user` or `app`.
    pub token_type: Option<String>,
    pub scopes: Vec<String>,
    /// Seconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct IntrospectionData {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
}

/// The text to post for a rendered reply: one that would start like a command (the prefix,
/// `/`, `.`, after what a chat drops) starts with [`crate::reply::DEFUSE`] instead (a reply
/// must never run as a command: the bot may read its own messages), and the whole is cut to
/// [`CHAT_LIMIT`] characters on a character boundary. `None` for an empty text (Kick refuses
/// one).
pub fn chat_content(text: &str, prefix: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let text = if crate::reply::starts_like_a_command(text, prefix) {
        format!("{}{text}", crate::reply::DEFUSE)
    } else {
        text.to_string()
    };
    Some(super::http::cut(&text, CHAT_LIMIT))
}

/// The data of a successful answer, or the error.
fn data<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, KickError> {
    if !answer.is_success() {
        return Err(answer.error());
    }
    Ok(answer.json::<Envelope<T>>()?.data)
}

/// `POST /public/v1/chat`. Needs `chat:write`.
pub async fn send_chat(
    http: &KickHttp,
    access: &str,
    message: &ChatMessage,
) -> Result<Answer, KickError> {
    let request = http
        .client()
        .post(http.api("public/v1/chat"))
        .bearer_auth(access)
        .json(message);
    http.send(request).await
}

/// Read a chat answer (not a 401: the caller retries that).
pub fn sent(answer: &Answer, kind: ChatKind) -> Result<SentMessage, KickError> {
    match data::<SentMessage>(answer) {
        Err(KickError::Server {
            status: 500,
            reason,
        }) if kind == ChatKind::Bot => Err(KickError::BotRefused(reason)),
        other => other,
    }
}

/// `GET /public/v1/channels?slug=<slug>`. Needs `channel:read`.
pub async fn channel_request(
    http: &KickHttp,
    access: &str,
    slug: &str,
) -> Result<Answer, KickError> {
    let mut url = url::Url::parse(&http.api("public/v1/channels"))
        .map_err(|e| KickError::Invalid(format!("kick.api_url: {e}")))?;
    url.query_pairs_mut().append_pair("slug", slug);
    let request = http.client().get(url).bearer_auth(access);
    http.send(request).await
}

/// The channel in a channels answer (`None`: Kick knows no such slug).
pub fn channel(answer: &Answer) -> Result<Option<Channel>, KickError> {
    if answer.status == 404 {
        return Ok(None);
    }
    Ok(data::<Vec<Channel>>(answer)?.into_iter().next())
}

/// `GET /public/v1/users`: the token's own user. Needs `user:read`.
pub async fn users_request(http: &KickHttp, access: &str) -> Result<Answer, KickError> {
    let request = http
        .client()
        .get(http.api("public/v1/users"))
        .bearer_auth(access);
    http.send(request).await
}

/// The user in a users answer.
pub fn user(answer: &Answer) -> Result<User, KickError> {
    data::<Vec<User>>(answer)?
        .into_iter()
        .next()
        .ok_or_else(|| KickError::Invalid("Kick named no user for this token".into()))
}

/// The token's own user, with `access` as it is (no refresh): for the login.
pub async fn current_user(http: &KickHttp, access: &str) -> Result<User, KickError> {
    user(&users_request(http, access).await?)
}

/// `POST /oauth/token/introspect` on the OAuth server (its home since 15/01/2026; the
/// `/public/v1/token/introspect` of the API is deprecated: KickDevDocs changelog.md). A token
/// Kick refuses (401) is inactive.
pub async fn introspect(http: &KickHttp, access: &str) -> Result<Introspection, KickError> {
    let request = http
        .client()
        .post(http.oauth("oauth/token/introspect"))
        .bearer_auth(access);
    let answer = http.send(request).await?;
    if answer.status == 401 {
        return Ok(Introspection {
            active: false,
            client_id: None,
            token_type: None,
            scopes: Vec::new(),
            expires_at: None,
        });
    }
    let data = data::<IntrospectionData>(&answer)?;
    Ok(Introspection {
        active: data.active,
        client_id: data.client_id,
        token_type: data.token_type,
        scopes: data
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        expires_at: data.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_content_is_cut_and_never_starts_like_a_command() {
        assert_eq!(chat_content("Pong!", "!").as_deref(), Some("Pong!"));
        assert_eq!(chat_content("  ", "!"), None);
        assert_eq!(
            chat_content("!title <text…> — sets the title", "!").as_deref(),
            Some("» !title <text…> — sets the title")
        );
        assert_eq!(
            chat_content("\u{200B}!brb", "!").as_deref(),
            Some("» \u{200B}!brb")
        );
        assert_eq!(chat_content("/ban x", "!").as_deref(), Some("» /ban x"));
        let long = chat_content(&"ø".repeat(600), "!").unwrap();
        assert_eq!(long.chars().count(), CHAT_LIMIT);
        let long = chat_content(&format!("!{}", "ø".repeat(600)), "!").unwrap();
        assert_eq!(long.chars().count(), CHAT_LIMIT);
        assert!(long.starts_with(crate::reply::DEFUSE));
    }

    #[test]
    fn a_chat_message_serialises_as_kick_documents_it() {
        let message = ChatMessage {
            kind: ChatKind::User,
            broadcaster_user_id: Some(123),
            content: "hi".into(),
            reply_to_message_id: None,
        };
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            r#"{"type":"user","broadcaster_user_id":123,"content":"hi"}"#
        );
        let bot = ChatMessage {
            kind: ChatKind::Bot,
            broadcaster_user_id: None,
            content: "hi".into(),
            reply_to_message_id: Some("m1".into()),
        };
        assert_eq!(
            serde_json::to_string(&bot).unwrap(),
            r#"{"type":"bot","content":"hi","reply_to_message_id":"m1"}"#
        );
    }

    #[test]
    fn a_500_to_a_bot_message_says_what_to_do() {
        let answer = Answer {
            status: 500,
            retry_after: None,
            body: br#"{"data":{},"message":"Internal Server Error"}"#.to_vec(),
        };
        assert!(matches!(
            sent(&answer, ChatKind::Bot),
            Err(KickError::BotRefused(_))
        ));
        assert!(matches!(
            sent(&answer, ChatKind::User),
            Err(KickError::Server { status: 500, .. })
        ));
    }
}
