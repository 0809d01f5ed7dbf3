//! A fake of Kick's OAuth server (`id.kick.com`) and public API (`api.kick.com/public/v1`), for
//! tests driving the product's own Kick client (`stream_control::kick`).
//!
//! One axum server on `127.0.0.1:0` serves both: `/oauth/authorize`, `/oauth/token` (code and
//! refresh grants), `/oauth/token/introspect` ([`oauth`]), and `/public/v1/users`,
//! `/public/v1/channels`, `/public/v1/chat` ([`api`]). Point `kick.oauth_url` and
//! `kick.api_url` at [`FakeKick::url`]. [`FakeKick::start_tls`] serves it over HTTPS with a test
//! CA's certificate (`test_ca.rs`), so the product reaches it through its real TLS path.
//! Beside it: Kick's chat socket ([`pusher`], the Pusher protocol) and its signed webhooks
//! ([`webhook`]).
//!
//! **It refuses what Kick refuses**; each rule is enforced where it is written, with its source:
//! KickDevDocs (github.com/KickEngineering/KickDevDocs: the OAuth page
//! getting-started/generating-tokens-oauth2-flow.md, scopes/scopes.md, the API pages' OpenAPI
//! operations, and issues quoting Kick's answers), RFC 7636 (PKCE), RFC 6749 / the OAuth 2.1
//! draft (codes, clients, refresh tokens). Kick's OAuth errors are `{"error": "Invalid
//! request"}` (the docs' 400 tab, whatever the cause), so the fake also notes *why* it refused
//! ([`FakeKick::refusals`]): a test can prove which rule fired without the wire saying more
//! than Kick does.
//!
//! The state lives behind one `std::sync::Mutex`, never held across an `.await`. Lifetimes use
//! `tokio::time::Instant`, so a paused clock expires codes and tokens too. The server task ends
//! when the last clone of the [`FakeKick`] is dropped.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

pub mod api;
pub mod oauth;
pub mod pusher;
pub mod webhook;

pub use crate::test_ca;

/// The fake application's client id and secret.
pub const CLIENT_ID: &str = "fakekickclientid-0123456789";
pub const CLIENT_SECRET: &str = "fakekickclientsecret-0123456789";
/// The broadcaster who exists from the start (user id, username, channel slug).
pub const BROADCASTER_ID: u64 = 4242;
pub const BROADCASTER_NAME: &str = "streamer";
/// A second account, for the bot login.
pub const BOT_ID: u64 = 5151;
pub const BOT_NAME: &str = "helperbot";
/// `expires_in` of the tokens it issues (Kick's user tokens last two hours).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);
/// How long an authorization code can be exchanged: "A maximum authorization code lifetime of
/// 10 minutes is RECOMMENDED" (RFC 6749 §4.1.2; Kick does not say).
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// The longest chat message, in characters (`POST /public/v1/chat`, `content`: "max 500
/// characters").
pub const MAX_CHAT_CHARS: usize = 500;
/// Chat messages a token may post per [`CHAT_WINDOW`] before 429. Kick publishes no number;
/// this one is the fake's own (change it with [`FakeKick::set_chat_rate_limit`]).
pub const CHAT_LIMIT: usize = 20;
pub const CHAT_WINDOW: Duration = Duration::from_secs(30);

/// A chat message the fake accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentChat {
    /// The channel's owner (`broadcaster_user_id`; for `bot`: the token's user).
    pub broadcaster_user_id: u64,
    /// `"user"` or `"bot"`.
    pub kind: String,
    /// Who it shows as: the token's user for `user`, `"bot"` for the application's bot.
    pub sender: String,
    pub content: String,
    pub reply_to_message_id: Option<String>,
    pub message_id: String,
}

/// One request the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: String,
    pub status: u16,
}

