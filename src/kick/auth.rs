//! Kick user tokens: the token files in the state directory (0600, atomic), Kick's token
//! endpoint (the code exchange of `kick login`, the refresh), and [`Tokens`], the holder the
//! chat surface and the API calls share.
//!
//! **Refresh with rotation.** Kick answers every refresh with a new refresh token as well as a
//! new access token (KickDevDocs, getting-started/generating-tokens-oauth2-flow.md, "Refresh
//! Token Endpoint": "refresh both access and refresh codes"). Until 25/11/2025 the old refresh
//! token died on use, and an application that lost the answer lost the user (KickDevDocs issue
//! #52); since then Kick calls them "reusable/flexible" (README changelog, PR #291) without
//! saying for how long. So the bot relies on neither: the new pair is written to the token file
//! (atomically) **before** the new access token is used, a refresh runs in a task of its own so
//! a caller that gives up (a dropped future) cannot interrupt it between Kick's answer and the
//! write, and one refresh at a time runs per account (concurrent callers wait for it). The file
//! is the truth: a refresh starts from the refresh token in the file, and a token someone else
//! already refreshed (or a new `kick login`) is used as it is.
//!
//! **A refused refresh means "log in again"**: Kick answering 400 or 401 to a refresh token
//! (OAuth 2.1 draft §4.3.3 / RFC 6749 §5.2 `invalid_grant`) is remembered for that refresh
//! token, and every later call answers [`KickError::LoginRequired`] at once, without asking
//! Kick again, until the file holds another login.

use super::http::{KickError, KickHttp};
use crate::secrets::{Redactor, Secret, Secrets};
use crate::state_store::{Sensitivity, StateDir};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The broadcaster's token file in the state directory.
pub const TOKEN_FILE: &str = "kick_token.json";
/// The optional bot account's token file.
pub const BOT_TOKEN_FILE: &str = "kick_bot_token.json";
/// What the broadcaster's token needs (KickDevDocs, scopes/scopes.md): `user:read` (who logged
/// in), `channel:read` (the channel's id from its slug), `chat:write` (replies, also as the
/// application's bot), `events:subscribe` (chat messages as webhook events).
pub const SCOPES: &[&str] = &[
    "user:read",
    "channel:read",
    "chat:write",
    "events:subscribe",
];
/// What a separate bot account needs: who it is, and writing chat.
pub const BOT_SCOPES: &[&str] = &["user:read", "chat:write"];
/// Every scope Kick documents (scopes/scopes.md), to recognise one named in an error.
pub const KNOWN_SCOPES: &[&str] = &[
    "user:read",
    "channel:read",
    "channel:write",
    "channel:rewards:read",
    "channel:rewards:write",
    "chat:write",
    "streamkey:read",
    "events:subscribe",
    "moderation:ban",
    "moderation:chat_message:manage",
    "kicks:read",
];
/// A token with less than this left is refreshed before use (Kick's tokens last about two
/// hours: `expires_in` of the token answer).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);
/// How often [`Tokens::maintain`] reads the token file while there is no usable token (a login
/// made while the bot runs is picked up).
pub const FILE_POLL: Duration = Duration::from_secs(10);

/// Whose token: the broadcaster's (required) or a separate bot account's (optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Broadcaster,
    Bot,
}

impl Account {
    /// The token file in the state directory.
    pub fn file(self) -> &'static str {
        match self {
            Account::Broadcaster => TOKEN_FILE,
            Account::Bot => BOT_TOKEN_FILE,
        }
    }

    /// The scopes the login asks for.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Account::Broadcaster => SCOPES,
            Account::Bot => BOT_SCOPES,
        }
    }

    pub fn is_bot(self) -> bool {
        self == Account::Bot
    }

    /// The command that logs this account in.
    pub fn login_command(self) -> &'static str {
        match self {
            Account::Broadcaster => "`stream-control kick login`",
            Account::Bot => "`stream-control kick login --bot`",
        }
    }
}

/// The Kick application's credentials, from `KICK_CLIENT_ID` and `KICK_CLIENT_SECRET` (Kick's
/// token endpoint requires both: generating-tokens-oauth2-flow.md, "Token Endpoint").
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: Secret,
    pub client_secret: Secret,
}

impl Credentials {
    /// Both variables, or `None`.
    pub fn from_secrets(secrets: &Secrets) -> Option<Credentials> {
        Some(Credentials {
            client_id: secrets.get("KICK_CLIENT_ID")?.clone(),
            client_secret: secrets.get("KICK_CLIENT_SECRET")?.clone(),
        })
    }
}

