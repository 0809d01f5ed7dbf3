//! A protocol-exact fake of Twitch's OAuth (`id.twitch.tv/oauth2`) and Helix
//! (`api.twitch.tv/helix`) HTTP APIs, for tests driving the real `twitch_api` 0.8 /
//! `twitch_oauth2` 0.17 clients.
//!
//! One axum server on `127.0.0.1:0` serves both `/oauth2/...` and `/helix/...`. Point the
//! clients at it with an `HttpClient` that rewrites `https://api.twitch.tv/helix/` to
//! [`FakeTwitch::helix_url`] and `https://id.twitch.tv/oauth2/` to [`FakeTwitch::oauth_url`].
//!
//! What it answers (the JSON shapes are the ones Twitch documents and the real clients parse):
//!
//! * OAuth: `POST /oauth2/device`, `POST /oauth2/token` (device code and refresh token grants),
//!   `GET /oauth2/validate`, `POST /oauth2/revoke`. Parameters are read from the query string
//!   *and* from a form body, because `twitch_oauth2` sends the device and revoke parameters in
//!   the query string and the refresh parameters as a form body (Twitch accepts both).
//!   Errors are `{"status":N,"message":"..."}`.
//! * Helix: `GET /helix/users`, `GET|PATCH /helix/channels`, `GET /helix/search/categories`,
//!   `GET /helix/games`, `POST|DELETE /helix/raids`, `POST /helix/chat/messages`,
//!   `GET /helix/streams`, `POST /helix/streams/markers`, `POST|GET /helix/clips`,
//!   `POST /helix/channels/commercial`, `POST /helix/channels/ads/schedule/snooze` (rules in
//!   `fake_twitch/moments.rs`), `POST|GET|DELETE /helix/eventsub/subscriptions` (through the
//!   EventSub fake, which owns the subscriptions). Every call checks the
//!   `Authorization: Bearer <token>` header (a token issued by this fake, not expired or
//!   revoked) and the `Client-Id` header (must be [`CLIENT_ID`]); scopes are checked where Twitch
//!   requires one. Errors are `{"error":"<reason phrase>","status":N,"message":"..."}`, and every
//!   Helix answer carries `Ratelimit-Limit`, `Ratelimit-Remaining` and `Ratelimit-Reset`.
//!
//! The state lives behind one `std::sync::Mutex` that is never held across an `.await`. Token
//! lifetimes use `tokio::time::Instant`, so a paused tokio clock expires them too; wall-clock
//! timestamps (`created_at`, `started_at`) use the system clock. The server task ends when the
//! last clone of the [`FakeTwitch`] is dropped.
//!
//! [`FakeTwitch::start_tls`] serves the same over HTTPS with a test CA's certificate
//! (`test_ca.rs`), for the TLS tests.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fake_eventsub::FakeEventSub;

mod moments;
pub use moments::{MadeCommercial, MadeMarker};

/// The test CA and TLS listener for [`FakeTwitch::start_tls`], included here so that includers
/// need not add it (use it as `fake_twitch::test_ca`: a second include is a duplicate module).
pub use crate::test_ca;

/// The client id of the fake application. Helix calls must send it as `Client-Id`, OAuth calls
/// as `client_id`.
pub const CLIENT_ID: &str = "fakeclientid0123456789";
/// The client secret of the fake application (optional on refresh, checked when sent).
pub const CLIENT_SECRET: &str = "fakeclientsecret0123456789";
/// The user id of the broadcaster who exists from the start.
pub const BROADCASTER_ID: &str = "1001";
/// The login of the broadcaster who exists from the start.
pub const BROADCASTER_LOGIN: &str = "streamer";
/// The display name of the broadcaster who exists from the start.
pub const BROADCASTER_DISPLAY_NAME: &str = "Streamer";

/// The default title of every channel.
pub const DEFAULT_TITLE: &str = "Fake stream";
/// The categories known from the start, `(id, name)`.
pub const DEFAULT_CATEGORIES: &[(&str, &str)] = &[
    ("509658", "Just Chatting"),
    ("509670", "Science & Technology"),
    ("21779", "League of Legends"),
    ("27471", "Minecraft"),
    ("498566", "Slots"),
];
/// The category a channel starts in (`Just Chatting`).
pub const DEFAULT_GAME_ID: &str = "509658";
/// `expires_in` of a refreshed or device-flow token unless [`FakeTwitch::set_refresh_expires_in`]
/// changed it (Twitch user tokens live about four hours).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(14_400);
/// `expires_in` of a device code, in seconds (Twitch: 1800).
pub const DEVICE_CODE_EXPIRES_IN: u64 = 1800;
/// `interval` of a device code, in seconds (Twitch: 5).
pub const DEVICE_CODE_INTERVAL: u64 = 5;
/// The `Ratelimit-Limit` the fake advertises (Twitch's default bucket: 800 points a minute).
pub const RATELIMIT_LIMIT: u64 = 800;
/// `max_total_cost` of EventSub subscriptions (Twitch's limit for a WebSocket session).
pub const EVENTSUB_MAX_TOTAL_COST: u64 = 10;
/// The longest title `PATCH /helix/channels` accepts, in characters.
pub const MAX_TITLE_CHARS: usize = 140;
/// The longest chat message `POST /helix/chat/messages` accepts, in characters.
pub const MAX_CHAT_CHARS: usize = 500;
/// A chat message identical to the sender's previous one in that channel, less than this after
/// it, is dropped: IRC `NOTICE` msg-id `msg_duplicate`, "Your message was not sent because it is
/// identical to the previous one you sent, less than 30 seconds ago."
/// (https://dev.twitch.tv/docs/irc/msg-id/). Helix answers such a post `is_sent: false` with a
/// `drop_reason {code, message}` (https://dev.twitch.tv/docs/api/reference/#send-chat-message),
/// code `msg_duplicate` (twitch_api 0.8 `ChatMessageDropCode::MsgDuplicate`).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(30);

/// A channel's current information, as `GET /helix/channels` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The stream title.
    pub title: String,
    /// The category id (`""` when unset).
    pub game_id: String,
    /// The category name (`""` when unset).
    pub game_name: String,
}

/// A chat message accepted by `POST /helix/chat/messages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentChat {
    /// `broadcaster_id` of the request body: the chat room.
    pub broadcaster_id: String,
    /// `sender_id` of the request body.
    pub sender_id: String,
    /// The message text.
    pub message: String,
    /// `reply_parent_message_id` of the request body, if any.
    pub reply_parent_message_id: Option<String>,
    /// The user id of the token that sent it.
    pub token_user_id: String,
    /// The `message_id` the fake answered with.
    pub message_id: String,
}

/// One request the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// HTTP method, e.g. `"PATCH"`.
    pub method: String,
    /// Path, e.g. `"/helix/channels"`.
    pub path: String,
    /// Raw query string (`""` when none).
    pub query: String,
    /// The `Client-Id` header, if sent.
    pub client_id: Option<String>,
    /// The `Authorization` header, if sent (e.g. `"Bearer abc"` or `"OAuth abc"`).
    pub authorization: Option<String>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The request body, lossily decoded as UTF-8.
    pub body: String,
    /// The status code the fake answered with.
    pub status: u16,
}

