//! The `kick` section: the broadcaster's Kick channel, admins, how replies are sent, how chat
//! is read (Kick's Pusher socket or its webhooks), what is announced there, and the addresses
//! of Kick's OAuth server and API.

use super::values::{check_locale, duration, positive};
use serde::Deserialize;
use std::time::Duration;

/// Kick's own addresses (the defaults of `api_url` and `oauth_url`): the API server and the
/// OAuth server are different hosts (KickDevDocs, getting-started/generating-tokens-oauth2-flow.md:
/// "The host URL for our OAuth server is different from our API server").
pub const KICK_API_URL: &str = "https://api.kick.com/";
pub const KICK_OAUTH_URL: &str = "https://id.kick.com/";
/// The loopback port of `stream-control kick login` unless configured.
pub const DEFAULT_REDIRECT_PORT: u16 = 8888;
/// The longest `request_timeout` accepted: a chat reply waiting longer is no reply.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Kick. Client id and secret come from `KICK_CLIENT_ID` / `KICK_CLIENT_SECRET`; tokens from
/// `stream-control kick login` (stored in the state directory).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickConfig {
    /// The broadcaster's channel: its slug, as in `kick.com/<slug>`.
    pub channel: String,
    /// Kick user ids or usernames that may use admin commands in chat (besides the
    /// broadcaster).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Language of replies in Kick chat. `None`: the top-level `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Who replies in chat.
    #[serde(default)]
    pub send_as: SendAs,
    /// The loopback port `stream-control kick login` listens on for Kick's redirect: the Kick
    /// application must have `http://127.0.0.1:<port>/kick/callback` as its redirect URL.
    #[serde(default = "default_redirect_port")]
    pub redirect_port: u16,
    /// Kick's API and OAuth addresses; change only to go through a proxy (or a test double).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    #[serde(default = "default_oauth_url")]
    pub oauth_url: String,
    /// Every call to Kick gives up after this.
    #[serde(default = "default_request_timeout", deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// How chat is read: `Pusher(chatroom_id: …)` (Kick's own chat socket: no public address
    /// needed, unofficial) or `Webhook()` (Kick's signed webhooks to the web server: needs
    /// `web` reachable from the internet over HTTPS). `None`: Kick chat is not read (the bot
    /// still announces there).
    #[serde(default)]
    pub reader: Option<KickReader>,
    /// What is announced in Kick chat: the same choices, and defaults, as `twitch.announce`.
    #[serde(default)]
    pub announce: super::AnnounceConfig,
    /// An outgoing host (raid) read from Kick chat runs `obs.raid_stop` (Pusher only: Kick's
    /// webhooks carry no raid).
    #[serde(default)]
    pub raid_stop: bool,
}

/// Where Kick chat is read from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum KickReader {
    /// Kick's chat socket (Pusher). `chatroom_id` is the chatroom's id, not the channel's:
    /// `chatroom.id` in kick.com/api/v2/channels/<slug> (open it in a browser).
    /// `channel_id` (`id` there) adds outgoing hosts, for `raid_stop`.
    Pusher {
        chatroom_id: u64,
        #[serde(default)]
        channel_id: Option<u64>,
        /// The socket's address; change only for a test double.
        #[serde(default = "default_pusher_url")]
        url: String,
    },
    /// Kick's webhooks, posted to `path` on the web server (signature checked with Kick's
    /// public key, replays refused). Subscribe to `chat.message.sent` in the Kick app.
    Webhook {
        #[serde(default = "default_webhook_path")]
        path: String,
        /// A PEM file with the key deliveries are signed with. Default: the key Kick publishes
        /// (built in); change only for a test double.
        #[serde(default)]
        public_key_file: Option<std::path::PathBuf>,
    },
}

/// Kick's chat socket: Pusher's `us2` cluster with the app key Kick's web client uses, as
/// `kick::pusher::pusher_url` builds it (a test keeps the two equal).
pub const KICK_PUSHER_URL: &str = "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=7.6.0&flash=false";

fn default_pusher_url() -> String {
    KICK_PUSHER_URL.into()
}

fn default_webhook_path() -> String {
    "/kick/webhook".into()
}

/// Who the bot's chat messages come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SendAs {
    /// Not the broadcaster: the bot account logged in with `kick login --bot` when there is
    /// one (as that user), else the Kick application's own bot (Kick's `type: "bot"`, with the
    /// bot badge, into the broadcaster's channel; it must be enabled in the application's
    /// settings).
    #[default]
    Bot,
    /// The broadcaster's own account (Kick's `type: "user"`).
    Broadcaster,
}

impl KickConfig {
    /// The redirect URI the login uses (and the Kick application must list).
    pub fn redirect_uri(&self) -> String {
        redirect_uri(self.redirect_port)
    }
}

/// `http://127.0.0.1:<port>/kick/callback`.
pub fn redirect_uri(port: u16) -> String {
    format!("http://127.0.0.1:{port}/kick/callback")
}

fn default_redirect_port() -> u16 {
    DEFAULT_REDIRECT_PORT
}

fn default_api_url() -> String {
    KICK_API_URL.into()
}

fn default_oauth_url() -> String {
    KICK_OAUTH_URL.into()
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}

/// A Kick channel slug or username: letters, digits, `_` and `-`, at most 64 characters. Kick
/// shows a username's `_` as `-` in its slug; both are accepted here and Kick answers which
/// exists.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(super) fn validate_kick(kick: &KickConfig, problem: &mut impl FnMut(String, String)) {
    if !valid_name(&kick.channel) {
        problem(
            "kick.channel".into(),
            format!(
                "`{}` is not a Kick channel: write its slug, as in kick.com/<slug>",
                kick.channel
            ),
        );
    }
    for (i, admin) in kick.admins.iter().enumerate() {
        if !valid_name(admin.trim_start_matches('@')) {
            problem(
                format!("kick.admins[{i}]"),
                format!("`{admin}` is not a Kick username or user id"),
            );
        }
    }
    check_locale("kick.locale", kick.locale.as_ref(), problem);
    if kick.redirect_port == 0 {
        problem(
            "kick.redirect_port".into(),
            "must be a fixed port: Kick redirects to the exact address registered for the \
             application"
                .into(),
        );
    }
    for (key, url) in [("api_url", &kick.api_url), ("oauth_url", &kick.oauth_url)] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problem(
                format!("kick.{key}"),
                format!("`{url}` must start with https:// or http://"),
            );
        }
    }
    positive("kick.request_timeout", kick.request_timeout, problem);
    match &kick.reader {
        Some(KickReader::Pusher { url, .. })
            if !(url.starts_with("wss://") || url.starts_with("ws://")) =>
        {
            problem(
                "kick.reader.url".into(),
                format!("`{url}` must start with wss:// or ws://"),
            );
        }
        Some(KickReader::Webhook { path, .. })
            if !path.starts_with('/') || path.starts_with("/api/") || path.len() > 128 =>
        {
            problem(
                "kick.reader.path".into(),
                format!("`{path}` must be a path of its own, such as /kick/webhook"),
            );
        }
        _ => {}
    }
    if kick.request_timeout > MAX_REQUEST_TIMEOUT {
        problem(
            "kick.request_timeout".into(),
            format!(
                "at most {}",
                humantime::format_duration(MAX_REQUEST_TIMEOUT)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs_or_usernames_or_ids() {
        for good in ["streamer", "my-channel", "my_channel", "12345", "A1"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "kick.com/streamer", "a b", "ünï", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_redirect_uri_is_loopback_with_the_port() {
        assert_eq!(redirect_uri(8888), "http://127.0.0.1:8888/kick/callback");
    }
}
