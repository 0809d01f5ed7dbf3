//! Twitch user tokens: stored in the state directory (0600, atomic), owned by one task.
//!
//! The owner validates the token at start and hourly (as Twitch requires, never per request),
//! refreshes it when 15 minutes or less remain and whenever a call reports 401, and publishes
//! the health in `Status.twitch.token`. A refresh always starts from the refresh token kept in
//! the file (twitch_oauth2 drops it from its struct when a refresh fails), so a failure loses
//! nothing: the bot keeps running, says so, and retries with backoff. A seed token file
//! (`{"access_token", "refresh_token"}`) is accepted and upgraded.

use crate::retry::Backoff;
use crate::secrets::Redactor;
use crate::state_store::{Sensitivity, StateDir};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use twitch_oauth2::tokens::errors::{RefreshTokenError, RetrieveTokenError};
use twitch_oauth2::{AccessToken, ClientId, ClientSecret, RefreshToken, TwitchToken, UserToken};

/// The broadcaster's token file in the state directory.
pub const TOKEN_FILE: &str = "twitch_token.json";
/// The optional bot account's token file.
pub const BOT_TOKEN_FILE: &str = "twitch_bot_token.json";
/// What the broadcaster token needs: title, category and markers, raids, reading and writing
/// chat, clips, ads.
pub const SCOPES: &[&str] = &[
    "channel:manage:broadcast",
    "channel:manage:raids",
    "user:read:chat",
    "user:write:chat",
    // `clip`
    "clips:edit",
    // `ad`
    "channel:edit:commercial",
    // `snooze`
    "channel:manage:ads",
    // `channel.ad_break.begin`
    "channel:read:ads",
];
/// What a separate bot account needs: reading and writing chat.
pub const BOT_SCOPES: &[&str] = &["user:read:chat", "user:write:chat"];
/// Refresh when this little time is left.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(15 * 60);
/// Validate this often.
pub const VALIDATE_EVERY: Duration = Duration::from_secs(60 * 60);

/// A token as stored. `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub login: Option<String>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("login", &self.login)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

use crate::status::{error_chain, now_unix};

/// The `required` scopes that `granted` lacks, in `required`'s order.
pub fn missing_scopes(granted: &[String], required: &[&str]) -> Vec<String> {
    required
        .iter()
        .filter(|needed| !granted.iter().any(|have| have == *needed))
        .map(|needed| needed.to_string())
        .collect()
}

impl StoredToken {
    /// What to store for a validated token.
    pub fn from_user_token(token: &UserToken) -> StoredToken {
        StoredToken {
            access_token: token.access_token.secret().to_string(),
            refresh_token: token.refresh_token.as_ref().map(|r| r.secret().to_string()),
            expires_at: Some(now_unix() + token.expires_in().as_secs()),
            scopes: token.scopes().iter().map(|s| s.to_string()).collect(),
            user_id: Some(token.user_id.to_string()),
            login: Some(token.login.to_string()),
        }
    }

    /// A bare token pair, as the seed's file holds it: login, scopes and expiry are learnt at
    /// the first validation.
    pub fn from_pair(access_token: String, refresh_token: Option<String>) -> StoredToken {
        StoredToken {
            access_token,
            refresh_token,
            expires_at: None,
            scopes: Vec::new(),
            user_id: None,
            login: None,
        }
    }

    /// Seconds left, if known.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_at
            .map(|at| Duration::from_secs(at.saturating_sub(now_unix())))
    }

    /// Required scopes the token lacks (empty when scopes are unknown, e.g. a seed file).
    pub fn missing_scopes(&self, required: &[&str]) -> Vec<String> {
        if self.scopes.is_empty() {
            return Vec::new();
        }
        missing_scopes(&self.scopes, required)
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
    if let Some(refresh) = &token.refresh_token {
        redactor.add(refresh);
    }
    state.write_json(file, token, Sensitivity::Secret)
}

/// The fix named by every [`TokenError`] that only a new login can fix.
const LOGIN_FIX: &str = "`stream-control twitch login`";

