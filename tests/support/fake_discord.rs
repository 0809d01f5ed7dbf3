//! A fake Discord for the real poise/serenity bot: the REST routes the bot uses (gateway URL,
//! application info, guild commands, interaction callbacks, webhook follow-ups and edits,
//! channel messages with JSON or multipart bodies, the bot's user and its servers) and the
//! gateway (HELLO, IDENTIFY → READY, heartbeat ACK, RESUME → RESUMED, dispatches). Everything it receives is recorded for the
//! tests. Loopback only, ports chosen by the OS.
//!
//! Shapes follow the Discord API v10 documentation; the READY and interaction payloads carry
//! exactly the fields serenity 0.12 requires (see shared/reference/crates-and-fakes.md §2).

#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

#[path = "discord_commands.rs"]
pub mod discord_commands;

pub const APP_ID: u64 = 100_000_000_000_000_001;
pub const BOT_ID: u64 = 100_000_000_000_000_002;
pub const GUILD_ID: u64 = 200_000_000_000_000_001;
pub const OTHER_GUILD_ID: u64 = 200_000_000_000_000_999;
pub const CHANNEL_ID: u64 = 300_000_000_000_000_001;

/// One HTTP request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The JSON body (`payload_json` for multipart).
    pub body: Value,
    /// File names of multipart attachments.
    pub files: Vec<(String, usize)>,
}

/// A message as the fake keeps it.
#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub id: u64,
    pub channel_id: u64,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub files: Vec<(String, usize)>,
    pub edits: u32,
    pub flags: u64,
    pub allowed_mentions: Value,
}

/// An interaction's answers: the callback and what followed.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Interaction callback bodies (`type` 4 message, 5 deferred, 7 update, 8 autocomplete).
    pub callbacks: Vec<Value>,
    /// The original response's content after every edit.
    pub edits: Vec<String>,
    pub followups: Vec<Value>,
    /// Edits of follow-up messages (their new content), in order.
    pub followup_edits: Vec<String>,
}

impl Answer {
    /// The text the user sees now: the last edit, else the callback's content.
    pub fn text(&self) -> Option<String> {
        self.edits.last().cloned().or_else(|| {
            self.callbacks
                .iter()
                .find_map(|c| c["data"]["content"].as_str().map(str::to_string))
        })
    }

