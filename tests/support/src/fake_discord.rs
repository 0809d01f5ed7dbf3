//! A fake Discord for the real poise/serenity bot: the REST routes the bot uses (gateway URL,
//! application info, guild commands, interaction callbacks, webhook follow-ups and edits,
//! channel messages with JSON or multipart bodies, the bot's user and its servers) and the
//! gateway. Everything it receives is recorded for the tests. Loopback only, ports chosen by the
//! OS.
//!
//! The gateway follows Discord's rules (each cited where it is enforced, in `serve_gateway` and
//! `on_gateway_payload`): HELLO with a heartbeat interval (configurable, so tests are short),
//! IDENTIFY → READY with a new session, heartbeat ACKs (can be withheld: a zombied
//! connection), RESUME checked against the session and seq it issued (else op 9 `false`) and
//! answered by replaying the dispatches after `seq`, then RESUMED; dispatches sent while the bot
//! is disconnected are kept for that replay. On request it sends op 7 Reconnect, op 9 Invalid
//! Session, or closes with a close code (4004, 4014 answer IDENTIFY when set).
//!
//! Shapes follow the Discord API v10 documentation; the READY and interaction payloads carry
//! exactly the fields serenity 0.12 requires (see shared/reference/crates-and-fakes.md §2).

#![allow(dead_code)]

// The one test CA; fake_twitch names it too.
pub use crate::test_ca;

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
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub use crate::discord_commands;

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

impl FakeMessage {
    /// A message with nothing in it yet, in [`CHANNEL_ID`].
    fn empty(id: u64) -> FakeMessage {
        FakeMessage {
            id,
            channel_id: CHANNEL_ID,
            content: String::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            files: Vec::new(),
            edits: 0,
            flags: 0,
            allowed_mentions: Value::Null,
        }
    }
}

/// An interaction's answers: the callback and what followed.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Callbacks Discord refused (their HTTP status and JSON error code).
    pub refused: Vec<(u16, u64)>,
    /// The original response as it stands (after edits): content, embeds, components, flags.
    pub original: Option<FakeMessage>,
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
            .is_some_and(|f| f & EPHEMERAL != 0)
    }

    /// Whether every follow-up was ephemeral.
    pub fn followups_ephemeral(&self) -> bool {
        self.followups
            .iter()
            .all(|f| f["flags"].as_u64().is_some_and(|f| f & EPHEMERAL != 0))
    }
}

/// Message flag `EPHEMERAL` (1 << 6).
pub const EPHEMERAL: u64 = 64;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: a snowflake's top 42 bits count
/// milliseconds from it (discord.com/developers/docs/reference#snowflakes).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Discord: "you must send an initial response within 3 seconds of receiving the event. If the
/// 3 second deadline is exceeded, the token will be invalidated." and "Interaction tokens are
/// valid for 15 minutes" (discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction).
/// The fake counts the 3 s from the interaction's creation (its snowflake), as Discord does.
pub const CALLBACK_WINDOW: Duration = Duration::from_secs(3);
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// An interaction the fake sent: when it was created, whether it was acknowledged.
#[derive(Debug, Clone)]
struct Issued {
    created_unix_ms: u64,
    acked: bool,
}

/// A Discord JSON error answer (discord.com/developers/docs/topics/opcodes-and-status-codes#json).
fn discord_error(status: StatusCode, code: u64, message: &str) -> Response {
    (
        status,
        json!({"message": message, "code": code}).to_string(),
    )
        .into_response()
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    commands: Vec<Value>,
    command_puts: usize,
    /// Interaction token → answers.
    answers: BTreeMap<String, Answer>,
    /// Interaction token → the interaction as sent.
    issued: BTreeMap<String, Issued>,
    messages: BTreeMap<u64, FakeMessage>,
    next_id: u64,
    identifies: usize,
    resumes: Vec<Value>,
    connections: usize,
    /// The current session's last seq and id.
    seq: u64,
    session_id: String,
    /// The current session's dispatches `(seq, frame)`, READY first: what a RESUME replays.
    sent: Vec<(u64, Value)>,
    /// Whether the current session may be resumed (not after op 9 `false` or
    /// [`FakeDiscord::expire_session`]).
    resumable: bool,
    /// The connection that gets new dispatches (after its READY or RESUMED): its number and
    /// sender. `None` while the bot is disconnected; dispatches then wait in `sent`.
    live: Option<(usize, mpsc::UnboundedSender<GatewayCommand>)>,
    /// HELLO's `heartbeat_interval` in ms (`None`: Discord's 41250).
    heartbeat_interval_ms: Option<u64>,
    /// Heartbeats are read but not acknowledged (a zombied connection).
    withhold_acks: bool,
    heartbeats: usize,
    /// IDENTIFY is answered by closing with this code (4004, 4014) instead of READY.
    refuse_identify: Option<u16>,
    /// Channels the bot may not post in (403 Missing Access).
    denied_channels: Vec<u64>,
    /// How each connection began (IDENTIFY or RESUME), in order.
    handshakes: Vec<Handshake>,
    /// Close frames the bot sent: (connection, code; `None` for a close frame without one).
    client_closes: Vec<(usize, Option<u16>)>,
    /// Connections that ended without the bot sending a close frame.
    client_drops: Vec<usize>,
    /// Dispatches replayed on RESUMEs.
    replayed: Vec<Value>,
    /// When set, every REST call must carry `Authorization: Bot <token>` (else 401).
    bot_token: Option<String>,
    /// The bot's permissions in [`GUILD_ID`] (as `GET /users/@me/guilds` reports them).
    guild_permissions: u64,
    /// Whether the bot is a member of [`GUILD_ID`].
    left_guild: bool,
    /// How long every REST answer takes (a slow Discord).
    delay: Option<Duration>,
    /// What `GET /gateway` answers instead of this fake's own gateway.
    gateway_override: Option<String>,
    /// Requests (method, path prefix, how many more) that are recorded and never answered.
    hang: Vec<(String, String, usize)>,
    /// Rate limits: per-route buckets, the global window, requests refused with 429.
    limits: RateLimits,
}

