//! Kick's public API, faked: the token's user, channels by slug, chat messages. Every call
//! needs a bearer token issued here and alive (401 otherwise) and its scope (403); answers are
//! Kick's envelope `{"data": …, "message": …}`.

use super::oauth::authorized;
use super::{FakeKick, Incoming, Reply, SentChat, Shared, State, lock, refuse};
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::time::Instant;

/// The scope a call needs (KickDevDocs scopes/scopes.md), else 403 in Kick's envelope.
fn need_scope(state: &mut State, scopes: &[String], scope: &str, what: &str) -> Result<(), Reply> {
    if scopes.iter().any(|s| s == scope) {
        return Ok(());
    }
    refuse(
        state,
        format!("{what}: missing scope {scope} (scopes/scopes.md)"),
    );
    Err(Reply::api_error(
        StatusCode::FORBIDDEN,
        json!({}),
        &format!("Forbidden: missing scope {scope}"),
    ))
}

/// `GET /public/v1/users` without `id`: the token's own user. Needs `user:read` ("View user
/// information in Kick including username, streamer ID").
pub(crate) fn users(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    let (_, user_id, scopes) = match authorized(state, req, "users") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if let Err(reply) = need_scope(state, &scopes, "user:read", "users") {
        return reply;
    }
    let name = state
        .users
        .get(&user_id)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    Reply::data(json!([{
        "user_id": user_id,
        "name": name,
        "email": format!("{name}@example.invalid"),
        "profile_picture": "",
    }]))
}

/// A user's channel slug: the name in lower case, `_` written `-` (as kick.com shows it).
fn slug(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

/// `GET /public/v1/channels?slug=…`. Needs `channel:read` ("View channel information in
/// Kick"). An unknown slug is simply not in `data`.
pub(crate) fn channels(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    let (_, _, scopes) = match authorized(state, req, "channels") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if let Err(reply) = need_scope(state, &scopes, "channel:read", "channels") {
        return reply;
    }
    let wanted: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "slug")
        .map(|(_, v)| v.as_str())
        .collect();
    let data: Vec<Value> = state
        .users
        .iter()
        .filter(|(_, user)| {
            wanted
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(&slug(&user.name)))
        })
        .map(|(id, user)| {
            json!({
                "broadcaster_user_id": id,
                "slug": slug(&user.name),
                "stream_title": "",
                "channel_description": "",
            })
        })
        .collect();
    Reply::data(Value::Array(data))
}

/// `POST /public/v1/chat`. Needs `chat:write`.
pub(crate) fn chat(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let mut guard = lock(shared);
    let state: &mut State = &mut guard;
    if *req.method != Method::POST {
        return Reply::api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({}),
            "Method Not Allowed",
        );
    }
    let (access, user_id, scopes) = match authorized(state, req, "chat") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if let Err(reply) = need_scope(state, &scopes, "chat:write", "chat") {
        return reply;
    }
    let bad = |state: &mut State, reason: &str, data: Value| {
        refuse(state, format!("chat: {reason}"));
        Reply::api_error(StatusCode::BAD_REQUEST, data, "Bad request")
    };
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return bad(state, "the body is not JSON", json!({}));
    };
    // `type`: "user" or "bot" (the chat operation: "Message type - either user or bot").
    let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "user" && kind != "bot" {
        return bad(state, "type is neither user nor bot", json!({}));
    }
    // `content`: required, "max 500 characters"; Kick posts no empty message.
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if content.trim().is_empty() {
        return bad(state, "content is empty", json!({}));
    }
    if content.chars().count() > super::MAX_CHAT_CHARS {
        return bad(state, "content is longer than 500 characters", json!({}));
    }
    let reply_to = body
        .get("reply_to_message_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (broadcaster_user_id, sender) = if kind == "user" {
        // `broadcaster_user_id`: "required for user messages".
        let Some(id) = body.get("broadcaster_user_id").and_then(Value::as_u64) else {
            return bad(state, "type user without broadcaster_user_id", json!({}));
        };
        // An unknown channel: `{"data":"Channel not found","message":"Bad request"}` (issue #123).
        if !state.users.contains_key(&id) {
            return bad(
                state,
                "unknown broadcaster_user_id",
                json!("Channel not found"),
            );
        }
        let name = state
            .users
            .get(&user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        (id, name)
    } else {
        // `bot` goes to the token's user's channel ("ignored for bot messages"; issue #123),
        // and only when the application's bot is enabled: else Kick answers 500 (issue #343).
        if state.bot_unauthorized {
            refuse(state, "chat: type bot answered 401 (issue #289)");
            return Reply::api_error(StatusCode::UNAUTHORIZED, json!({}), "Unauthorized");
        }
        if !state.bot_enabled {
            refuse(
                state,
                "chat: type bot while the application's bot is off (issue #343)",
            );
            return Reply::api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({}),
                "Internal Server Error",
            );
        }
        (user_id, "bot".to_string())
    };
    // A rate limit per token: 429 (RFC 6585 §4; Kick publishes no number, the fake's is
    // `set_chat_rate_limit`), with Retry-After (RFC 9110 §10.2.3).
    let (limit, window) = state.chat_limit;
    let now = Instant::now();
    let times = state.chat_times.entry(access).or_default();
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        times.pop_front();
    }
    if times.len() >= limit {
        let retry = times
            .front()
            .map(|t| window.saturating_sub(now.saturating_duration_since(*t)))
            .unwrap_or(window);
        refuse(state, "chat: rate limited (RFC 6585 §4)");
        let mut reply = Reply::api_error(
            StatusCode::TOO_MANY_REQUESTS,
            json!({}),
            "Too Many Requests",
        );
        reply
            .headers
            .push((header::RETRY_AFTER, retry.as_secs().max(1).to_string()));
        return reply;
    }
    times.push_back(now);
    let message_id = FakeKick::next_id(shared, "msg");
    state.chats.push(SentChat {
        broadcaster_user_id,
        kind: kind.to_string(),
        sender,
        content,
        reply_to_message_id: reply_to,
        message_id: message_id.clone(),
    });
    shared.chat_count.send_replace(state.chats.len());
    Reply::data(json!({"is_sent": true, "message_id": message_id}))
}
