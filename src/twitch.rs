//! Twitch: tokens ([`auth`]), Helix calls ([`helix`]) through the real twitch_api client.
//! The chat surface and the EventSub session arrive on top of these.
//!
//! [`Twitch`] is shared through the context: the Helix client (with the configured base URLs),
//! the application credentials from the environment, and the broadcaster's token, which only
//! the token task ([`auth::run`]) replaces.

pub mod auth;
pub mod eventsub;
pub mod helix;
pub mod http;

use crate::config::TwitchConfig;
use crate::secrets::{Redactor, Secrets};
use crate::state_store::StateDir;
use std::sync::RwLock;
use tokio::sync::{Notify, watch};
use twitch_api::HelixClient;
use twitch_oauth2::{ClientId, ClientSecret, UserToken};

/// Whose token: the broadcaster's (required) or a separate bot account's (optional, for chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Broadcaster,
    Bot,
}

impl Account {
    /// The token file in the state directory.
    pub fn file(self) -> &'static str {
        match self {
            Account::Broadcaster => auth::TOKEN_FILE,
            Account::Bot => auth::BOT_TOKEN_FILE,
        }
    }

    /// The scopes the account needs.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Account::Broadcaster => auth::SCOPES,
            Account::Bot => auth::BOT_SCOPES,
        }
    }
}

/// Twitch as the rest of the bot uses it.
pub struct Twitch {
    pub config: TwitchConfig,
    pub helix: HelixClient<'static, http::TwitchHttp>,
    pub client_id: Option<ClientId>,
    pub client_secret: Option<ClientSecret>,
    state: StateDir,
    redactor: Redactor,
    /// The broadcaster's usable token, published by the token task.
    token: RwLock<Option<UserToken>>,
    /// The optional bot account's token (chat is sent as the bot when there is one).
    bot_token: RwLock<Option<UserToken>>,
    bot_refresh_wanted: Notify,
    /// Raised when a call got 401: the token task refreshes at once.
    refresh_wanted: Notify,
    /// Bumped whenever a new token is published.
    generation: watch::Sender<u64>,
    /// Ids of chat messages the bot sent (they come back over EventSub and are ignored).
    sent: std::sync::Mutex<std::collections::VecDeque<String>>,
    /// `twitch.admins` entries (logins without `@`, lowercased; or ids) resolved to user ids.
    admin_ids: RwLock<std::collections::HashMap<String, String>>,
}

impl std::fmt::Debug for Twitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twitch").finish_non_exhaustive()
    }
}

impl Twitch {
    pub fn new(
        config: TwitchConfig,
        secrets: &Secrets,
        state: StateDir,
        redactor: Redactor,
    ) -> Twitch {
        let http = http::TwitchHttp::new(&config.helix_url, &config.oauth_url);
        Twitch {
            helix: HelixClient::with_client(http),
            client_id: secrets
                .get("TWITCH_CLIENT_ID")
                .map(|s| ClientId::new(s.expose().to_string())),
            client_secret: secrets
                .get("TWITCH_CLIENT_SECRET")
                .map(|s| ClientSecret::new(s.expose().to_string())),
            config,
            state,
            redactor,
            token: RwLock::new(None),
            bot_token: RwLock::new(None),
            bot_refresh_wanted: Notify::new(),
            refresh_wanted: Notify::new(),
            generation: watch::channel(0).0,
            sent: std::sync::Mutex::new(std::collections::VecDeque::new()),
            admin_ids: RwLock::new(std::collections::HashMap::new()),
        }
    }

    /// The broadcaster's token, if logged in and valid.
    pub fn token(&self) -> Option<UserToken> {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The bot account's token, if one is logged in and valid.
    pub fn bot_token(&self) -> Option<UserToken> {
        self.bot_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn slot(&self, account: Account) -> (&RwLock<Option<UserToken>>, &Notify) {
        match account {
            Account::Broadcaster => (&self.token, &self.refresh_wanted),
            Account::Bot => (&self.bot_token, &self.bot_refresh_wanted),
        }
    }

    /// Ask the token task to refresh an account's token now (after a 401), and wait (at most
    /// `timeout`) for a new token. Returns whether one arrived.
    pub async fn refresh_after_unauthorized(
        &self,
        account: Account,
        timeout: std::time::Duration,
    ) -> bool {
        let (slot, refresh_wanted) = self.slot(account);
        let access = |slot: &RwLock<Option<UserToken>>| {
            slot.read()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|t| t.access_token.secret().to_string())
        };
        let refused = access(slot);
        let mut generation = self.generation.subscribe();
        generation.mark_unchanged();
        refresh_wanted.notify_one();
        // Both accounts publish through one counter: wait for *this* account's new token.
        let fresh = async {
            while generation.changed().await.is_ok() {
                let now = access(slot);
                if now.is_some() && now != refused {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(timeout, fresh).await.unwrap_or(false)
    }

    fn remember_sent(&self, message_id: &str) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() >= 256 {
            sent.pop_front();
        }
        sent.push_back(message_id.to_string());
    }

    /// Whether the bot sent this chat message.
    pub fn sent_by_us(&self, message_id: &str) -> bool {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|m| m == message_id)
    }

    /// Whether a chatter is a configured admin. By user id only: logins are resolved to ids
    /// when the EventSub session starts, so a renamed account keeps its rights and whoever takes
    /// over an old login does not get them.
    pub fn is_admin(&self, user_id: &str) -> bool {
        self.admin_ids
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|id| id == user_id)
    }

    /// Resolve the configured admin logins to ids (matching by id survives a rename). Each
    /// login is asked for until Twitch has answered it once: a later call (every EventSub
    /// session start) asks only for the ones still open, and a failed call takes nothing away.
    pub async fn resolve_admins(&self) {
        for admin in &self.config.admins {
            let admin = admin.trim_start_matches('@').to_lowercase();
            let known = (self.admin_ids.read())
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&admin);
            if known {
                continue;
            }
            let id = if admin.chars().all(|c| c.is_ascii_digit()) {
                admin.clone()
            } else {
                match helix::user_id(self, &admin).await {
                    Ok(Some(id)) => id,
                    Ok(None) => {
                        tracing::warn!(login = %admin, "twitch.admins names a login Twitch does not know");
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(login = %admin, %error, "cannot resolve an admin login");
                        continue;
                    }
                }
            };
            self.admin_ids
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(admin, id);
        }
    }

    fn publish(&self, account: Account, token: Option<UserToken>) {
        *self
            .slot(account)
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner()) = token;
        self.generation.send_modify(|g| *g += 1);
    }
}