/// The permissions the bot is invited with (docs/commands.md: `permissions=117760`).
pub const INVITE_PERMISSIONS: u64 = 117_760;

/// What a test asks of one gateway connection.
enum GatewayCommand {
    /// A numbered dispatch frame (live, or replayed).
    Frame(Value),
    /// Close the TCP connection without a close frame (a network drop).
    Drop,
    /// op 7 Reconnect.
    Reconnect,
    /// op 9 Invalid Session with `d`.
    InvalidSession(bool),
    /// A close frame with this code.
    Close(u16),
}

/// How a gateway connection began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// IDENTIFY on connection `connection` (numbered from 1).
    Identify { connection: usize },
    /// RESUME, and whether the fake accepted it.
    Resume {
        connection: usize,
        session_id: String,
        seq: u64,
        accepted: bool,
    },
}

/// Discord's close codes the fake uses (docs.discord.com/developers/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
pub mod close_code {
    /// "The account token sent with your identify payload is incorrect." Reconnect: false.
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    /// "You sent a disallowed intent for a Gateway Intent." Reconnect: false.
    pub const DISALLOWED_INTENTS: u16 = 4014;
}

pub struct FakeDiscord {
    /// When set, `CONNECT discord.com:443` is answered and the tunnel served over TLS with it.
    tunnel: Arc<Mutex<Option<tokio_rustls::TlsAcceptor>>>,
    /// The CA whose certificate for `discord.com` the tunnel presents, and its PEM file.
    pub ca: test_ca::TestCa,
    /// `http://127.0.0.1:port`: the REST API (for `discord.api_url`), and an HTTPS proxy for
    /// `https://discord.com` once [`FakeDiscord::serve_as_proxy`] was called.
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

