//! A protocol-exact fake of Twitch's EventSub WebSocket server
//! (`wss://eventsub.wss.twitch.tv/ws`), for tests that drive a real EventSub client.
//!
//! Every frame it sends parses with `twitch_api` 0.8's `Event::parse_websocket`: the welcome
//! (`session_welcome`), keepalives (`session_keepalive`), notifications (`notification`) for
//! `channel.chat.message`, `channel.raid`, `stream.online` and `stream.offline` (all v1),
//! `session_reconnect` and `revocation`. It closes sockets with Twitch's close codes (see
//! [`close_code`]).
//!
//! Subscriptions are not made over the socket (Twitch only accepts pongs from the client):
//! the Helix fake (`fake_twitch.rs`) calls [`FakeEventSub::register_subscription`] when the
//! client POSTs `/helix/eventsub/subscriptions`; tests without the Helix fake call it directly.
//!
//! Guarantees:
//! - the fake runs on its **own runtime in its own thread**, so it uses real time whatever the
//!   test runtime does (a paused tokio clock does not touch it), and one fake can be shared by
//!   tests that run on different runtimes (a `static`); `start_on_test_runtime` instead runs it
//!   on the test's runtime, for a test whose paused clock must drive both sides;
//! - the shared state lives behind one `std::sync::Mutex` that is never held across an
//!   `.await`;
//! - a misbehaving client (garbage, early disconnects, wrong paths, stale reconnect URLs) is
//!   closed the way Twitch would close it and never panics the fake;
//! - every task ends, and every socket is dropped, when the last [`FakeEventSub`] handle is
//!   dropped or [`FakeEventSub::close`] is called.

#![allow(dead_code)]

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

/// A client's connection: plain TCP, or TLS over it ([`FakeEventSub::start_tls`]).
type Io = Either<TcpStream, tokio_rustls::server::TlsStream<TcpStream>>;

/// EventSub WebSocket close codes (Twitch "Close message" table), plus the plain normal close.
pub mod close_code {
    /// Plain WebSocket normal closure: the fake uses it to close the *old* socket after a
    /// successful reconnect.
    pub const NORMAL: u16 = 1000;
    /// 4000 Internal server error.
    pub const INTERNAL_SERVER_ERROR: u16 = 4000;
    /// 4001 Client sent inbound traffic (anything other than a pong).
    pub const CLIENT_SENT_INBOUND_TRAFFIC: u16 = 4001;
    /// 4002 Client failed ping-pong.
    pub const CLIENT_FAILED_PING_PONG: u16 = 4002;
    /// 4003 Connection unused: no subscription was created in time after the welcome.
    pub const CONNECTION_UNUSED: u16 = 4003;
    /// 4004 Reconnect grace time expired: the client did not connect to the reconnect URL in
    /// time.
    pub const RECONNECT_GRACE_TIME_EXPIRED: u16 = 4004;
    /// 4005 Network timeout.
    pub const NETWORK_TIMEOUT: u16 = 4005;
    /// 4006 Network error.
    pub const NETWORK_ERROR: u16 = 4006;
    /// 4007 Invalid reconnect: the reconnect URL is unknown, used or expired.
    pub const INVALID_RECONNECT: u16 = 4007;
}

/// Default keepalive (and Twitch's minimum): seconds of silence before a `session_keepalive`.
pub const DEFAULT_KEEPALIVE_SECS: u32 = 10;
/// Default reconnect grace time (Twitch: 30 s) before the old socket is closed with 4004.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(30);

/// A Twitch user (broadcaster or chatter) as the events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Numeric user id, e.g. `"1001"`.
    pub id: String,
    /// Lower-case login, e.g. `"streamer"`.
    pub login: String,
    /// Display name, e.g. `"Streamer"`.
    pub name: String,
}

impl User {
    /// A user from id, login and display name.
    pub fn new(id: impl Into<String>, login: impl Into<String>, name: impl Into<String>) -> User {
        User {
            id: id.into(),
            login: login.into(),
            name: name.into(),
        }
    }
}

/// A chat message to deliver as a `channel.chat.message` v1 notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// The channel the message is sent in (matched against the subscription's
    /// `condition.broadcaster_user_id`).
    pub broadcaster: User,
    /// Who sent it.
    pub chatter: User,
    /// The plain text; sent as one `text` fragment.
    pub text: String,
    /// Chat badges as `(set_id, id)`, e.g. `("moderator", "1")`, `("broadcaster", "1")`,
    /// `("subscriber", "12")`; each is sent with `info: ""`.
    pub badges: Vec<(String, String)>,
    /// The chat message id (`event.message_id`); a fresh UUID if `None`.
    pub message_id: Option<String>,
    /// The chat message id this message replies to. The `reply` object is filled from the
    /// parent if the fake delivered it earlier (body, sender, thread); otherwise the body is
    /// empty and the parent sender is the broadcaster.
    pub reply_to: Option<String>,
    /// In a Shared Chat session, the channel the message was really sent in (Twitch fills
    /// `source_broadcaster_user_*` only then: "Only present when in a shared chat session",
    /// dev.twitch.tv/docs/eventsub/eventsub-reference/#channel-chat-message-event).
    pub source: Option<User>,
}

impl ChatMessage {
    /// A plain message without badges, reply or fixed id.
    pub fn new(broadcaster: &User, chatter: &User, text: impl Into<String>) -> ChatMessage {
        ChatMessage {
            broadcaster: broadcaster.clone(),
            chatter: chatter.clone(),
            text: text.into(),
            badges: Vec::new(),
            message_id: None,
            reply_to: None,
            source: None,
        }
    }

    /// Makes it a message sent in `source`'s channel and shared into this one (Shared Chat).
    pub fn shared_from(mut self, source: &User) -> ChatMessage {
        self.source = Some(source.clone());
        self
    }

    /// Adds a badge `(set_id, id)`.
    pub fn with_badge(mut self, set_id: &str, id: &str) -> ChatMessage {
        self.badges.push((set_id.to_string(), id.to_string()));
        self
    }

    /// Sets the chat message id.
    pub fn with_message_id(mut self, id: &str) -> ChatMessage {
        self.message_id = Some(id.to_string());
        self
    }

    /// Makes it a reply to the chat message with that id.
    pub fn with_reply_to(mut self, parent_message_id: &str) -> ChatMessage {
        self.reply_to = Some(parent_message_id.to_string());
        self
    }
}

/// What the fake knows about one EventSub session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id sent in the welcome (`payload.session.id`).
    pub id: String,
    /// Whether the session is live (it has an open socket that got the welcome).
    pub connected: bool,
    /// `"connected"` while live; afterwards the Twitch subscription status it ended with:
    /// `websocket_disconnected` (client went away), `websocket_received_inbound_traffic`
    /// (4001), `websocket_connection_unused` (4003), `websocket_failed_to_reconnect` (4004),
    /// `websocket_internal_error` (4000), ...
    pub status: String,
    /// Request path (with query) of every socket of this session, in order: `"/ws"` first,
    /// then `"/ws?reconnect=<n>"` for each reconnect.
    pub paths: Vec<String>,
    /// The `keepalive_timeout_seconds` sent in its welcome.
    pub keepalive_secs: u32,
    /// Types of the subscriptions the session holds (revoked or deleted ones are removed;
    /// after the session ended, the ones it held then).
    pub subscription_types: Vec<String>,
}

/// A cheap clonable handle on a running fake EventSub WebSocket server.
///
/// Dropping the last handle stops the server and closes every socket.
#[derive(Clone)]
pub struct FakeEventSub {
    guard: Arc<Guard>,
}