/// A token as stored. `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
    /// What Kick granted (its `scope` answer), which is not always what was asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The account, from `GET /public/v1/users` at login.
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub username: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl StoredToken {
    /// Time left before it expires (zero once expired).
    pub fn expires_in(&self) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(crate::status::now_unix()))
    }

    /// The `required` scopes it lacks, in `required`'s order.
    pub fn missing_scopes(&self, required: &[&str]) -> Vec<String> {
        missing_scopes(&self.scopes, required)
    }
}

/// The `required` scopes that `granted` lacks, in `required`'s order (the one rule for every
/// OAuth token the bot holds).
pub use crate::twitch::auth::missing_scopes;

/// Kick's token answer (generating-tokens-oauth2-flow.md: `access_token`, `token_type`,
/// `refresh_token`, `expires_in`, `scope`; the page shows every value as a string, so
/// `expires_in` is read as a number or a numeric string).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    expires_in: serde_json::Value,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenAnswer {
    /// What to store: the new pair, and the account it belongs to (from `previous`). A refresh
    /// answer without a refresh token keeps the old one.
    fn into_stored(
        self,
        previous_refresh: Option<&str>,
        identity: (Option<u64>, Option<String>),
    ) -> Result<StoredToken, KickError> {
        let expires_in = match &self.expires_in {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| KickError::Invalid("the token answer has no usable expires_in".into()))?;
        let refresh_token = match (self.refresh_token, previous_refresh) {
            (Some(new), _) if !new.is_empty() => new,
            (_, Some(old)) => old.to_string(),
            _ => {
                return Err(KickError::Invalid(
                    "the token answer has no refresh_token".into(),
                ));
            }
        };
        if self.access_token.is_empty() {
            return Err(KickError::Invalid(
                "the token answer has an empty access_token".into(),
            ));
        }
        Ok(StoredToken {
            access_token: self.access_token,
            refresh_token,
            expires_at: crate::status::now_unix().saturating_add(expires_in),
            scopes: self
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            user_id: identity.0,
            username: identity.1,
        })
    }
}

/// Read a token file (`Ok(None)` when there is none).
pub fn load(state: &StateDir, file: &str) -> std::io::Result<Option<StoredToken>> {
    state.read_json(file)
}

/// Write a token file atomically, 0600, and teach the redactor its secrets.
pub fn save(
    state: &StateDir,
    file: &str,
    token: &StoredToken,
    redactor: &Redactor,
) -> std::io::Result<()> {
    redactor.add(&token.access_token);
    redactor.add(&token.refresh_token);
    state.write_json(file, token, Sensitivity::Secret)
}

/// POST Kick's token endpoint: `grant` and the application's credentials, as a form (every
/// grant needs `client_id` and `client_secret`: generating-tokens-oauth2-flow.md).
async fn token_endpoint(
    http: &KickHttp,
    credentials: &Credentials,
    grant: &[(&str, &str)],
) -> Result<super::http::Answer, KickError> {
    let mut form = vec![
        ("client_id", credentials.client_id.expose()),
        ("client_secret", credentials.client_secret.expose()),
    ];
    form.extend_from_slice(grant);
    http.post_form(&http.oauth("oauth/token"), &form).await
}

/// Exchange the authorization code of a login (`grant_type=authorization_code`, with the PKCE
/// verifier and the same redirect URI). The token has no identity yet.
pub async fn exchange_code(
    http: &KickHttp,
    credentials: &Credentials,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
) -> Result<StoredToken, KickError> {
    let answer = token_endpoint(
        http,
        credentials,
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("code", code),
        ],
    )
    .await?;
    if !answer.is_success() {
        return Err(match answer.status {
            400 | 401 => KickError::BadRequest(answer.reason()),
            _ => answer.error(),
        });
    }
    answer
        .secret_json::<TokenAnswer>()?
        .into_stored(None, (None, None))
}

/// Refresh `stored` (`grant_type=refresh_token`). 400 and 401 are final: the refresh token (or
/// the application) is refused.
pub async fn refresh(
    http: &KickHttp,
    credentials: &Credentials,
    stored: &StoredToken,
    bot: bool,
) -> Result<StoredToken, KickError> {
    let answer = token_endpoint(
        http,
        credentials,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &stored.refresh_token),
        ],
    )
    .await?;
    match answer.status {
        200..=299 => answer.secret_json::<TokenAnswer>()?.into_stored(
            Some(&stored.refresh_token),
            (stored.user_id, stored.username.clone()),
        ),
        400 | 401 => Err(KickError::LoginRequired {
            bot,
            reason: answer.reason(),
        }),
        _ => Err(answer.error()),
    }
}

type Outcome = Result<StoredToken, KickError>;

/// One account's token as the bot uses it: read from its file, refreshed before expiry and
/// after a 401, one refresh at a time. Cheap to clone; shared by everything that calls Kick as
/// this account.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