        let rest = Rest {
            state: state.clone(),
            changed: changed.clone(),
            gateway_url: gateway_url.clone(),
            tunnel: Arc::new(Mutex::new(None)),
        };
        let tunnel = rest.tunnel.clone();
        let ca = test_ca::TestCa::new();
        *tunnel.lock().unwrap() = Some(ca.acceptor_for(&["discord.com"]));
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let rest = rest.clone();
            async move { rest.serve(request).await }
        });
        // Small TLS records in the CONNECT tunnels: without TCP_NODELAY, Nagle holds each one
        // for the peer's delayed ACK (~40 ms), a real-time wait a paused clock cannot see.
        let http_listener = axum::serve::ListenerExt::tap_io(http_listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(http_listener, app).await;
        });

        let ws_state = state.clone();
        let ws_changed = changed.clone();
        let ws_gateway = gateway.clone();
        let ws_url = gateway_url.clone();
        tokio::spawn(async move {
            let mut connection = 0;
            loop {
                let Ok((stream, _)) = ws_listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                connection += 1;
                let (tx, rx) = mpsc::unbounded_channel();
                *ws_gateway.lock().unwrap() = Some(tx.clone());
                let link = GatewayLink {
                    connection,
                    commands: rx,
                    own: tx,
                    state: ws_state.clone(),
                    changed: ws_changed.clone(),
                    resume_url: ws_url.clone(),
                };
                tokio::spawn(serve_gateway(stream, link));
            }
        });

        FakeDiscord {
            tunnel,
            ca,
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

    /// Send `command` to the newest gateway connection.
    fn send(&self, command: GatewayCommand) {
        let sender = self.gateway.lock().unwrap().clone();
        sender
            .expect("the bot is connected to the fake gateway")
            .send(command)
            .unwrap_or_else(|_| panic!("the gateway connection is open"));
    }

    /// A dispatch in the current session: numbered, kept for a RESUME's replay, and sent at once
    /// if the bot is connected (else it waits for the RESUME, as Discord's do).
    fn dispatch(&self, kind: &str, data: Value) {
        let mut s = self.state.lock().unwrap();
        assert!(
            !s.sent.is_empty(),
            "the bot has no session with the fake gateway"
        );
        s.seq += 1;
        let frame = json!({"op": 0, "t": kind, "s": s.seq, "d": data});
        let seq = s.seq;
        s.sent.push((seq, frame.clone()));
        if let Some((_, live)) = &s.live {
            // A closed connection drops it; the RESUME replays it.
            let _ = live.send(GatewayCommand::Frame(frame));
        }
    }

    /// Drop the gateway connection (no close frame).
    pub fn drop_gateway(&self) {
        self.send(GatewayCommand::Drop);
    }

    /// A new interaction id (a snowflake created `age` ago) and token, noted as issued.
    fn next_interaction(&self, age: Duration) -> (String, String) {
        let mut counter = self.interaction_counter.lock().unwrap();
        *counter += 1;
        let created = now_unix_ms().saturating_sub(age.as_millis() as u64);
        let id = ((created - DISCORD_EPOCH_MS) << 22) | (*counter & 0xfff);
        let token = format!("itoken-{}", *counter);
        self.state.lock().unwrap().issued.insert(
            token.clone(),
            Issued {
                created_unix_ms: created,
                acked: false,
            },
        );
        (id.to_string(), token)
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
        self.interaction(from, guild, 2, slash_data(path, options), None, "en-US")
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
        self.interaction_aged(from, guild, kind, data, message, locale, Duration::ZERO)
    }

    /// A slash command that Discord created `age` ago (a late gateway delivery): the 3 s to
    /// answer count from its creation.
    pub fn slash_aged(&self, from: &Member, path: &[&str], age: Duration) -> String {
        let data = slash_data(path, json!([]));
        self.interaction_aged(from, Some(GUILD_ID), 2, data, None, "en-US", age)
    }

    #[allow(clippy::too_many_arguments)]
    fn interaction_aged(
        &self,
        from: &Member,
        guild: Option<u64>,
        kind: u8,
        data: Value,
        message: Option<Value>,
        locale: &str,
        age: Duration,
    ) -> String {
        let (id, token) = self.next_interaction(age);
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
        self.dispatch("INTERACTION_CREATE", d);
        token
    }

    /// Wait for the interaction's answer to satisfy `check`. Every test that reads an answer
    /// also checks that Discord refused none of the bot's callbacks (a second one, or a late one).
    pub async fn answer(&self, token: &str, check: impl Fn(&Answer) -> bool) -> Answer {
        let answer = self
            .wait_for(&format!("the answer to {token}"), |v| {
                (v.state.answers.get(token))
                    .filter(|a| check(a) || !a.refused.is_empty())
                    .cloned()
            })
            .await;
        assert!(
            answer.refused.is_empty(),
            "Discord refused callbacks: {answer:?}"
        );
        // A private answer's follow-ups are private too: none may show it to the channel.
        if answer.ephemeral() {
            assert!(
                answer.followups_ephemeral(),
                "a follow-up of an ephemeral answer is public: {answer:?}"
            );
        }
        answer
    }

    /// An interaction Discord created `age` ago that is not delivered to the bot: for tests of
    /// the fake's own rules. Returns (id, token).
    pub fn issue_interaction(&self, age: Duration) -> (String, String) {
        self.next_interaction(age)
    }
}