/// Stops the server when the last handle goes away.
struct Guard {
    shared: Arc<Shared>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

struct Shared {
    state: Mutex<State>,
    /// Woken (`notify_waiters`) on every change a `wait_*` method may be waiting for.
    changed: Notify,
    cancel: CancellationToken,
    /// The fake's own runtime (driven by its thread), or the test's
    /// ([`FakeEventSub::start_on_test_runtime`]).
    rt: tokio::runtime::Handle,
    port: u16,
    /// `Some`: every connection is TLS first (`wss://`).
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Shared {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "wss" } else { "ws" }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A command for one socket task.
enum Cmd {
    /// Send this text frame.
    Text(String),
    /// Send a close frame with this code and reason, then end.
    Close(u16, String),
}

struct Conn {
    session_id: String,
    tx: mpsc::UnboundedSender<Cmd>,
    silent: bool,
    /// Got its welcome (a socket on a reconnect URL waits for it).
    welcomed: bool,
}

struct Sub {
    id: String,
    type_: String,
    version: String,
    condition: Value,
    created_at: String,
    status: String,
}

struct Session {
    id: String,
    connected: bool,
    status: String,
    connected_at: String,
    disconnected_at: Option<String>,
    keepalive_secs: u32,
    paths: Vec<String>,
    subs: Vec<Sub>,
    ever_subscribed: bool,
    /// The socket notifications go to (the newest one after a reconnect).
    active_conn: Option<u64>,
}

struct PendingReconnect {
    session_id: String,
    old_conn: u64,
    /// Fired by the new socket once it sent the welcome.
    done: Option<oneshot::Sender<()>>,
}

struct ChatRecord {
    text: String,
    chatter: User,
    /// (thread root message id, thread root sender)
    thread: Option<(String, User)>,
}

struct State {
    keepalive_secs: u32,
    /// `None`: the session's keepalive; `Some(None)`: never; `Some(Some(d))`: `d`.
    unused_timeout: Option<Option<Duration>>,
    reconnect_grace: Duration,
    /// How long a reconnect socket waits before its welcome (the window in which the old
    /// socket still gets the notifications).
    reconnect_welcome_delay: Duration,
    sessions: Vec<Session>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    next_reconnect: u64,
    pending: HashMap<u64, PendingReconnect>,
    /// Notifications sent, by metadata message id: (session id, exact frame).
    sent: HashMap<String, Vec<(String, String)>>,
    chats: HashMap<String, ChatRecord>,
    received: Vec<String>,
    /// WebSocket pings: every `.0`, a pong owed within `.1`, else close 4002. `None`: no pings.
    ping: Option<(Duration, Duration)>,
    /// Pongs received in answer to the fake's pings, over all sockets.
    pongs: u64,
    /// The most WebSocket connections open at once so far.
    max_conns: usize,
    /// Ids of fresh sessions (not reconnect continuations), in welcome order.
    new_sessions: Vec<String>,
    /// Why TLS handshakes failed ([`FakeEventSub::start_tls`]), in order.
    tls_failures: Vec<String>,
    /// [`FakeEventSub::set_unreachable`]: connections are dropped as they come.
    unreachable: bool,
}

impl State {
    fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// The live session that was welcomed last (reconnects do not count as new).
    fn latest_live(&self) -> Option<&Session> {
        self.new_sessions
            .iter()
            .rev()
            .filter_map(|id| self.session(id))
            .find(|s| s.connected)
    }

    /// Queues a frame for a session's active socket unless that socket is silent.
    fn send_to_session(&self, session_id: &str, frame: &str) {
        if let Some(conn_id) = self.session(session_id).and_then(|s| s.active_conn)
            && let Some(conn) = self.conns.get(&conn_id)
            && !conn.silent
        {
            let _ = conn.tx.send(Cmd::Text(frame.to_string()));
        }
    }

    /// Ends a live session: its subscriptions get `status`, pending reconnects are dropped.
    fn end_session(&mut self, session_id: &str, status: &str) -> bool {
        let Some(session) = self.session_mut(session_id) else {
            return false;
        };
        if !session.connected {
            return false;
        }
        session.connected = false;
        session.status = status.to_string();
        session.disconnected_at = Some(rfc3339(SystemTime::now()));
        session.active_conn = None;
        for sub in &mut session.subs {
            if sub.status == "enabled" {
                sub.status = status.to_string();
            }
        }
        self.pending.retain(|_, p| p.session_id != session_id);
        true
    }
}

/// The Twitch subscription status for a session the fake closed with `code`.
fn status_for_close(code: u16) -> &'static str {
    match code {
        close_code::INTERNAL_SERVER_ERROR => "websocket_internal_error",
        close_code::CLIENT_SENT_INBOUND_TRAFFIC => "websocket_received_inbound_traffic",
        close_code::CLIENT_FAILED_PING_PONG => "websocket_failed_ping_pong",
        close_code::CONNECTION_UNUSED => "websocket_connection_unused",
        close_code::RECONNECT_GRACE_TIME_EXPIRED => "websocket_failed_to_reconnect",
        close_code::NETWORK_TIMEOUT => "websocket_network_timeout",
        close_code::NETWORK_ERROR => "websocket_network_error",
        _ => "websocket_disconnected",
    }
}

impl FakeEventSub {
    /// Starts the server on `127.0.0.1:0` (its own runtime thread) and returns at once; the
    /// socket is already bound, so clients may connect immediately.
    pub async fn start() -> FakeEventSub {
        FakeEventSub::start_with(None, true).await
    }

    /// [`FakeEventSub::start`] on the calling (test) runtime instead of a thread of its own:
    /// keepalives, grace times and deadlines then follow the test's clock, so a paused clock
    /// the test advances moves both sides alike (`tests/it/long_run.rs`: 24 simulated hours). Not
    /// for a `static` shared by tests on different runtimes.
    pub async fn start_on_test_runtime() -> FakeEventSub {
        FakeEventSub::start_with(None, false).await
    }

