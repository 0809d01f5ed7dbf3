//! A fake of the Pusher Channels server Kick's chat runs on (`wss://ws-us2.pusher.com`), for
//! tests that drive the real reader (`stream_control::kick::pusher`). It speaks protocol 7 as
//! Pusher documents it (pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol,
//! cited below by section) and sends Kick's events as Kick's web client receives them.
//!
//! It runs on the test's runtime ([`FakePusher::start`] spawns its tasks there), so a paused
//! clock drives its activity timeout and pong deadline as it drives the reader's. Its state
//! lives behind one `std::sync::Mutex`, never held across an `.await`; every change bumps a
//! `watch` counter, so tests wait on signals ([`FakePusher::wait_until`]), not sleeps. Every
//! socket has TCP_NODELAY (a segment held back by Nagle is a real-time wait a paused clock
//! cannot see). Dropping the last handle (or [`FakePusher::close`]) ends every task.

#![allow(dead_code)]

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_util::sync::CancellationToken;

/// The app key the fake serves unless told otherwise (Kick's, see `kick::pusher`).
pub const APP_KEY: &str = stream_control::kick::pusher::DEFAULT_APP_KEY;

/// Pusher's error codes the fake sends ("Error codes").
pub mod code {
    /// "Application does not exist" (an unknown app key in the path).
    pub const APP_DOES_NOT_EXIST: u16 = 4001;
    /// "Unsupported protocol version".
    pub const UNSUPPORTED_PROTOCOL: u16 = 4007;
    /// "No protocol version supplied".
    pub const NO_PROTOCOL: u16 = 4008;
    /// "Over capacity" (4100–4199: reconnect after a pause).
    pub const OVER_CAPACITY: u16 = 4100;
    /// "Generic reconnect immediately" (4200–4299: reconnect).
    pub const RECONNECT_IMMEDIATELY: u16 = 4200;
    /// "Pong reply not received: ping was sent to the client, but no reply was received".
    pub const PONG_NOT_RECEIVED: u16 = 4201;
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakePusherOptions {
    /// The key in `/app/<key>`; any other is refused with 4001.
    pub app_key: String,
    /// Sent in `connection_established` ("Connection": "activity_timeout (Number) The number
    /// of seconds of server inactivity after which the client should initiate a ping message";
    /// Pusher sends 120). The fake also pings a client silent this long.
    pub activity_timeout: Duration,
    /// After its own ping, how long the fake waits for a pong (or any message) before closing
    /// with 4201 ("Ping and pong messages"; pusher-js waits 30 s for ours).
    pub pong_timeout: Duration,
    /// The channels that exist. A subscription to any other is refused with `pusher:error`
    /// (Pusher refuses a malformed name this way; a Kick chatroom that does not exist just
    /// stays silent on real Pusher, which the fake makes loud on purpose).
    pub channels: BTreeSet<String>,
}

impl FakePusherOptions {
    /// Kick's app key, Pusher's 120 s activity timeout, 30 s pong timeout, these channels.
    pub fn new(channels: &[&str]) -> FakePusherOptions {
        FakePusherOptions {
            app_key: APP_KEY.to_string(),
            activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
            channels: channels.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// "The maximum event payload size is 10KB" ("Publishing events", Pusher's limits): a client
/// message larger than this is not read.
pub const MAX_CLIENT_MESSAGE: usize = 10 * 1024;
/// Channel names: at most 164 characters of `[A-Za-z0-9_\-=@,.;]` ("Channel naming
/// conventions").
pub const MAX_CHANNEL_NAME: usize = 164;

/// A chat message to send as `App\Events\ChatMessageEvent`.
#[derive(Debug, Clone)]
pub struct KickChat {
    pub id: String,
    pub sender_id: u64,
    pub username: String,
    pub content: String,
    /// Badge types (`moderator`, `broadcaster`, `subscriber`, …).
    pub badges: Vec<String>,
}

impl KickChat {
    pub fn new(id: &str, username: &str, content: &str) -> KickChat {
        KickChat {
            id: id.to_string(),
            sender_id: 1000 + username.len() as u64,
            username: username.to_string(),
            content: content.to_string(),
            badges: Vec::new(),
        }
    }

    pub fn with_badge(mut self, badge: &str) -> KickChat {
        self.badges.push(badge.to_string());
        self
    }

    /// The event's data, shaped as Kick sends it (a public 2025 capture: id, chatroom_id,
    /// content, type, created_at, sender with identity and badges, metadata).
    pub fn data(&self, chatroom_id: u64) -> String {
        let badges: Vec<Value> = self
            .badges
            .iter()
            .map(|b| json!({"type": b, "text": b}))
            .collect();
        json!({
            "id": self.id,
            "chatroom_id": chatroom_id,
            "content": self.content,
            "type": "message",
            "created_at": "2026-12-06T10:00:00+00:00",
            "sender": {
                "id": self.sender_id,
                "username": self.username,
                "slug": self.username.to_lowercase(),
                "identity": {"color": "#FF9D00", "badges": badges},
            },
            "metadata": {"message_ref": "1752741896375"},
        })
        .to_string()
    }
}

/// What the fake has seen, for assertions.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Sockets open now (past the handshake).
    pub open: usize,
    /// Sockets accepted since the start.
    pub connections: usize,
    /// Successful subscriptions per channel since the start.
    pub subscriptions: BTreeMap<String, usize>,
    /// Refused subscriptions since the start.
    pub refused_subscriptions: usize,
    /// `pusher:ping`s received from clients.
    pub pings: usize,
    /// `pusher:pong`s received from clients.
    pub pongs: usize,
    /// Close codes the fake sent, in order.
    pub closes: Vec<u16>,
}

/// A cheap clonable handle on a running fake.
#[derive(Clone)]
pub struct FakePusher {
    shared: Arc<Shared>,
    _guard: Arc<Guard>,
}

struct Guard(CancellationToken);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

struct Shared {
    port: u16,
    options: FakePusherOptions,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    cancel: CancellationToken,
}

#[derive(Default)]
struct State {
    stats: Stats,
    next_id: u64,
    conns: HashMap<u64, Conn>,
    /// Every frame published per channel, in order (for [`FakePusher::replay_last`]).
    published: HashMap<String, Vec<String>>,
    /// Whether client pings are answered.
    silent: bool,
    /// A fault: subscriptions are neither confirmed nor refused.
    hold_subscriptions: bool,
}

struct Conn {
    tx: mpsc::UnboundedSender<Cmd>,
    channels: BTreeSet<String>,
}

enum Cmd {
    Text(String),
    /// `pusher:error` with this code and message, then a close frame with the code.
    Error(u16, String),
    /// Drop the TCP connection without a close frame.
    Drop,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn changed(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

impl FakePusher {
    /// Listen on `127.0.0.1:0` on the current runtime.
    pub async fn start(options: FakePusherOptions) -> FakePusher {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            port,
            options,
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            cancel: cancel.clone(),
        });
        let accepting = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                let tcp = tokio::select! {
                    () = accepting.cancel.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, _)) => tcp,
                        Err(_) => continue,
                    },
                };
                let _ = tcp.set_nodelay(true);
                tokio::spawn(connection(Arc::clone(&accepting), tcp));
            }
        });
        FakePusher {
            shared,
            _guard: Arc::new(Guard(cancel)),
        }
    }

    /// `ws://127.0.0.1:<port>`: the host part of the reader's URL.
    pub fn host(&self) -> String {
        format!("ws://127.0.0.1:{}", self.shared.port)
    }

    /// The URL the real reader builds for this fake and Kick's app key.
    pub fn url(&self) -> String {
        stream_control::kick::pusher::pusher_url(&self.host(), &self.shared.options.app_key)
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Wait until `check` holds for the stats (checked at every change).
    pub async fn wait_until(&self, check: impl Fn(&Stats) -> bool) -> Stats {
        let mut changed = self.shared.changed.subscribe();
        loop {
            let stats = self.stats();
            if check(&stats) {
                return stats;
            }
            changed.changed().await.expect("the fake is running");
        }
    }

    /// Wait until `channel` has been subscribed `times` times in all.
    pub async fn wait_subscribed(&self, channel: &str, times: usize) -> Stats {
        self.wait_until(|s| s.subscriptions.get(channel).copied().unwrap_or(0) >= times)
            .await
    }

    /// Send `event` with `data` (a JSON string, as Pusher delivers event data: "data (String)")
    /// to every socket subscribed to `channel`; returns how many.
    pub fn publish(&self, channel: &str, event: &str, data: &str) -> usize {
        let frame = json!({"event": event, "data": data, "channel": channel}).to_string();
        let mut state = self.shared.lock();
        state
            .published
            .entry(channel.to_string())
            .or_default()
            .push(frame.clone());
        send_to(&state, channel, &frame)
    }

    /// A chat message in `chatrooms.<chatroom_id>.v2`.
    pub fn send_chat(&self, chatroom_id: u64, chat: &KickChat) -> usize {
        self.publish(
            &format!("chatrooms.{chatroom_id}.v2"),
            "App\\Events\\ChatMessageEvent",
            &chat.data(chatroom_id),
        )
    }

    /// The channel hosting `target` (`App\Events\ChatMoveToSupportedChannelEvent` on
    /// `channel.<channel_id>`, shaped as a public 2025 capture).
    pub fn send_host(&self, channel_id: u64, target: &str, viewers: u64) -> usize {
        let data = json!({
            "channel": {"id": channel_id, "user_id": channel_id + 1, "slug": "streamer"},
            "slug": target,
            "hosted": {"id": 28325733, "username": target, "slug": target.to_lowercase(),
                       "viewers_count": viewers, "is_live": true},
        });
        self.publish(
            &format!("channel.{channel_id}"),
            "App\\Events\\ChatMoveToSupportedChannelEvent",
            &data.to_string(),
        )
    }

    /// Send `channel`'s last published frame again to its subscribers now (a redelivery).
    pub fn replay_last(&self, channel: &str) -> usize {
        let state = self.shared.lock();
        let Some(frame) = state.published.get(channel).and_then(|f| f.last()).cloned() else {
            return 0;
        };
        send_to(&state, channel, &frame)
    }

    /// Drop every connection without a close frame (a network loss).
    pub fn drop_all(&self) {
        self.each(|| Cmd::Drop);
    }

    /// Send every client `pusher:error` with `code`, then close with it ("Error codes": the
    /// connection is closed with the code).
    pub fn error_all(&self, code: u16, message: &str) {
        self.each(|| Cmd::Error(code, message.to_string()));
    }

    /// Ping every client now (`pusher:ping`; "Ping and pong messages").
    pub fn ping_all(&self) {
        let frame = json!({"event": "pusher:ping", "data": {}}).to_string();
        self.each(|| Cmd::Text(frame.clone()));
    }

    /// Stop answering clients' pings (a server that went silent); `false` answers again.
    pub fn set_silent(&self, silent: bool) {
        self.shared.lock().silent = silent;
    }

    /// A fault: leave every `pusher:subscribe` unanswered (no success, no error).
    pub fn set_hold_subscriptions(&self, hold: bool) {
        self.shared.lock().hold_subscriptions = hold;
    }

    /// Stop the server: every task ends, every socket is dropped.
    pub fn close(&self) {
        self.shared.cancel.cancel();
    }

    fn each(&self, cmd: impl Fn() -> Cmd) {
        for conn in self.shared.lock().conns.values() {
            let _ = conn.tx.send(cmd());
        }
    }
}