/// A slash command's `data`: `path` like `["guard", "trigger"]`, `options` the leaf's.
fn slash_data(path: &[&str], options: Value) -> Value {
    let mut options = options;
    for name in path[1..].iter().rev() {
        options = json!([{"name": name, "type": 1, "options": options}]);
    }
    json!({"id": "700000000000000001", "name": path[0], "type": 1, "options": options})
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
    /// Requests answered 429 (a client that follows the headers makes none).
    pub fn over_limit(&self) -> &[String] {
        &self.state.limits.over_limit
    }
    /// The connection that gets dispatches now (numbered from 1), if any.
    pub fn live_connection(&self) -> Option<usize> {
        self.state.live.as_ref().map(|(c, _)| *c)
    }
    /// The current session's id.
    pub fn session_id(&self) -> &str {
        &self.state.session_id
    }
    /// How each gateway connection began, in order.
    pub fn handshakes(&self) -> &[Handshake] {
        &self.state.handshakes
    }
    /// Close frames the bot sent: (connection, code).
    pub fn client_closes(&self) -> &[(usize, Option<u16>)] {
        &self.state.client_closes
    }
    /// Connections the bot left without a close frame.
    pub fn client_drops(&self) -> &[usize] {
        &self.state.client_drops
    }
    /// Dispatch frames RESUMEs replayed.
    pub fn replayed(&self) -> &[Value] {
        &self.state.replayed
    }
    pub fn heartbeats(&self) -> usize {
        self.state.heartbeats
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

/// The REST side: plain HTTP on the fake's port, and the same API inside CONNECT tunnels.
#[derive(Clone)]
struct Rest {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
    gateway_url: String,
    tunnel: Arc<Mutex<Option<tokio_rustls::TlsAcceptor>>>,
}

/// Bodies over this are refused (Discord's own limit for bots is 25 MiB of attachments).
const BODY_LIMIT: usize = 26 * 1024 * 1024;

impl Rest {
    async fn serve(self, request: axum::extract::Request) -> Response {
        if request.method() == Method::CONNECT {
            return self.connect(request);
        }
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
        let (delay, hang) = {
            let mut s = self.state.lock().unwrap();
            (s.delay, take_hang(&mut s, &method, uri.path()))
        };
        if hang {
            self.state.lock().unwrap().requests.push(Recorded {
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().unwrap_or("").to_string(),
                body: Value::Null,
                files: Vec::new(),
            });
            touch(&self.changed);
            // Accepted and never answered, until the client gives up.
            std::future::pending::<()>().await;
        }
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        handle_http(
            &self.state,
            &self.changed,
            &self.gateway_url,
            method,
            uri,
            headers,
            body,
        )
    }

    /// An HTTPS proxy's CONNECT (RFC 9110 §9.3.6): 200, then the tunnel is a TLS connection
    /// to `discord.com` (the test CA's certificate) carrying the same API. Only
    /// `discord.com:443`: anything else is refused, as a proxy that only knows Discord.
    fn connect(self, request: axum::extract::Request) -> Response {
        let acceptor = self.tunnel.lock().unwrap().clone();
        let target = request.uri().authority().map(|a| a.as_str().to_string());
        let Some(acceptor) = acceptor.filter(|_| target.as_deref() == Some("discord.com:443"))
        else {
            return StatusCode::FORBIDDEN.into_response();
        };
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(request).await else {
                return;
            };
            let Ok(tls) = acceptor
                .accept(hyper_util::rt::TokioIo::new(upgraded))
                .await
            else {
                return;
            };
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let rest = self.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            rest.serve(request.map(axum::body::Body::new)).await,
                        )
                    }
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
        StatusCode::OK.into_response()
    }
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
    let limit_headers = match rate_limit(&mut s, &method, &path) {
        Ok(headers) => headers,
        Err(too_many) => {
            drop(s);
            touch(changed);
            return *too_many;
        }
    };
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
        ("GET", ["gateway"]) => {
            let url = s.gateway_override.as_deref().unwrap_or(gateway_url);
            json!({"url": url}).to_string().into_response()
        }
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
        ("POST", ["interactions", _, token, "callback"]) => callback(&mut s, token, &json_body),
        ("PATCH" | "POST", ["webhooks", _, token, ..]) if !webhook_open(&s, token) => {
            // Discord: follow-ups and edits go through the interaction's webhook, which exists
            // for 15 minutes after the interaction was acknowledged; else 10015 Unknown Webhook
            // (discord.com/developers/docs/topics/opcodes-and-status-codes#json).
            discord_error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
        }
        ("PATCH", ["webhooks", _, token, "messages", which]) => {
            let content = json_body["content"].as_str().map(str::to_string);
            let id = next_id(&mut s);
            let answer = s.answers.entry(token.to_string()).or_default();
            let edited = if *which == "@original" {
                answer.edits.push(content.clone().unwrap_or_default());
                // An edit changes the fields it names; embeds and components stay.
                let original = answer
                    .original
                    .get_or_insert_with(|| FakeMessage::empty(id));
                edit_message(original, &json_body, files);
                original.clone()
            } else {
                answer
                    .followup_edits
                    .push(content.clone().unwrap_or_default());
                FakeMessage {
                    id,
                    channel_id: CHANNEL_ID,
                    content: content.unwrap_or_default(),
                    embeds: Vec::new(),
                    components: Vec::new(),
                    files,
                    edits: 1,
                    flags: 0,
                    allowed_mentions: json_body["allowed_mentions"].clone(),
                }
            };
            message_json(&edited).to_string().into_response()
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
            if let Some(refused) = refuse_message(&s, channel, &json_body, &files) {
                return refused;
            }
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
                    edit_message(message, &json_body, files);
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
    parts.headers.extend(limit_headers);
    if parts.status != StatusCode::NO_CONTENT {
        parts
            .headers
            .insert("content-type", "application/json".parse().unwrap());
    }
    Response::from_parts(parts, body)
}

/// Discord's answer to a channel message it refuses (discord.com/developers/docs/resources/
/// message#create-message: "content: Message contents (up to 2000 characters)", and "at least
/// one of content, embeds, sticker_ids, components, files[n] or poll"; codes from
/// discord.com/developers/docs/topics/opcodes-and-status-codes#json): 50001 Missing Access for a
/// channel the bot may not see, 50006 Cannot send an empty message, 50035 Invalid Form Body for
/// content over 2000 characters. `None`: Discord takes it.
fn refuse_message(
    s: &State,
    channel: &str,
    body: &Value,
    files: &[(String, usize)],
) -> Option<Response> {
    let channel: u64 = channel.parse().unwrap_or(0);
    if s.denied_channels.contains(&channel) {
        return Some(discord_error(
            StatusCode::FORBIDDEN,
            50001,
            "Missing Access",
        ));
    }
    let content = body["content"].as_str().unwrap_or("");
    let filled = |key: &str| body[key].as_array().is_some_and(|a| !a.is_empty());
    if content.is_empty() && !filled("embeds") && !filled("components") && files.is_empty() {
        return Some(discord_error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    if content.chars().count() > 2000 {
        let errors = json!({"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
            "message": "Must be 2000 or fewer in length."}]}});
        return Some(
            (
                StatusCode::BAD_REQUEST,
                discord_commands::invalid_form_body(errors).to_string(),
            )
                .into_response(),
        );
    }
    None
}