    /// [`FakeEventSub::start`] over TLS (`wss://`): `acceptor` holds the certificate (see
    /// `test_ca.rs`). Reconnect URLs are `wss://` too.
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> FakeEventSub {
        FakeEventSub::start_with(Some(acceptor), true).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>, own_thread: bool) -> FakeEventSub {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let rt = own_thread.then(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake EventSub runtime")
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                keepalive_secs: DEFAULT_KEEPALIVE_SECS,
                unused_timeout: None,
                reconnect_grace: DEFAULT_RECONNECT_GRACE,
                reconnect_welcome_delay: Duration::ZERO,
                sessions: Vec::new(),
                conns: HashMap::new(),
                next_conn: 1,
                next_reconnect: 1,
                pending: HashMap::new(),
                sent: HashMap::new(),
                chats: HashMap::new(),
                received: Vec::new(),
                ping: None,
                pongs: 0,
                max_conns: 0,
                new_sessions: Vec::new(),
                tls_failures: Vec::new(),
                unreachable: false,
            }),
            changed: Notify::new(),
            cancel: CancellationToken::new(),
            rt: rt
                .as_ref()
                .map_or_else(tokio::runtime::Handle::current, |rt| rt.handle().clone()),
            port,
            tls,
        });
        let server = Arc::clone(&shared);
        let Some(rt) = rt else {
            // On the test's runtime: every socket task ends on `cancel` (last handle dropped).
            if let Ok(listener) = TcpListener::from_std(listener) {
                tokio::spawn(accept_loop(server, listener));
            }
            return FakeEventSub {
                guard: Arc::new(Guard { shared }),
            };
        };
        std::thread::Builder::new()
            .name(format!("fake-eventsub-{port}"))
            .spawn(move || {
                rt.block_on(async move {
                    if let Ok(listener) = TcpListener::from_std(listener) {
                        accept_loop(server, listener).await;
                    }
                });
                // Dropping the runtime here cancels every socket task that is still running.
                drop(rt);
            })
            .expect("spawn fake EventSub thread");
        FakeEventSub {
            guard: Arc::new(Guard { shared }),
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.guard.shared
    }

    /// The URL a client connects to: `ws://127.0.0.1:<port>/ws` (`wss://` over TLS). The
    /// query parameter
    /// `keepalive_timeout_seconds` is honoured as on Twitch (see
    /// [`FakeEventSub::set_keepalive_secs`]). Other paths are refused with HTTP 404.
    pub fn url(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/ws",
            self.shared().scheme(),
            self.shared().port
        )
    }

    /// Keepalive seconds for sessions that connect from now on: sent as
    /// `keepalive_timeout_seconds` in the welcome, and a `session_keepalive` is sent whenever
    /// no message went out for that long (any message resets the timer). Default 10.
    ///
    /// Twitch allows 10–600; **the fake also accepts 1–9 so tests can be fast** (0 counts as
    /// 1). With a value of 10 or more, a client's `?keepalive_timeout_seconds=N` wins, clamped
    /// to 10–600 as Twitch does; with a test value below 10 the fake's value wins.
    pub fn set_keepalive_secs(&self, secs: u32) {
        self.shared().lock().keepalive_secs = secs.max(1);
    }

    /// WebSocket pings on sockets opened from now on: a Ping frame every `every`; one not
    /// answered with its Pong within `deadline` closes the socket with 4002 (Twitch, "Handling
    /// WebSocket events", close codes: "4002 Client failed ping-pong: the client failed to
    /// respond to a ping message"). Twitch publishes neither the interval nor the deadline, so
    /// both are the test's; `None` (the default): no pings.
    pub fn set_ping(&self, ping: Option<(Duration, Duration)>) {
        self.shared().lock().ping = ping;
    }

    /// Waits until the fake has received `count` pongs to its pings (over all sockets); `false`
    /// after `timeout`.
    pub async fn wait_for_pongs(&self, count: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, move |st| (st.pongs >= count).then_some(()))
            .await
            .is_some()
    }

    /// Waits until session `id` has ended and returns the status it ended with (see
    /// [`SessionInfo::status`]); `None` after `timeout`.
    pub async fn wait_for_session_end(&self, id: &str, timeout: Duration) -> Option<String> {
        let id = id.to_string();
        self.wait_until(timeout, move |st| {
            st.session(&id)
                .filter(|s| !s.connected)
                .map(|s| s.status.clone())
        })
        .await
    }

    /// How long a new session may stay without any subscription before the fake closes it
    /// with 4003 "connection unused" (`None`: never), instead of the session's keepalive (the
    /// default, as on Twitch: the welcome's `keepalive_timeout_seconds` is "the number of
    /// seconds that you have to subscribe to an event after receiving the welcome message",
    /// dev.twitch.tv/docs/eventsub/websocket-reference). Applies to sessions welcomed from now
    /// on.
    pub fn set_unused_timeout(&self, d: Option<Duration>) {
        self.shared().lock().unused_timeout = Some(d);
    }

    /// How long [`FakeEventSub::reconnect`] waits for the client on the reconnect URL before
    /// closing the old socket with 4004. Default 30 s as on Twitch.
    pub fn set_reconnect_grace(&self, d: Duration) {
        self.shared().lock().reconnect_grace = d;
    }

    /// How long a client's socket on a reconnect URL waits before its welcome (default 0).
    /// Until then the session's notifications still go to the old socket, as on Twitch, which
    /// keeps delivering on the old connection until the new one is welcomed and then closes it
    /// (dev.twitch.tv/docs/eventsub/handling-websocket-events, "Reconnect message").
    pub fn set_reconnect_welcome_delay(&self, d: Duration) {
        self.shared().lock().reconnect_welcome_delay = d;
    }

    /// Waits until a client has opened a socket on a reconnect URL that is not welcomed yet;
    /// `false` after `timeout`.
    pub async fn wait_for_unwelcomed_reconnect(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |st| {
            st.conns.values().any(|c| !c.welcomed).then_some(())
        })
        .await
        .is_some()
    }

    /// The id of a session to talk to: the **live session that was welcomed last, if there is
    /// one**; otherwise the next fresh session to be welcomed. `None` on timeout.
    ///
    /// This never misses a client that connected before the call. Sessions that the fake
    /// itself ended ([`close_all`](FakeEventSub::close_all), 4001, 4003, 4004) are marked
    /// ended at once, so right after such a close this waits for the client's new session.
    /// When the client closed its socket itself, use the race-free
    /// [`session_mark`](FakeEventSub::session_mark) +
    /// [`wait_for_session_after`](FakeEventSub::wait_for_session_after) instead.
    pub async fn wait_for_session(&self, timeout: Duration) -> Option<String> {
        self.wait_until(timeout, |st| st.latest_live().map(|s| s.id.clone()))
            .await
    }

    /// A mark for [`wait_for_session_after`](FakeEventSub::wait_for_session_after): the number
    /// of fresh sessions welcomed so far.
    pub fn session_mark(&self) -> usize {
        self.shared().lock().new_sessions.len()
    }

    /// The first fresh session welcomed after `mark` was taken (even if it already ended),
    /// waiting up to `timeout`. Reconnect continuations are not fresh sessions.
    pub async fn wait_for_session_after(&self, mark: usize, timeout: Duration) -> Option<String> {
        self.wait_until(timeout, move |st| st.new_sessions.get(mark).cloned())
            .await
    }

    /// Waits until an enabled subscription of `sub_type` exists (on any live session) and
    /// returns it as [`FakeEventSub::subscriptions`] shows it.
    pub async fn wait_for_subscription(&self, sub_type: &str, timeout: Duration) -> Option<Value> {
        let sub_type = sub_type.to_string();
        self.wait_until(timeout, move |st| {
            st.sessions.iter().find_map(|s| {
                s.subs
                    .iter()
                    .find(|sub| sub.type_ == sub_type && sub.status == "enabled")
                    .map(|sub| helix_json(sub, s))
            })
        })
        .await
    }

    /// Why TLS handshakes failed so far.
    pub fn tls_failures(&self) -> Vec<String> {
        self.shared().lock().tls_failures.clone()
    }

    /// Waits until a TLS handshake failed and returns why (a client that does not trust the
    /// certificate ends it with an alert: "received fatal alert: UnknownCA").
    pub async fn wait_for_tls_failure(&self, timeout: Duration) -> Option<String> {
        self.wait_until(timeout, |st| st.tls_failures.first().cloned())
            .await
    }

    /// Waits until exactly `n` sockets are open; false on timeout.
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, move |st| (st.conns.len() == n).then_some(()))
            .await
            .is_some()
    }

    /// Runs `check` on every state change until it returns `Some`, on the fake's runtime (so a
    /// paused test clock does not shorten the timeout).
    async fn wait_until<T, F>(&self, timeout: Duration, mut check: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnMut(&mut State) -> Option<T> + Send + 'static,
    {
        let shared = Arc::clone(self.shared());
        if shared.cancel.is_cancelled() {
            return None;
        }
        let (mut tx, rx) = oneshot::channel();
        let rt = shared.rt.clone();
        rt.spawn(async move {
            let waiting = async {
                loop {
                    let notified = shared.changed.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    let found = {
                        let mut st = shared.lock();
                        check(&mut st)
                    };
                    if let Some(v) = found {
                        return v;
                    }
                    notified.await;
                }
            };
            let result = tokio::select! {
                r = tokio::time::timeout(timeout, waiting) => r.ok(),
                () = shared.cancel.cancelled() => None,
                () = tx.closed() => None,
            };
            let _ = tx.send(result);
        });
        rx.await.ok().flatten()
    }

    /// Every session so far (live and ended), oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let st = self.shared().lock();
        st.sessions
            .iter()
            .map(|s| SessionInfo {
                id: s.id.clone(),
                connected: s.connected,
                status: s.status.clone(),
                paths: s.paths.clone(),
                keepalive_secs: s.keepalive_secs,
                subscription_types: s.subs.iter().map(|sub| sub.type_.clone()).collect(),
            })
            .collect()
    }

    /// **Contract used by the Helix fake** (`POST /helix/eventsub/subscriptions` with a
    /// websocket transport): creates a subscription for a live session.
    ///
    /// `Ok` is the subscription object exactly as Helix returns it in `data[0]`:
    /// `{id, status: "enabled", type, version, condition, created_at,
    /// transport: {method: "websocket", session_id, connected_at}, cost: 0}` (the Helix fake
    /// wraps it as `{"data":[it],"total":n,"total_cost":0,"max_total_cost":10000}` with status
    /// 202). `condition` is stored and echoed as given.
    ///
    /// `Err(400)` if the session id is unknown or not connected, if the version of a known type
    /// is not `"1"`, or if the condition lacks what Twitch requires (`channel.chat.message`:
    /// `broadcaster_user_id` and `user_id`; `channel.raid`: exactly one of
    /// `from_broadcaster_user_id` / `to_broadcaster_user_id`, a `null` counts as absent;
    /// `stream.online` / `stream.offline`: `broadcaster_user_id`). Other types are accepted as
    /// given. `Err(409)` if the session already has that type with the same condition (nulls
    /// ignored).
    pub fn register_subscription(
        &self,
        sub_type: &str,
        version: &str,
        condition: Value,
        session_id: &str,
    ) -> Result<Value, u16> {
        validate_condition(sub_type, version, &condition)?;
        let shared = self.shared();
        let value = {
            let mut st = shared.lock();
            let Some(session) = st.session_mut(session_id) else {
                return Err(400);
            };
            if !session.connected {
                return Err(400);
            }
            let wanted = normalized(&condition);
            if session.subs.iter().any(|s| {
                s.status == "enabled" && s.type_ == sub_type && normalized(&s.condition) == wanted
            }) {
                return Err(409);
            }
            let sub = Sub {
                id: uuid_v4(),
                type_: sub_type.to_string(),
                version: version.to_string(),
                condition,
                created_at: rfc3339(SystemTime::now()),
                status: "enabled".to_string(),
            };
            session.ever_subscribed = true;
            session.subs.push(sub);
            let session = &*session;
            helix_json(session.subs.last().expect("just pushed"), session)
        };
        shared.changed.notify_waiters();
        Ok(value)
    }

    /// Deletes a subscription by id (for `DELETE /helix/eventsub/subscriptions?id=`);
    /// `Err(404)` if no such subscription exists.
    pub fn delete_subscription(&self, id: &str) -> Result<(), u16> {
        let shared = self.shared();
        let found = {
            let mut st = shared.lock();
            st.sessions.iter_mut().any(|s| {
                let before = s.subs.len();
                s.subs.retain(|sub| sub.id != id);
                s.subs.len() != before
            })
        };
        if !found {
            return Err(404);
        }
        shared.changed.notify_waiters();
        Ok(())
    }

    /// The enabled subscriptions of live sessions, as Helix objects (see
    /// [`register_subscription`](FakeEventSub::register_subscription)).
    pub fn subscriptions(&self) -> Vec<Value> {
        let st = self.shared().lock();
        st.sessions
            .iter()
            .flat_map(|s| {
                s.subs
                    .iter()
                    .filter(|sub| sub.status == "enabled")
                    .map(move |sub| helix_json(sub, s))
            })
            .collect()
    }

    /// Every subscription still held, including those of ended sessions (their `status` is
    /// e.g. `websocket_disconnected` and their transport has `disconnected_at`), as
    /// `GET /helix/eventsub/subscriptions` lists them.
    pub fn all_subscriptions(&self) -> Vec<Value> {
        let st = self.shared().lock();
        st.sessions
            .iter()
            .flat_map(|s| s.subs.iter().map(move |sub| helix_json(sub, s)))
            .collect()
    }

    /// Sends a `channel.chat.message` v1 notification to every live session subscribed to it
    /// for `chat.broadcaster` (one frame per matching subscription, each with its own metadata
    /// message id, as Twitch sends them: see `dispatch`). Returns the first frame's message id,
    /// `None` if no subscription matches.
    pub fn send_chat(&self, chat: &ChatMessage) -> Option<String> {
        self.send_chat_aged(chat, Duration::ZERO)
    }

    /// Like [`send_chat`](FakeEventSub::send_chat) but with a `message_timestamp` `age` in
    /// the past (replay / stale-message tests).
    pub fn send_old(&self, chat: &ChatMessage, age: Duration) -> Option<String> {
        self.send_chat_aged(chat, age)
    }

    fn send_chat_aged(&self, chat: &ChatMessage, age: Duration) -> Option<String> {
        let chat_id = chat.message_id.clone().unwrap_or_else(uuid_v4);
        let event = {
            let mut st = self.shared().lock();
            let reply = chat.reply_to.as_ref().map(|parent_id| {
                let (body, parent_user, thread) = match st.chats.get(parent_id) {
                    Some(rec) => (rec.text.clone(), rec.chatter.clone(), rec.thread.clone()),
                    None => (String::new(), chat.broadcaster.clone(), None),
                };
                let (thread_id, thread_user) =
                    thread.unwrap_or_else(|| (parent_id.clone(), parent_user.clone()));
                st.chats.insert(
                    chat_id.clone(),
                    ChatRecord {
                        text: chat.text.clone(),
                        chatter: chat.chatter.clone(),
                        thread: Some((thread_id.clone(), thread_user.clone())),
                    },
                );
                json!({
                    "parent_message_id": parent_id,
                    "parent_message_body": body,
                    "parent_user_id": parent_user.id,
                    "parent_user_name": parent_user.name,
                    "parent_user_login": parent_user.login,
                    "thread_message_id": thread_id,
                    "thread_user_id": thread_user.id,
                    "thread_user_name": thread_user.name,
                    "thread_user_login": thread_user.login,
                })
            });
            if reply.is_none() {
                st.chats.insert(
                    chat_id.clone(),
                    ChatRecord {
                        text: chat.text.clone(),
                        chatter: chat.chatter.clone(),
                        thread: None,
                    },
                );
            }
            chat_event(chat, &chat_id, reply)
        };
        let broadcaster = chat.broadcaster.id.clone();
        self.dispatch(
            "channel.chat.message",
            "1",
            move |c| field_is(c, "broadcaster_user_id", &broadcaster),
            &event,
            age,
        )
    }

    /// Sends a `channel.raid` v1 notification to every subscription whose condition names
    /// `from` (`from_broadcaster_user_id`) or `to` (`to_broadcaster_user_id`).
    pub fn send_raid(&self, from: &User, to: &User, viewers: i64) -> Option<String> {
        let event = json!({
            "from_broadcaster_user_id": from.id,
            "from_broadcaster_user_login": from.login,
            "from_broadcaster_user_name": from.name,
            "to_broadcaster_user_id": to.id,
            "to_broadcaster_user_login": to.login,
            "to_broadcaster_user_name": to.name,
            "viewers": viewers,
        });
        let (from_id, to_id) = (from.id.clone(), to.id.clone());
        self.dispatch(
            "channel.raid",
            "1",
            move |c| {
                field_is(c, "from_broadcaster_user_id", &from_id)
                    || field_is(c, "to_broadcaster_user_id", &to_id)
            },
            &event,
            Duration::ZERO,
        )
    }

    /// Sends a `stream.online` v1 notification (`type: "live"`, a fresh numeric stream `id`,
    /// `started_at` now) to subscriptions for that broadcaster.
    pub fn send_stream_online(&self, broadcaster: &User) -> Option<String> {
        let event = json!({
            "id": (random_u64() % 9_000_000_000 + 1_000_000_000).to_string(),
            "broadcaster_user_id": broadcaster.id,
            "broadcaster_user_login": broadcaster.login,
            "broadcaster_user_name": broadcaster.name,
            "type": "live",
            "started_at": rfc3339(SystemTime::now()),
        });
        let id = broadcaster.id.clone();
        self.dispatch(
            "stream.online",
            "1",
            move |c| field_is(c, "broadcaster_user_id", &id),
            &event,
            Duration::ZERO,
        )
    }

    /// Sends a `stream.offline` v1 notification to subscriptions for that broadcaster.
    pub fn send_stream_offline(&self, broadcaster: &User) -> Option<String> {
        let event = json!({
            "broadcaster_user_id": broadcaster.id,
            "broadcaster_user_login": broadcaster.login,
            "broadcaster_user_name": broadcaster.name,
        });
        let id = broadcaster.id.clone();
        self.dispatch(
            "stream.offline",
            "1",
            move |c| field_is(c, "broadcaster_user_id", &id),
            &event,
            Duration::ZERO,
        )
    }

    /// Sends a `channel.ad_break.begin` v1 notification to subscriptions for that broadcaster:
    /// `requester` ran it (`Start Commercial`), or Twitch's ads manager did (`None`:
    /// `is_automatic: true`, the requester fields empty, as the reference's example of an
    /// automatic break has them).
    pub fn send_ad_break_begin(
        &self,
        broadcaster: &User,
        requester: Option<&User>,
        duration_seconds: u64,
    ) -> Option<String> {
        let (id, login, name) = requester.map_or(("", "", ""), |r| {
            (r.id.as_str(), r.login.as_str(), r.name.as_str())
        });
        let event = json!({
            "duration_seconds": duration_seconds,
            "started_at": rfc3339(SystemTime::now()),
            "is_automatic": requester.is_none(),
            "broadcaster_user_id": broadcaster.id,
            "broadcaster_user_login": broadcaster.login,
            "broadcaster_user_name": broadcaster.name,
            "requester_user_id": id,
            "requester_user_login": login,
            "requester_user_name": name,
        });
        let broadcaster = broadcaster.id.clone();
        self.dispatch(
            "channel.ad_break.begin",
            "1",
            move |c| field_is(c, "broadcaster_user_id", &broadcaster),
            &event,
            Duration::ZERO,
        )
    }

    /// Sends a notification with an arbitrary `event` object to every enabled subscription of
    /// `sub_type` + `version` (no condition matching): for event types without a dedicated
    /// method. The caller is responsible for the event's fields.
    pub fn send_event(&self, sub_type: &str, version: &str, event: &Value) -> Option<String> {
        self.dispatch(sub_type, version, |_| true, event, Duration::ZERO)
    }

    fn dispatch(
        &self,
        sub_type: &str,
        version: &str,
        matches: impl Fn(&Value) -> bool,
        event: &Value,
        age: Duration,
    ) -> Option<String> {
        let mut st = self.shared().lock();
        let mut frames: Vec<(String, Value)> = Vec::new();
        for s in st.sessions.iter().filter(|s| s.connected) {
            for sub in &s.subs {
                if sub.status == "enabled"
                    && sub.type_ == sub_type
                    && sub.version == version
                    && matches(&sub.condition)
                {
                    frames.push((s.id.clone(), notification_subscription(sub, &s.id)));
                }
            }
        }
        if frames.is_empty() {
            return None;
        }
        let timestamp = rfc3339(SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH));
        let mut first = None;
        for (session_id, subscription) in frames {
            // "metadata.message_id — An ID that uniquely identifies the message. […] If Twitch
            // resends the message, the message ID will be the same."
            // (dev.twitch.tv/docs/eventsub/websocket-reference): one id per delivered message,
            // kept by `resend`.
            let message_id = uuid_v4();
            let frame = json!({
                "metadata": {
                    "message_id": message_id,
                    "message_type": "notification",
                    "message_timestamp": timestamp,
                    "subscription_type": sub_type,
                    "subscription_version": version,
                },
                "payload": {
                    "subscription": subscription,
                    "event": event,
                },
            })
            .to_string();
            st.send_to_session(&session_id, &frame);
            st.sent
                .insert(message_id.clone(), vec![(session_id, frame)]);
            first.get_or_insert(message_id);
        }
        first
    }

    /// Sends any text frame (verbatim) to the active socket of every live session.
    pub fn send_raw(&self, text: &str) {
        let st = self.shared().lock();
        for s in st.sessions.iter().filter(|s| s.connected) {
            st.send_to_session(&s.id, text);
        }
    }

    /// Sends an already-sent notification again, byte for byte (same `message_id` and
    /// timestamp), to the sessions it went to that are still live (on their current socket).
    /// Unknown ids are ignored.
    pub fn resend(&self, message_id: &str) {
        let st = self.shared().lock();
        if let Some(frames) = st.sent.get(message_id) {
            for (session_id, frame) in frames {
                if st.session(session_id).is_some_and(|s| s.connected) {
                    st.send_to_session(session_id, frame);
                }
            }
        }
    }

    /// Asks the live session that was welcomed last to reconnect: sends `session_reconnect`
    /// with `reconnect_url` = `ws://127.0.0.1:<port>/ws?reconnect=<n>`. Notifications keep
    /// going to the old socket until the client connects there and gets its welcome (same
    /// session id, subscriptions carried over, no 4003 check); then the fake closes the old
    /// socket (code 1000) and this resolves with the session id.
    ///
    /// `None` if there is no live session, or if the grace time (30 s, see
    /// [`set_reconnect_grace`](FakeEventSub::set_reconnect_grace)) expires: the old socket is
    /// then closed with 4004 and the session ends. A reconnect URL works once; afterwards (or
    /// after expiry) connecting to it gets a 4007 close without welcome. A client that closes
    /// the old socket before it got the welcome on the new one loses the session (its
    /// subscriptions end with `websocket_disconnected`) and the reconnect URL answers 4007.
    pub async fn reconnect(&self) -> Option<String> {
        let latest = self.shared().lock().latest_live().map(|s| s.id.clone())?;
        self.reconnect_session(&latest).await
    }

    /// [`reconnect`](FakeEventSub::reconnect) for a given live session (when several are
    /// live). `None` at once if that session is not live.
    pub async fn reconnect_session(&self, session_id: &str) -> Option<String> {
        let shared = Arc::clone(self.shared());
        if shared.cancel.is_cancelled() {
            return None;
        }
        let (done_tx, done_rx) = oneshot::channel();
        let (result_tx, result_rx) = oneshot::channel();
        let (n, session_id, old_conn, grace) = {
            let mut st = shared.lock();
            let (session_id, old_conn, connected_at) = {
                let s = st.session(session_id).filter(|s| s.connected)?;
                (s.id.clone(), s.active_conn?, s.connected_at.clone())
            };
            let n = st.next_reconnect;
            st.next_reconnect += 1;
            let url = format!(
                "{}://127.0.0.1:{}/ws?reconnect={n}",
                shared.scheme(),
                shared.port
            );
            let frame = json!({
                "metadata": {
                    "message_id": uuid_v4(),
                    "message_type": "session_reconnect",
                    "message_timestamp": rfc3339(SystemTime::now()),
                },
                "payload": {
                    "session": {
                        "id": session_id,
                        "status": "reconnecting",
                        "keepalive_timeout_seconds": null,
                        "reconnect_url": url,
                        "connected_at": connected_at,
                        "recovery_url": null,
                    }
                }
            })
            .to_string();
            st.pending.insert(
                n,
                PendingReconnect {
                    session_id: session_id.clone(),
                    old_conn,
                    done: Some(done_tx),
                },
            );
            st.send_to_session(&session_id, &frame);
            (n, session_id, old_conn, st.reconnect_grace)
        };
        let task_shared = Arc::clone(&shared);
        shared.rt.spawn(async move {
            let shared = task_shared;
            let ok = tokio::select! {
                r = done_rx => r.is_ok(),
                () = tokio::time::sleep(grace) => false,
                () = shared.cancel.cancelled() => return,
            };
            {
                let mut st = shared.lock();
                st.pending.remove(&n);
                // On failure, end the session only if it is still on the old socket (it may
                // have ended, or moved on through another reconnect URL).
                let still_old = st
                    .session(&session_id)
                    .is_some_and(|s| s.connected && s.active_conn == Some(old_conn));
                let close = if ok {
                    Some((close_code::NORMAL, "reconnected"))
                } else if still_old {
                    st.end_session(
                        &session_id,
                        status_for_close(close_code::RECONNECT_GRACE_TIME_EXPIRED),
                    );
                    Some((
                        close_code::RECONNECT_GRACE_TIME_EXPIRED,
                        "reconnect grace time expired",
                    ))
                } else {
                    None
                };
                if let Some((code, reason)) = close
                    && let Some(conn) = st.conns.get(&old_conn)
                {
                    let _ = conn.tx.send(Cmd::Close(code, reason.to_string()));
                }
            }
            shared.changed.notify_waiters();
            let _ = result_tx.send(ok.then_some(session_id));
        });
        result_rx.await.ok().flatten()
    }

    /// Sends a `revocation` for every enabled subscription of `sub_type` on live sessions,
    /// with `payload.subscription.status = status` (`authorization_revoked`, `user_removed`,
    /// `version_removed`, ...; twitch_api only parses its known `Status` values), and removes
    /// those subscriptions.
    pub fn revoke(&self, sub_type: &str, status: &str) {
        self.revoke_where(|sub| sub.type_ == sub_type, status);
    }

    /// [`revoke`](FakeEventSub::revoke) the enabled subscriptions whose id is in `ids`.
    pub fn revoke_ids(&self, ids: &[String], status: &str) {
        self.revoke_where(|sub| ids.contains(&sub.id), status);
    }

    fn revoke_where(&self, which: impl Fn(&Sub) -> bool, status: &str) {
        let shared = self.shared();
        {
            let mut st = shared.lock();
            let mut frames = Vec::new();
            for s in st.sessions.iter_mut().filter(|s| s.connected) {
                let (revoked, kept): (Vec<Sub>, Vec<Sub>) = std::mem::take(&mut s.subs)
                    .into_iter()
                    .partition(|sub| which(sub) && sub.status == "enabled");
                s.subs = kept;
                for mut sub in revoked {
                    sub.status = status.to_string();
                    let frame = json!({
                        "metadata": {
                            "message_id": uuid_v4(),
                            "message_type": "revocation",
                            "message_timestamp": rfc3339(SystemTime::now()),
                            "subscription_type": sub.type_,
                            "subscription_version": sub.version,
                        },
                        "payload": {
                            "subscription": notification_subscription(&sub, &s.id),
                        }
                    })
                    .to_string();
                    frames.push((s.id.clone(), frame));
                }
            }
            for (session_id, frame) in frames {
                st.send_to_session(&session_id, &frame);
            }
        }
        shared.changed.notify_waiters();
    }

    /// `true`: every socket open now goes dead but stays open (no keepalives, notifications,
    /// revocations, reconnect messages, raw frames or 4003 close; notifications sent meanwhile
    /// are lost but can be [`resend`](FakeEventSub::resend)). Sockets opened later are
    /// normal. `false`: every socket is normal again.
    pub fn go_silent(&self, on: bool) {
        let mut st = self.shared().lock();
        for conn in st.conns.values_mut() {
            conn.silent = on;
        }
    }

    /// Closes every socket with this close code and reason (e.g. 4000, "internal server
    /// error"). Their sessions end at once (subscriptions get the matching `websocket_*`
    /// status), even before the close handshake finishes.
    pub fn close_all(&self, code: u16, reason: &str) {
        let shared = self.shared();
        {
            let mut st = shared.lock();
            let live: Vec<String> = st
                .sessions
                .iter()
                .filter(|s| s.connected)
                .map(|s| s.id.clone())
                .collect();
            for id in live {
                st.end_session(&id, status_for_close(code));
            }
            for conn in st.conns.values() {
                let _ = conn.tx.send(Cmd::Close(code, reason.to_string()));
            }
        }
        shared.changed.notify_waiters();
    }

    /// `true`: EventSub is out of reach, as in a network outage: every socket closes with
    /// 4006 (network error) and new connections are dropped before the WebSocket upgrade.
    /// `false`: connections are taken again.
    pub fn set_unreachable(&self, on: bool) {
        self.shared().lock().unreachable = on;
        if on {
            self.close_all(close_code::NETWORK_ERROR, "network error");
        }
    }

    /// Stops the server now (as dropping the last handle does): every socket is dropped
    /// without a close frame, like a crashed server.
    pub fn close(&self) {
        self.shared().cancel.cancel();
    }

    /// Number of open WebSocket connections (after the upgrade; refused 4007 reconnects do
    /// not count).
    pub fn connections(&self) -> usize {
        self.shared().lock().conns.len()
    }

    /// The most WebSocket connections that were open at once so far (one client keeps one,
    /// and two only while it moves to a reconnect URL).
    pub fn max_connections(&self) -> usize {
        self.shared().lock().max_conns
    }

    /// Every text frame the clients sent (binary frames as lossy UTF-8), in order. Each one
    /// also got its socket closed with 4001, as on Twitch; pings are answered and pongs are
    /// allowed (neither is recorded).
    pub fn received_frames(&self) -> Vec<String> {
        self.shared().lock().received.clone()
    }
}