impl Recorded {
    /// The decoded query parameters, in order (repeated keys kept).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_pairs(self.query.as_bytes())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// The fake Twitch. Cheap to clone; every clone shares one server and one state.
#[derive(Clone)]
pub struct FakeTwitch {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// `http`, or `https` when started with [`FakeTwitch::start_tls`].
    scheme: &'static str,
    /// Failed TLS handshakes (always empty over plain HTTP).
    handshake_errors: Arc<Mutex<Vec<String>>>,
    _server: Arc<test_ca::AbortOnDrop>,
}

struct Shared {
    state: Mutex<State>,
    chat_count: watch::Sender<usize>,
    /// How many requests have been recorded (see [`FakeTwitch::wait_for_request`]).
    requests_seen: watch::Sender<usize>,
    /// `false` while tests hold the answers to `POST /helix/chat/messages`.
    chat_answers: watch::Sender<bool>,
    eventsub: Option<FakeEventSub>,
    random: std::collections::hash_map::RandomState,
    counter: AtomicU64,
}

#[derive(Clone)]
struct User {
    id: String,
    login: String,
    display_name: String,
}

struct Token {
    user_id: String,
    scopes: Vec<String>,
    expires_at: Instant,
}

struct Refresh {
    user_id: String,
    scopes: Vec<String>,
}

struct Device {
    user_code: String,
    scopes: Vec<String>,
    expires_at: Instant,
    approved: Option<(String, Vec<String>)>,
}

struct Live {
    stream_id: String,
    viewers: u64,
    started_at: String,
    /// The same moment on the tokio clock (marker positions).
    started: Instant,
}

struct State {
    users: BTreeMap<String, User>,
    tokens: HashMap<String, Token>,
    refresh_tokens: HashMap<String, Refresh>,
    fail_refresh: bool,
    refresh_expires_in: Duration,
    devices: HashMap<String, Device>,
    live: HashMap<String, Live>,
    categories: Vec<(String, String)>,
    channels: HashMap<String, ChannelInfo>,
    chats: Vec<SentChat>,
    /// Chat messages dropped as duplicates.
    dropped_chats: Vec<SentChat>,
    /// Per (broadcaster, sender): the last chat message accepted and when.
    last_chat: HashMap<(String, String), (String, Instant)>,
    raids: Vec<(String, String)>,
    pending_raids: HashMap<String, String>,
    rate_limited_calls: usize,
    /// Only Helix calls whose path starts with this are rate limited.
    rate_limit_path: String,
    /// Added before every Helix answer ([`FakeTwitch::set_helix_delay`]).
    helix_delay: Duration,
    rate_limit_reset: SystemTime,
    requests: Vec<Recorded>,
    /// Subscription id -> user id of the token that created it.
    subscription_owners: HashMap<String, String>,
    created_subscriptions: Vec<Value>,
    /// Markers, clips and ads (`moments.rs`).
    moments: moments::Moments,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeTwitch {
    /// Starts the fake on `127.0.0.1:0`. `eventsub` receives the websocket subscriptions created
    /// with `POST /helix/eventsub/subscriptions`; without it such a request answers 400 as for
    /// an unknown session.
    pub async fn start(eventsub: Option<FakeEventSub>) -> FakeTwitch {
        FakeTwitch::start_with(eventsub, None).await
    }

    /// [`FakeTwitch::start`] over HTTPS: `acceptor` holds the certificate (see `test_ca.rs`).
    pub async fn start_tls(
        eventsub: Option<FakeEventSub>,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> FakeTwitch {
        FakeTwitch::start_with(eventsub, Some(acceptor)).await
    }

    async fn start_with(
        eventsub: Option<FakeEventSub>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> FakeTwitch {
        let mut state = State {
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            fail_refresh: false,
            refresh_expires_in: DEFAULT_TOKEN_LIFETIME,
            devices: HashMap::new(),
            live: HashMap::new(),
            categories: DEFAULT_CATEGORIES
                .iter()
                .map(|(id, name)| (id.to_string(), name.to_string()))
                .collect(),
            channels: HashMap::new(),
            chats: Vec::new(),
            dropped_chats: Vec::new(),
            last_chat: HashMap::new(),
            raids: Vec::new(),
            pending_raids: HashMap::new(),
            rate_limited_calls: 0,
            rate_limit_path: String::new(),
            helix_delay: Duration::ZERO,
            rate_limit_reset: SystemTime::now(),
            requests: Vec::new(),
            subscription_owners: HashMap::new(),
            created_subscriptions: Vec::new(),
            moments: Default::default(),
        };
        insert_user(
            &mut state,
            BROADCASTER_ID,
            BROADCASTER_LOGIN,
            BROADCASTER_DISPLAY_NAME,
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            chat_count: watch::channel(0).0,
            requests_seen: watch::channel(0).0,
            chat_answers: watch::channel(true).0,
            eventsub,
            random: std::collections::hash_map::RandomState::new(),
            counter: AtomicU64::new(1),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let served = test_ca::serve(app, tls).await;
        FakeTwitch {
            shared,
            addr: served.addr,
            scheme: served.scheme,
            handshake_errors: served.handshake_errors,
            _server: Arc::new(served.task),
        }
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Helix base URL, `http://127.0.0.1:<port>/helix/` (`https` over TLS; with the
    /// trailing slash `twitch_api` needs, since it `Url::join`s endpoint paths).
    pub fn helix_url(&self) -> String {
        format!("{}://{}/helix/", self.scheme, self.addr)
    }

    /// The OAuth base URL, `http://127.0.0.1:<port>/oauth2/` (`https` over TLS).
    pub fn oauth_url(&self) -> String {
        format!("{}://{}/oauth2/", self.scheme, self.addr)
    }

    /// Why TLS handshakes with the fake failed so far (a client that does not trust the
    /// certificate ends its handshake with an alert).
    pub fn handshake_errors(&self) -> Vec<String> {
        self.handshake_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds (or renames) a user. The broadcaster ([`BROADCASTER_ID`]) exists from the start.
    /// The user's channel starts with [`DEFAULT_TITLE`] in `Just Chatting`.
    pub fn add_user(&self, id: &str, login: &str, display_name: &str) {
        insert_user(&mut lock(&self.shared), id, login, display_name);
    }

    /// Issues a token pair for an existing user, as if they had authorised the fake app with
    /// `scopes`. The access token expires after `expires_in`. Panics if the user is unknown.
    pub fn issue_token(
        &self,
        user_id: &str,
        scopes: &[&str],
        expires_in: Duration,
    ) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut state = lock(&self.shared);
        assert!(
            state.users.contains_key(user_id),
            "fake twitch: issue_token for unknown user {user_id}"
        );
        mint_pair(&self.shared, &mut state, user_id, scopes, expires_in)
    }

    /// Issues a token pair (see [`FakeTwitch::issue_token`]) and stores it in the product's
    /// state directory as `file` (`auth::TOKEN_FILE` or `auth::BOT_TOKEN_FILE`), the way a
    /// finished `login` leaves it, so the product starts signed in. Returns the pair.
    pub fn sign_in(
        &self,
        state_dir: &std::path::Path,
        file: &str,
        user_id: &str,
        scopes: &[&str],
        expires_in: Duration,
    ) -> (String, String) {
        use stream_control::twitch::auth::{self, StoredToken};
        let (access, refresh) = self.issue_token(user_id, scopes, expires_in);
        auth::save(
            &stream_control::state_store::StateDir::new(state_dir),
            file,
            &StoredToken::from_pair(access.clone(), Some(refresh.clone())),
            &stream_control::secrets::Redactor::default(),
        )
        .expect("fake twitch: store the token file");
        (access, refresh)
    }

    /// The `twitch` section's addresses for this fake and `eventsub`:
    /// `helix_url: "…", oauth_url: "…", eventsub_url: "…"`.
    pub fn config_urls(&self, eventsub: &FakeEventSub) -> String {
        format!(
            r#"helix_url: "{}", oauth_url: "{}", eventsub_url: "{}""#,
            self.helix_url(),
            self.oauth_url(),
            eventsub.url()
        )
    }

    /// The broadcaster signed in as `stream-control twitch login` leaves it: every scope the
    /// bot asks for, a 4 h token, in the token file of `state_dir`.
    pub fn sign_in_broadcaster(&self, state_dir: &std::path::Path) -> (String, String) {
        use stream_control::twitch::auth;
        let four_hours = Duration::from_secs(4 * 3600);
        self.sign_in(
            state_dir,
            auth::TOKEN_FILE,
            BROADCASTER_ID,
            auth::SCOPES,
            four_hours,
        )
    }

    /// Makes an access token invalid from now on: validate answers 401 and Helix answers 401
    /// for it. Its refresh token keeps working.
    pub fn expire(&self, access: &str) {
        if let Some(token) = lock(&self.shared).tokens.get_mut(access) {
            token.expires_at = Instant::now();
        }
    }

    /// The user disconnects the application (or changes the password): every access and
    /// refresh token of `user_id` stops working (validate and Helix answer 401, a refresh 400
    /// "Invalid refresh token"), and each of the user's enabled EventSub subscriptions is
    /// revoked with `authorization_revoked` ("the users in the condition object revoked their
    /// authorization letting you get events on their behalf, or changed their password",
    /// dev.twitch.tv/docs/eventsub/handling-websocket-events#revocation-message).
    pub fn revoke_authorization(&self, user_id: &str) {
        let ids: Vec<String> = {
            let mut state = lock(&self.shared);
            state.tokens.retain(|_, t| t.user_id != user_id);
            state.refresh_tokens.retain(|_, r| r.user_id != user_id);
            state
                .subscription_owners
                .iter()
                .filter(|(_, owner)| *owner == user_id)
                .map(|(id, _)| id.clone())
                .collect()
        };
        if let Some(eventsub) = &self.shared.eventsub {
            eventsub.revoke_ids(&ids, "authorization_revoked");
        }
    }

    /// While on, every refresh answers 400 `{"status":400,"message":"Invalid refresh token"}`.
    pub fn fail_refresh(&self, on: bool) {
        lock(&self.shared).fail_refresh = on;
    }

    /// The lifetime (`expires_in`) of tokens minted by refresh and by the device flow from now
    /// on (default [`DEFAULT_TOKEN_LIFETIME`]).
    pub fn set_refresh_expires_in(&self, d: Duration) {
        lock(&self.shared).refresh_expires_in = d;
    }

    /// Completes a device flow as if the user had entered `user_code` on the activation page
    /// and authorised `scopes` as `user_id`. Returns false if no unexpired, unapproved device
    /// code has that user code (or the user is unknown). The next token poll returns the token.
    pub fn approve_device(&self, user_code: &str, user_id: &str, scopes: &[&str]) -> bool {
        let mut state = lock(&self.shared);
        if !state.users.contains_key(user_id) {
            return false;
        }
        let now = Instant::now();
        let wanted = user_code.trim().to_ascii_uppercase();
        match state
            .devices
            .values_mut()
            .find(|d| d.user_code == wanted && d.approved.is_none() && d.expires_at > now)
        {
            Some(device) => {
                device.approved = Some((
                    user_id.to_string(),
                    scopes.iter().map(|s| s.to_string()).collect(),
                ));
                true
            }
            None => false,
        }
    }

    /// The user codes of device flows started and not yet approved, in no particular order
    /// (for a test that does not see the `/oauth2/device` answer itself).
    pub fn pending_user_codes(&self) -> Vec<String> {
        lock(&self.shared)
            .devices
            .values()
            .filter(|d| d.approved.is_none())
            .map(|d| d.user_code.clone())
            .collect()
    }

    /// Puts a user's stream live with `viewers` viewers (a stream that is already live keeps
    /// its id and `started_at`), or offline.
    pub fn set_live(&self, user_id: &str, live: bool, viewers: u64) {
        let mut state = lock(&self.shared);
        if !live {
            state.live.remove(user_id);
            return;
        }
        if let Some(stream) = state.live.get_mut(user_id) {
            stream.viewers = viewers;
            return;
        }
        let stream_id = format!(
            "4{:010}",
            self.shared.counter.fetch_add(1, Ordering::Relaxed)
        );
        state.live.insert(
            user_id.to_string(),
            Live {
                stream_id,
                viewers,
                started_at: rfc3339(SystemTime::now(), false),
                started: Instant::now(),
            },
        );
    }

    /// Adds (or renames) a category for search, games and channel updates.
    pub fn add_category(&self, id: &str, name: &str) {
        let mut state = lock(&self.shared);
        match state.categories.iter_mut().find(|(cid, _)| cid == id) {
            Some(entry) => entry.1 = name.to_string(),
            None => state.categories.push((id.to_string(), name.to_string())),
        }
    }

    /// The broadcaster's current channel information.
    pub fn channel(&self) -> ChannelInfo {
        self.channel_of(BROADCASTER_ID)
    }

    /// Any user's current channel information (default for an unknown user).
    pub fn channel_of(&self, user_id: &str) -> ChannelInfo {
        lock(&self.shared)
            .channels
            .get(user_id)
            .cloned()
            .unwrap_or_else(default_channel)
    }

    /// Every chat message accepted so far, in order.
    pub fn chat_messages(&self) -> Vec<SentChat> {
        lock(&self.shared).chats.clone()
    }

    /// Every chat message dropped as a duplicate ([`DUPLICATE_WINDOW`]), in order.
    pub fn dropped_chat_messages(&self) -> Vec<SentChat> {
        lock(&self.shared).dropped_chats.clone()
    }

    /// From now on, `POST /helix/chat/messages` records the message (see
    /// [`wait_for_chat`](Self::wait_for_chat)) but answers only after
    /// [`release_chat_answers`](Self::release_chat_answers): the message's echo can then be
    /// delivered over EventSub before its sender hears back, as happens on Twitch.
    pub fn hold_chat_answers(&self) {
        self.shared.chat_answers.send_replace(false);
    }

    /// Answers the held chat posts, and the next ones at once.
    pub fn release_chat_answers(&self) {
        self.shared.chat_answers.send_replace(true);
    }

    /// Waits (without polling) for the chat message with index `since` (0-based, in
    /// [`chat_messages`](Self::chat_messages) order) and returns it; `None` after `timeout`.
    pub async fn wait_for_chat(&self, since: usize, timeout: Duration) -> Option<SentChat> {
        let mut count = self.shared.chat_count.subscribe();
        let arrived = tokio::time::timeout(timeout, count.wait_for(|n| *n > since)).await;
        match arrived {
            Ok(Ok(_)) => lock(&self.shared).chats.get(since).cloned(),
            _ => None,
        }
    }

    /// Every raid started so far, `(from_broadcaster_id, to_broadcaster_id)`, in order
    /// (cancelled ones included).
    pub fn raids(&self) -> Vec<(String, String)> {
        lock(&self.shared).raids.clone()
    }

    /// The next `calls` Helix calls (whatever their token) answer 429
    /// `{"error":"Too Many Requests","status":429,"message":"Too Many Requests"}` with
    /// `Ratelimit-Remaining: 0` and `Ratelimit-Reset` = now + `reset_in` (Unix seconds).
    pub fn rate_limit_next(&self, calls: usize, reset_in: Duration) {
        self.rate_limit_next_on("", calls, reset_in);
    }

    /// [`rate_limit_next`](FakeTwitch::rate_limit_next) for Helix paths starting with
    /// `path_prefix` only (e.g. `"/helix/eventsub"`).
    pub fn rate_limit_next_on(&self, path_prefix: &str, calls: usize, reset_in: Duration) {
        let mut state = lock(&self.shared);
        state.rate_limited_calls = calls;
        state.rate_limit_path = path_prefix.to_string();
        state.rate_limit_reset = SystemTime::now() + reset_in;
    }

    /// Every Helix call is answered only after `delay` (a slow Twitch; OAuth stays fast).
    pub fn set_helix_delay(&self, delay: Duration) {
        lock(&self.shared).helix_delay = delay;
    }

    /// The subscription objects answered to `POST /helix/eventsub/subscriptions` so far, in
    /// order, as created (the EventSub fake holds their current state).
    pub fn eventsub_subscriptions(&self) -> Vec<Value> {
        lock(&self.shared).created_subscriptions.clone()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }

    /// Waits (without polling) for a recorded request, answered or dropped alike, that
    /// passes `check`, and returns it; `None` after `timeout`.
    pub async fn wait_for_request(
        &self,
        check: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        let mut seen = self.shared.requests_seen.subscribe();
        let found = tokio::time::timeout(timeout, async {
            loop {
                if let Some(found) = lock(&self.shared).requests.iter().find(|r| check(r)) {
                    return Some(found.clone());
                }
                seen.changed().await.ok()?;
            }
        });
        found.await.ok().flatten()
    }

    /// How many requests had a path starting with `path_prefix` (e.g. `"/helix/chat"`).
    pub fn request_count(&self, path_prefix: &str) -> usize {
        lock(&self.shared)
            .requests
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .count()
    }
}

fn default_channel() -> ChannelInfo {
    let name = DEFAULT_CATEGORIES
        .iter()
        .find(|(id, _)| *id == DEFAULT_GAME_ID)
        .map(|(_, name)| name.to_string())
        .unwrap_or_default();
    ChannelInfo {
        title: DEFAULT_TITLE.to_string(),
        game_id: DEFAULT_GAME_ID.to_string(),
        game_name: name,
    }
}

fn insert_user(state: &mut State, id: &str, login: &str, display_name: &str) {
    state.users.insert(
        id.to_string(),
        User {
            id: id.to_string(),
            login: login.to_ascii_lowercase(),
            display_name: display_name.to_string(),
        },
    );
    state
        .channels
        .entry(id.to_string())
        .or_insert_with(default_channel);
}

/// A random-looking string of `len` characters from `alphabet`.
fn random_string(shared: &Shared, len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut hasher = shared.random.build_hasher();
        hasher.write_u64(shared.counter.fetch_add(1, Ordering::Relaxed));
        let mut bits = hasher.finish();
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            out.push(alphabet[(bits % alphabet.len() as u64) as usize] as char);
            bits /= alphabet.len() as u64;
        }
    }
    out
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const HEX: &[u8] = b"0123456789abcdef";

/// A token as Twitch formats them: 30 characters `[a-z0-9]`.
fn new_token(shared: &Shared) -> String {
    random_string(shared, 30, LOWER_ALNUM)
}

/// A UUID-shaped id (message ids, subscription ids).
fn new_uuid(shared: &Shared) -> String {
    let s = random_string(shared, 32, HEX);
    format!(
        "{}-{}-4{}-a{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        &s[17..20],
        &s[20..32]
    )
}

fn mint_pair(
    shared: &Shared,
    state: &mut State,
    user_id: &str,
    scopes: Vec<String>,
    expires_in: Duration,
) -> (String, String) {
    let access = new_token(shared);
    let refresh = random_string(shared, 50, LOWER_ALNUM);
    state.tokens.insert(
        access.clone(),
        Token {
            user_id: user_id.to_string(),
            scopes: scopes.clone(),
            expires_at: Instant::now() + expires_in,
        },
    );
    state.refresh_tokens.insert(
        refresh.clone(),
        Refresh {
            user_id: user_id.to_string(),
            scopes,
        },
    );
    (access, refresh)
}

/// RFC 3339 UTC, optionally with fractional seconds (`2022-02-18T07:20:50.520000Z`).
fn rfc3339(t: SystemTime, fraction: bool) -> String {
    if fraction {
        humantime::format_rfc3339_micros(t).to_string()
    } else {
        humantime::format_rfc3339_seconds(t).to_string()
    }
}

fn unix_secs_ceil(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn params_all<'a>(params: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// An answer before it becomes an HTTP response.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    /// An OAuth error: `{"status":N,"message":"..."}`.
    fn oauth_error(status: StatusCode, message: &str) -> Reply {
        Reply::json(
            status,
            json!({ "status": status.as_u16(), "message": message }),
        )
    }

    /// A Helix error: `{"error":"<reason>","status":N,"message":"..."}`.
    fn helix_error(status: StatusCode, message: &str) -> Reply {
        Reply::json(
            status,
            json!({
                "error": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "message": message,
            }),
        )
    }

    fn bad_request(message: &str) -> Reply {
        Reply::helix_error(StatusCode::BAD_REQUEST, message)
    }

    fn unauthorized(message: &str) -> Reply {
        Reply::helix_error(StatusCode::UNAUTHORIZED, message)
    }

    fn into_response(self) -> Response {
        let mut builder = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            builder = builder.header(*name, value.as_str());
        }
        let body = match self.body {
            Some(value) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        builder
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

/// One incoming request, decoded.
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Query parameters followed by form-body parameters.
    fn form_and_query(&self) -> Vec<(String, String)> {
        let mut all = self.query.clone();
        let is_json = self
            .header("content-type")
            .is_some_and(|c| c.contains("json"));
        if !is_json {
            all.extend(form_pairs(self.body));
        }
        all
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let raw_query = uri.query().unwrap_or("").to_string();
    let incoming = Incoming {
        method: &method,
        path: &path,
        query: form_pairs(raw_query.as_bytes()),
        headers: &headers,
        body: &body,
    };
    let reply = if let Some(rest) = path.strip_prefix("/oauth2/") {
        oauth(&shared, rest, &incoming)
    } else if let Some(rest) = path.strip_prefix("/helix/") {
        let delay = lock(&shared).helix_delay;
        tokio::time::sleep(delay).await;
        helix(&shared, rest, &incoming)
    } else {
        Reply::helix_error(StatusCode::NOT_FOUND, "")
    };
    let text = |name: &header::HeaderName| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let recorded = Recorded {
        method: method.to_string(),
        path,
        query: raw_query,
        client_id: text(&header::HeaderName::from_static("client-id")),
        authorization: text(&header::AUTHORIZATION),
        content_type: text(&header::CONTENT_TYPE),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: reply.status.as_u16(),
    };
    let seen = {
        let mut state = lock(&shared);
        state.requests.push(recorded);
        state.requests.len()
    };
    shared.requests_seen.send_replace(seen);
    if method == Method::POST && recorded_path_is_chat(&uri) {
        let mut open = shared.chat_answers.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
    reply.into_response()
}

fn recorded_path_is_chat(uri: &Uri) -> bool {
    uri.path() == "/helix/chat/messages"
}

// ---------------------------------------------------------------------------------------------
// OAuth

fn oauth(shared: &Shared, rest: &str, req: &Incoming<'_>) -> Reply {
    match (req.method.as_str(), rest) {
        ("POST", "device") => device(shared, req),
        ("POST", "token") => token(shared, req),
        ("GET", "validate") => validate(shared, req),
        ("POST", "revoke") => revoke(shared, req),
        _ => Reply::oauth_error(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

fn device(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let params = req.form_and_query();
    match param(&params, "client_id") {
        None | Some("") => return Reply::oauth_error(StatusCode::BAD_REQUEST, "missing client id"),
        Some(id) if id != CLIENT_ID => {
            return Reply::oauth_error(StatusCode::BAD_REQUEST, "invalid client");
        }
        Some(_) => {}
    }
    let scopes: Vec<String> = param(&params, "scopes")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let device_code = random_string(shared, 40, LOWER_ALNUM);
    let user_code = random_string(shared, 8, UPPER);
    lock(shared).devices.insert(
        device_code.clone(),
        Device {
            user_code: user_code.clone(),
            scopes,
            expires_at: Instant::now() + Duration::from_secs(DEVICE_CODE_EXPIRES_IN),
            approved: None,
        },
    );
    Reply::json(
        StatusCode::OK,
        json!({
            "device_code": device_code,
            "expires_in": DEVICE_CODE_EXPIRES_IN,
            "interval": DEVICE_CODE_INTERVAL,
            "user_code": user_code,
            "verification_uri": format!(
                "https://www.twitch.tv/activate?public=true&device-code={user_code}"
            ),
        }),
    )
}

fn token_json(access: &str, refresh: &str, scopes: &[String], expires_in: Duration) -> Value {
    json!({
        "access_token": access,
        "expires_in": expires_in.as_secs(),
        "refresh_token": refresh,
        "scope": scopes,
        "token_type": "bearer",
    })
}

fn token(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let params = req.form_and_query();
    match param(&params, "client_id") {
        None | Some("") => return Reply::oauth_error(StatusCode::BAD_REQUEST, "missing client id"),
        Some(id) if id != CLIENT_ID => {
            return Reply::oauth_error(StatusCode::BAD_REQUEST, "invalid client");
        }
        Some(_) => {}
    }
    if let Some(secret) = param(&params, "client_secret")
        && secret != CLIENT_SECRET
    {
        return Reply::oauth_error(StatusCode::FORBIDDEN, "invalid client secret");
    }
    let mut state = lock(shared);
    match param(&params, "grant_type") {
        Some("refresh_token") => {
            let Some(refresh) = param(&params, "refresh_token").filter(|r| !r.is_empty()) else {
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "missing refresh token");
            };
            if state.fail_refresh {
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "Invalid refresh token");
            }
            let Some(old) = state.refresh_tokens.remove(refresh) else {
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "Invalid refresh token");
            };
            let lifetime = state.refresh_expires_in;
            let (access, refresh) = mint_pair(
                shared,
                &mut state,
                &old.user_id,
                old.scopes.clone(),
                lifetime,
            );
            Reply::json(
                StatusCode::OK,
                token_json(&access, &refresh, &old.scopes, lifetime),
            )
        }
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let code = param(&params, "device_code").unwrap_or("");
            let now = Instant::now();
            let Some(device) = state.devices.get(code) else {
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "invalid device code");
            };
            if device.expires_at <= now {
                state.devices.remove(code);
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "invalid device code");
            }
            let Some((user_id, scopes)) = device.approved.clone() else {
                return Reply::oauth_error(StatusCode::BAD_REQUEST, "authorization_pending");
            };
            state.devices.remove(code);
            let lifetime = state.refresh_expires_in;
            let (access, refresh) =
                mint_pair(shared, &mut state, &user_id, scopes.clone(), lifetime);
            Reply::json(
                StatusCode::OK,
                token_json(&access, &refresh, &scopes, lifetime),
            )
        }
        None | Some("") => Reply::oauth_error(StatusCode::BAD_REQUEST, "missing grant type"),
        Some(_) => Reply::oauth_error(StatusCode::BAD_REQUEST, "unsupported grant type"),
    }
}

/// The token of an `Authorization: <scheme> <token>` header, for any of `schemes`.
fn auth_token<'a>(req: &'a Incoming<'_>, schemes: &[&str]) -> Option<&'a str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then_some(token.trim())
}

fn validate(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let Some(access) = auth_token(req, &["OAuth", "Bearer"]) else {
        return Reply::oauth_error(StatusCode::UNAUTHORIZED, "missing authorization token");
    };
    let state = lock(shared);
    let now = Instant::now();
    let Some(token) = state.tokens.get(access).filter(|t| t.expires_at > now) else {
        return Reply::oauth_error(StatusCode::UNAUTHORIZED, "invalid access token");
    };
    let left = token.expires_at - now;
    // Round up: 0 would mean "never expires" to twitch_oauth2.
    let expires_in = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let login = state
        .users
        .get(&token.user_id)
        .map(|u| u.login.clone())
        .unwrap_or_default();
    Reply::json(
        StatusCode::OK,
        json!({
            "client_id": CLIENT_ID,
            "login": login,
            "scopes": token.scopes,
            "user_id": token.user_id,
            "expires_in": expires_in,
        }),
    )
}

fn revoke(shared: &Shared, req: &Incoming<'_>) -> Reply {
    let params = req.form_and_query();
    match param(&params, "client_id") {
        None | Some("") => return Reply::oauth_error(StatusCode::BAD_REQUEST, "missing client id"),
        Some(id) if id != CLIENT_ID => {
            return Reply::oauth_error(StatusCode::BAD_REQUEST, "invalid client");
        }
        Some(_) => {}
    }
    let token = param(&params, "token").unwrap_or("");
    let mut state = lock(shared);
    let access = state.tokens.remove(token).is_some();
    let refresh = state.refresh_tokens.remove(token).is_some();
    if access || refresh {
        Reply::empty(StatusCode::OK)
    } else {
        Reply::oauth_error(StatusCode::BAD_REQUEST, "Invalid token")
    }
}

// ---------------------------------------------------------------------------------------------
// Helix

/// Who is calling.
struct Caller {
    user_id: String,
    scopes: Vec<String>,
}

impl Caller {
    fn require(&self, scope: &str) -> Result<(), Reply> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Reply::unauthorized(&format!("Missing scope: {scope}")))
        }
    }
}

fn helix(shared: &Shared, rest: &str, req: &Incoming<'_>) -> Reply {
    let rate_limited = {
        let mut state = lock(shared);
        if state.rate_limited_calls > 0 && req.path.starts_with(&state.rate_limit_path) {
            state.rate_limited_calls -= 1;
            Some(state.rate_limit_reset)
        } else {
            None
        }
    };
    if let Some(reset) = rate_limited {
        let mut reply = Reply::helix_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        reply.headers = vec![
            ("Ratelimit-Limit", RATELIMIT_LIMIT.to_string()),
            ("Ratelimit-Remaining", "0".to_string()),
            ("Ratelimit-Reset", unix_secs_ceil(reset).to_string()),
        ];
        return reply;
    }
    let mut reply = match authenticate(shared, req) {
        Ok(caller) => helix_route(shared, rest, req, &caller).unwrap_or_else(|e| e),
        Err(reply) => reply,
    };
    reply.headers = vec![
        ("Ratelimit-Limit", RATELIMIT_LIMIT.to_string()),
        ("Ratelimit-Remaining", (RATELIMIT_LIMIT - 1).to_string()),
        (
            "Ratelimit-Reset",
            unix_secs_ceil(SystemTime::now() + Duration::from_secs(60)).to_string(),
        ),
    ];
    reply
}

fn authenticate(shared: &Shared, req: &Incoming<'_>) -> Result<Caller, Reply> {
    if req.header("authorization").is_none() {
        return Err(Reply::unauthorized("OAuth token is missing"));
    }
    let Some(access) = auth_token(req, &["Bearer"]) else {
        return Err(Reply::unauthorized("Invalid OAuth token"));
    };
    let state = lock(shared);
    let Some(token) = state
        .tokens
        .get(access)
        .filter(|t| t.expires_at > Instant::now())
    else {
        return Err(Reply::unauthorized("Invalid OAuth token"));
    };
    match req.header("client-id") {
        None | Some("") => return Err(Reply::unauthorized("Client ID is missing")),
        Some(id) if id != CLIENT_ID => {
            return Err(Reply::unauthorized(
                "Client ID and OAuth token do not match",
            ));
        }
        Some(_) => {}
    }
    Ok(Caller {
        user_id: token.user_id.clone(),
        scopes: token.scopes.clone(),
    })
}

fn helix_route(
    shared: &Shared,
    rest: &str,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    match (req.method.as_str(), rest) {
        ("GET", "users") => get_users(shared, req, caller),
        ("GET", "channels") => get_channels(shared, req),
        ("PATCH", "channels") => patch_channel(shared, req, caller),
        ("GET", "search/categories") => search_categories(shared, req),
        ("GET", "games") => get_games(shared, req),
        ("POST", "raids") => start_raid(shared, req, caller),
        ("DELETE", "raids") => cancel_raid(shared, req, caller),
        ("POST", "chat/messages") => send_chat(shared, req, caller),
        ("GET", "streams") => get_streams(shared, req),
        ("POST", "streams/markers") => moments::create_marker(shared, req, caller),
        ("POST", "clips") => moments::create_clip(shared, req, caller),
        ("GET", "clips") => moments::get_clips(shared, req),
        ("POST", "channels/commercial") => moments::start_commercial(shared, req, caller),
        ("POST", "channels/ads/schedule/snooze") => moments::snooze_next_ad(shared, req, caller),
        ("POST", "eventsub/subscriptions") => create_subscription(shared, req, caller),
        ("GET", "eventsub/subscriptions") => list_subscriptions(shared, req, caller),
        ("DELETE", "eventsub/subscriptions") => delete_subscription(shared, req, caller),
        _ => Err(Reply::helix_error(StatusCode::NOT_FOUND, "")),
    }
}

fn missing(name: &str) -> Reply {
    Reply::bad_request(&format!("Missing required parameter \"{name}\""))
}

/// `first`, 1..=100, default `default`.
fn first_param(req: &Incoming<'_>, default: usize) -> Result<usize, Reply> {
    match param(&req.query, "first") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(Reply::bad_request(
                "The parameter \"first\" was malformed: the value must be less than or equal to 100",
            )),
        },
    }
}

