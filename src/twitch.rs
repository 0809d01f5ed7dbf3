//! Twitch: tokens ([`auth`]), Helix calls ([`helix`]) through the real twitch_api client.
//! The chat surface and the EventSub session arrive on top of these.
//!
//! [`Twitch`] is shared through the context: the Helix client (with the configured base URLs),
//! the application credentials from the environment, and the broadcaster's token, which only
//! the token task ([`auth::run`]) replaces.

pub mod ads;
pub mod auth;
pub mod eventsub;
pub mod helix;
pub mod http;
pub mod moments;

/// What the surfaces use: chat messages and the category search (the Helix client stays inside).
pub use helix::{CHAT_LIMIT, PART_LIMIT, TwitchError, search_categories, send_chat};
pub use moments::create_marker;

use crate::config::TwitchConfig;
use crate::secrets::{Redactor, Secrets};
use crate::state_store::StateDir;
use std::sync::RwLock;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
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
    /// For the EventSub WebSocket (Helix and OAuth have it in `helix`'s client).
    tls: crate::tls::Tls,
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
    /// The writer of `Status.twitch` (token, stream info, EventSub).
    pub(crate) status: crate::status::Publisher<Option<crate::status::TwitchStatus>>,
    pub(crate) events: crate::status::EventBus,
    /// What the bot posts in chat: to know its echoes, and to vary a repeat.
    outgoing: std::sync::Mutex<Outgoing>,
    /// `twitch.admins` entries (logins without `@`, lowercased; or ids) resolved to user ids.
    admin_ids: RwLock<std::collections::HashMap<String, String>>,
    /// Until when Twitch refuses another commercial (from the last one this process started).
    commercial_cooldown: std::sync::Mutex<Option<Instant>>,
}

/// How long Twitch refuses a message identical to the sender's previous one (IRC `NOTICE`
/// `msg_duplicate`: "identical to the previous one you sent, less than 30 seconds ago",
/// dev.twitch.tv/docs/irc/msg-id); also how long an unanswered post is remembered.
pub const DUPLICATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

/// Appended to a text that would repeat the sender's previous one within
/// [`DUPLICATE_WINDOW`]: an invisible tag character, as some chat clients add to repeat a
/// message (the chat surface strips it again before parsing).
pub const REPEAT_MARK: &str = " \u{E0000}";

/// The chat messages the bot posts, as far as telling its own echoes and repeats goes.
#[derive(Debug, Default)]
struct Outgoing {
    /// Ids Helix answered for our posts (the most recent 256).
    sent: std::collections::VecDeque<String>,
    /// Posts whose answer has not come yet: (sender id, text, when).
    pending: std::collections::VecDeque<(String, String, Instant)>,
    /// Per sender: the last text posted and when.
    last: std::collections::HashMap<String, (String, Instant)>,
}

impl Outgoing {
    /// The text to post as `sender_id` (varied if it repeats the previous one), noted as
    /// pending until [`Outgoing::answered`].
    fn begin(&mut self, sender_id: &str, text: &str, now: Instant) -> String {
        self.pending
            .retain(|(_, _, at)| now.saturating_duration_since(*at) < DUPLICATE_WINDOW);
        let repeat = self.last.get(sender_id).is_some_and(|(last, at)| {
            last == text && now.saturating_duration_since(*at) < DUPLICATE_WINDOW
        });
        let text = if repeat {
            format!("{text}{REPEAT_MARK}")
        } else {
            text.to_string()
        };
        self.last.insert(sender_id.to_string(), (text.clone(), now));
        if self.pending.len() >= 256 {
            self.pending.pop_front();
        }
        self.pending
            .push_back((sender_id.to_string(), text.clone(), now));
        text
    }

    /// Helix answered the post of `text` (with its id, if it gave one).
    fn answered(&mut self, sender_id: &str, text: &str, message_id: Option<&str>) {
        if let Some(i) = self
            .pending
            .iter()
            .position(|(s, t, _)| s == sender_id && t == text)
        {
            self.pending.remove(i);
        }
        if let Some(id) = message_id {
            if self.sent.len() >= 256 {
                self.sent.pop_front();
            }
            self.sent.push_back(id.to_string());
        }
    }