struct Inner {
    account: Account,
    state: StateDir,
    http: KickHttp,
    credentials: Option<Credentials>,
    redactor: Redactor,
    /// Touched only in synchronous code, never across an `.await`.
    slot: Mutex<Slot>,
    /// Counts finished refreshes (stored, refused or failed): [`Tokens::outcomes`].
    outcomes: watch::Sender<u64>,
}

#[derive(Default)]
struct Slot {
    /// The refresh running now: its outcome arrives here (`None` until it does).
    flight: Option<watch::Receiver<Option<Outcome>>>,
    /// The refresh token Kick refused, and why: only a new login (another refresh token in the
    /// file) lifts it.
    refused: Option<(String, KickError)>,
}

impl Tokens {
    pub fn new(
        account: Account,
        state: StateDir,
        http: KickHttp,
        credentials: Option<Credentials>,
        redactor: Redactor,
    ) -> Tokens {
        Tokens {
            inner: Arc::new(Inner {
                account,
                state,
                http,
                credentials,
                redactor,
                slot: Mutex::new(Slot::default()),
                outcomes: watch::channel(0).0,
            }),
        }
    }

    pub fn account(&self) -> Account {
        self.inner.account
    }

    /// Bumped after every refresh, whatever its outcome: for whoever shows the token's state
    /// (read [`Tokens::stored`] and try [`Tokens::access`] on a change).
    pub fn outcomes(&self) -> watch::Receiver<u64> {
        self.inner.outcomes.subscribe()
    }

    /// The token file as it is now (`Ok(None)`: not logged in). Its secrets are taught to the
    /// redactor.
    pub fn stored(&self) -> Result<Option<StoredToken>, KickError> {
        self.inner.stored()
    }

    /// A usable token: the stored one, or a refreshed one when less than [`REFRESH_BEFORE`]
    /// is left (stored before it is returned).
    pub async fn access(&self) -> Result<StoredToken, KickError> {
        let stored = self.inner.logged_in()?;
        self.inner.refused(&stored)?;
        if stored.expires_in() > REFRESH_BEFORE {
            return Ok(stored);
        }
        self.refresh(&stored).await
    }

    /// Kick answered 401 to `refused_access`: a refreshed token, unless the file already holds
    /// another one (refreshed meanwhile, or a new login).
    pub async fn after_unauthorized(&self, refused_access: &str) -> Result<StoredToken, KickError> {
        let stored = self.inner.logged_in()?;
        self.inner.refused(&stored)?;
        if stored.access_token != refused_access {
            return Ok(stored);
        }
        self.refresh(&stored).await
    }

    /// Keep this account's token fresh while nothing calls Kick (a task for the wiring to run;
    /// callers in between refresh on their own): the token is refreshed [`REFRESH_BEFORE`] ahead
    /// of its expiry (timed on the tokio clock from when the file was read), a failed refresh is
    /// retried with capped backoff, and while there is no token, or only a new login can help,
    /// the file is read again every [`FILE_POLL`]. Ends when `cancel` is cancelled.
    pub async fn maintain(&self, cancel: tokio_util::sync::CancellationToken) {
        let mut backoff =
            crate::retry::Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
        let mut said: Option<String> = None;
        loop {
            let seen = self
                .inner
                .logged_in()
                .and_then(|stored| self.inner.refused(&stored).map(|()| stored))
                .ok();
            let wait = seen.as_ref().map_or(FILE_POLL, |stored| {
                stored.expires_in().saturating_sub(REFRESH_BEFORE)
            });
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let Some(seen) = seen else { continue };
            let error = match self.refresh(&seen).await {
                Ok(_) => {
                    backoff.reset();
                    said = None;
                    continue;
                }
                Err(error) => error,
            };
            // Each reason once, not on every retry.
            let reason = self.inner.redactor.redact(&error.to_string());
            if said.as_deref() != Some(reason.as_str()) {
                tracing::error!(account = ?self.inner.account, %reason, "the Kick token is not usable");
                said = Some(reason);
            }
            if !error.needs_login() {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                }
            }
        }
    }

    /// Refresh `seen` (or join the refresh already running) and wait for its outcome.
    async fn refresh(&self, seen: &StoredToken) -> Outcome {
        let mut outcome = {
            let mut slot = self.inner.slot();
            // A flight whose task is gone (it panicked) is no flight.
            match slot.flight.as_ref().filter(|f| f.has_changed().is_ok()) {
                Some(flight) => flight.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    slot.flight = Some(rx.clone());
                    let inner = Arc::clone(&self.inner);
                    let seen = seen.clone();
                    // Its own task: whoever waits may give up; the write still happens.
                    tokio::spawn(async move {
                        let outcome = inner.refresh_now(&seen).await;
                        {
                            let mut slot = inner.slot();
                            slot.flight = None;
                            if let Err(error @ KickError::LoginRequired { .. }) = &outcome {
                                slot.refused = Some((seen.refresh_token.clone(), error.clone()));
                            }
                        }
                        let _ = tx.send(Some(outcome));
                        inner.outcomes.send_modify(|n| *n += 1);
                    });
                    rx
                }
            }
        };
        match outcome.wait_for(Option::is_some).await {
            Ok(done) => done
                .clone()
                .unwrap_or_else(|| Err(KickError::Unreachable("the token refresh stopped".into()))),
            Err(_) => Err(KickError::Unreachable("the token refresh stopped".into())),
        }
    }
}