/// An interaction callback, as Discord takes it: one per interaction, within
/// [`CALLBACK_WINDOW`] of its creation.
fn callback(s: &mut State, token: &str, body: &Value) -> Response {
    let now = now_unix_ms();
    let refusal = match s.issued.get(token) {
        // Discord: 10062 Unknown interaction (an unknown or expired token).
        None => Some((StatusCode::NOT_FOUND, 10062, "Unknown interaction")),
        Some(issued)
            if now.saturating_sub(issued.created_unix_ms) > CALLBACK_WINDOW.as_millis() as u64 =>
        {
            Some((StatusCode::NOT_FOUND, 10062, "Unknown interaction"))
        }
        // Discord: 40060 "Interaction has already been acknowledged" (one callback each).
        Some(issued) if issued.acked => Some((
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        )),
        Some(_) => None,
    };
    let answer = s.answers.entry(token.to_string()).or_default();
    if let Some((status, code, message)) = refusal {
        answer.refused.push((status.as_u16(), code));
        return discord_error(status, code, message);
    }
    answer.callbacks.push(body.clone());
    // Types 4 (message) and 5 (deferred) make the original response; 6 and 7 (component
    // updates) and 8 (autocomplete) do not.
    if matches!(body["type"].as_u64(), Some(4 | 5)) {
        let mut original = FakeMessage::empty(0);
        edit_message(&mut original, &body["data"], Vec::new());
        original.edits = 0;
        original.flags = body["data"]["flags"].as_u64().unwrap_or(0);
        answer.original = Some(original);
    }
    if let Some(issued) = s.issued.get_mut(token) {
        issued.acked = true;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Whether follow-ups and edits of this interaction are accepted now: acknowledged, and
/// within [`TOKEN_LIFETIME`].
fn webhook_open(s: &State, token: &str) -> bool {
    s.issued.get(token).is_some_and(|issued| {
        issued.acked
            && now_unix_ms().saturating_sub(issued.created_unix_ms)
                < TOKEN_LIFETIME.as_millis() as u64
    })
}

/// Apply an edit's fields (those present) to a message.
fn edit_message(message: &mut FakeMessage, body: &Value, files: Vec<(String, usize)>) {
    if let Some(content) = body["content"].as_str() {
        message.content = content.to_string();
    }
    if let Some(embeds) = body["embeds"].as_array() {
        message.embeds = embeds.clone();
    }
    if let Some(components) = body["components"].as_array() {
        message.components = components.clone();
    }
    if !files.is_empty() {
        message.files = files;
    }
    if !body["allowed_mentions"].is_null() {
        message.allowed_mentions = body["allowed_mentions"].clone();
    }
    message.edits += 1;
}

/// Discord's rate limits, as its REST API applies them
/// (discord.com/developers/docs/topics/rate-limits):
/// - per route: "Per-route rate limits exist for many individual endpoints, and may include the
///   HTTP method"; they "account for top-level resources within the path", which "are currently
///   limited to channels (channel_id), guilds (guild_id), and webhooks (webhook_id or
///   webhook_id + webhook_token)". Every answer carries `X-RateLimit-Limit`, `-Remaining`,
///   `-Reset`, `-Reset-After` and `-Bucket`.
/// - global: 50 requests per second per bot (support-dev.discord.com, "My Bot is Being Rate
///   Limited"); "Interaction endpoints are not bound to the bot's Global Rate Limit".
/// - over a limit: 429 with `{"message", "retry_after", "global"}`, `Retry-After` and
///   `X-RateLimit-Scope` (`user` or `global`; `X-RateLimit-Global` on a global one).
#[derive(Debug, Default)]
struct RateLimits {
    /// (method, path prefix after `/api/v10`, limit, window): routes with a tighter limit than
    /// [`DEFAULT_ROUTE_LIMIT`].
    routes: Vec<(String, String, u32, Duration)>,
    /// Bucket key → (window start, requests in it).
    buckets: BTreeMap<String, (tokio::time::Instant, u32)>,
    /// Start of the current global second and requests in it.
    global: Option<(tokio::time::Instant, u32)>,
    /// Requests answered 429: a client that reads the headers makes none.
    over_limit: Vec<String>,
    /// Requests per window in all; `None`: Discord's [`GLOBAL_LIMIT`] per second.
    global_limit: Option<(u32, Duration)>,
}

/// Per-route limit where no test set one.
const DEFAULT_ROUTE_LIMIT: (u32, Duration) = (50, Duration::from_secs(1));
/// Discord's global limit: 50 requests per second.
const GLOBAL_LIMIT: u32 = 50;

/// A route's bucket: the method and the path with ids other than the top-level resource's
/// replaced (message ids of one channel share a bucket; two channels do not).
fn bucket_key(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let top_level = matches!(
        segments.first(),
        Some(&("channels" | "guilds" | "webhooks"))
    );
    let kept: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| {
            let major = top_level && (i == 1 || (segments[0] == "webhooks" && i == 2));
            if !major && segment.chars().all(|c| c.is_ascii_digit()) {
                ":id"
            } else {
                segment
            }
        })
        .collect();
    format!("{method} {}", kept.join("/"))
}

/// Count a request against its bucket and the global limit: the headers to send, or the 429.
fn rate_limit(s: &mut State, method: &Method, path: &str) -> Result<HeaderMap, Box<Response>> {
    let now = tokio::time::Instant::now();
    let interaction = path.contains("/interactions/") || path.contains("/webhooks/");
    if !interaction {
        let (limit, window) = s
            .limits
            .global_limit
            .unwrap_or((GLOBAL_LIMIT, Duration::from_secs(1)));
        let (start, count) = s.limits.global.get_or_insert((now, 0));
        if now.duration_since(*start) >= window {
            (*start, *count) = (now, 0);
        }
        if *count >= limit {
            let retry = window.saturating_sub(now.duration_since(*start));
            s.limits
                .over_limit
                .push(format!("{method} {path} (global)"));
            return Err(Box::new(too_many(retry, "global", None)));
        }
        *count += 1;
    }
    let key = bucket_key(method, path);
    let suffix = path.trim_start_matches("/api/v10");
    let (limit, window) = s
        .limits
        .routes
        .iter()
        .find(|(m, prefix, ..)| m == method.as_str() && suffix.starts_with(prefix.as_str()))
        .map_or(DEFAULT_ROUTE_LIMIT, |(_, _, limit, window)| {
            (*limit, *window)
        });
    let (start, count) = s.limits.buckets.entry(key.clone()).or_insert((now, 0));
    if now.duration_since(*start) >= window {
        (*start, *count) = (now, 0);
    }
    let reset_after = window.saturating_sub(now.duration_since(*start));
    let bucket = format!("{:016x}", {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        hasher.finish()
    });
    if *count >= limit {
        s.limits.over_limit.push(format!("{method} {path}"));
        return Err(Box::new(too_many(
            reset_after,
            "user",
            Some((limit, &bucket)),
        )));
    }
    *count += 1;
    let mut headers = HeaderMap::new();
    let reset_at = now_unix_ms() as f64 / 1000.0 + reset_after.as_secs_f64();
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", (limit - *count).to_string()),
        ("x-ratelimit-reset", format!("{reset_at:.3}")),
        (
            "x-ratelimit-reset-after",
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        ("x-ratelimit-bucket", bucket),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    Ok(headers)
}

/// A 429 as Discord sends it.
fn too_many(retry: Duration, scope: &str, route: Option<(u32, &str)>) -> Response {
    let global = route.is_none();
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        json!({"message": "You are being rate limited.", "retry_after": retry.as_secs_f64(),
               "global": global})
        .to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    let retry_text = format!("{:.3}", retry.as_secs_f64());
    headers.insert("retry-after", retry_text.parse().unwrap());
    headers.insert("x-ratelimit-scope", scope.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    match route {
        None => {
            headers.insert("x-ratelimit-global", "true".parse().unwrap());
        }
        Some((limit, bucket)) => {
            headers.insert("x-ratelimit-limit", limit.to_string().parse().unwrap());
            headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
            headers.insert("x-ratelimit-reset-after", retry_text.parse().unwrap());
            headers.insert("x-ratelimit-bucket", bucket.parse().unwrap());
        }
    }
    response
}

/// Whether this request is one to hang (and count it).
fn take_hang(s: &mut State, method: &Method, path: &str) -> bool {
    let Some(rule) = s.hang.iter_mut().find(|(m, prefix, left)| {
        m == method.as_str() && path.starts_with(prefix.as_str()) && *left > 0
    }) else {
        return false;
    };
    rule.2 -= 1;
    true
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

    /// Requests `method` whose path starts with `path_prefix` (after `/api/v10`) share buckets
    /// of `limit` requests per `window` (one bucket per top-level resource).
    pub fn set_route_limit(&self, method: &str, path_prefix: &str, limit: u32, window: Duration) {
        self.state.lock().unwrap().limits.routes.push((
            method.to_string(),
            path_prefix.to_string(),
            limit,
            window,
        ));
    }

    /// The bot's `discord` config line that reaches this fake as production reaches Discord:
    /// [`api_url`](Self::api_url) as its HTTPS proxy, `CONNECT discord.com:443` answered with
    /// a tunnel whose TLS presents a certificate for `discord.com` from [`ca`](Self::ca). Real
    /// URLs, real TLS, serenity's rate limiter on. Needs [`tls_config`](Self::tls_config).
    pub fn bot_config(&self) -> String {
        format!(r#"proxy: Some("{}")"#, self.api_url)
    }

    /// The bot's top-level `tls` config line that trusts [`ca`](Self::ca).
    pub fn tls_config(&self) -> String {
        self.ca.config_entry()
    }

    /// The next `count` requests `method` whose path starts with `path_prefix` (after
    /// `/api/v10`) are accepted and never answered.
    pub fn hang(&self, method: &str, path_prefix: &str, count: usize) {
        self.state.lock().unwrap().hang.push((
            method.to_string(),
            format!("/api/v10{path_prefix}"),
            count,
        ));
    }

    /// At most `limit` requests per `window` in all (outside interactions) instead of
    /// Discord's 50 per second; counting starts afresh.
    pub fn set_global_limit(&self, limit: u32, window: Duration) {
        let mut s = self.state.lock().unwrap();
        s.limits.global_limit = Some((limit, window));
        s.limits.global = None;
    }

    /// `GET /gateway` answers `url` instead of this fake's own (plain `ws://`) gateway.
    pub fn set_gateway_url(&self, url: &str) {
        self.state.lock().unwrap().gateway_override = Some(url.to_string());
    }

    /// From now on every REST call is answered (and takes effect) only after `delay`.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.lock().unwrap().delay = delay;
    }

    /// The bot is no longer a member of [`GUILD_ID`].
    pub fn leave_guild(&self) {
        self.state.lock().unwrap().left_guild = true;
    }

    /// The bot may no longer post in `channel` (its role lost access): posts there answer 403
    /// 50001 Missing Access.
    pub fn deny_channel(&self, channel: u64) {
        self.state.lock().unwrap().denied_channels.push(channel);
    }

    /// Delete a message (as a person would), so the bot must post a new one.
    pub fn delete_message(&self, id: u64) {
        self.state.lock().unwrap().messages.remove(&id);
        touch(&self.changed);
    }
}

impl FakeDiscord {
    /// HELLO's heartbeat interval for connections opened from now on (Discord's: 41250 ms).
    pub fn set_heartbeat_interval(&self, interval: Duration) {
        self.state.lock().unwrap().heartbeat_interval_ms = Some(interval.as_millis() as u64);
    }

    /// Read heartbeats without acknowledging them (a zombied connection), or ACK them again.
    pub fn withhold_heartbeat_acks(&self, withhold: bool) {
        self.state.lock().unwrap().withhold_acks = withhold;
    }

    /// Answer every IDENTIFY from now on by closing with `code` (a `close_code`).
    pub fn refuse_identify(&self, code: u16) {
        self.state.lock().unwrap().refuse_identify = Some(code);
    }

    /// Send op 7 Reconnect on the newest connection.
    pub fn send_reconnect(&self) {
        self.send(GatewayCommand::Reconnect);
    }

    /// Send op 9 Invalid Session with `d: resumable` on the newest connection.
    pub fn send_invalid_session(&self, resumable: bool) {
        self.send(GatewayCommand::InvalidSession(resumable));
    }

    /// Close the newest connection with `code`.
    pub fn close_gateway(&self, code: u16) {
        self.send(GatewayCommand::Close(code));
    }

    /// The current session times out on Discord's side: a RESUME of it is refused.
    pub fn expire_session(&self) {
        self.state.lock().unwrap().resumable = false;
    }

    /// [`wait_for_within`](Self::wait_for_within) that returns `None` at the deadline instead of
    /// failing: for "this does not happen within …".
    pub async fn poll_within<T>(
        &self,
        within: Duration,
        mut check: impl FnMut(&FakeView<'_>) -> Option<T>,
    ) -> Option<T> {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            {
                let state = self.state.lock().unwrap();
                if let Some(found) = check(&FakeView { state: &state }) {
                    return Some(found);
                }
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }
}

/// One gateway connection's end of the fake.
struct GatewayLink {
    /// Numbered from 1 in accept order.
    connection: usize,
    commands: mpsc::UnboundedReceiver<GatewayCommand>,
    /// This connection's own sender, registered as `live` after READY or RESUMED.
    own: mpsc::UnboundedSender<GatewayCommand>,
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
    /// READY's `resume_gateway_url`: this gateway (serenity 0.12 resumes at the URL of
    /// `GET /gateway` anyway; Discord's own is session-specific).
    resume_url: String,
}

fn text(value: Value) -> Message {
    Message::text(value.to_string())
}

async fn serve_gateway(stream: tokio::net::TcpStream, mut link: GatewayLink) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let interval = {
        let mut s = link.state.lock().unwrap();
        s.connections += 1;
        s.heartbeat_interval_ms.unwrap_or(41_250)
    };
    touch(&link.changed);
    let (mut sink, mut source) = ws.split();
    // Discord: "Once connected to the Gateway, your app will receive a Hello (opcode 10) event
    // that contains your connection's heartbeat interval" (docs.discord.com/developers/events/gateway#hello-event).
    let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}});
    // Whether the fake sent a close frame (the bot's answering one is not its own close).
    let mut closing = sink.send(text(hello)).await.is_err();
    let mut closed_by_client = false;
    while !closing || !closed_by_client {
        tokio::select! {
            frame = source.next() => {
                let Some(Ok(frame)) = frame else { break };
                let outgoing = match frame {
                    Message::Close(close) => {
                        if !closing {
                            let code = close.map(|c| u16::from(c.code));
                            link.state.lock().unwrap().client_closes.push((link.connection, code));
                        }
                        closed_by_client = true;
                        // Sends tungstenite's answering close frame.
                        let _ = sink.close().await;
                        break;
                    }
                    Message::Text(body) => match serde_json::from_str::<Value>(body.as_str()) {
                        Ok(payload) => on_gateway_payload(&link, &payload),
                        Err(_) => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                touch(&link.changed);
                for message in outgoing {
                    closing |= matches!(message, Message::Close(_));
                    if sink.send(message).await.is_err() {
                        closing = true;
                        closed_by_client = true;
                    }
                }
            }
            command = link.commands.recv() => {
                let message = match command {
                    Some(GatewayCommand::Frame(frame)) => text(frame),
                    // Discord: op 7 "You should attempt to reconnect and resume immediately."
                    // (docs.discord.com/developers/topics/opcodes-and-status-codes#gateway-gateway-opcodes)
                    Some(GatewayCommand::Reconnect) => text(json!({"op": 7, "d": null})),
                    Some(GatewayCommand::InvalidSession(resumable)) => {
                        if !resumable {
                            invalidate(&link);
                        }
                        text(json!({"op": 9, "d": resumable}))
                    }
                    Some(GatewayCommand::Close(code)) => {
                        closing = true;
                        close_frame(code)
                    }
                    Some(GatewayCommand::Drop) | None => break,
                };
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        }
    }
    let mut s = link.state.lock().unwrap();
    if !closed_by_client {
        s.client_drops.push(link.connection);
    }
    if s.live.as_ref().is_some_and(|(c, _)| *c == link.connection) {
        s.live = None;
    }
    drop(s);
    touch(&link.changed);
}

fn close_frame(code: u16) -> Message {
    let reason = match code {
        close_code::AUTHENTICATION_FAILED => "Authentication failed.",
        close_code::DISALLOWED_INTENTS => "Disallowed intent(s).",
        _ => "",
    };
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// The current session is over: not resumable, no more live dispatches.
fn invalidate(link: &GatewayLink) {
    let mut s = link.state.lock().unwrap();
    s.resumable = false;
    s.live = None;
}

/// The fake's answer to one payload from the bot (in order).
fn on_gateway_payload(link: &GatewayLink, payload: &Value) -> Vec<Message> {
    let mut s = link.state.lock().unwrap();
    let connection = link.connection;
    match payload["op"].as_u64() {
        Some(1) => {
            s.heartbeats += 1;
            // Discord: "When you send a Heartbeat event, Discord will respond with a Heartbeat
            // ACK (opcode 11)"; withheld, the bot must treat the connection as zombied
            // (docs.discord.com/developers/events/gateway#heartbeat-interval).
            if s.withhold_acks {
                Vec::new()
            } else {
                vec![text(json!({"op": 11}))]
            }
        }
        Some(2) => {
            s.identifies += 1;
            s.handshakes.push(Handshake::Identify { connection });
            if let Some(code) = s.refuse_identify {
                // Discord: 4004 "The account token sent with your identify payload is
                // incorrect", 4014 "You sent a disallowed intent", both "Reconnect: false"
                // (docs.discord.com/developers/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
                return vec![close_frame(code)];
            }
            // Discord: READY carries the `session_id` and `resume_gateway_url` to resume with
            // (docs.discord.com/developers/events/gateway#ready-event). A new session: the old
            // one can no longer be resumed here.
            s.session_id = format!("fake-session-{}", s.identifies);
            s.seq = 1;
            s.resumable = true;
            let ready = json!({"op": 0, "t": "READY", "s": 1, "d": {
                "v": 10, "user": user(BOT_ID, "stream-control", true),
                "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                "session_id": s.session_id,
                "resume_gateway_url": link.resume_url,
                "application": {"id": APP_ID.to_string(), "flags": 0},
                "shard": [0, 1]}});
            s.sent = vec![(1, ready.clone())];
            s.live = Some((connection, link.own.clone()));
            vec![text(ready)]
        }
        Some(6) => {
            s.resumes.push(payload["d"].clone());
            let session_id = payload["d"]["session_id"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let seq = payload["d"]["seq"].as_u64();
            let accepted =
                s.resumable && session_id == s.session_id && seq.is_some_and(|q| q <= s.seq);
            s.handshakes.push(Handshake::Resume {
                connection,
                session_id,
                seq: seq.unwrap_or(0),
                accepted,
            });
            if !accepted {
                // Discord: "It's possible your app won't reconnect in time to Resume, in which
                // case it will receive an Invalid Session (opcode 9) event. If the d field is set
                // to false […] your app should disconnect", then IDENTIFY anew
                // (docs.discord.com/developers/events/gateway#resuming).
                s.resumable = false;
                return vec![text(json!({"op": 9, "d": false}))];
            }
            // Discord: "If successful, the Gateway will send the missed events in order,
            // finishing with a Resumed event to signal event replay has finished"
            // (docs.discord.com/developers/events/gateway#resuming).
            let after = seq.unwrap_or(0);
            let missed: Vec<Value> = s
                .sent
                .iter()
                .filter(|(n, _)| *n > after)
                .map(|(_, frame)| frame.clone())
                .collect();
            s.replayed.extend(missed.iter().cloned());
            s.seq += 1;
            let resumed = json!({"op": 0, "t": "RESUMED", "s": s.seq, "d": {}});
            s.live = Some((connection, link.own.clone()));
            missed.into_iter().chain([resumed]).map(text).collect()
        }
        _ => Vec::new(),
    }
}