fn box_art_url(id: &str) -> String {
    format!("https://static-cdn.jtvnw.net/ttv-boxart/{id}-{{width}}x{{height}}.jpg")
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "type": "",
        "broadcaster_type": "",
        "description": "",
        "profile_image_url": format!(
            "https://static-cdn.jtvnw.net/jtv_user_pictures/{}-profile_image-300x300.png",
            user.id
        ),
        "offline_image_url": "",
        "view_count": 0,
        "created_at": "2016-12-14T20:32:28Z",
    })
}

fn get_users(shared: &Shared, req: &Incoming<'_>, caller: &Caller) -> Result<Reply, Reply> {
    let ids = params_all(&req.query, "id");
    let logins = params_all(&req.query, "login");
    if ids.len() + logins.len() > 100 {
        return Err(Reply::bad_request(
            "The sum of the \"id\" and \"login\" parameters must not exceed 100",
        ));
    }
    let state = lock(shared);
    let data: Vec<Value> = if ids.is_empty() && logins.is_empty() {
        state
            .users
            .get(&caller.user_id)
            .map(user_json)
            .into_iter()
            .collect()
    } else {
        state
            .users
            .values()
            .filter(|u| {
                ids.contains(&u.id.as_str())
                    || logins.iter().any(|l| l.eq_ignore_ascii_case(&u.login))
            })
            .map(user_json)
            .collect()
    };
    Ok(Reply::json(StatusCode::OK, json!({ "data": data })))
}