fn send_to(state: &State, channel: &str, frame: &str) -> usize {
    let mut sent = 0;
    for conn in state.conns.values() {
        if conn.channels.contains(channel) && conn.tx.send(Cmd::Text(frame.to_string())).is_ok() {
            sent += 1;
        }
    }
    sent
}

/// Whether a name follows "Channel naming conventions".
fn valid_channel_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CHANNEL_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-=@,.;".contains(c))
}

/// What the handshake's path and query ask for: `/app/<key>?protocol=7&client=…&version=…`
/// ("WebSocket connection"), or the error to close with.
fn check_path(uri: &str, app_key: &str) -> Result<(), (u16, String)> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let key = path.strip_prefix("/app/").unwrap_or("");
    if key != app_key {
        return Err((
            code::APP_DOES_NOT_EXIST,
            format!("App key {key} not in this cluster. Did you forget to specify the cluster?"),
        ));
    }
    let protocol = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("protocol="));
    match protocol {
        // "If this is not supplied … protocol 1 is used (this behaviour is deprecated and will
        // in future be replaced by a 4008 error code)": the fake is the future.
        None => Err((code::NO_PROTOCOL, "No protocol version supplied".into())),
        Some("7") => Ok(()),
        Some(other) => Err((
            code::UNSUPPORTED_PROTOCOL,
            format!("Unsupported protocol version {other}"),
        )),
    }
}