/// Why a token could not be made usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not logged in: run `stream-control twitch login`")]
    Missing,
    #[error("TWITCH_CLIENT_ID is not set")]
    NoClientId,
    #[error(
        "Twitch refused the token and there is no refresh token: log in again with `stream-control twitch login`"
    )]
    Invalid,
    #[error("refreshing the token failed: {0}")]
    Refresh(String),
    /// Twitch refused the refresh token itself: the authorization was revoked (the app was
    /// disconnected, the password changed) or the token was replaced by another login.
    /// Retrying cannot help; only a new login can.
    #[error(
        "Twitch refused the refresh token ({0}): the authorization was revoked; log in again with `stream-control twitch login`"
    )]
    Revoked(String),
    #[error("Twitch could not be reached: {0}")]
    Unreachable(String),
}

/// Validate `stored`; if Twitch refuses it, refresh from its refresh token. Returns a usable
/// token (not yet saved).
pub async fn establish<C: twitch_oauth2::client::Client>(
    http: &C,
    stored: &StoredToken,
    client_id: &ClientId,
    secret: Option<&ClientSecret>,
) -> Result<UserToken, TokenError> {
    let access = AccessToken::new(stored.access_token.clone());
    let refresh = stored.refresh_token.clone().map(RefreshToken::new);
    match UserToken::from_existing(http, access, refresh, secret.cloned()).await {
        Ok(token) => Ok(token),
        Err(error) if is_unauthorized(&error) => {
            refresh_from(http, stored, client_id, secret).await
        }
        Err(error) => Err(TokenError::Unreachable(error_chain(&error))),
    }
}

/// A fresh token from the stored refresh token (which stays in `stored` whatever happens).
pub async fn refresh_from<C: twitch_oauth2::client::Client>(
    http: &C,
    stored: &StoredToken,
    client_id: &ClientId,
    secret: Option<&ClientSecret>,
) -> Result<UserToken, TokenError> {
    let Some(refresh) = stored.refresh_token.clone() else {
        return Err(TokenError::Invalid);
    };
    UserToken::from_refresh_token(
        http,
        RefreshToken::new(refresh),
        client_id.clone(),
        secret.cloned(),
    )
    .await
    .map_err(|error| match &error {
        // 400 "Invalid refresh token" (401 for a revoked client's tokens): final.
        RetrieveTokenError::RefreshTokenError {
            error:
                RefreshTokenError::RequestParseError(twitch_oauth2::RequestParseError::TwitchError(
                    answer,
                )),
            ..
        } if matches!(answer.status.as_u16(), 400 | 401) => {
            TokenError::Revoked(answer.message.clone())
        }
        _ => TokenError::Refresh(error_chain(&error)),
    })
}

/// How often the token file is read for a login made while the bot runs
/// (`stream-control twitch login` in another shell).
pub const FILE_POLL: Duration = Duration::from_secs(2);

/// Wait until the token file holds a token other than `current` (a new login), and return
/// it. A missing or unreadable file is no change: the token in use stays.
async fn file_changed(state: &StateDir, file: &str, current: Option<&StoredToken>) -> StoredToken {
    loop {
        tokio::time::sleep(FILE_POLL).await;
        if let Ok(Some(stored)) = load(state, file)
            && Some(&stored) != current
        {
            return stored;
        }
    }
}

fn is_unauthorized(error: &(dyn std::error::Error + 'static)) -> bool {
    let text = error_chain(error).to_lowercase();
    text.contains("401") || text.contains("unauthorized") || text.contains("invalid access token")
}

/// `stream-control twitch login [--bot]`: Twitch's device-code flow. `show_code` gets the
/// verification URL and the code to enter there; the token is stored once the person approved.
/// No redirect server is needed.
pub async fn device_login(
    config: &crate::config::Config,
    secrets: &crate::secrets::Secrets,
    bot: bool,
    show_code: impl FnOnce(&str, &str),
) -> anyhow::Result<StoredToken> {
    use anyhow::Context as _;
    let twitch = config
        .twitch
        .as_ref()
        .context("config.ron has no `twitch` section: add one first")?;
    let client_id = secrets
        .get("TWITCH_CLIENT_ID")
        .context("TWITCH_CLIENT_ID is not set (create an application at dev.twitch.tv)")?;
    let tls = crate::tls::Tls::new(&config.tls)?;
    let http = super::http::TwitchHttp::new(&tls, &twitch.helix_url, &twitch.oauth_url);
    let helix: twitch_api::HelixClient<'static, _> = twitch_api::HelixClient::with_client(http);
    let scopes = if bot { BOT_SCOPES } else { SCOPES };
    let scopes = scopes
        .iter()
        .map(|s| twitch_oauth2::Scope::parse(*s))
        .collect();
    let mut builder = twitch_oauth2::DeviceUserTokenBuilder::new(
        ClientId::new(client_id.expose().into()),
        scopes,
    );
    builder.set_secret(
        secrets
            .get("TWITCH_CLIENT_SECRET")
            .map(|s| ClientSecret::new(s.expose().into())),
    );
    let code = builder
        .start(&helix)
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))
        .context("starting the device login")?;
    show_code(&code.verification_uri, &code.user_code);
    let token = builder
        .wait_for_code(&helix, tokio::time::sleep)
        .await
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))
        .context("waiting for the login to be approved")?;
    let stored = StoredToken::from_user_token(&token);
    let state = StateDir::new(&config.state_dir);
    let file = if bot { BOT_TOKEN_FILE } else { TOKEN_FILE };
    save(&state, file, &stored, &Redactor::default())
        .with_context(|| format!("saving {}", state.path(file).display()))?;
    Ok(stored)
}