    /// Whether the first answer was ephemeral (flag 64).
    pub fn ephemeral(&self) -> bool {
        self.callbacks
            .first()
            .and_then(|c| c["data"]["flags"].as_u64())
            .is_some_and(|f| f & 64 != 0)
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    commands: Vec<Value>,
    command_puts: usize,
    /// Interaction token → answers.
    answers: BTreeMap<String, Answer>,
    messages: BTreeMap<u64, FakeMessage>,
    next_id: u64,
    identifies: usize,
    resumes: Vec<Value>,
    connections: usize,
    seq: u64,
    session_id: String,
    /// When set, every REST call must carry `Authorization: Bot <token>` (else 401).
    bot_token: Option<String>,
    /// The bot's permissions in [`GUILD_ID`] (as `GET /users/@me/guilds` reports them).
    guild_permissions: u64,
    /// Whether the bot is a member of [`GUILD_ID`].
    left_guild: bool,
    /// How long every REST answer takes (a slow Discord).
    delay: Option<Duration>,
}

/// The permissions the bot is invited with (README: `permissions=117760`).
pub const INVITE_PERMISSIONS: u64 = 117_760;

enum GatewayCommand {
    Dispatch(&'static str, Value),
    /// Close the TCP connection without a close frame (a network drop).
    Drop,
}

pub struct FakeDiscord {
    pub api_url: String,
    pub gateway_url: String,
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
    gateway: Arc<Mutex<Option<mpsc::UnboundedSender<GatewayCommand>>>>,
    interaction_counter: Mutex<u64>,
}

fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": bot})
}

fn touch(changed: &watch::Sender<u64>) {
    changed.send_modify(|n| *n += 1);
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let http_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", http_listener.local_addr().unwrap());
        let gateway_url = format!("ws://{}", ws_listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            next_id: 500_000_000_000_000_000,
            session_id: "fake-session-1".into(),
            guild_permissions: INVITE_PERMISSIONS,
            ..State::default()
        }));
        let (changed, _) = watch::channel(0u64);
        let gateway = Arc::new(Mutex::new(None));

        let http_state = (state.clone(), changed.clone(), gateway_url.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (state, changed, gateway_url) = http_state.clone();
                async move {
                    let delay = state.lock().unwrap().delay;
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    handle_http(&state, &changed, &gateway_url, method, uri, headers, body)
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(http_listener, app).await;
        });

        let ws_state = state.clone();
        let ws_changed = changed.clone();
        let ws_gateway = gateway.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = ws_listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let (tx, rx) = mpsc::unbounded_channel();
                *ws_gateway.lock().unwrap() = Some(tx);
                let state = ws_state.clone();
                let changed = ws_changed.clone();
                tokio::spawn(async move { serve_gateway(stream, rx, state, changed).await });
            }
        });

        FakeDiscord {
            api_url,
            gateway_url,
            state,
            changed,
            gateway,
            interaction_counter: Mutex::new(0),
        }
    }

    /// Wait until `check` holds for the fake's state (re-checked on every change).
    pub async fn wait_for<T>(
        &self,
        what: &str,
        check: impl FnMut(&FakeView<'_>) -> Option<T>,
    ) -> T {
        self.wait_for_within(what, Duration::from_secs(15), check)
            .await
    }

    /// [`wait_for`](Self::wait_for) with another deadline than 15 s.
    pub async fn wait_for_within<T>(
        &self,
        what: &str,
        within: Duration,
        mut check: impl FnMut(&FakeView<'_>) -> Option<T>,
    ) -> T {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            {
                let state = self.state.lock().unwrap();
                if let Some(found) = check(&FakeView { state: &state }) {
                    return found;
                }
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                let state = self.state.lock().unwrap();
                let paths: Vec<String> = state
                    .requests
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("fake Discord: timed out waiting for {what}; requests: {paths:#?}");
            }
        }
    }

    pub fn view<T>(&self, f: impl FnOnce(&FakeView<'_>) -> T) -> T {
        let state = self.state.lock().unwrap();
        f(&FakeView { state: &state })
    }

    fn send(&self, command: GatewayCommand) {
        let sender = self.gateway.lock().unwrap().clone();
        sender
            .expect("the bot is connected to the fake gateway")
            .send(command)
            .unwrap_or_else(|_| panic!("the gateway connection is open"));
    }

    /// Drop the gateway connection (no close frame).
    pub fn drop_gateway(&self) {
        self.send(GatewayCommand::Drop);
    }

    fn next_interaction(&self) -> (String, String) {
        let mut counter = self.interaction_counter.lock().unwrap();
        *counter += 1;
        (
            format!("{}", 900_000_000_000_000_000u64 + *counter),
            format!("itoken-{}", *counter),
        )
    }

    /// Send a slash command: `path` like `["guard", "trigger"]`, `options` the leaf's options
    /// as Discord sends them. Returns the interaction token.
    pub fn slash(
        &self,
        from: &Member,
        guild: Option<u64>,
        path: &[&str],
        options: Value,
    ) -> String {
        let mut options = options;
        for name in path[1..].iter().rev() {
            options = json!([{"name": name, "type": 1, "options": options}]);
        }
        let data = json!({"id": "700000000000000001", "name": path[0], "type": 1,
                          "options": options});
        self.interaction(from, guild, 2, data, None, "en-US")
    }

    /// Same, with a locale (Discord's code, e.g. `no`).
    pub fn slash_in(&self, from: &Member, path: &[&str], options: Value, locale: &str) -> String {
        let data = json!({"id": "700000000000000001", "name": path[0], "type": 1,
                          "options": options});
        self.interaction(from, Some(GUILD_ID), 2, data, None, locale)
    }

    /// An autocomplete request for one focused option of a top-level command.
    pub fn autocomplete(
        &self,
        from: &Member,
        guild: Option<u64>,
        command: &str,
        option: &str,
        typed: &str,
    ) -> String {
        let data = json!({"id": "700000000000000001", "name": command, "type": 1,
            "options": [{"name": option, "type": 3, "value": typed, "focused": true}]});
        self.interaction(from, guild, 4, data, None, "en-US")
    }

    /// An autocomplete request for an option of a subcommand (`path` like `["twitch",
    /// "category"]`).
    pub fn autocomplete_sub(
        &self,
        from: &Member,
        path: &[&str],
        option: &str,
        typed: &str,
    ) -> String {
        let mut options = json!([{"name": option, "type": 3, "value": typed, "focused": true}]);
        for name in path[1..].iter().rev() {
            options = json!([{"name": name, "type": 1, "options": options}]);
        }
        let data = json!({"id": "700000000000000001", "name": path[0], "type": 1,
                          "options": options});
        self.interaction(from, Some(GUILD_ID), 4, data, None, "en-US")
    }

    /// A button click on `message_id` (any message: ids survive restarts).
    pub fn click(&self, from: &Member, custom_id: &str) -> String {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let message = json!({"id": "600000000000000001", "channel_id": CHANNEL_ID.to_string(),
            "author": user(BOT_ID, "stream-control", true), "content": "panel",
            "timestamp": "2026-11-24T18:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0});
        self.interaction(from, Some(GUILD_ID), 3, data, Some(message), "en-US")
    }

    fn interaction(
        &self,
        from: &Member,
        guild: Option<u64>,
        kind: u8,
        data: Value,
        message: Option<Value>,
        locale: &str,
    ) -> String {
        let (id, token) = self.next_interaction();
        let mut d = json!({
            "id": id, "application_id": APP_ID.to_string(), "type": kind, "token": token,
            "version": 1, "locale": locale, "channel_id": CHANNEL_ID.to_string(),
            "data": data, "entitlements": [], "attachment_size_limit": 8_388_608,
            "app_permissions": "2248473465835073",
        });
        let member_user = user(from.user_id, &from.name, false);
        match guild {
            Some(guild) => {
                d["guild_id"] = json!(guild.to_string());
                d["guild_locale"] = json!("en-US");
                d["member"] = json!({"user": member_user, "roles": from.roles.iter()
                    .map(|r| r.to_string()).collect::<Vec<_>>(), "joined_at":
                    "2025-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
                    "flags": 0, "nick": null, "permissions": "2248473465835073"});
            }
            None => d["user"] = member_user,
        }
        if let Some(message) = message {
            d["message"] = message;
        }
        self.send(GatewayCommand::Dispatch("INTERACTION_CREATE", d));
        token
    }

    /// Wait for the interaction's answer to satisfy `check`.
    pub async fn answer(&self, token: &str, check: impl Fn(&Answer) -> bool) -> Answer {
        self.wait_for(&format!("the answer to {token}"), |v| {
            v.state.answers.get(token).filter(|a| check(a)).cloned()
        })
        .await
    }
}

/// A member sending interactions.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: u64,
    pub name: String,
    pub roles: Vec<u64>,
}

/// Read access to what the fake recorded.
pub struct FakeView<'a> {
    state: &'a State,
}

impl FakeView<'_> {
    pub fn requests(&self) -> &[Recorded] {
        &self.state.requests
    }
    pub fn commands(&self) -> &[Value] {
        &self.state.commands
    }
    pub fn command_puts(&self) -> usize {
        self.state.command_puts
    }
    pub fn messages_in(&self, channel: u64) -> Vec<FakeMessage> {
        self.state
            .messages
            .values()
            .filter(|m| m.channel_id == channel)
            .cloned()
            .collect()
    }
    pub fn answer(&self, token: &str) -> Option<&Answer> {
        self.state.answers.get(token)
    }
    pub fn identifies(&self) -> usize {
        self.state.identifies
    }
    pub fn resumes(&self) -> &[Value] {
        &self.state.resumes
    }
    pub fn connections(&self) -> usize {
        self.state.connections
    }
}