fn get_channels(shared: &Shared, req: &Incoming<'_>) -> Result<Reply, Reply> {
    let ids = params_all(&req.query, "broadcaster_id");
    if ids.is_empty() {
        return Err(missing("broadcaster_id"));
    }
    if ids.len() > 100 {
        return Err(Reply::bad_request(
            "The number of \"broadcaster_id\" parameters must not exceed 100",
        ));
    }
    let state = lock(shared);
    let data: Vec<Value> = ids
        .iter()
        .filter_map(|id| state.users.get(*id))
        .map(|user| {
            let channel = state
                .channels
                .get(&user.id)
                .cloned()
                .unwrap_or_else(default_channel);
            json!({
                "broadcaster_id": user.id,
                "broadcaster_login": user.login,
                "broadcaster_name": user.display_name,
                "broadcaster_language": "en",
                "game_id": channel.game_id,
                "game_name": channel.game_name,
                "title": channel.title,
                "delay": 0,
                "tags": [],
                "content_classification_labels": [],
                "is_branded_content": false,
            })
        })
        .collect();
    Ok(Reply::json(StatusCode::OK, json!({ "data": data })))
}

fn parse_json_body(req: &Incoming<'_>) -> Result<serde_json::Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Reply::bad_request("Malformed request body")),
    }
}