/// Helix shape of a subscription (`data[0]` of the create response).
fn helix_json(sub: &Sub, session: &Session) -> Value {
    let mut transport = json!({
        "method": "websocket",
        "session_id": session.id,
        "connected_at": session.connected_at,
    });
    if let Some(at) = &session.disconnected_at {
        transport["disconnected_at"] = json!(at);
    }
    json!({
        "id": sub.id,
        "status": sub.status,
        "type": sub.type_,
        "version": sub.version,
        "condition": sub.condition,
        "created_at": sub.created_at,
        "transport": transport,
        "cost": 0,
    })
}

/// The subscription object inside a notification / revocation payload.
fn notification_subscription(sub: &Sub, session_id: &str) -> Value {
    json!({
        "id": sub.id,
        "status": sub.status,
        "type": sub.type_,
        "version": sub.version,
        "cost": 0,
        "condition": sub.condition,
        "transport": {
            "method": "websocket",
            "session_id": session_id,
        },
        "created_at": sub.created_at,
    })
}

/// The `event` of a `channel.chat.message` v1 notification: every key twitch_api 0.8's
/// `ChannelChatMessageV1Payload` needs (including `source_badges`, which must be present).
fn chat_event(chat: &ChatMessage, chat_id: &str, reply: Option<Value>) -> Value {
    let fragments = if chat.text.is_empty() {
        json!([])
    } else {
        json!([{
            "type": "text",
            "text": chat.text,
            "cheermote": null,
            "emote": null,
            "mention": null,
        }])
    };
    let badges: Vec<Value> = chat
        .badges
        .iter()
        .map(|(set_id, id)| json!({"set_id": set_id, "id": id, "info": ""}))
        .collect();
    json!({
        "broadcaster_user_id": chat.broadcaster.id,
        "broadcaster_user_login": chat.broadcaster.login,
        "broadcaster_user_name": chat.broadcaster.name,
        "chatter_user_id": chat.chatter.id,
        "chatter_user_login": chat.chatter.login,
        "chatter_user_name": chat.chatter.name,
        "message_id": chat_id,
        "message": {
            "text": chat.text,
            "fragments": fragments,
        },
        "message_type": "text",
        "badges": badges,
        "cheer": null,
        "color": "#1E90FF",
        "reply": reply,
        "channel_points_custom_reward_id": null,
        "channel_points_animation_id": null,
        "source_broadcaster_user_id": chat.source.as_ref().map(|s| s.id.clone()),
        "source_broadcaster_user_login": chat.source.as_ref().map(|s| s.login.clone()),
        "source_broadcaster_user_name": chat.source.as_ref().map(|s| s.name.clone()),
        "source_message_id": chat.source.as_ref().map(|_| chat_id),
        "source_badges": chat.source.as_ref().map(|_| badges.clone()),
        "is_source_only": null,
    })
}