impl Recorded {
    /// The body's form pairs (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// The fake Kick. Cheap to clone; every clone shares one server and one state.
#[derive(Clone)]
pub struct FakeKick {
    shared: Arc<Shared>,
    addr: SocketAddr,
    scheme: &'static str,
    _server: Arc<test_ca::AbortOnDrop>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// How many token-endpoint requests were decided (see [`FakeKick::hold_token_answers`]).
    token_requests: watch::Sender<usize>,
    /// `false` while the tests hold the token endpoint's answers.
    token_answers: watch::Sender<bool>,
    /// How many chat messages were accepted (see [`FakeKick::wait_for_chat`]).
    chat_count: watch::Sender<usize>,
    counter: AtomicU64,
    random: std::collections::hash_map::RandomState,
}

#[derive(Clone)]
pub(crate) struct User {
    pub(crate) name: String,
}

pub(crate) struct Code {
    pub(crate) user_id: u64,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: String,
    pub(crate) redirect_uri: String,
    pub(crate) expires_at: Instant,
    pub(crate) used: bool,
}

pub(crate) struct Token {
    pub(crate) user_id: u64,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Instant,
}

pub(crate) struct Refresh {
    pub(crate) user_id: u64,
    pub(crate) scopes: Vec<String>,
    pub(crate) used: bool,
}

pub(crate) struct State {
    pub(crate) users: BTreeMap<u64, User>,
    pub(crate) redirect_uris: Vec<String>,
    /// Who approves the next authorize request, and which scopes (`None`: those asked for).
    pub(crate) approver: u64,
    pub(crate) grant_only: Option<Vec<String>>,
    /// The next authorize request is denied with this `error`.
    pub(crate) deny_next: Option<String>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) refresh_tokens: HashMap<String, Refresh>,
    /// Kick's own bot enabled for the application (`type: "bot"` works).
    pub(crate) bot_enabled: bool,
    /// `type: "bot"` answered 401 whatever the token (KickDevDocs issue #289).
    pub(crate) bot_unauthorized: bool,
    pub(crate) chats: Vec<SentChat>,
    pub(crate) chat_limit: (usize, Duration),
    /// Per access token: when it posted recently.
    pub(crate) chat_times: HashMap<String, VecDeque<Instant>>,
    pub(crate) requests: Vec<Recorded>,
    pub(crate) refusals: Vec<String>,
}

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An answer: status, JSON body, extra headers.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(header::HeaderName, String)>,
    /// A redirect instead of a JSON body.
    pub(crate) location: Option<String>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
            location: None,
        }
    }

    /// Kick's API envelope with data.
    pub(crate) fn data(data: Value) -> Reply {
        Reply::json(StatusCode::OK, json!({"data": data, "message": "OK"}))
    }

    /// Kick's API error: `{"data":{},"message":"Unauthorized"}` (KickDevDocs issue #253),
    /// `{"data":"Channel not found","message":"Bad request"}` (issue #123).
    pub(crate) fn api_error(status: StatusCode, data: Value, message: &str) -> Reply {
        Reply::json(status, json!({"data": data, "message": message}))
    }

    /// Kick's OAuth error: every 400 of the OAuth page is `{"error": "Invalid request"}`.
    pub(crate) fn oauth_error(status: StatusCode) -> Reply {
        Reply::json(status, json!({"error": "Invalid request"}))
    }

    pub(crate) fn redirect(location: String) -> Reply {
        Reply {
            status: StatusCode::FOUND,
            body: Value::Null,
            headers: Vec::new(),
            location: Some(location),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut builder = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let response = match self.location {
            Some(location) => builder
                .header(header::LOCATION, location)
                .body(axum::body::Body::empty()),
            None => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(self.body.to_string())),
        };
        response.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// What a handler sees of a request.
pub(crate) struct Incoming<'a> {
    pub(crate) method: &'a Method,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
}