fn patch_channel(shared: &Shared, req: &Incoming<'_>, caller: &Caller) -> Result<Reply, Reply> {
    caller.require("channel:manage:broadcast")?;
    let Some(broadcaster_id) = param(&req.query, "broadcaster_id") else {
        return Err(missing("broadcaster_id"));
    };
    if broadcaster_id != caller.user_id {
        return Err(Reply::unauthorized(
            "The ID in broadcaster_id must match the user ID found in the request's OAuth token.",
        ));
    }
    let body = parse_json_body(req)?;
    const FIELDS: &[&str] = &[
        "game_id",
        "broadcaster_language",
        "title",
        "delay",
        "tags",
        "content_classification_labels",
        "is_branded_content",
    ];
    if !body.keys().any(|k| FIELDS.contains(&k.as_str())) {
        return Err(Reply::bad_request(
            "The request must update at least one property.",
        ));
    }
    let title = match body.get("title") {
        None => None,
        Some(Value::String(t)) if t.trim().is_empty() => {
            return Err(Reply::bad_request("The title field may not be empty."));
        }
        Some(Value::String(t)) if t.chars().count() > MAX_TITLE_CHARS => {
            return Err(Reply::bad_request(&format!(
                "The title field may not exceed {MAX_TITLE_CHARS} characters."
            )));
        }
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(Reply::bad_request("Malformed request body")),
    };
    let mut state = lock(shared);
    let game = match body.get("game_id") {
        None => None,
        Some(Value::String(id)) if id.is_empty() || id == "0" => {
            Some((String::new(), String::new()))
        }
        Some(Value::String(id)) => match state.categories.iter().find(|(cid, _)| cid == id) {
            Some((cid, name)) => Some((cid.clone(), name.clone())),
            None => {
                return Err(Reply::bad_request(
                    "The game_id field contains an invalid category ID.",
                ));
            }
        },
        Some(_) => return Err(Reply::bad_request("Malformed request body")),
    };
    let channel = state
        .channels
        .entry(broadcaster_id.to_string())
        .or_insert_with(default_channel);
    if let Some(title) = title {
        channel.title = title;
    }
    if let Some((id, name)) = game {
        channel.game_id = id;
        channel.game_name = name;
    }
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Pagination over `items`: `after` is a cursor this fake handed out earlier.
fn paginate<T: Clone>(
    items: &[T],
    req: &Incoming<'_>,
    first: usize,
) -> Result<(Vec<T>, Value), Reply> {
    let start = match param(&req.query, "after") {
        None | Some("") => 0,
        Some(cursor) => cursor
            .strip_prefix("fakecursor-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| Reply::bad_request("The parameter \"after\" was malformed"))?,
    };
    let start = start.min(items.len());
    let end = (start + first).min(items.len());
    let pagination = if end < items.len() {
        json!({ "cursor": format!("fakecursor-{end}") })
    } else {
        json!({})
    };
    Ok((items[start..end].to_vec(), pagination))
}