fn message_json(m: &FakeMessage) -> Value {
    json!({"id": m.id.to_string(), "channel_id": m.channel_id.to_string(),
        "author": user(BOT_ID, "stream-control", true), "content": m.content,
        "timestamp": "2026-11-24T18:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": m.embeds, "components": [], "pinned": false, "type": 0,
        "flags": m.flags})
}

/// The JSON part and the files of a request body (JSON, or multipart with `payload_json`).
fn parse_body(headers: &HeaderMap, body: &[u8]) -> (Value, Vec<(String, usize)>) {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    else {
        return (
            serde_json::from_slice(body).unwrap_or(Value::Null),
            Vec::new(),
        );
    };
    let boundary = format!("--{}", boundary.trim_matches('"'));
    let mut json_part = Value::Null;
    let mut files = Vec::new();
    let text = body;
    let positions: Vec<usize> = find_all(text, boundary.as_bytes());
    for window in positions.windows(2) {
        let part = &text[window[0] + boundary.len()..window[1]];
        let Some(split) = find_all(part, b"\r\n\r\n").first().copied() else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..part.len().saturating_sub(2)];
        if head.contains("name=\"payload_json\"") {
            json_part = serde_json::from_slice(content).unwrap_or(Value::Null);
        } else if let Some(name) = head.split("filename=\"").nth(1) {
            let name = name.split('"').next().unwrap_or("").to_string();
            files.push((name, content.len()));
        }
    }
    (json_part, files)
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|i| &haystack[*i..*i + needle.len()] == needle)
        .collect()
}