impl Inner {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stored(&self) -> Result<Option<StoredToken>, KickError> {
        let stored = load(&self.state, self.account.file()).map_err(|error| {
            KickError::Invalid(format!(
                "cannot read {}: {error}",
                self.state.path(self.account.file()).display()
            ))
        })?;
        if let Some(token) = &stored {
            self.redactor.add(&token.access_token);
            self.redactor.add(&token.refresh_token);
        }
        Ok(stored)
    }

    fn logged_in(&self) -> Outcome {
        self.stored()?.ok_or(KickError::NotLoggedIn {
            bot: self.account.is_bot(),
        })
    }

    /// The remembered refusal, if `stored` still holds the refused refresh token.
    fn refused(&self, stored: &StoredToken) -> Result<(), KickError> {
        let slot = self.slot();
        match &slot.refused {
            Some((token, error)) if *token == stored.refresh_token => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// The refresh itself: from the file's refresh token, stored before it is returned.
    async fn refresh_now(&self, seen: &StoredToken) -> Outcome {
        let credentials = self.credentials.as_ref().ok_or(KickError::NoCredentials)?;
        let current = self.logged_in()?;
        if current.refresh_token != seen.refresh_token {
            // Refreshed meanwhile, or a new login: that one is the token now.
            return Ok(current);
        }
        let fresh = refresh(&self.http, credentials, &current, self.account.is_bot()).await?;
        let file = self.account.file();
        save(&self.state, file, &fresh, &self.redactor).map_err(|error| {
            tracing::error!(%error, file, "cannot store the refreshed Kick token");
            KickError::Invalid(format!(
                "cannot store the refreshed token in {}: {error}",
                self.state.path(file).display()
            ))
        })?;
        tracing::info!(account = ?self.account, "the Kick token was refreshed and stored");
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredToken {
        StoredToken {
            access_token: "access-abcdef123456".into(),
            refresh_token: "refresh-abcdef123456".into(),
            expires_at: crate::status::now_unix() + 3600,
            scopes: vec!["user:read".into(), "chat:write".into()],
            user_id: Some(7),
            username: Some("streamer".into()),
        }
    }

    #[test]
    fn debug_hides_the_secrets_and_missing_scopes_are_named() {
        let text = format!("{:?}", stored());
        assert!(!text.contains("abcdef123456"), "{text}");
        assert_eq!(
            stored().missing_scopes(SCOPES),
            ["channel:read", "events:subscribe"]
        );
        assert!(stored().missing_scopes(BOT_SCOPES).is_empty());
    }

    #[test]
    fn token_answers_are_read_as_kick_documents_them() {
        let read = |json: &str| {
            serde_json::from_str::<TokenAnswer>(json)
                .unwrap()
                .into_stored(Some("old-refresh-token"), (Some(7), None))
        };
        let token = read(
            r#"{"access_token":"a-123456789","token_type":"Bearer","refresh_token":"r-123456789",
                "expires_in":7200,"scope":"user:read chat:write"}"#,
        )
        .unwrap();
        assert_eq!(token.refresh_token, "r-123456789");
        assert_eq!(token.scopes, ["user:read", "chat:write"]);
        assert_eq!(token.user_id, Some(7));
        assert!(token.expires_in() > Duration::from_secs(7100));
        // As the page writes it: a string.
        let token = read(r#"{"access_token":"a-1","expires_in":"60"}"#).unwrap();
        assert_eq!(
            token.refresh_token, "old-refresh-token",
            "kept when none is sent"
        );
        for bad in [
            r#"{"access_token":"a-1","expires_in":"soon"}"#,
            r#"{"access_token":"a-1","expires_in":null}"#,
            r#"{"access_token":"","expires_in":60}"#,
        ] {
            assert!(matches!(read(bad), Err(KickError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn saved_files_are_0600_and_their_secrets_are_redacted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let redactor = Redactor::default();
        save(&state, TOKEN_FILE, &stored(), &redactor).unwrap();
        let mode = std::fs::metadata(state.path(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&state, TOKEN_FILE).unwrap(), Some(stored()));
        assert_eq!(redactor.redact("x refresh-abcdef123456 y"), "x *** y");
    }
}