    fn own_echo(&mut self, sender_id: &str, message_id: &str, text: &str, now: Instant) -> bool {
        if self.sent.iter().any(|m| m == message_id) {
            return true;
        }
        let pending = self.pending.iter().position(|(s, t, at)| {
            s == sender_id && t == text && now.saturating_duration_since(*at) < DUPLICATE_WINDOW
        });
        pending.map(|i| self.pending.remove(i)).is_some()
    }
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
        tls: &crate::tls::Tls,
        status: crate::status::Publisher<Option<crate::status::TwitchStatus>>,
        events: crate::status::EventBus,
    ) -> Twitch {
        let http = http::TwitchHttp::new(tls, &config.helix_url, &config.oauth_url);
        Twitch {
            helix: HelixClient::with_client(http),
            client_id: secrets
                .get("TWITCH_CLIENT_ID")
                .map(|s| ClientId::new(s.expose().to_string())),
            client_secret: secrets
                .get("TWITCH_CLIENT_SECRET")
                .map(|s| ClientSecret::new(s.expose().to_string())),
            config,
            tls: tls.clone(),
            state,
            redactor,
            token: RwLock::new(None),
            bot_token: RwLock::new(None),
            bot_refresh_wanted: Notify::new(),
            refresh_wanted: Notify::new(),
            generation: watch::channel(0).0,
            status,
            events,
            outgoing: std::sync::Mutex::new(Outgoing::default()),
            admin_ids: RwLock::new(std::collections::HashMap::new()),
            commercial_cooldown: std::sync::Mutex::new(None),
        }
    }

    /// The broadcaster's token, if logged in and valid.
    /// A commercial started: Twitch takes the next one after `retry_after`.
    pub(crate) fn ad_started(&self, retry_after: std::time::Duration) {
        *self
            .commercial_cooldown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now() + retry_after);
    }

    /// What is left of the pause after the last commercial this process started, if any.
    pub(crate) fn ad_cooldown_left(&self) -> Option<std::time::Duration> {
        let until = *self
            .commercial_cooldown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }

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

    fn outgoing(&self) -> std::sync::MutexGuard<'_, Outgoing> {
        self.outgoing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The text to post as `sender_id` (a repeat varied), noted as pending.
    fn begin_post(&self, sender_id: &str, text: &str) -> String {
        self.outgoing().begin(sender_id, text, Instant::now())
    }

    /// Helix answered a post.
    fn post_answered(&self, sender_id: &str, text: &str, message_id: Option<&str>) {
        self.outgoing().answered(sender_id, text, message_id);
    }

    /// Whether a chat message is the bot's own coming back over EventSub: by its id once Helix
    /// has answered the post, and before that by its sender and text (the echo may arrive
    /// first). A text echo is consumed: the same words typed again are a message again.
    pub fn own_echo(&self, sender_id: &str, message_id: &str, text: &str) -> bool {
        self.outgoing()
            .own_echo(sender_id, message_id, text, Instant::now())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_varied_part_still_fits_a_chat_message() {
        assert_eq!(
            helix::PART_LIMIT + REPEAT_MARK.chars().count(),
            helix::CHAT_LIMIT
        );
    }

    #[test]
    fn a_repeat_within_the_window_is_varied_and_alternates() {
        let mut out = Outgoing::default();
        let t0 = Instant::now();
        assert_eq!(out.begin("1", "Pong!", t0), "Pong!");
        let second = out.begin("1", "Pong!", t0 + Duration::from_secs(1));
        assert_eq!(second, format!("Pong!{REPEAT_MARK}"));
        // Twitch compares with the previous message only: the plain text is new again.
        assert_eq!(
            out.begin("1", "Pong!", t0 + Duration::from_secs(2)),
            "Pong!"
        );
        // Another sender, or after the window: as is.
        assert_eq!(
            out.begin("2", "Pong!", t0 + Duration::from_secs(2)),
            "Pong!"
        );
        let later = t0 + Duration::from_secs(2) + DUPLICATE_WINDOW;
        assert_eq!(out.begin("1", "Pong!", later), "Pong!");
    }

    #[test]
    fn an_echo_is_known_by_text_before_the_answer_and_by_id_after() {
        let mut out = Outgoing::default();
        let t0 = Instant::now();
        let text = out.begin("1", "!ping", t0);
        // Before the answer: by sender and text, once.
        assert!(!out.own_echo("2", "m1", "!ping", t0));
        assert!(out.own_echo("1", "m1", "!ping", t0));
        assert!(!out.own_echo("1", "m2", "!ping", t0));
        out.answered("1", &text, Some("m1"));
        assert!(out.own_echo("1", "m1", "!ping", t0));
        // A post whose echo never came is forgotten after the window.
        out.begin("1", "!version", t0);
        assert!(!out.own_echo("1", "m3", "!version", t0 + DUPLICATE_WINDOW));
    }
}