impl Incoming<'_> {
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn bearer(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
    }

    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl FakeKick {
    /// Starts the fake on `127.0.0.1:0` over plain HTTP.
    pub async fn start() -> FakeKick {
        FakeKick::start_with(None).await
    }

    /// Starts the fake over HTTPS: `acceptor` holds the certificate (see `test_ca.rs`).
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> FakeKick {
        FakeKick::start_with(Some(acceptor)).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> FakeKick {
        let mut users = BTreeMap::new();
        users.insert(
            BROADCASTER_ID,
            User {
                name: BROADCASTER_NAME.into(),
            },
        );
        users.insert(
            BOT_ID,
            User {
                name: BOT_NAME.into(),
            },
        );
        let state = State {
            users,
            redirect_uris: Vec::new(),
            approver: BROADCASTER_ID,
            grant_only: None,
            deny_next: None,
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            bot_enabled: true,
            bot_unauthorized: false,
            chats: Vec::new(),
            chat_limit: (CHAT_LIMIT, CHAT_WINDOW),
            chat_times: HashMap::new(),
            requests: Vec::new(),
            refusals: Vec::new(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            token_requests: watch::channel(0).0,
            token_answers: watch::channel(true).0,
            chat_count: watch::channel(0).0,
            counter: AtomicU64::new(1),
            random: std::collections::hash_map::RandomState::new(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let served = test_ca::serve(app, tls).await;
        FakeKick {
            shared,
            addr: served.addr,
            scheme: served.scheme,
            _server: Arc::new(served.task),
        }
    }

    /// `http(s)://127.0.0.1:<port>/`: both `kick.api_url` and `kick.oauth_url`.
    pub fn url(&self) -> String {
        format!("{}://{}/", self.scheme, self.addr)
    }

    /// `api_url: "…", oauth_url: "…"`, for a test's `kick` section.
    pub fn config_urls(&self) -> String {
        format!(r#"api_url: "{0}", oauth_url: "{0}""#, self.url())
    }

    /// Add a user (and their channel: its slug is the name in lower case, `_` as `-`).
    pub fn add_user(&self, id: u64, name: &str) {
        lock(&self.shared)
            .users
            .insert(id, User { name: name.into() });
    }

    /// Register a redirect URI for the application (Kick's app settings: "a redirectURL
    /// specified by you", getting-started/kick-apps-setup.md).
    pub fn register_redirect_uri(&self, uri: &str) {
        lock(&self.shared).redirect_uris.push(uri.to_string());
    }

    /// Who approves the next authorize requests (default: the broadcaster), granting only
    /// `scopes` when given (else what was asked for).
    pub fn approve_as(&self, user_id: u64, scopes: Option<&[&str]>) {
        let mut state = lock(&self.shared);
        state.approver = user_id;
        state.grant_only = scopes.map(|s| s.iter().map(|s| s.to_string()).collect());
    }

    /// The next authorize request is denied: Kick redirects with `error` (and the state).
    pub fn deny_next(&self, error: &str) {
        lock(&self.shared).deny_next = Some(error.to_string());
    }

    /// Whether `type: "bot"` works (the application's bot enabled in its settings, KickDevDocs
    /// issue #123); when not, Kick answers 500 (issue #343).
    pub fn set_bot_enabled(&self, on: bool) {
        lock(&self.shared).bot_enabled = on;
    }

    /// Answer every `type: "bot"` message 401 `{"data":{},"message":"Unauthorized"}` however
    /// good the token, as Kick did for some applications (KickDevDocs issue #289).
    pub fn set_bot_unauthorized(&self, on: bool) {
        lock(&self.shared).bot_unauthorized = on;
    }

    /// Allow `count` chat messages per token per `window` (429 beyond).
    pub fn set_chat_rate_limit(&self, count: usize, window: Duration) {
        lock(&self.shared).chat_limit = (count, window);
    }

    /// Issue a token pair as if `user_id` had logged in with `scopes`.
    pub fn issue_token(
        &self,
        user_id: u64,
        scopes: &[&str],
        expires_in: Duration,
    ) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut state = lock(&self.shared);
        oauth::mint_pair(&self.shared, &mut state, user_id, scopes, expires_in)
    }

    /// Issue a token pair and store it as `stream-control kick login` leaves it, in the state
    /// directory's file `file`. `expires_in` is also what the file says.
    pub fn sign_in(
        &self,
        state_dir: &std::path::Path,
        file: &str,
        user_id: u64,
        scopes: &[&str],
        expires_in: Duration,
    ) -> (String, String) {
        use stream_control::kick::auth::{self, StoredToken};
        let (access, refresh) = self.issue_token(user_id, scopes, expires_in);
        let username = lock(&self.shared)
            .users
            .get(&user_id)
            .map(|u| u.name.clone());
        auth::save(
            &stream_control::state_store::StateDir::new(state_dir),
            file,
            &StoredToken {
                access_token: access.clone(),
                refresh_token: refresh.clone(),
                expires_at: stream_control::status::now_unix() + expires_in.as_secs(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                user_id: Some(user_id),
                username,
            },
            &stream_control::secrets::Redactor::default(),
        )
        .expect("fake kick: store the token file");
        (access, refresh)
    }

    /// The access token stops working from now on (401); its refresh token still works.
    pub fn expire(&self, access: &str) {
        if let Some(token) = lock(&self.shared).tokens.get_mut(access) {
            token.expires_at = Instant::now();
        }
    }

    /// The user disconnects the application: every token of `user_id` stops working.
    pub fn revoke(&self, user_id: u64) {
        let mut state = lock(&self.shared);
        state.tokens.retain(|_, t| t.user_id != user_id);
        state.refresh_tokens.retain(|_, r| r.user_id != user_id);
    }

    /// Whether an access token works now.
    pub fn is_active(&self, access: &str) -> bool {
        lock(&self.shared)
            .tokens
            .get(access)
            .is_some_and(|t| t.expires_at > Instant::now())
    }

    /// Whether a refresh token can still be used.
    pub fn refresh_usable(&self, refresh: &str) -> bool {
        lock(&self.shared)
            .refresh_tokens
            .get(refresh)
            .is_some_and(|r| !r.used)
    }

    /// Hold the token endpoint's answers (decided, rotation done, not yet sent) until
    /// [`FakeKick::release_token_answers`].
    pub fn hold_token_answers(&self) {
        self.shared.token_answers.send_replace(false);
    }

    pub fn release_token_answers(&self) {
        self.shared.token_answers.send_replace(true);
    }

    /// Wait until the token endpoint has decided `count` requests in all.
    pub async fn wait_for_token_requests(&self, count: usize) {
        let mut seen = self.shared.token_requests.subscribe();
        let _ = seen.wait_for(|n| *n >= count).await;
    }

    /// The chat messages accepted, in order.
    /// The chat message accepted at `index` (0: the first), waiting up to `wait` for it.
    pub async fn wait_for_chat(&self, index: usize, wait: Duration) -> Option<SentChat> {
        let mut count = self.shared.chat_count.subscribe();
        tokio::time::timeout(wait, count.wait_for(|n| *n > index))
            .await
            .ok()?
            .ok()?;
        self.chats().get(index).cloned()
    }

    pub fn chats(&self) -> Vec<SentChat> {
        lock(&self.shared).chats.clone()
    }

    /// Every request answered, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Why the fake refused what it refused, in order (the rule and its source).
    pub fn refusals(&self) -> Vec<String> {
        lock(&self.shared).refusals.clone()
    }

    /// A fresh, unguessable value (`prefix-<n>-<hash>`).
    pub(crate) fn next_id(shared: &Shared, prefix: &str) -> String {
        use std::hash::{BuildHasher, Hasher};
        let n = shared.counter.fetch_add(1, Ordering::Relaxed);
        let mut hasher = shared.random.build_hasher();
        hasher.write_u64(n);
        format!("{prefix}-{n:04}-{:016x}", hasher.finish())
    }
}

/// Note a refusal and its reason.
pub(crate) fn refuse(state: &mut State, reason: impl Into<String>) {
    state.refusals.push(reason.into());
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
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers: &headers,
        body: &body,
    };
    let is_token = path == "/oauth/token";
    let reply = match path.as_str() {
        // Kick's hosts are behind Cloudflare, which blocks clients that do not name themselves:
        // 403 `{"error":"Request blocked by security policy.","reference":…}` (KickDevDocs
        // issue #281; NOALBS's Kick client sets its agent for this reason).
        _ if !headers.contains_key(header::USER_AGENT) => {
            refuse(&mut lock(&shared), "no User-Agent (Cloudflare: issue #281)");
            Reply::json(
                StatusCode::FORBIDDEN,
                json!({"error": "Request blocked by security policy.", "reference": "fake"}),
            )
        }
        "/oauth/authorize" => oauth::authorize(&shared, &incoming),
        "/oauth/token" => oauth::token(&shared, &incoming),
        "/oauth/token/introspect" => oauth::introspect(&shared, &incoming),
        "/public/v1/users" => api::users(&shared, &incoming),
        "/public/v1/channels" => api::channels(&shared, &incoming),
        "/public/v1/chat" => api::chat(&shared, &incoming),
        _ => Reply::api_error(StatusCode::NOT_FOUND, json!({}), "Not Found"),
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
        authorization: text(&header::AUTHORIZATION),
        content_type: text(&header::CONTENT_TYPE),
        user_agent: text(&header::USER_AGENT),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: reply.status.as_u16(),
    };
    lock(&shared).requests.push(recorded);
    if is_token {
        shared.token_requests.send_modify(|n| *n += 1);
        let mut open = shared.token_answers.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
    reply.into_response()
}