/// The token task: for the broadcaster and (when logged in) the bot account, load, validate,
/// refresh before expiry and on demand, validate hourly.
pub async fn run(
    twitch: std::sync::Arc<super::Twitch>,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use super::Account;
    let (broadcaster, bot) = tokio::join!(
        maintain(&twitch, Account::Broadcaster, &cancel),
        maintain(&twitch, Account::Bot, &cancel),
    );
    broadcaster.and(bot)
}

async fn maintain(
    twitch: &super::Twitch,
    account: super::Account,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use crate::status::{Event, TokenState};
    let bot = account == super::Account::Bot;
    let file = account.file();
    let (_, refresh_wanted) = twitch.slot(account);
    let set = |state: TokenState, stored: Option<&StoredToken>, error: Option<String>| {
        twitch.status.update(|t| {
            if bot {
                t.bot_token = Some(state);
                t.bot_login = stored.and_then(|s| s.login.clone());
                if state == TokenState::Failing {
                    t.token_error =
                        error.map(|e| twitch.redactor.redact(&format!("bot account: {e}")));
                }
                return;
            }
            t.token = state;
            // Every error only a new login can fix says how (Missing, Invalid, Revoked).
            t.login_required = error.as_ref().is_some_and(|e| e.contains(LOGIN_FIX));
            t.token_error = error.map(|e| twitch.redactor.redact(&e));
            if let Some(stored) = stored {
                t.login = stored.login.clone();
                t.user_id = stored.user_id.clone();
                t.token_expires_in_secs = stored.expires_in().map(|d| d.as_secs());
                t.missing_scopes = stored.missing_scopes(account.scopes());
            }
        });
    };
    // The alert goes out once per reason, not on every retry.
    let mut said: Option<String> = None;
    let failing = |said: &mut Option<String>, reason: String| {
        let reason = twitch.redactor.redact(&reason);
        if said.as_ref() == Some(&reason) {
            return;
        }
        *said = Some(reason.clone());
        tracing::error!(%reason, "the Twitch token is not usable");
        let _ = twitch.events.send(Event::TwitchTokenFailing { reason });
    };
    let Some(client_id) = twitch.client_id.clone() else {
        set(
            TokenState::Failing,
            None,
            Some(TokenError::NoClientId.to_string()),
        );
        cancel.cancelled().await;
        return Ok(());
    };
    // Wait for a token file; a login made while running is picked up.
    let mut stored = loop {
        match load(&twitch.state, file) {
            Ok(Some(stored)) => break stored,
            // A bot account is optional: chat goes out as the broadcaster meanwhile.
            Ok(None) if bot => {}
            Ok(None) => {
                tracing::warn!(
                    "Twitch is configured but not logged in: run `stream-control twitch login`"
                );
                set(
                    TokenState::Missing,
                    None,
                    Some(TokenError::Missing.to_string()),
                );
            }
            Err(error) => set(
                TokenState::Failing,
                None,
                Some(format!("cannot read {file}: {error}")),
            ),
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = file_changed(&twitch.state, file, None) => {}
        }
    };
    let secret = twitch.client_secret.clone();
    let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
    // Use the token we have, or a refreshed one.
    let usable = |token: UserToken, stored: &mut StoredToken| {
        let fresh = StoredToken::from_user_token(&token);
        if fresh != *stored
            && let Err(error) = save(&twitch.state, file, &fresh, &twitch.redactor)
        {
            tracing::error!(%error, "cannot save the Twitch token");
        }
        *stored = fresh;
        let missing = stored.missing_scopes(account.scopes());
        if !missing.is_empty() {
            tracing::error!(
                ?missing,
                "the Twitch token lacks scopes: log in again with `stream-control twitch login`"
            );
        }
        set(TokenState::Valid, Some(stored), None);
        twitch.publish(account, Some(token));
    };
    let mut need_refresh = false;
    loop {
        twitch.redactor.add(&stored.access_token);
        if let Some(refresh) = &stored.refresh_token {
            twitch.redactor.add(refresh);
        }
        let attempt = if need_refresh {
            refresh_from(&twitch.helix, &stored, &client_id, secret.as_ref()).await
        } else {
            establish(&twitch.helix, &stored, &client_id, secret.as_ref()).await
        };
        let wait = match attempt {
            Ok(token) => {
                usable(token, &mut stored);
                backoff.reset();
                said = None;
                // Maintain: refresh before expiry, validate hourly (`establish` validates),
                // refresh at once after a 401.
                let refresh_in = stored
                    .expires_in()
                    .unwrap_or(VALIDATE_EVERY)
                    .saturating_sub(REFRESH_BEFORE);
                Some(refresh_in)
            }
            // Final: only a new login helps. Nothing is retried; the file is watched.
            Err(error @ (TokenError::Revoked(_) | TokenError::Invalid)) => {
                twitch.publish(account, None);
                set(TokenState::Failing, Some(&stored), Some(error.to_string()));
                failing(&mut said, error.to_string());
                None
            }
            Err(error) => {
                // Keep a token that still works while the refresh is retried.
                let still_valid = twitch
                    .slot(account)
                    .0
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some()
                    && stored.expires_in().is_some_and(|d| !d.is_zero());
                if !still_valid {
                    twitch.publish(account, None);
                }
                set(TokenState::Failing, Some(&stored), Some(error.to_string()));
                failing(&mut said, error.to_string());
                let retry_in = backoff.next_delay();
                need_refresh = matches!(error, TokenError::Refresh(_)) || need_refresh;
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(retry_in) => {}
                    _ = refresh_wanted.notified() => {}
                    new = file_changed(&twitch.state, file, Some(&stored)) => {
                        stored = new;
                        need_refresh = false;
                        backoff.reset();
                    }
                }
                continue;
            }
        };
        let sleep = async {
            match wait {
                Some(d) => tokio::time::sleep(d.min(VALIDATE_EVERY)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = refresh_wanted.notified(), if wait.is_some() => need_refresh = true,
            _ = sleep => need_refresh = wait.is_some_and(|d| d <= VALIDATE_EVERY),
            new = file_changed(&twitch.state, file, Some(&stored)) => {
                tracing::info!("a new Twitch login was stored; using it");
                stored = new;
                need_refresh = false;
                backoff.reset();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredToken {
        StoredToken {
            access_token: "access-abcdef123456".into(),
            refresh_token: Some("refresh-abcdef123456".into()),
            expires_at: Some(now_unix() + 3600),
            scopes: vec!["user:read:chat".into(), "user:write:chat".into()],
            user_id: Some("1001".into()),
            login: Some("streamer".into()),
        }
    }

    #[test]
    fn a_seed_token_file_is_accepted() {
        let seed: StoredToken =
            serde_json::from_str(r#"{"access_token": "abc", "refresh_token": "def"}"#).unwrap();
        assert_eq!(seed.refresh_token.as_deref(), Some("def"));
        assert_eq!(seed.expires_at, None);
        assert!(
            seed.missing_scopes(SCOPES).is_empty(),
            "unknown scopes are not reported missing"
        );
    }

    #[test]
    fn missing_scopes_are_named() {
        assert_eq!(
            stored().missing_scopes(SCOPES),
            [
                "channel:manage:broadcast",
                "channel:manage:raids",
                "clips:edit",
                "channel:edit:commercial",
                "channel:manage:ads",
                "channel:read:ads"
            ]
        );
    }

    #[test]
    fn debug_hides_the_secrets() {
        let text = format!("{:?}", stored());
        assert!(!text.contains("abcdef123456"), "{text}");
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
        assert_eq!(redactor.redact("x access-abcdef123456 y"), "x *** y");
    }
}