fn handle_http(
    state: &Mutex<State>,
    changed: &watch::Sender<u64>,
    gateway_url: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (json_body, files) = parse_body(&headers, &body);
    let path = uri.path().to_string();
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
        body: json_body.clone(),
        files: files.clone(),
    });
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let authorised = match &s.bot_token {
        None => true,
        Some(token) => headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bot {token}")),
    };
    let response = match (method.as_str(), segments.as_slice()) {
        _ if !authorised => (
            StatusCode::UNAUTHORIZED,
            json!({"message": "401: Unauthorized", "code": 0}).to_string(),
        )
            .into_response(),
        ("GET", ["users", "@me"]) => user(BOT_ID, "stream-control", true)
            .to_string()
            .into_response(),
        ("GET", ["users", "@me", "guilds"]) => {
            let guilds: Vec<Value> = if s.left_guild {
                Vec::new()
            } else {
                vec![
                    json!({"id": GUILD_ID.to_string(), "name": "Fake Server", "icon": null,
                            "owner": false, "permissions": s.guild_permissions.to_string(),
                            "features": []}),
                ]
            };
            Value::Array(guilds).to_string().into_response()
        }
        ("GET", ["gateway"]) => json!({"url": gateway_url}).to_string().into_response(),
        ("GET", ["oauth2", "applications", "@me"]) => json!({
            "id": APP_ID.to_string(), "name": "stream-control", "icon": null,
            "description": "", "bot_public": false, "bot_require_code_grant": false,
            "verify_key": "00", "owner": user(1, "owner", false), "team": null, "flags": 0})
        .to_string()
        .into_response(),
        ("GET", ["applications", _, "guilds", _, "commands"]) => {
            let with_localizations = uri
                .query()
                .unwrap_or("")
                .split('&')
                .any(|pair| pair == "with_localizations=true");
            commands_answer(&s.commands, with_localizations)
                .to_string()
                .into_response()
        }
        ("PUT", ["applications", app, "guilds", guild, "commands"]) => {
            match put_commands(&mut s, app, guild, &json_body) {
                Ok(stored) => Value::Array(stored).to_string().into_response(),
                Err(refusal) => (StatusCode::BAD_REQUEST, refusal.to_string()).into_response(),
            }
        }
        ("POST", ["interactions", _, token, "callback"]) => {
            s.answers
                .entry(token.to_string())
                .or_default()
                .callbacks
                .push(json_body.clone());
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", _, token, "messages", which]) => {
            let content = json_body["content"].as_str().unwrap_or("").to_string();
            let answer = s.answers.entry(token.to_string()).or_default();
            if *which == "@original" {
                answer.edits.push(content.clone());
            } else {
                answer.followup_edits.push(content.clone());
            }
            let id = next_id(&mut s);
            message_json(&FakeMessage {
                id,
                channel_id: CHANNEL_ID,
                content,
                embeds: Vec::new(),
                components: Vec::new(),
                files,
                edits: 1,
                flags: 0,
                allowed_mentions: json_body["allowed_mentions"].clone(),
            })
            .to_string()
            .into_response()
        }
        ("POST", ["webhooks", _, token]) => {
            s.answers
                .entry(token.to_string())
                .or_default()
                .followups
                .push(json_body.clone());
            let id = next_id(&mut s);
            message_json(&FakeMessage {
                id,
                channel_id: CHANNEL_ID,
                content: json_body["content"].as_str().unwrap_or("").to_string(),
                embeds: Vec::new(),
                components: Vec::new(),
                files,
                edits: 0,
                flags: json_body["flags"].as_u64().unwrap_or(0),
                allowed_mentions: json_body["allowed_mentions"].clone(),
            })
            .to_string()
            .into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            let id = next_id(&mut s);
            let message = FakeMessage {
                id,
                channel_id: channel.parse().unwrap_or(0),
                content: json_body["content"].as_str().unwrap_or("").to_string(),
                embeds: json_body["embeds"].as_array().cloned().unwrap_or_default(),
                components: json_body["components"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                files,
                edits: 0,
                flags: 0,
                allowed_mentions: json_body["allowed_mentions"].clone(),
            };
            let out = message_json(&message);
            s.messages.insert(id, message);
            out.to_string().into_response()
        }
        ("PATCH", ["channels", _, "messages", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            match s.messages.get_mut(&id) {
                Some(message) => {
                    if let Some(content) = json_body["content"].as_str() {
                        message.content = content.to_string();
                    }
                    if let Some(embeds) = json_body["embeds"].as_array() {
                        message.embeds = embeds.clone();
                    }
                    if let Some(components) = json_body["components"].as_array() {
                        message.components = components.clone();
                    }
                    if !files.is_empty() {
                        message.files = files;
                    }
                    message.edits += 1;
                    message_json(message).to_string().into_response()
                }
                None => (
                    StatusCode::NOT_FOUND,
                    json!({"message": "Unknown Message", "code": 10008}).to_string(),
                )
                    .into_response(),
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            json!({"message": "404: Not Found", "code": 0}).to_string(),
        )
            .into_response(),
    };
    drop(s);
    touch(changed);
    let (mut parts, body) = response.into_parts();
    if parts.status != StatusCode::NO_CONTENT {
        parts
            .headers
            .insert("content-type", "application/json".parse().unwrap());
    }
    Response::from_parts(parts, body)
}

fn next_id(s: &mut State) -> u64 {
    s.next_id += 1;
    s.next_id
}

/// `PUT …/guilds/{guild}/commands`, a bulk overwrite: checked as Discord checks it (refused whole,
/// nothing stored, with Discord's 400 body), else stored in Discord's normalised form. A command
/// keeps its id when one of the same name and type existed, and its version when nothing about
/// it changed (so answers of two identical PUTs are identical).
fn put_commands(s: &mut State, app: &str, guild: &str, body: &Value) -> Result<Vec<Value>, Value> {
    discord_commands::validate_commands(body).map_err(discord_commands::invalid_form_body)?;
    let mut stored = Vec::new();
    for command in body.as_array().into_iter().flatten() {
        let previous = s
            .commands
            .iter()
            .find(|c| {
                c["name"] == command["name"]
                    && c["type"].as_u64() == Some(command["type"].as_u64().unwrap_or(1))
            })
            .cloned();
        let id = match previous
            .as_ref()
            .and_then(|c| c["id"].as_str()?.parse().ok())
        {
            Some(id) => id,
            None => next_id(s),
        };
        let mut normalised = discord_commands::normalise_command(command, id, app, guild, 0);
        let unchanged = previous.as_ref().is_some_and(|p| {
            let mut p = p.clone();
            p["version"] = json!("0");
            p == normalised
        });
        let version = match previous.as_ref().and_then(|p| p["version"].as_str()) {
            Some(v) if unchanged => v.to_string(),
            _ => next_id(s).to_string(),
        };
        normalised["version"] = json!(version);
        stored.push(normalised);
    }
    s.commands = stored.clone();
    s.command_puts += 1;
    Ok(stored)
}

/// The stored commands as `GET …/commands` answers them: without `with_localizations=true`
/// Discord leaves the localisation maps out (it would fill `name_localized` for the caller's
/// locale, which a bot has none of).
fn commands_answer(commands: &[Value], with_localizations: bool) -> Value {
    fn strip(value: &mut Value) {
        if let Some(map) = value.as_object_mut() {
            map.remove("name_localizations");
            map.remove("description_localizations");
            for key in ["options", "choices"] {
                if let Some(list) = map.get_mut(key).and_then(Value::as_array_mut) {
                    list.iter_mut().for_each(strip);
                }
            }
        }
    }
    let mut list = commands.to_vec();
    if !with_localizations {
        list.iter_mut().for_each(strip);
    }
    Value::Array(list)
}

impl FakeDiscord {
    /// From now on, REST calls without `Authorization: Bot <token>` answer 401, as Discord's
    /// do for a wrong token (by default any token is accepted).
    pub fn require_token(&self, token: &str) {
        self.state.lock().unwrap().bot_token = Some(token.to_string());
    }

    /// The bot's permission bits in [`GUILD_ID`].
    pub fn set_guild_permissions(&self, bits: u64) {
        self.state.lock().unwrap().guild_permissions = bits;
    }

    /// From now on every REST call is answered (and takes effect) only after `delay`.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.lock().unwrap().delay = delay;
    }

    /// The bot is no longer a member of [`GUILD_ID`].
    pub fn leave_guild(&self) {
        self.state.lock().unwrap().left_guild = true;
    }

    /// Delete a message (as a person would), so the bot must post a new one.
    pub fn delete_message(&self, id: u64) {
        self.state.lock().unwrap().messages.remove(&id);
        touch(&self.changed);
    }
}

async fn serve_gateway(
    stream: tokio::net::TcpStream,
    mut commands: mpsc::UnboundedReceiver<GatewayCommand>,
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    state.lock().unwrap().connections += 1;
    touch(&changed);
    let (mut sink, mut source) = ws.split();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
    if sink.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = source.next() => {
                let Some(Ok(frame)) = frame else { return };
                let Message::Text(text) = frame else { continue };
                let Ok(payload) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let reply = match payload["op"].as_u64() {
                    Some(1) => Some(json!({"op": 11})),
                    Some(2) => {
                        let mut s = state.lock().unwrap();
                        s.identifies += 1;
                        s.seq = 1;
                        s.session_id = format!("fake-session-{}", s.identifies);
                        Some(json!({"op": 0, "t": "READY", "s": 1, "d": {
                            "v": 10, "user": user(BOT_ID, "stream-control", true),
                            "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                            "session_id": s.session_id,
                            "resume_gateway_url": "ws://127.0.0.1:1",
                            "application": {"id": APP_ID.to_string(), "flags": 0},
                            "shard": [0, 1]}}))
                    }
                    Some(6) => {
                        let mut s = state.lock().unwrap();
                        s.resumes.push(payload["d"].clone());
                        s.seq += 1;
                        Some(json!({"op": 0, "t": "RESUMED", "s": s.seq, "d": {}}))
                    }
                    _ => None,
                };
                touch(&changed);
                if let Some(reply) = reply
                    && sink.send(Message::text(reply.to_string())).await.is_err()
                {
                    return;
                }
            }
            command = commands.recv() => match command {
                Some(GatewayCommand::Dispatch(kind, data)) => {
                    let seq = {
                        let mut s = state.lock().unwrap();
                        s.seq += 1;
                        s.seq
                    };
                    let frame = json!({"op": 0, "t": kind, "s": seq, "d": data});
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        return;
                    }
                }
                Some(GatewayCommand::Drop) | None => return,
            },
        }
    }
}