fn search_categories(shared: &Shared, req: &Incoming<'_>) -> Result<Reply, Reply> {
    let Some(query) = param(&req.query, "query").filter(|q| !q.is_empty()) else {
        return Err(missing("query"));
    };
    let first = first_param(req, 20)?;
    let needle = query.to_lowercase();
    let matches: Vec<Value> = lock(shared)
        .categories
        .iter()
        .filter(|(_, name)| name.to_lowercase().contains(&needle))
        .map(|(id, name)| {
            json!({
                "id": id,
                "name": name,
                "box_art_url": format!("https://static-cdn.jtvnw.net/ttv-boxart/{id}-52x72.jpg"),
            })
        })
        .collect();
    let (data, pagination) = paginate(&matches, req, first)?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": data, "pagination": pagination }),
    ))
}

fn get_games(shared: &Shared, req: &Incoming<'_>) -> Result<Reply, Reply> {
    let ids = params_all(&req.query, "id");
    let names = params_all(&req.query, "name");
    let igdb = params_all(&req.query, "igdb_id");
    if ids.is_empty() && names.is_empty() && igdb.is_empty() {
        return Err(Reply::bad_request(
            "Must provide at least one \"id\", \"name\" or \"igdb_id\" parameter",
        ));
    }
    if ids.len() + names.len() + igdb.len() > 100 {
        return Err(Reply::bad_request(
            "The number of \"id\", \"name\" and \"igdb_id\" parameters must not exceed 100",
        ));
    }
    let data: Vec<Value> = lock(shared)
        .categories
        .iter()
        .filter(|(id, name)| ids.contains(&id.as_str()) || names.contains(&name.as_str()))
        .map(|(id, name)| {
            json!({
                "id": id,
                "name": name,
                "box_art_url": box_art_url(id),
                "igdb_id": "",
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": data, "pagination": {} }),
    ))
}

fn start_raid(shared: &Shared, req: &Incoming<'_>, caller: &Caller) -> Result<Reply, Reply> {
    caller.require("channel:manage:raids")?;
    let Some(from) = param(&req.query, "from_broadcaster_id").filter(|v| !v.is_empty()) else {
        return Err(missing("from_broadcaster_id"));
    };
    let Some(to) = param(&req.query, "to_broadcaster_id").filter(|v| !v.is_empty()) else {
        return Err(missing("to_broadcaster_id"));
    };
    if from != caller.user_id {
        return Err(Reply::unauthorized(
            "The ID in from_broadcaster_id must match the user ID found in the request's OAuth token.",
        ));
    }
    if from == to {
        return Err(Reply::bad_request(
            "The broadcaster may not raid themselves.",
        ));
    }
    let mut state = lock(shared);
    if !state.users.contains_key(to) {
        return Err(Reply::helix_error(
            StatusCode::NOT_FOUND,
            "The targeted channel was not found.",
        ));
    }
    state.raids.push((from.to_string(), to.to_string()));
    state.pending_raids.insert(from.to_string(), to.to_string());
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": [{ "created_at": rfc3339(SystemTime::now(), true), "is_mature": false }] }),
    ))
}