async fn connection(shared: Arc<Shared>, tcp: TcpStream) {
    let mut uri = String::new();
    // The error type is tungstenite's `Callback` contract.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        uri = req.uri().to_string();
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    let handshake = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(config)),
    );
    let mut ws = tokio::select! {
        () = shared.cancel.cancelled() => return,
        r = handshake => match r {
            Ok(Ok(ws)) => ws,
            _ => return,
        },
    };
    if let Err((code, message)) = check_path(&uri, &shared.options.app_key) {
        let _ = ws.send(Message::text(error_frame(code, &message))).await;
        let _ = ws.send(close(code, &message)).await;
        shared.lock().stats.closes.push(code);
        shared.changed();
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = {
        let mut state = shared.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.conns.insert(
            id,
            Conn {
                tx,
                channels: BTreeSet::new(),
            },
        );
        state.stats.open += 1;
        state.stats.connections += 1;
        id
    };
    shared.changed();
    serve(&shared, id, &mut ws, &mut rx).await;
    {
        let mut state = shared.lock();
        state.conns.remove(&id);
        state.stats.open -= 1;
    }
    shared.changed();
}

async fn serve(
    shared: &Shared,
    id: u64,
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    rx: &mut mpsc::UnboundedReceiver<Cmd>,
) {
    let options = &shared.options;
    // "Connection": the server sends `pusher:connection_established` with a socket id and the
    // activity timeout, its data a JSON string.
    let established = json!({
        "socket_id": format!("{id}.{}", 1000 + id),
        "activity_timeout": options.activity_timeout.as_secs(),
    });
    let frame = json!({"event": "pusher:connection_established", "data": established.to_string()});
    if ws.send(Message::text(frame.to_string())).await.is_err() {
        return;
    }
    let mut heard = Instant::now();
    let mut pinged: Option<Instant> = None;
    loop {
        // "Ping and pong messages": a silent client is pinged after the activity timeout and
        // closed with 4201 when no pong comes.
        let deadline = match pinged {
            Some(at) => at + options.pong_timeout,
            None => heard + options.activity_timeout,
        };
        let incoming = tokio::select! {
            () = shared.cancel.cancelled() => return,
            cmd = rx.recv() => {
                match cmd {
                    Some(Cmd::Text(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                    Some(Cmd::Error(code, message)) => {
                        let _ = ws.send(Message::text(error_frame(code, &message))).await;
                        let _ = ws.send(close(code, &message)).await;
                        shared.lock().stats.closes.push(code);
                        return;
                    }
                    Some(Cmd::Drop) | None => return,
                }
                continue;
            }
            () = tokio::time::sleep_until(deadline) => {
                if pinged.is_some() {
                    let message = "Pong reply not received";
                    let _ = ws.send(Message::text(error_frame(code::PONG_NOT_RECEIVED, message))).await;
                    let _ = ws.send(close(code::PONG_NOT_RECEIVED, message)).await;
                    shared.lock().stats.closes.push(code::PONG_NOT_RECEIVED);
                    return;
                }
                let ping = json!({"event": "pusher:ping", "data": {}}).to_string();
                if ws.send(Message::text(ping)).await.is_err() {
                    return;
                }
                pinged = Some(Instant::now());
                continue;
            }
            incoming = ws.next() => incoming,
        };
        let text = match incoming {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            Some(Ok(_)) => continue,
        };
        heard = Instant::now();
        pinged = None;
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let event = message.get("event").and_then(Value::as_str).unwrap_or("");
        let reply = {
            let mut state = shared.lock();
            match event {
                "pusher:ping" => {
                    state.stats.pings += 1;
                    (!state.silent).then(|| json!({"event": "pusher:pong", "data": {}}).to_string())
                }
                "pusher:pong" => {
                    state.stats.pongs += 1;
                    None
                }
                // "Subscription events": `pusher:subscribe` {channel, auth?} → on success
                // `pusher_internal:subscription_succeeded` on that channel.
                "pusher:subscribe" => {
                    let channel = message
                        .get("data")
                        .and_then(|d| d.get("channel"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if state.hold_subscriptions {
                        None
                    } else if valid_channel_name(channel) && options.channels.contains(channel) {
                        if let Some(conn) = state.conns.get_mut(&id) {
                            conn.channels.insert(channel.to_string());
                        }
                        *state
                            .stats
                            .subscriptions
                            .entry(channel.to_string())
                            .or_default() += 1;
                        Some(
                            json!({"event": "pusher_internal:subscription_succeeded",
                                   "data": "{}", "channel": channel})
                            .to_string(),
                        )
                    } else {
                        state.stats.refused_subscriptions += 1;
                        Some(
                            json!({"event": "pusher:error",
                                   "data": {"code": null, "message": format!("Cannot subscribe to {channel}")}})
                            .to_string(),
                        )
                    }
                }
                "pusher:unsubscribe" => {
                    let channel = message
                        .get("data")
                        .and_then(|d| d.get("channel"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if let Some(conn) = state.conns.get_mut(&id) {
                        conn.channels.remove(channel);
                    }
                    None
                }
                _ => None,
            }
        };
        shared.changed();
        if let Some(reply) = reply
            && ws.send(Message::text(reply)).await.is_err()
        {
            return;
        }
    }
}

/// `pusher:error` ("pusher:error (Channels -> Client)": data {message, code}, an object).
fn error_frame(code: u16, message: &str) -> String {
    json!({"event": "pusher:error", "data": {"code": code, "message": message}}).to_string()
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    }))
}