/// Whether `condition[key]` is the string `want` (non-empty).
fn field_is(condition: &Value, key: &str, want: &str) -> bool {
    !want.is_empty() && condition.get(key).and_then(Value::as_str) == Some(want)
}

/// A non-empty string field.
fn has_field(condition: &Value, key: &str) -> bool {
    condition
        .get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

fn validate_condition(sub_type: &str, version: &str, condition: &Value) -> Result<(), u16> {
    let required: &[&str] = match sub_type {
        "channel.chat.message" => &["broadcaster_user_id", "user_id"],
        "stream.online" | "stream.offline" | "channel.ad_break.begin" => &["broadcaster_user_id"],
        "channel.raid" => {
            let from = has_field(condition, "from_broadcaster_user_id");
            let to = has_field(condition, "to_broadcaster_user_id");
            if version != "1" || from == to {
                return Err(400);
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    if version != "1" || !required.iter().all(|k| has_field(condition, k)) {
        return Err(400);
    }
    Ok(())
}

/// The condition without `null` members, for duplicate detection.
fn normalized(condition: &Value) -> Value {
    match condition {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) if shared.lock().unreachable => drop(tcp),
                Ok((tcp, _)) => {
                    // Small frames one way: without this, Nagle waits for delayed ACKs (~40 ms).
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(serve(Arc::clone(&shared), tcp));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

/// The value of `key` in a `a=b&c=d` query.
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn effective_keepalive(configured: u32, query: &str) -> u32 {
    match query_param(query, "keepalive_timeout_seconds").and_then(|v| v.parse::<i64>().ok()) {
        Some(asked) if configured >= 10 => asked.clamp(10, 600) as u32,
        _ => configured.max(1),
    }
}

fn welcome_frame(session_id: &str, keepalive_secs: u32, connected_at: &str) -> String {
    json!({
        "metadata": {
            "message_id": uuid_v4(),
            "message_type": "session_welcome",
            "message_timestamp": rfc3339(SystemTime::now()),
        },
        "payload": {
            "session": {
                "id": session_id,
                "status": "connected",
                "connected_at": connected_at,
                "keepalive_timeout_seconds": keepalive_secs,
                "reconnect_url": null,
                "recovery_url": null,
            }
        }
    })
    .to_string()
}

fn keepalive_frame() -> String {
    json!({
        "metadata": {
            "message_id": uuid_v4(),
            "message_type": "session_keepalive",
            "message_timestamp": rfc3339(SystemTime::now()),
        },
        "payload": {}
    })
    .to_string()
}

/// Sends a close frame and waits (bounded) for the client's answer so the frame is delivered.
async fn close_ws(ws: &mut WebSocketStream<Io>, code: u16, reason: &str) {
    let mut reason = reason.to_string();
    while reason.len() > 123 {
        reason.pop();
    }
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    if ws.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// One socket: handshake, welcome (or 4007), then the send / keepalive / inbound loop.
async fn serve(shared: Arc<Shared>, tcp: TcpStream) {
    let mut uri = String::new();
    // The error type is tungstenite's `Callback` contract.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        uri = req.uri().to_string();
        if req.uri().path() != "/ws" {
            let mut refused = ErrorResponse::new(Some("404 page not found".to_string()));
            *refused.status_mut() = StatusCode::NOT_FOUND;
            return Err(refused);
        }
        Ok(resp)
    };
    let tls = shared.tls.clone();
    let failed = Arc::clone(&shared);
    let handshake = tokio::time::timeout(Duration::from_secs(10), async move {
        let io = match tls {
            None => Either::Left(tcp),
            Some(acceptor) => match acceptor.accept(tcp).await {
                Ok(tls) => Either::Right(tls),
                Err(error) => {
                    failed.lock().tls_failures.push(error.to_string());
                    failed.changed.notify_waiters();
                    return Err(tokio_tungstenite::tungstenite::Error::Io(error));
                }
            },
        };
        tokio_tungstenite::accept_hdr_async(io, callback).await
    });
    let mut ws = tokio::select! {
        () = shared.cancel.cancelled() => return,
        r = handshake => match r {
            Ok(Ok(ws)) => ws,
            _ => return,
        },
    };
    let query = uri
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .to_string();
    let (tx, mut rx) = mpsc::unbounded_channel();

    // Register the socket and queue its welcome first, under the lock, so that nothing can be
    // queued before it.
    let setup = {
        let mut st = shared.lock();
        let conn_id = st.next_conn;
        st.next_conn += 1;
        match query_param(&query, "reconnect") {
            Some(token) => {
                // A reconnect URL works once: the entry is taken here.
                let pending = token
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| st.pending.remove(&n))
                    .map(|p| (p.session_id, p.done));
                let live = pending
                    .as_ref()
                    .is_some_and(|(id, _)| st.session(id).is_some_and(|s| s.connected));
                match pending {
                    Some((session_id, done)) if live => {
                        st.conns.insert(
                            conn_id,
                            Conn {
                                session_id: session_id.clone(),
                                tx: tx.clone(),
                                silent: false,
                                welcomed: false,
                            },
                        );
                        st.max_conns = st.max_conns.max(st.conns.len());
                        let keepalive = st
                            .session(&session_id)
                            .expect("live session")
                            .keepalive_secs;
                        // Becomes the session's socket with its welcome: until then the old
                        // socket gets the notifications.
                        let welcome = {
                            let shared = Arc::clone(&shared);
                            let session_id = session_id.clone();
                            let uri = uri.clone();
                            let tx = tx.clone();
                            move || {
                                let mut st = shared.lock();
                                let Some(session) =
                                    st.session_mut(&session_id).filter(|s| s.connected)
                                else {
                                    return;
                                };
                                session.paths.push(uri);
                                session.active_conn = Some(conn_id);
                                if let Some(conn) = st.conns.get_mut(&conn_id) {
                                    conn.welcomed = true;
                                }
                                let welcome = welcome_frame(
                                    &session_id,
                                    keepalive,
                                    &rfc3339(SystemTime::now()),
                                );
                                let _ = tx.send(Cmd::Text(welcome));
                                drop(st);
                                if let Some(done) = done {
                                    let _ = done.send(());
                                }
                                shared.changed.notify_waiters();
                            }
                        };
                        let delay = st.reconnect_welcome_delay;
                        if delay.is_zero() {
                            drop(st);
                            welcome();
                        } else {
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                welcome();
                            });
                        }
                        Some((conn_id, session_id, keepalive, None))
                    }
                    _ => None,
                }
            }
            None => {
                let session_id = session_id();
                let keepalive = effective_keepalive(st.keepalive_secs, &query);
                let connected_at = rfc3339(SystemTime::now());
                st.conns.insert(
                    conn_id,
                    Conn {
                        session_id: session_id.clone(),
                        tx: tx.clone(),
                        silent: false,
                        welcomed: true,
                    },
                );
                st.max_conns = st.max_conns.max(st.conns.len());
                st.sessions.push(Session {
                    id: session_id.clone(),
                    connected: true,
                    status: "connected".to_string(),
                    connected_at: connected_at.clone(),
                    disconnected_at: None,
                    keepalive_secs: keepalive,
                    paths: vec![uri.clone()],
                    subs: Vec::new(),
                    ever_subscribed: false,
                    active_conn: Some(conn_id),
                });
                st.new_sessions.push(session_id.clone());
                let _ = tx.send(Cmd::Text(welcome_frame(
                    &session_id,
                    keepalive,
                    &connected_at,
                )));
                let window = st
                    .unused_timeout
                    .unwrap_or(Some(Duration::from_secs(u64::from(keepalive))));
                let unused = window.map(|d| Instant::now() + d);
                Some((conn_id, session_id, keepalive, unused))
            }
        }
    };
    drop(tx);
    let Some((conn_id, session_id, keepalive, mut unused_deadline)) = setup else {
        close_ws(&mut ws, close_code::INVALID_RECONNECT, "invalid reconnect").await;
        return;
    };
    shared.changed.notify_waiters();

    let keepalive = Duration::from_secs(u64::from(keepalive));
    let mut last_sent = Instant::now();
    let ping = shared.lock().ping;
    let far = || Instant::now() + Duration::from_secs(3600);
    let mut next_ping = ping.map(|(every, _)| Instant::now() + every);
    // The payload of the ping awaiting its pong, and the deadline.
    let mut owed: Option<(Vec<u8>, Instant)> = None;
    let mut pings_sent = 0u64;
    loop {
        let unused_at =
            unused_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            cmd = rx.recv() => match cmd {
                Some(Cmd::Text(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        break;
                    }
                    last_sent = Instant::now();
                }
                Some(Cmd::Close(code, reason)) => {
                    close_ws(&mut ws, code, &reason).await;
                    break;
                }
                None => break,
            },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    inbound(&shared, &session_id, text.as_str().to_string());
                    close_ws(&mut ws, close_code::CLIENT_SENT_INBOUND_TRAFFIC, "client sent inbound traffic").await;
                    break;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    inbound(&shared, &session_id, String::from_utf8_lossy(&bytes).into_owned());
                    close_ws(&mut ws, close_code::CLIENT_SENT_INBOUND_TRAFFIC, "client sent inbound traffic").await;
                    break;
                }
                Some(Ok(Message::Pong(payload))) => {
                    if owed.as_ref().is_some_and(|(p, _)| p.as_slice() == payload.as_ref()) {
                        owed = None;
                        shared.lock().pongs += 1;
                        shared.changed.notify_waiters();
                    }
                }
                // Pings are answered by tungstenite; a client close is answered by tungstenite
                // and the stream then ends.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            () = tokio::time::sleep_until(next_ping.unwrap_or_else(far)), if next_ping.is_some() && owed.is_none() => {
                let (every, deadline) = ping.expect("pings are on");
                pings_sent += 1;
                let payload = format!("fake-ping-{pings_sent}").into_bytes();
                if ws.send(Message::Ping(payload.clone().into())).await.is_err() {
                    break;
                }
                owed = Some((payload, Instant::now() + deadline));
                next_ping = Some(Instant::now() + every);
            }
            () = tokio::time::sleep_until(owed.as_ref().map_or_else(far, |(_, at)| *at)), if owed.is_some() => {
                {
                    let mut st = shared.lock();
                    if st.session(&session_id).is_some_and(|s| s.active_conn == Some(conn_id)) {
                        st.end_session(&session_id, status_for_close(close_code::CLIENT_FAILED_PING_PONG));
                    }
                }
                shared.changed.notify_waiters();
                close_ws(&mut ws, close_code::CLIENT_FAILED_PING_PONG, "client failed ping-pong").await;
                break;
            }
            () = tokio::time::sleep_until(last_sent + keepalive) => {
                let silent = shared.lock().conns.get(&conn_id).is_none_or(|c| c.silent);
                if !silent && ws.send(Message::text(keepalive_frame())).await.is_err() {
                    break;
                }
                last_sent = Instant::now();
            }
            () = tokio::time::sleep_until(unused_at), if unused_deadline.is_some() => {
                unused_deadline = None;
                let unused = {
                    let mut st = shared.lock();
                    let silent = st.conns.get(&conn_id).is_none_or(|c| c.silent);
                    let idle = st
                        .session(&session_id)
                        .is_some_and(|s| s.connected && !s.ever_subscribed && s.active_conn == Some(conn_id));
                    let unused = idle && !silent;
                    if unused {
                        st.end_session(&session_id, status_for_close(close_code::CONNECTION_UNUSED));
                    }
                    unused
                };
                if unused {
                    shared.changed.notify_waiters();
                    close_ws(&mut ws, close_code::CONNECTION_UNUSED, "connection unused").await;
                    break;
                }
            }
        }
    }

    {
        let mut st = shared.lock();
        st.conns.remove(&conn_id);
        if st
            .session(&session_id)
            .is_some_and(|s| s.active_conn == Some(conn_id))
        {
            st.end_session(&session_id, "websocket_disconnected");
        }
        // A reconnect from this (old) socket that has not completed can no longer complete.
        st.pending.retain(|_, p| p.old_conn != conn_id);
    }
    shared.changed.notify_waiters();
}

/// Records an inbound data frame and ends the session as Twitch does (4001).
fn inbound(shared: &Shared, session_id: &str, text: String) {
    {
        let mut st = shared.lock();
        st.received.push(text);
        st.end_session(
            session_id,
            status_for_close(close_code::CLIENT_SENT_INBOUND_TRAFFIC),
        );
    }
    shared.changed.notify_waiters();
}

/// 64 random bits (std's randomly keyed SipHash over a counter and the clock).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A random version-4 UUID, lower-case hex.
fn uuid_v4() -> String {
    let hi = (random_u64() & !0xf000) | 0x4000;
    let lo = (random_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// A Twitch-looking session id (`AgoQ` + 22 base64url characters + `IGY2VsbC1h`).
fn session_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = (random_u64(), random_u64());
    let mut id = String::from("AgoQ");
    for i in 0..22 {
        let word = if i < 11 { &mut bits.0 } else { &mut bits.1 };
        id.push(ALPHABET[(*word & 63) as usize] as char);
        *word >>= 6;
    }
    id.push_str("IGY2VsbC1h");
    id
}

/// RFC 3339 UTC with nanoseconds, as Twitch writes timestamps: `2024-05-01T12:34:56.123456789Z`.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}