fn cancel_raid(shared: &Shared, req: &Incoming<'_>, caller: &Caller) -> Result<Reply, Reply> {
    caller.require("channel:manage:raids")?;
    let Some(broadcaster) = param(&req.query, "broadcaster_id").filter(|v| !v.is_empty()) else {
        return Err(missing("broadcaster_id"));
    };
    if broadcaster != caller.user_id {
        return Err(Reply::unauthorized(
            "The ID in broadcaster_id must match the user ID found in the request's OAuth token.",
        ));
    }
    match lock(shared).pending_raids.remove(broadcaster) {
        Some(_) => Ok(Reply::empty(StatusCode::NO_CONTENT)),
        None => Err(Reply::helix_error(
            StatusCode::NOT_FOUND,
            "The broadcaster doesn't have a pending raid to cancel.",
        )),
    }
}

fn body_str<'a>(
    body: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Reply::bad_request(&format!(
            "The parameter \"{key}\" was malformed"
        ))),
    }
}

fn send_chat(shared: &Shared, req: &Incoming<'_>, caller: &Caller) -> Result<Reply, Reply> {
    caller.require("user:write:chat")?;
    let body = parse_json_body(req)?;
    let Some(broadcaster_id) = body_str(&body, "broadcaster_id")?.filter(|s| !s.is_empty()) else {
        return Err(missing("broadcaster_id"));
    };
    let Some(sender_id) = body_str(&body, "sender_id")?.filter(|s| !s.is_empty()) else {
        return Err(missing("sender_id"));
    };
    let Some(message) = body_str(&body, "message")?.filter(|s| !s.is_empty()) else {
        return Err(missing("message"));
    };
    let reply_parent = body_str(&body, "reply_parent_message_id")?.map(str::to_string);
    if sender_id != caller.user_id {
        return Err(Reply::unauthorized(
            "The sender_id in the body must match the user ID in the user access token.",
        ));
    }
    if message.chars().count() > MAX_CHAT_CHARS {
        return Err(Reply::bad_request(&format!(
            "The message is too long; the limit is {MAX_CHAT_CHARS} characters."
        )));
    }
    let message_id = new_uuid(shared);
    let chat = SentChat {
        broadcaster_id: broadcaster_id.to_string(),
        sender_id: sender_id.to_string(),
        message: message.to_string(),
        reply_parent_message_id: reply_parent,
        token_user_id: caller.user_id.clone(),
        message_id: message_id.clone(),
    };
    let now = Instant::now();
    let count = {
        let mut state = lock(shared);
        if !state.users.contains_key(broadcaster_id) {
            return Err(Reply::bad_request("The broadcaster_id is not valid."));
        }
        let room = (broadcaster_id.to_string(), sender_id.to_string());
        let duplicate = state.last_chat.get(&room).is_some_and(|(last, at)| {
            last == message && now.saturating_duration_since(*at) < DUPLICATE_WINDOW
        });
        if duplicate {
            state.dropped_chats.push(chat);
            return Ok(Reply::json(
                StatusCode::OK,
                json!({ "data": [{ "message_id": message_id, "is_sent": false, "drop_reason": {
                    "code": "msg_duplicate",
                    "message": "Your message was not sent because it is identical to the previous one you sent, less than 30 seconds ago.",
                } }] }),
            ));
        }
        state.last_chat.insert(room, (message.to_string(), now));
        state.chats.push(chat);
        state.chats.len()
    };
    shared.chat_count.send_replace(count);
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": [{ "message_id": message_id, "is_sent": true, "drop_reason": null }] }),
    ))
}

fn get_streams(shared: &Shared, req: &Incoming<'_>) -> Result<Reply, Reply> {
    let user_ids = params_all(&req.query, "user_id");
    let logins = params_all(&req.query, "user_login");
    if user_ids.len() + logins.len() > 100 {
        return Err(Reply::bad_request(
            "The number of \"user_id\" and \"user_login\" parameters must not exceed 100",
        ));
    }
    let first = first_param(req, 20)?;
    let filter = !user_ids.is_empty() || !logins.is_empty();
    let state = lock(shared);
    let streams: Vec<Value> = state
        .users
        .values()
        .filter(|u| {
            !filter
                || user_ids.contains(&u.id.as_str())
                || logins.iter().any(|l| l.eq_ignore_ascii_case(&u.login))
        })
        .filter_map(|user| {
            let live = state.live.get(&user.id)?;
            let channel = state
                .channels
                .get(&user.id)
                .cloned()
                .unwrap_or_else(default_channel);
            Some(json!({
                "id": live.stream_id,
                "user_id": user.id,
                "user_login": user.login,
                "user_name": user.display_name,
                "game_id": channel.game_id,
                "game_name": channel.game_name,
                "type": "live",
                "title": channel.title,
                "tags": [],
                "viewer_count": live.viewers,
                "started_at": live.started_at,
                "language": "en",
                "thumbnail_url": format!(
                    "https://static-cdn.jtvnw.net/previews-ttv/live_user_{}-{{width}}x{{height}}.jpg",
                    user.login
                ),
                "tag_ids": [],
                "is_mature": false,
            }))
        })
        .collect();
    drop(state);
    let (data, pagination) = paginate(&streams, req, first)?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "data": data, "pagination": pagination }),
    ))
}

/// Scopes a websocket subscription needs from the calling user, by type.
fn subscription_scope(sub_type: &str) -> Option<&'static str> {
    match sub_type {
        "channel.chat.message" | "channel.chat.notification" | "channel.chat.message_delete" => {
            Some("user:read:chat")
        }
        "channel.follow" => Some("moderator:read:followers"),
        "channel.subscribe" | "channel.subscription.gift" | "channel.subscription.message" => {
            Some("channel:read:subscriptions")
        }
        "channel.cheer" => Some("bits:read"),
        // "Requires a user access token that includes the channel:read:ads scope"
        // (dev.twitch.tv/docs/eventsub/eventsub-subscription-types/#channeladbreakbegin).
        "channel.ad_break.begin" => Some("channel:read:ads"),
        "channel.channel_points_custom_reward_redemption.add" => Some("channel:read:redemptions"),
        _ => None,
    }
}

/// The caller's subscriptions as the EventSub fake currently reports them (revoked and
/// deleted ones are gone; those of ended sessions carry their `websocket_*` status).
fn my_subscriptions(shared: &Shared, eventsub: &FakeEventSub, caller: &Caller) -> Vec<Value> {
    let owners = lock(shared).subscription_owners.clone();
    eventsub
        .all_subscriptions()
        .into_iter()
        .filter(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .and_then(|id| owners.get(id))
                .is_some_and(|owner| *owner == caller.user_id)
        })
        .collect()
}

/// `(total, total_cost)` of a list of subscription objects.
fn subscription_totals(subs: &[Value]) -> (usize, u64) {
    let cost = subs
        .iter()
        .map(|s| s.get("cost").and_then(Value::as_u64).unwrap_or(0))
        .sum();
    (subs.len(), cost)
}

const NO_SESSION: &str = "websocket transport session does not exist or has already disconnected";

fn create_subscription(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    let body = parse_json_body(req)?;
    let Some(sub_type) = body_str(&body, "type")?.filter(|s| !s.is_empty()) else {
        return Err(missing("type"));
    };
    let Some(version) = body_str(&body, "version")?.filter(|s| !s.is_empty()) else {
        return Err(missing("version"));
    };
    let Some(condition) = body.get("condition").filter(|c| c.is_object()).cloned() else {
        return Err(missing("condition"));
    };
    let Some(transport) = body.get("transport").and_then(Value::as_object) else {
        return Err(missing("transport"));
    };
    let method = transport
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("");
    match method {
        "websocket" => {}
        "webhook" | "conduit" => {
            return Err(Reply::bad_request(&format!(
                "{method} transport requires an app access token"
            )));
        }
        _ => return Err(Reply::bad_request("The transport method is not valid.")),
    }
    let Some(session_id) = transport
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Err(missing("transport.session_id"));
    };
    if let Some(scope) = subscription_scope(sub_type) {
        let user_matches = ["user_id", "broadcaster_user_id", "moderator_user_id"]
            .iter()
            .filter_map(|k| condition.get(*k).and_then(Value::as_str))
            .any(|id| id == caller.user_id);
        if !caller.scopes.iter().any(|s| s == scope) || !user_matches {
            return Err(Reply::helix_error(
                StatusCode::FORBIDDEN,
                "subscription missing proper authorization",
            ));
        }
    }
    let Some(eventsub) = &shared.eventsub else {
        return Err(Reply::bad_request(NO_SESSION));
    };
    websocket_limits(shared, eventsub, caller, session_id)?;
    match eventsub.register_subscription(sub_type, version, condition, session_id) {
        Ok(object) => {
            {
                let mut state = lock(shared);
                if let Some(id) = object.get("id").and_then(Value::as_str) {
                    state
                        .subscription_owners
                        .insert(id.to_string(), caller.user_id.clone());
                }
                state.created_subscriptions.push(object.clone());
            }
            let (total, total_cost) =
                subscription_totals(&my_subscriptions(shared, eventsub, caller));
            Ok(Reply::json(
                StatusCode::ACCEPTED,
                json!({
                    "data": [object],
                    "total": total,
                    "total_cost": total_cost,
                    "max_total_cost": EVENTSUB_MAX_TOTAL_COST,
                }),
            ))
        }
        Err(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
            let message = match code {
                400 => "The request is malformed or the websocket session does not exist.",
                403 => "subscription missing proper authorization",
                409 => "subscription already exists",
                429 => "The number of subscriptions exceeds the limit.",
                _ => "",
            };
            Err(Reply::helix_error(status, message))
        }
    }
}

/// WebSocket sessions of one user (per client id) that may hold enabled subscriptions.
/// "Each user ID can create up to 3 websocket connections for a given client ID", "each
/// websocket can have up to 300 enabled subscriptions" (twitch4j.github.io/eventsub/websocket;
/// 300 since WebSockets left beta, discuss.dev.twitch.com/t/46527); a reconnect keeps its
/// session, so it does not count twice.
pub const WEBSOCKET_SESSIONS_PER_USER: usize = 3;
pub const SUBSCRIPTIONS_PER_WEBSOCKET: usize = 300;

/// Twitch's answer when a 4th session would get a subscription:
/// `429 {"error":"Too Many Requests","status":429,"message":"number of websocket transports
/// limit exceeded"}` (as reported on discuss.dev.twitch.com/t/63174), and the same status when
/// a session is full.
fn websocket_limits(
    shared: &Shared,
    eventsub: &FakeEventSub,
    caller: &Caller,
    session_id: &str,
) -> Result<(), Reply> {
    let mine: Vec<Value> = my_subscriptions(shared, eventsub, caller)
        .into_iter()
        .filter(|s| s["status"] == "enabled")
        .collect();
    let session_of = |s: &Value| s["transport"]["session_id"].as_str().map(str::to_string);
    let sessions: std::collections::HashSet<String> = mine.iter().filter_map(session_of).collect();
    // Not a rate limit: `helix` adds the usual headers, the bucket not empty.
    let too_many = |message: &str| Reply::helix_error(StatusCode::TOO_MANY_REQUESTS, message);
    if !sessions.contains(session_id) && sessions.len() >= WEBSOCKET_SESSIONS_PER_USER {
        return Err(too_many("number of websocket transports limit exceeded"));
    }
    let here = mine
        .iter()
        .filter(|s| session_of(s).as_deref() == Some(session_id))
        .count();
    if here >= SUBSCRIPTIONS_PER_WEBSOCKET {
        return Err(too_many("websocket transport subscriptions limit exceeded"));
    }
    Ok(())
}

fn list_subscriptions(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    let status = param(&req.query, "status");
    let sub_type = param(&req.query, "type").or_else(|| param(&req.query, "type_"));
    let user_id = param(&req.query, "user_id");
    let sub_id = param(&req.query, "subscription_id");
    let field = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let mine = match &shared.eventsub {
        Some(eventsub) => my_subscriptions(shared, eventsub, caller),
        None => Vec::new(),
    };
    let (total, total_cost) = subscription_totals(&mine);
    let data: Vec<Value> = mine
        .into_iter()
        .filter(|s| status.is_none_or(|w| field(s, "status").as_deref() == Some(w)))
        .filter(|s| sub_type.is_none_or(|w| field(s, "type").as_deref() == Some(w)))
        .filter(|s| sub_id.is_none_or(|w| field(s, "id").as_deref() == Some(w)))
        .filter(|s| {
            user_id.is_none_or(|w| {
                s.get("condition")
                    .and_then(Value::as_object)
                    .is_some_and(|c| c.values().any(|v| v.as_str() == Some(w)))
            })
        })
        .collect();
    Ok(Reply::json(
        StatusCode::OK,
        json!({
            "data": data,
            "total": total,
            "total_cost": total_cost,
            "max_total_cost": EVENTSUB_MAX_TOTAL_COST,
            "pagination": {},
        }),
    ))
}

fn delete_subscription(
    shared: &Shared,
    req: &Incoming<'_>,
    caller: &Caller,
) -> Result<Reply, Reply> {
    let Some(id) = param(&req.query, "id").filter(|v| !v.is_empty()) else {
        return Err(missing("id"));
    };
    let not_found = || Reply::helix_error(StatusCode::NOT_FOUND, "subscription not found");
    let owned = lock(shared)
        .subscription_owners
        .get(id)
        .is_some_and(|owner| *owner == caller.user_id);
    let Some(eventsub) = shared.eventsub.as_ref().filter(|_| owned) else {
        return Err(not_found());
    };
    match eventsub.delete_subscription(id) {
        Ok(()) => {
            lock(shared).subscription_owners.remove(id);
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Err(_) => Err(not_found()),
    }
}
