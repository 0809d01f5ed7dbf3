//! `config.ron`: written by the operator, only read by the bot.
//!
//! Every struct denies unknown fields. [`Config::load`] reports every problem at once: RON syntax
//! errors, unknown and mistyped fields (with line:col, through `reader`, because serde stops at the
//! first error), then the semantic checks of [`Config::validate`] (with the key path and the
//! position of the value). Secrets never live here: see `secrets`.
//!
//! One section per feature; an absent section means the feature is off and its commands answer
//! "not enabled". Sections for features that are not built yet do not exist. `programs` (paths
//! of the system programs the bot runs) is not a feature: it always has its defaults.

mod reader;

pub use reader::Problem;

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where `stream-control` looks for its configuration by default.
pub const DEFAULT_PATH: &str = "config.ron";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Language of replies when the surface does not say (see [`crate::i18n::LOCALES`]).
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Directory for runtime state (tokens, restream endpoints, bans).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub log: LogConfig,
    /// The status page and JSON API. Absent: no web server.
    #[serde(default)]
    pub web: Option<WebConfig>,
    /// OBS over obs-websocket v5. Absent: scene and stream commands answer "not enabled".
    #[serde(default)]
    pub obs: Option<ObsConfig>,
    /// Twitch: chat commands, channel management, raids. Absent: no Twitch.
    #[serde(default)]
    pub twitch: Option<TwitchConfig>,
    /// The bitrate guard. Absent: no automatic switching.
    #[serde(default)]
    pub guard: Option<GuardConfig>,
    /// Discord: slash commands, control panel, status embed, alerts, chat mirror. Absent: no
    /// Discord.
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    /// Restream endpoints pushed by nginx-rtmp. Absent: `restream` answers "not enabled".
    #[serde(default)]
    pub restream: Option<RestreamConfig>,
    /// The stream PC: Wake-on-LAN, reachability, restart and shutdown over ssh.
    #[serde(default)]
    pub power: Option<PowerConfig>,
    /// systemd units the bot shows, restarts and reads the journal of.
    #[serde(default)]
    pub services: Option<ServicesConfig>,
    /// Where the system programs the bot runs live (nginx, systemctl, journalctl, ssh, sudo).
    #[serde(default)]
    pub programs: ProgramsConfig,
    /// Outgoing TLS: certificate authorities trusted besides the system's.
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub commands: CommandsConfig,
    /// Reply overrides: locale → message id → Fluent pattern.
    #[serde(default)]
    pub messages: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing env-filter directive; `RUST_LOG` overrides it.
    #[serde(default = "default_log_filter")]
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            filter: default_log_filter(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum LogFormat {
    /// Human-readable, one line per event.
    #[default]
    Pretty,
    /// One JSON object per line (for journald/Loki).
    Json,
}

/// The web server: status page, overlay, metrics, and how it protects itself. Access keys and
/// the alert token come from the environment (`STATUS_KEY`, `OVERLAY_KEY`, `ALERT_TOKEN`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address and port to listen on.
    #[serde(default = "default_bind", deserialize_with = "socket_addr")]
    pub bind: SocketAddr,
    /// Reverse proxies, each with the one header it sets: `(net: "127.0.0.1", header:
    /// XForwardedFor)`. Only that header is believed, and only from that proxy; from anyone else
    /// every forwarding header is ignored and the client is the peer address.
    #[serde(default)]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Host names the pages are reached by, besides IP addresses and `localhost`
    /// (`["stream.example.com"]`). A page without an access key answers only to these (421 to any
    /// other `Host`): a web page cannot point a name of its own at the bot (DNS rebinding).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Caps on what the web server remembers, its connections and its time.
    #[serde(default)]
    pub limits: WebLimits,
    /// Send `Strict-Transport-Security` (only when the bot is reached over HTTPS through a TLS
    /// proxy).
    #[serde(default)]
    pub hsts: bool,
    /// Requests per client IP, on every route.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// Ban a client IP after this many bad access keys or alert tokens. `None`: never
    /// automatically.
    #[serde(default = "default_auto_ban")]
    pub auto_ban: Option<AutoBanConfig>,
    /// The OBS overlay (`/overlay`, `/ws/overlay`, `POST /api/alert`). Absent: no overlay.
    #[serde(default)]
    pub overlay: Option<OverlayConfig>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            bind: default_bind(),
            trusted_proxies: Vec::new(),
            hosts: Vec::new(),
            limits: WebLimits::default(),
            hsts: false,
            rate_limit: RateLimitConfig::default(),
            auto_ban: default_auto_ban(),
            overlay: None,
        }
    }
}

/// A reverse proxy in front of the web server and the header it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedProxy {
    /// The proxy's address or network ("127.0.0.1", "10.0.0.0/8", "fd00::/8").
    #[serde(deserialize_with = "ip_net")]
    pub net: IpNet,
    /// The header this proxy writes the client address into.
    pub header: ProxyHeader,
}

/// Which header a trusted proxy writes the client address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProxyHeader {
    /// `X-Forwarded-For` (nginx `proxy_add_x_forwarded_for`, Caddy, Traefik): read right to
    /// left, skipping trusted hops.
    XForwardedFor,
    /// `CF-Connecting-IP` (Cloudflare, cloudflared).
    CfConnectingIp,
    /// `X-Real-IP` (nginx `proxy_set_header X-Real-IP $remote_addr`).
    XRealIp,
}

/// Caps of the web server's memory, connections and time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebLimits {
    /// Client addresses (IPv6: /64 networks) the rate limiter remembers at most.
    pub max_rate_limit_entries: usize,
    /// Automatic bans kept at most; beyond, the one closest to expiring is dropped.
    pub max_auto_bans: usize,
    /// Open connections at most; beyond, a new one is closed at once.
    pub max_connections: usize,
    /// Open connections from one address (IPv6: one /64) at most; trusted proxies are exempt.
    pub max_connections_per_ip: usize,
    /// A request's headers must arrive within this long, counted from the connection's start
    /// or the previous answer (so it is also how long an idle keep-alive connection stays).
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// A connection that neither sends nor takes a byte for this long is closed (a live
    /// status stream and overlay send something every 15 and 20 s).
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// A request (its body included) must be answered within this long (408 beyond); a stream's
    /// answer starts at once and is not limited.
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Status pages on the live stream (`/api/events`) at most; 503 beyond.
    pub max_status_streams: usize,
    /// Overlays connected to `/ws/overlay` at most; 503 beyond.
    pub max_overlays: usize,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            max_rate_limit_entries: 10_000,
            max_auto_bans: 10_000,
            max_connections: 4096,
            max_connections_per_ip: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(15),
            max_status_streams: 100,
            max_overlays: 32,
        }
    }
}

/// A token bucket per client IP.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Sustained requests per second.
    pub per_second: u32,
    /// How many requests may come at once (a page load fetches several files).
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_second: 10,
            burst: 60,
        }
    }
}

/// Automatic bans: `after` bad keys or tokens from one IP `within` this long ban it `for` this
/// long.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoBanConfig {
    pub after: u32,
    #[serde(deserialize_with = "duration")]
    pub within: Duration,
    /// How long an automatic ban lasts (bans by command last until `unban-ip`).
    #[serde(rename = "for", deserialize_with = "duration")]
    pub duration: Duration,
}

impl Default for AutoBanConfig {
    fn default() -> Self {
        AutoBanConfig {
            after: 5,
            within: Duration::from_secs(600),
            duration: Duration::from_secs(24 * 3600),
        }
    }
}

fn default_auto_ban() -> Option<AutoBanConfig> {
    Some(AutoBanConfig::default())
}

/// The overlay for the OBS browser source: banner, sound and speech per alert.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlayConfig {
    /// Language of the alert texts. `None`: the top-level `locale`.
    pub locale: Option<String>,
    /// How long a banner shows.
    #[serde(deserialize_with = "duration")]
    pub banner: Duration,
    /// Volume of the alert sounds, 0.0 to 1.0.
    pub sound_volume: f32,
    /// Speech voice by the name the browser gives it. `None`: the browser's voice for
    /// `language`.
    pub voice: Option<String>,
    /// Speech language (BCP 47, e.g. "nb-NO"). `None`: the alert texts' locale.
    pub language: Option<String>,
    /// Speech rate, 0.1 to 10 (1 is normal).
    pub rate: f32,
    /// Speech volume, 0.0 to 1.0.
    pub volume: f32,
    /// Which alert kinds are also spoken.
    pub speak: SpeakConfig,
}

impl Default for OverlayConfig {
    fn default() -> Self {
        OverlayConfig {
            locale: None,
            banner: Duration::from_secs(6),
            sound_volume: 0.8,
            voice: None,
            language: None,
            rate: 1.0,
            volume: 1.0,
            speak: SpeakConfig::default(),
        }
    }
}

/// Speech per alert kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeakConfig {
    pub low: bool,
    pub restored: bool,
    pub offline: bool,
    pub raid: bool,
    pub custom: bool,
}

impl Default for SpeakConfig {
    fn default() -> Self {
        SpeakConfig {
            low: true,
            restored: true,
            offline: true,
            raid: true,
            custom: true,
        }
    }
}

impl SpeakConfig {
    /// Whether alerts of `kind` are spoken.
    pub fn speaks(&self, kind: commands::AlertKind) -> bool {
        use commands::AlertKind as K;
        match kind {
            K::Low => self.low,
            K::Restored => self.restored,
            K::Offline => self.offline,
            K::Raid => self.raid,
            K::Custom => self.custom,
        }
    }
}

/// An address or a network (`10.0.0.0/8`, `fd00::/8`): a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            format!("`{text}` is not an IP address or network, e.g. \"10.0.0.0/8\"")
        })?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// OBS connection, scene names and how stream actions behave. The password comes from
/// `OBS_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObsConfig {
    /// Host of the OBS PC (obs-websocket server).
    #[serde(default = "default_obs_host")]
    pub host: String,
    /// obs-websocket port.
    #[serde(default = "default_obs_port")]
    pub port: u16,
    /// First reconnect delay; doubles after each failure up to `reconnect_max`.
    #[serde(default = "default_reconnect_min", deserialize_with = "duration")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", deserialize_with = "duration")]
    pub reconnect_max: Duration,
    /// Every request to OBS gives up after this long.
    #[serde(default = "default_request_timeout", deserialize_with = "duration")]
    pub request_timeout: Duration,
    #[serde(default)]
    pub scenes: SceneNames,
    /// Scenes `scene <name>` may switch to besides those named in `scenes`. Empty: only those.
    /// Any other OBS scene is answered like an unknown one and never listed.
    #[serde(default)]
    pub switchable_scenes: Vec<String>,
    #[serde(default)]
    pub stop: StopConfig,
    #[serde(default)]
    pub fix: FixConfig,
    /// `refresh`: switch to this scene (default: the BRB scene), hold, switch back.
    #[serde(default)]
    pub refresh_scene: Option<String>,
    #[serde(default = "default_refresh_hold", deserialize_with = "duration")]
    pub refresh_hold: Duration,
    /// Stop the stream after an outgoing raid. Absent: raids do not stop the stream.
    #[serde(default)]
    pub raid_stop: Option<RaidStopConfig>,
}

impl ObsConfig {
    /// The scenes `scene <name>` may switch to: those named in `scenes`, the refresh scene and
    /// `switchable_scenes`.
    pub fn switchable(&self) -> Vec<&str> {
        let scenes = &self.scenes;
        [&scenes.live, &scenes.low, &scenes.brb, &scenes.offline]
            .into_iter()
            .chain(scenes.starting.as_ref())
            .chain(scenes.ending.as_ref())
            .chain(self.refresh_scene.as_ref())
            .chain(&self.switchable_scenes)
            .map(String::as_str)
            .collect()
    }
}

/// What happens after an outgoing raid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaidStopConfig {
    /// Wait this long after the raid before stopping (viewers are already gone).
    #[serde(deserialize_with = "duration")]
    pub delay: Duration,
    /// Only stop a stream that has been live at least this long (a test raid right after
    /// going live does not end the stream).
    #[serde(deserialize_with = "duration")]
    pub min_live: Duration,
    /// Chat message after the stop; `{channel}` is the raided channel. `None`: no message.
    pub message: Option<String>,
}

impl Default for RaidStopConfig {
    fn default() -> Self {
        RaidStopConfig {
            delay: Duration::ZERO,
            min_live: Duration::from_secs(60),
            message: Some("Raided {channel} successfully & ended the stream!".into()),
        }
    }
}

/// The scenes the bot and the guard use, by their names in OBS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SceneNames {
    pub live: String,
    pub low: String,
    pub brb: String,
    pub offline: String,
    /// Shown after `start`; the guard leaves it only for LIVE. `None`: `start` keeps the scene.
    pub starting: Option<String>,
    /// Shown before the stream stops (`stop`, raid). `None`: no ending scene.
    pub ending: Option<String>,
}

impl Default for SceneNames {
    fn default() -> Self {
        SceneNames {
            live: "LIVE".into(),
            low: "LOW".into(),
            brb: "BRB".into(),
            offline: "OFFLINE".into(),
            starting: Some("Starting soon".into()),
            ending: None,
        }
    }
}

/// How `stop` ends the stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopConfig {
    /// With an ending scene: how long it shows before the stream stops.
    #[serde(deserialize_with = "duration")]
    pub ending_delay: Duration,
    /// How long OBS has to confirm that the output stopped (or started).
    #[serde(deserialize_with = "duration")]
    pub confirm_timeout: Duration,
}

impl Default for StopConfig {
    fn default() -> Self {
        StopConfig {
            ending_delay: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(15),
        }
    }
}

/// What `fix` does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FixConfig {
    /// Restart these media sources and confirm they play again (the cure for a frozen SRT or
    /// RTMP media source).
    RestartMedia {
        sources: Vec<String>,
        #[serde(default = "default_media_confirm", deserialize_with = "duration")]
        confirm_timeout: Duration,
    },
    /// The seed's bounce: BRB, wait, LIVE.
    Bounce {
        #[serde(default = "default_bounce_delay", deserialize_with = "duration")]
        delay: Duration,
    },
}

impl Default for FixConfig {
    fn default() -> Self {
        FixConfig::Bounce {
            delay: default_bounce_delay(),
        }
    }
}

/// Twitch. Client id and secret come from `TWITCH_CLIENT_ID` / `TWITCH_CLIENT_SECRET`; tokens
/// from `stream-control twitch login` (stored in the state directory).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwitchConfig {
    /// Logins or user ids that may use admin commands in chat (besides the broadcaster).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Language of replies in Twitch chat. `None`: the top-level `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Which guard transitions are announced in chat.
    #[serde(default)]
    pub announce: AnnounceConfig,
    /// How often live state, viewers, title and category are read while live.
    #[serde(
        default = "default_stream_info_interval",
        deserialize_with = "duration"
    )]
    pub stream_info_interval: Duration,
    /// Twitch's API addresses; change only to go through a proxy (or a test double).
    #[serde(default = "default_helix_url")]
    pub helix_url: String,
    #[serde(default = "default_oauth_url")]
    pub oauth_url: String,
    #[serde(default = "default_eventsub_url")]
    pub eventsub_url: String,
}

/// Guard transitions announced in chat (every transition, whether or not OBS streams).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnounceConfig {
    pub low: bool,
    pub restored: bool,
    pub offline: bool,
    /// Also announce what the guard decided in dry-run.
    pub dry_run: bool,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            low: true,
            restored: true,
            offline: true,
            dry_run: true,
        }
    }
}

fn default_stream_info_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_helix_url() -> String {
    crate::twitch::http::HELIX_URL.into()
}
fn default_oauth_url() -> String {
    crate::twitch::http::OAUTH_URL.into()
}
fn default_eventsub_url() -> String {
    "wss://eventsub.wss.twitch.tv/ws".into()
}

/// Discord, the private control room. The bot token comes from `DISCORD_TOKEN`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The server (guild) the bot serves. Commands are registered there; interactions from any
    /// other server or from DMs are refused.
    pub guild_id: u64,
    /// Role id → level; a member's highest role counts.
    #[serde(default)]
    pub roles: BTreeMap<String, Level>,
    /// User id → level (e.g. the streamer's own account as `broadcaster`).
    #[serde(default)]
    pub users: BTreeMap<String, Level>,
    /// Language of what the bot posts by itself (status embed, panel, alerts). `None`: the
    /// top-level `locale`. Command replies use each user's Discord language.
    #[serde(default)]
    pub locale: Option<String>,
    /// Channel where one status message is kept and edited in place.
    #[serde(default)]
    pub status_channel: Option<u64>,
    /// Channel where one control panel is kept (`/panel` posts one anywhere).
    #[serde(default)]
    pub panel_channel: Option<u64>,
    /// Alerts channel. Absent: no alerts.
    #[serde(default)]
    pub alerts: Option<DiscordAlertsConfig>,
    /// Channel that mirrors Twitch chat (at most one message every 2 s). Absent: no mirror.
    #[serde(default)]
    pub chat_mirror_channel: Option<u64>,
    /// Where answers with private data (logs, addresses, bans, restream endpoints, services)
    /// are posted, with a short ephemeral pointer to them. `None`: those answers are ephemeral.
    #[serde(default)]
    pub private_channel: Option<u64>,
    /// The longest `/logs … follow`.
    #[serde(default = "default_logs_follow", deserialize_with = "duration")]
    pub logs_follow_max: Duration,
    /// Another address for Discord's API: a rate-limiting proxy (twilight-http-proxy). It turns
    /// serenity's own rate limiter off, which only such a proxy can afford.
    #[serde(default)]
    pub api_url: Option<String>,
    /// An HTTP proxy for Discord's API (`http://host:port`): HTTPS to discord.com goes through
    /// it with CONNECT, so TLS and serenity's rate limiter work as without one. `None`: direct
    /// (or `HTTPS_PROXY` from the environment).
    #[serde(default)]
    pub proxy: Option<String>,
    /// The longest any Discord REST call may take (connect, send, answer); a call that takes
    /// longer fails, so one hung call cannot hold up the alerts or answers behind it.
    #[serde(
        default = "default_discord_request_timeout",
        deserialize_with = "duration"
    )]
    pub request_timeout: Duration,
}

fn default_discord_request_timeout() -> Duration {
    Duration::from_secs(10)
}

/// What the alerts channel receives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordAlertsConfig {
    pub channel: u64,
    /// The kinds to post (see [`DISCORD_ALERT_KINDS`]); default: all.
    #[serde(default = "default_alert_kinds")]
    pub kinds: Vec<String>,
    /// Kind → role id to mention with that alert.
    #[serde(default)]
    pub mention: BTreeMap<String, String>,
    /// At most this many alert messages per minute; the rest are counted in one summary.
    #[serde(default = "default_alerts_per_minute")]
    pub per_minute: u32,
}

/// Alert kinds of the Discord alerts channel.
pub const DISCORD_ALERT_KINDS: &[&str] = &[
    "low",
    "restored",
    "offline",
    "raid",
    "obs_lost",
    "obs_back",
    "token_failing",
    "restream_failed",
];

fn default_logs_follow() -> Duration {
    Duration::from_secs(600)
}
fn default_alert_kinds() -> Vec<String> {
    DISCORD_ALERT_KINDS.iter().map(|k| k.to_string()).collect()
}
fn default_alerts_per_minute() -> u32 {
    6
}

/// The bitrate guard: which stats servers to poll and how to decide.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// How often every stats server is polled.
    #[serde(default = "default_poll_interval", deserialize_with = "duration")]
    pub poll_interval: Duration,
    /// Stats servers in priority order: the first with a live publisher is used.
    pub servers: Vec<StatsServerConfig>,
    /// Thresholds and timings.
    #[serde(default)]
    pub policy: crate::guard::decide::Policy,
    /// Only decide while OBS streams (samples are still shown in `bitrate` and the status page).
    #[serde(default = "default_true")]
    pub only_when_streaming: bool,
    /// Start with the guard switching (`guard off` pauses it until `guard on` or a restart).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

/// One stats server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsServerConfig {
    /// A short name, shown in `bitrate` and the status page.
    pub name: String,
    /// The server type and where to find the stream.
    pub kind: StatsServerKind,
    /// Request timeout.
    #[serde(default = "default_stats_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
}

/// Where a stats server's numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StatsServerKind {
    /// nginx-rtmp `stat` page (XML), e.g. `http://127.0.0.1:8080/stat`.
    NginxRtmp {
        url: String,
        application: String,
        stream: String,
    },
    /// SRT Live Server JSON stats, e.g. `http://127.0.0.1:8181/stats`. Without a publisher,
    /// the publisher with the highest bitrate.
    SrtLiveServer {
        url: String,
        #[serde(default)]
        publisher: Option<String>,
    },
    /// BELABOX cloud relay or receiver stats, e.g. `http://host:8080/<streamid>`.
    Belabox {
        url: String,
        #[serde(default)]
        publisher: Option<String>,
    },
    /// MediaMTX v3 API path, e.g. `http://127.0.0.1:9997/v3/paths/get/live`.
    Mediamtx { url: String },
    /// SRS HTTP API, e.g. `http://127.0.0.1:1985/api/v1/streams/`.
    Srs {
        url: String,
        application: String,
        stream: String,
    },
    /// Node-Media-Server API, e.g. `http://127.0.0.1:8000/api/streams`.
    NodeMediaServer {
        url: String,
        application: String,
        stream: String,
    },
    /// Nimble Streamer's management API, e.g. `http://127.0.0.1:8082`; `id` is the SRT
    /// receiver's `ip:port`.
    Nimble {
        url: String,
        id: String,
        application: String,
        stream: String,
    },
    /// OpenIRL srtla receiver stats, e.g. `http://127.0.0.1:8080/stats/play_abc`.
    OpenIrl { url: String },
    /// OBS's own outgoing stream (last resort: it measures the upload, not the ingest).
    Obs,
}

/// The system programs the bot runs, never through a shell. Absolute paths by default, so a
/// sudoers rule can name them exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProgramsConfig {
    pub sudo: PathBuf,
    /// Prefix privileged commands (nginx, `systemctl restart`, journalctl) with `sudo -n`.
    /// `None`: only when the bot does not run as root.
    pub use_sudo: Option<bool>,
    pub nginx: PathBuf,
    pub systemctl: PathBuf,
    pub journalctl: PathBuf,
    pub ssh: PathBuf,
}

impl Default for ProgramsConfig {
    fn default() -> Self {
        ProgramsConfig {
            sudo: "/usr/bin/sudo".into(),
            use_sudo: None,
            nginx: "/usr/sbin/nginx".into(),
            systemctl: "/usr/bin/systemctl".into(),
            journalctl: "/usr/bin/journalctl".into(),
            ssh: "/usr/bin/ssh".into(),
        }
    }
}

/// Restream: the endpoints live in the state directory; this says where nginx reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestreamConfig {
    /// The nginx include file the bot writes (one `push` per enabled endpoint). The operator's
    /// nginx.conf includes it inside the rtmp `application` that receives the stream.
    #[serde(default = "default_include_path")]
    pub include_path: PathBuf,
    /// `nginx -c <this>` for the test and the reload. `None`: nginx's built-in default.
    #[serde(default)]
    pub nginx_config: Option<PathBuf>,
    /// Extra nginx arguments before `-c`, e.g. `["-p", "/srv/nginx/"]`.
    #[serde(default)]
    pub nginx_args: Vec<String>,
    /// `nginx -t`, the reload and the stunnel restart each give up after this long.
    #[serde(default = "default_restream_timeout", deserialize_with = "duration")]
    pub command_timeout: Duration,
    /// RTMPS endpoints go through local stunnel clients (nginx-rtmp cannot push RTMPS).
    /// `None`: RTMPS endpoints are refused.
    #[serde(default)]
    pub stunnel: Option<StunnelConfig>,
    /// Drop the current publisher through the rtmp control module after a change, so the
    /// new push list applies at once (the encoder reconnects). `None`: it applies at the
    /// next publish.
    #[serde(default)]
    pub drop_publisher: Option<DropPublisherConfig>,
}

/// The stunnel client configuration rendered beside the nginx include.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StunnelConfig {
    /// The stunnel configuration file the bot writes.
    pub config_path: PathBuf,
    /// The first local port; each enabled RTMPS endpoint takes the next one.
    pub first_port: u16,
    /// The systemd unit restarted when the stunnel configuration changes. `None`: not restarted.
    pub unit: Option<String>,
    /// CA bundle the stunnel clients verify the ingest's certificate against.
    pub ca_file: PathBuf,
    /// The user stunnel drops to after binding its ports (`setuid`; Debian's stunnel4 package
    /// creates `stunnel4`). Never root: the bot user can rewrite this file.
    pub user: String,
    /// The group stunnel drops to (`setgid`).
    pub group: String,
}

impl Default for StunnelConfig {
    fn default() -> Self {
        StunnelConfig {
            config_path: "/etc/stunnel/restream.conf".into(),
            first_port: 19350,
            unit: Some("stunnel@restream.service".into()),
            ca_file: "/etc/ssl/certs/ca-certificates.crt".into(),
            user: "stunnel4".into(),
            group: "stunnel4".into(),
        }
    }
}

/// Where the rtmp control module answers, and which application's publisher to drop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropPublisherConfig {
    /// The `rtmp_control` location, e.g. `http://127.0.0.1:8080/control`.
    pub control_url: String,
    /// The rtmp application that includes the push list.
    pub application: String,
}

impl Default for DropPublisherConfig {
    fn default() -> Self {
        DropPublisherConfig {
            control_url: "http://127.0.0.1:8080/control".into(),
            application: "live".into(),
        }
    }
}

/// The stream PC.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerConfig {
    /// Its network card's MAC address, `AA:BB:CC:DD:EE:FF` (or with `-`).
    pub mac: String,
    /// Its host name or IP address (probe and ssh).
    pub host: String,
    /// Where the magic packet goes: the broadcast address and port.
    #[serde(default = "default_wol_target", deserialize_with = "socket_addr")]
    pub broadcast: SocketAddr,
    /// A TCP port that answers once the PC is up (ssh, obs-websocket…).
    #[serde(default = "default_probe_port")]
    pub probe_port: u16,
    /// How long `pc wake` waits for the PC to answer.
    #[serde(default = "default_wake_timeout", deserialize_with = "duration")]
    pub wake_timeout: Duration,
    /// The ssh login; `None`: ssh's default (the bot's user or `~/.ssh/config`).
    #[serde(default)]
    pub ssh_user: Option<String>,
    /// What `pc restart` runs on the PC, split into words (no shell on this side).
    #[serde(default = "default_restart_command")]
    pub restart_command: String,
    /// What `pc shutdown` runs on the PC.
    #[serde(default = "default_shutdown_command")]
    pub shutdown_command: String,
    /// The whole ssh call gives up after this long (connecting gives up after 5 s).
    #[serde(default = "default_ssh_timeout", deserialize_with = "duration")]
    pub ssh_timeout: Duration,
}

/// systemd units by a short key (`service status nginx`, `logs nginx`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesConfig {
    /// Key → unit, e.g. `"nginx": "nginx.service"`.
    pub units: BTreeMap<String, String>,
    /// `service repair`: keys restarted in this order. `None`: nginx, then the restream stunnel
    /// unit when an enabled endpoint uses RTMPS.
    #[serde(default)]
    pub repair: Option<Vec<String>>,
    /// `systemctl restart` and `journalctl` give up after this long.
    #[serde(default = "default_services_timeout", deserialize_with = "duration")]
    pub command_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// What chat commands start with.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Extra command words: alias → command line (e.g. `"b": "brb"`, `"cam2": "scene Camera 2"`).
    /// Kept as a list of entries so duplicates can be reported.
    #[serde(default, deserialize_with = "entries")]
    pub aliases: Vec<(String, String)>,
    /// Per command word: the lowest level that may use every form of it.
    #[serde(default)]
    pub permissions: BTreeMap<String, Level>,
    /// Per command word: users allowed regardless of level, as `"twitch:<user id>"` or
    /// `"discord:<user id>"`.
    #[serde(default)]
    pub allow: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub cooldowns: CooldownsConfig,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig {
            prefix: default_prefix(),
            aliases: Vec::new(),
            permissions: BTreeMap::new(),
            allow: BTreeMap::new(),
            cooldowns: CooldownsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownsConfig {
    /// After a command runs, nobody can run it again for this long.
    #[serde(default = "default_command_cooldown", deserialize_with = "duration")]
    pub command: Duration,
    /// After a user runs a command, that user cannot run it again for this long.
    #[serde(default = "default_user_cooldown", deserialize_with = "duration")]
    pub user: Duration,
    /// After a refusal or a usage answer is posted in a public chat, further refusals and usage
    /// answers for the same command word, and for the same user, are not posted for this long
    /// (the command is still refused): a crowd spamming `!start` gets a few answers a minute.
    #[serde(default = "default_refusal_cooldown", deserialize_with = "duration")]
    pub refusal: Duration,
    /// This level and above are never held back by a cooldown.
    #[serde(default = "default_exempt")]
    pub exempt: Level,
    /// Per command word.
    #[serde(default)]
    pub overrides: BTreeMap<String, CooldownOverride>,
}

impl Default for CooldownsConfig {
    fn default() -> Self {
        CooldownsConfig {
            command: default_command_cooldown(),
            user: default_user_cooldown(),
            refusal: default_refusal_cooldown(),
            exempt: default_exempt(),
            overrides: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownOverride {
    #[serde(default, deserialize_with = "optional_duration")]
    pub command: Option<Duration>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub user: Option<Duration>,
}

/// A permission level as written in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Level {
    Viewer,
    Vip,
    Moderator,
    Admin,
    Broadcaster,
}

impl From<Level> for commands::Permission {
    fn from(level: Level) -> Self {
        match level {
            Level::Viewer => commands::Permission::Viewer,
            Level::Vip => commands::Permission::Vip,
            Level::Moderator => commands::Permission::Moderator,
            Level::Admin => commands::Permission::Admin,
            Level::Broadcaster => commands::Permission::Broadcaster,
        }
    }
}

fn default_locale() -> String {
    "en-US".into()
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}
fn default_log_filter() -> String {
    "info".into()
}
fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_true() -> bool {
    true
}
fn default_obs_host() -> String {
    "127.0.0.1".into()
}
fn default_obs_port() -> u16 {
    4455
}
fn default_reconnect_min() -> Duration {
    Duration::from_secs(1)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_refresh_hold() -> Duration {
    Duration::from_secs(2)
}
fn default_media_confirm() -> Duration {
    Duration::from_secs(5)
}
fn default_bounce_delay() -> Duration {
    Duration::from_secs(2)
}
fn default_poll_interval() -> Duration {
    Duration::from_millis(250)
}
fn default_stats_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_include_path() -> PathBuf {
    PathBuf::from("/etc/nginx/stream-control/restream.conf")
}
fn default_restream_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_wol_target() -> SocketAddr {
    SocketAddr::from(([255, 255, 255, 255], 9))
}
fn default_probe_port() -> u16 {
    22
}
fn default_wake_timeout() -> Duration {
    Duration::from_secs(120)
}
fn default_restart_command() -> String {
    "sudo -n reboot".into()
}
fn default_shutdown_command() -> String {
    "sudo -n shutdown -h now".into()
}
fn default_ssh_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_services_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_prefix() -> String {
    "!".into()
}
fn default_command_cooldown() -> Duration {
    Duration::from_secs(3)
}
fn default_user_cooldown() -> Duration {
    Duration::from_secs(10)
}
fn default_refusal_cooldown() -> Duration {
    Duration::from_secs(30)
}
fn default_exempt() -> Level {
    Level::Moderator
}

fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not an IP address and port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\""
        ))
    })
}

fn ip_net<'de, D: Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

fn parse_duration<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        E::custom(format!(
            "`{text}` is not a duration ({e}); write e.g. \"500ms\", \"10s\" or \"2m 30s\""
        ))
    })
}

/// A duration written like "500ms", "10s", "2m 30s".
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&String::deserialize(d)?)
}

/// An optional duration (`None` or a duration string).
pub(crate) fn optional_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| parse_duration(&text))
        .transpose()
}

/// A map kept as its entries, in order, duplicates included.
fn entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings to strings, e.g. {\"b\": \"brb\"}")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, String>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Entries)
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "{}: {} problem{}",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        let key = if p.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", p.path)
        };
        out.push_str(&format!(
            "\n  {}:{}:{}: {key}{}",
            path.display(),
            p.line,
            p.col,
            p.message
        ));
    }
    out
}

impl Config {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Parse and check configuration text, collecting every problem.
    pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
        let (parsed, mut problems) = reader::from_str_partial::<Config>(text);
        if let Some((config, positions)) = parsed {
            for (path, message) in config.validate() {
                let (line, col) = positions.find(&path);
                problems.push(Problem {
                    line,
                    col,
                    path,
                    message,
                });
            }
            if problems.is_empty() {
                return Ok(config);
            }
        }
        problems.sort_by(|a, b| (a.line, a.col, &a.path).cmp(&(b.line, b.col, &b.path)));
        problems.dedup();
        Err(problems)
    }

    /// Semantic checks: `(key path, message)` for every problem.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push((path, message));

        check_locale("locale", Some(&self.locale), &mut problem);
        if self.state_dir.as_os_str().is_empty() {
            problem("state_dir".into(), "must not be empty".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&self.log.filter) {
            problem("log.filter".into(), format!("not a valid log filter: {e}"));
        }

        if let Some(web) = &self.web {
            validate_web(web, &mut problem);
        }
        if let Some(obs) = &self.obs {
            validate_obs(obs, &mut problem);
        }
        if let Some(guard) = &self.guard {
            if self.obs.is_none() {
                problem(
                    "guard".into(),
                    "the guard switches OBS scenes: add an `obs` section too".into(),
                );
            }
            validate_guard(guard, &mut problem);
        }

        if let Some(twitch) = &self.twitch {
            validate_twitch(twitch, &mut problem);
        }
        if let Some(discord) = &self.discord {
            validate_discord(discord, &mut problem);
        }
        validate_programs(&self.programs, &mut problem);
        validate_tls(&self.tls, &mut problem);
        if let Some(restream) = &self.restream {
            validate_restream(restream, &mut problem);
        }
        if let Some(power) = &self.power {
            validate_power(power, &mut problem);
        }
        if let Some(services) = &self.services {
            validate_services(services, &mut problem);
        }

        let commands = &self.commands;
        let prefix = &commands.prefix;
        if prefix.is_empty()
            || prefix.chars().count() > 8
            || prefix.chars().any(char::is_whitespace)
        {
            problem(
                "commands.prefix".into(),
                "must be 1 to 8 characters without spaces, e.g. \"!\"".into(),
            );
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (alias, target) in &commands.aliases {
            let path = format!("commands.aliases[{alias:?}]");
            let word = alias.to_lowercase();
            if word.is_empty() || word.chars().any(|c| c.is_whitespace() || c.is_control()) {
                problem(path, "an alias is one word without spaces".into());
                continue;
            }
            if commands::spec_of(&word).is_some() {
                problem(
                    path,
                    format!("`{alias}` is already a command; an alias cannot replace it"),
                );
                continue;
            }
            if let Some(first) = seen.insert(word, alias) {
                problem(path, format!("duplicate alias (`{first}` is defined too)"));
                continue;
            }
            let target_word = target
                .trim()
                .strip_prefix(prefix.as_str())
                .unwrap_or(target.trim())
                .split_whitespace()
                .next()
                .unwrap_or("");
            if commands::spec_of(target_word).is_none() {
                problem(path, unknown_command(target_word));
            }
        }
        for name in commands.permissions.keys() {
            if let Some(message) = command_word_problem(name) {
                problem(format!("commands.permissions[{name:?}]"), message);
            }
        }
        for (name, users) in &commands.allow {
            if let Some(message) = command_word_problem(name) {
                problem(format!("commands.allow[{name:?}]"), message);
            }
            for (i, user) in users.iter().enumerate() {
                if crate::dispatch::Surface::parse_user_key(user).is_none() {
                    problem(
                        format!("commands.allow[{name:?}][{i}]"),
                        format!("`{user}` is not \"twitch:<user id>\" or \"discord:<user id>\""),
                    );
                }
            }
        }
        for name in commands.cooldowns.overrides.keys() {
            if let Some(message) = command_word_problem(name) {
                problem(format!("commands.cooldowns.overrides[{name:?}]"), message);
            }
        }
        for (path, message) in crate::i18n::check_overrides(&self.messages) {
            problem(path, message);
        }
        problems
    }

    /// The names of the configured features and of the others, each in name order.
    pub fn features_on_off(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let (on, off): (Vec<_>, Vec<_>) = self.features().into_iter().partition(|(_, on)| *on);
        let names = |list: Vec<(&'static str, bool)>| list.into_iter().map(|(n, _)| n).collect();
        (names(on), names(off))
    }

    /// Which features are configured, by name (the `features` of `/api/status`).
    pub fn features(&self) -> BTreeMap<&'static str, bool> {
        let mut features: BTreeMap<&'static str, bool> = crate::handlers::FEATURES
            .iter()
            .map(|(name, _)| (*name, false))
            .collect();
        features.insert("web", self.web.is_some());
        features.insert(
            "overlay",
            self.web.as_ref().is_some_and(|w| w.overlay.is_some()),
        );
        features.insert("obs", self.obs.is_some());
        features.insert("guard", self.guard.is_some());
        features.insert("twitch", self.twitch.is_some());
        features.insert("discord", self.discord.is_some());
        features.insert("restream", self.restream.is_some());
        features.insert("power", self.power.is_some());
        features.insert("services", self.services.is_some());
        features
    }
}

/// A locale setting must name one of [`crate::i18n::LOCALES`].
fn check_locale(path: &str, locale: Option<&String>, problem: &mut impl FnMut(String, String)) {
    if let Some(locale) = locale
        && !crate::i18n::LOCALES.contains(&locale.as_str())
    {
        problem(
            path.into(),
            format!(
                "unknown locale `{locale}`; available: {}",
                crate::i18n::LOCALES.join(", ")
            ),
        );
    }
}

fn positive(path: &str, value: Duration, problem: &mut impl FnMut(String, String)) {
    if value.is_zero() {
        problem(path.into(), "must be longer than 0s".into());
    }
}

fn validate_web_limits(limits: &WebLimits, problem: &mut impl FnMut(String, String)) {
    for (key, value) in [
        ("max_rate_limit_entries", limits.max_rate_limit_entries),
        ("max_auto_bans", limits.max_auto_bans),
        ("max_connections", limits.max_connections),
        ("max_connections_per_ip", limits.max_connections_per_ip),
        ("max_status_streams", limits.max_status_streams),
        ("max_overlays", limits.max_overlays),
    ] {
        if value == 0 {
            problem(format!("web.limits.{key}"), "must be at least 1".into());
        }
    }
    for (key, value) in [
        ("header_timeout", limits.header_timeout),
        ("idle_timeout", limits.idle_timeout),
        ("request_timeout", limits.request_timeout),
    ] {
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&value) {
            problem(
                format!("web.limits.{key}"),
                "must be between 1s and 1h".into(),
            );
        }
    }
    // The live streams keep themselves alive with a frame every 15 s (status) and 20 s (overlay).
    if (Duration::from_secs(1)..Duration::from_secs(30)).contains(&limits.idle_timeout) {
        problem(
            "web.limits.idle_timeout".into(),
            "must be at least 30s: the status stream and the overlay are quiet for up to 20s"
                .into(),
        );
    }
}

fn validate_web(web: &WebConfig, problem: &mut impl FnMut(String, String)) {
    if web.rate_limit.per_second == 0 {
        problem(
            "web.rate_limit.per_second".into(),
            "must be at least 1".into(),
        );
    }
    if web.rate_limit.burst == 0 {
        problem("web.rate_limit.burst".into(), "must be at least 1".into());
    }
    if let Some(ban) = &web.auto_ban {
        if ban.after == 0 {
            problem(
                "web.auto_ban.after".into(),
                "must be at least 1 (write `auto_ban: None` to never ban automatically)".into(),
            );
        }
        positive("web.auto_ban.within", ban.within, problem);
        positive("web.auto_ban.for", ban.duration, problem);
    }
    validate_web_limits(&web.limits, problem);
    for host in &web.hosts {
        let plain = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !plain {
            problem(
                "web.hosts".into(),
                format!(
                    "{host:?} is not a host name (no scheme, port or path: \"stream.example.com\")"
                ),
            );
        }
    }
    let Some(overlay) = &web.overlay else {
        return;
    };
    check_locale("web.overlay.locale", overlay.locale.as_ref(), problem);
    if overlay.banner < Duration::from_secs(1) || overlay.banner > Duration::from_secs(60) {
        problem(
            "web.overlay.banner".into(),
            "must be between 1s and 60s".into(),
        );
    }
    for (key, value) in [
        ("sound_volume", overlay.sound_volume),
        ("volume", overlay.volume),
    ] {
        if !(0.0..=1.0).contains(&value) {
            problem(
                format!("web.overlay.{key}"),
                "must be between 0.0 and 1.0".into(),
            );
        }
    }
    if !(0.1..=10.0).contains(&overlay.rate) {
        problem(
            "web.overlay.rate".into(),
            "must be between 0.1 and 10.0 (1.0 is normal speed)".into(),
        );
    }
    if let Some(language) = &overlay.language
        && (language.is_empty()
            || language.len() > 35
            || !language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        problem(
            "web.overlay.language".into(),
            format!("`{language}` is not a language tag, e.g. \"en-US\" or \"nb-NO\""),
        );
    }
    if overlay.voice.as_ref().is_some_and(|v| v.trim().is_empty()) {
        problem(
            "web.overlay.voice".into(),
            "must not be empty (write `None` for the default voice)".into(),
        );
    }
}

fn validate_obs(obs: &ObsConfig, problem: &mut impl FnMut(String, String)) {
    if obs.host.trim().is_empty() || obs.host.chars().any(char::is_whitespace) {
        problem(
            "obs.host".into(),
            "must be a host name or IP address".into(),
        );
    }
    if obs.port == 0 {
        problem(
            "obs.port".into(),
            "must be 1 to 65535 (obs-websocket uses 4455)".into(),
        );
    }
    positive("obs.reconnect_min", obs.reconnect_min, problem);
    positive("obs.request_timeout", obs.request_timeout, problem);
    positive(
        "obs.stop.confirm_timeout",
        obs.stop.confirm_timeout,
        problem,
    );
    if obs.reconnect_max < obs.reconnect_min {
        problem(
            "obs.reconnect_max".into(),
            "must not be shorter than `reconnect_min`".into(),
        );
    }
    let scenes = &obs.scenes;
    for (key, name) in [
        ("live", Some(&scenes.live)),
        ("low", Some(&scenes.low)),
        ("brb", Some(&scenes.brb)),
        ("offline", Some(&scenes.offline)),
        ("starting", scenes.starting.as_ref()),
        ("ending", scenes.ending.as_ref()),
    ] {
        if name.is_some_and(|n| n.trim().is_empty()) {
            problem(format!("obs.scenes.{key}"), "must not be empty".into());
        }
    }
    for (i, name) in obs.switchable_scenes.iter().enumerate() {
        if name.trim().is_empty() {
            problem(
                format!("obs.switchable_scenes[{i}]"),
                "must not be empty".into(),
            );
        }
    }
    for (key, other) in [("low", &scenes.low), ("offline", &scenes.offline)] {
        if *other == scenes.live {
            problem(
                format!("obs.scenes.{key}"),
                format!("must differ from the LIVE scene (`{}`)", scenes.live),
            );
        }
    }
    if let FixConfig::RestartMedia {
        sources,
        confirm_timeout,
    } = &obs.fix
    {
        if sources.is_empty() || sources.iter().any(|s| s.trim().is_empty()) {
            problem(
                "obs.fix".into(),
                "name at least one media source to restart".into(),
            );
        }
        positive("obs.fix.confirm_timeout", *confirm_timeout, problem);
    }
}

fn validate_guard(guard: &GuardConfig, problem: &mut impl FnMut(String, String)) {
    if guard.poll_interval < Duration::from_millis(100) {
        problem(
            "guard.poll_interval".into(),
            "must be at least 100ms".into(),
        );
    }
    if guard.servers.is_empty() {
        problem(
            "guard.servers".into(),
            "list at least one stats server".into(),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, server) in guard.servers.iter().enumerate() {
        let path = format!("guard.servers[{i}]");
        if server.name.trim().is_empty() {
            problem(format!("{path}.name"), "must not be empty".into());
        } else if !names.insert(server.name.to_lowercase()) {
            problem(
                format!("{path}.name"),
                format!("duplicate server name `{}`", server.name),
            );
        }
        positive(&format!("{path}.timeout"), server.timeout, problem);
        if let Some(url) = server.kind.url()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problem(
                format!("{path}.kind.url"),
                // Shown as the status page would: the typed URL may hold a password.
                format!(
                    "`{}` must start with http:// or https://",
                    crate::guard::stats::shown_url(url)
                ),
            );
        }
    }
    let policy = &guard.policy;
    if let Some(low) = policy.low_kbps {
        if policy.recover_kbps < low {
            problem(
                "guard.policy.recover_kbps".into(),
                format!("must be at least `low_kbps` ({low}): recovery needs a higher bar"),
            );
        }
        if let Some(offline) = policy.offline_kbps
            && offline >= low
        {
            problem(
                "guard.policy.offline_kbps".into(),
                format!("must be below `low_kbps` ({low})"),
            );
        }
    }
    if let (Some(low), Some(offline)) = (policy.rtt_low_ms, policy.rtt_offline_ms)
        && offline <= low
    {
        problem(
            "guard.policy.rtt_offline_ms".into(),
            format!("must be above `rtt_low_ms` ({low})"),
        );
    }
    if policy.offline_timeout.is_some_and(|t| t.is_zero()) {
        problem(
            "guard.policy.offline_timeout".into(),
            "must be longer than 0s".into(),
        );
    }
}

fn validate_twitch(twitch: &TwitchConfig, problem: &mut impl FnMut(String, String)) {
    check_locale("twitch.locale", twitch.locale.as_ref(), problem);
    for (i, admin) in twitch.admins.iter().enumerate() {
        let valid = !admin.is_empty()
            && admin.len() <= 25
            && admin
                .trim_start_matches('@')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problem(
                format!("twitch.admins[{i}]"),
                format!("`{admin}` is not a Twitch login or user id"),
            );
        }
    }
    positive(
        "twitch.stream_info_interval",
        twitch.stream_info_interval,
        problem,
    );
    for (key, url, schemes) in [
        ("helix_url", &twitch.helix_url, ["http://", "https://"]),
        ("oauth_url", &twitch.oauth_url, ["http://", "https://"]),
        ("eventsub_url", &twitch.eventsub_url, ["ws://", "wss://"]),
    ] {
        if !schemes.iter().any(|s| url.starts_with(s)) {
            problem(
                format!("twitch.{key}"),
                format!("`{url}` must start with {}", schemes.join(" or ")),
            );
        }
    }
}

fn validate_discord(discord: &DiscordConfig, problem: &mut impl FnMut(String, String)) {
    let snowflake = |id: &str| {
        !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) && id != "0"
    };
    if discord.guild_id == 0 {
        problem(
            "discord.guild_id".into(),
            "the server id (Discord: right-click the server → Copy Server ID)".into(),
        );
    }
    for (key, ids) in [("roles", &discord.roles), ("users", &discord.users)] {
        for id in ids.keys() {
            if !snowflake(id) {
                problem(
                    format!("discord.{key}[{id:?}]"),
                    format!("`{id}` is not a Discord id (digits only)"),
                );
            }
        }
    }
    if let Some(locale) = &discord.locale
        && !crate::i18n::LOCALES.contains(&locale.as_str())
    {
        problem(
            "discord.locale".into(),
            format!(
                "unknown locale `{locale}`; available: {}",
                crate::i18n::LOCALES.join(", ")
            ),
        );
    }
    for (key, channel) in [
        ("status_channel", discord.status_channel),
        ("panel_channel", discord.panel_channel),
        ("chat_mirror_channel", discord.chat_mirror_channel),
        ("private_channel", discord.private_channel),
        ("alerts.channel", discord.alerts.as_ref().map(|a| a.channel)),
    ] {
        if channel == Some(0) {
            problem(format!("discord.{key}"), "not a channel id".into());
        }
    }
    if let Some(alerts) = &discord.alerts {
        let known = |kind: &str| DISCORD_ALERT_KINDS.contains(&kind);
        for (i, kind) in alerts.kinds.iter().enumerate() {
            if !known(kind) {
                problem(
                    format!("discord.alerts.kinds[{i}]"),
                    format!(
                        "unknown alert kind `{kind}`; available: {}",
                        DISCORD_ALERT_KINDS.join(", ")
                    ),
                );
            }
        }
        for (kind, role) in &alerts.mention {
            let path = format!("discord.alerts.mention[{kind:?}]");
            if !known(kind) {
                problem(
                    path,
                    format!(
                        "unknown alert kind `{kind}`; available: {}",
                        DISCORD_ALERT_KINDS.join(", ")
                    ),
                );
            } else if !snowflake(role) {
                problem(path, format!("`{role}` is not a role id (digits only)"));
            }
        }
        if alerts.per_minute == 0 {
            problem(
                "discord.alerts.per_minute".into(),
                "must be at least 1".into(),
            );
        }
    }
    positive("discord.logs_follow_max", discord.logs_follow_max, problem);
    positive("discord.request_timeout", discord.request_timeout, problem);
    for (key, url) in [
        ("discord.api_url", &discord.api_url),
        ("discord.proxy", &discord.proxy),
    ] {
        if let Some(url) = url
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url::Url::parse(url).is_err())
        {
            problem(
                key.into(),
                format!("`{url}` must be an http:// or https:// address"),
            );
        }
    }
}

fn validate_programs(programs: &ProgramsConfig, problem: &mut impl FnMut(String, String)) {
    for (key, path) in [
        ("sudo", &programs.sudo),
        ("nginx", &programs.nginx),
        ("systemctl", &programs.systemctl),
        ("journalctl", &programs.journalctl),
        ("ssh", &programs.ssh),
    ] {
        if path.as_os_str().is_empty() {
            problem(
                format!("programs.{key}"),
                "must be the path of the program".into(),
            );
        }
    }
}

/// Outgoing TLS (Helix, OAuth, EventSub, Discord's API, stats pages, the nginx control URL): which certificate
/// authorities are trusted besides the system's roots. One configuration for HTTP and WebSocket
/// alike: see `tls`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM files of extra certificate authorities, one or more certificates each (a
    /// self-signed stats server's, a local proxy's). Default: none.
    #[serde(default)]
    pub extra_ca_files: Vec<PathBuf>,
}

fn validate_tls(tls: &TlsConfig, problem: &mut impl FnMut(String, String)) {
    for (i, path) in tls.extra_ca_files.iter().enumerate() {
        if let Err(error) = crate::tls::read_ca_file(path) {
            problem(format!("tls.extra_ca_files[{i}]"), error.to_string());
        }
    }
}

/// A systemd unit name: 1–256 of `A-Z a-z 0-9 : _ . @ -` and `\`-free, not starting with `-`
/// or `.` (it is passed as an argument: it must never read as an option).
pub fn valid_unit_name(unit: &str) -> bool {
    !unit.is_empty()
        && unit.len() <= 256
        && !unit.starts_with(['-', '.'])
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '@' | '-'))
}

/// A host name or IP address that is safe as a program argument (never an option).
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
}

fn validate_restream(restream: &RestreamConfig, problem: &mut impl FnMut(String, String)) {
    if restream.include_path.file_name().is_none() {
        problem(
            "restream.include_path".into(),
            "must be the path of a file".into(),
        );
    }
    if restream
        .nginx_config
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        problem(
            "restream.nginx_config".into(),
            "must be a path, or None for nginx's default".into(),
        );
    }
    for (i, arg) in restream.nginx_args.iter().enumerate() {
        if arg.is_empty() || arg.chars().any(char::is_control) {
            problem(
                format!("restream.nginx_args[{i}]"),
                "must be a non-empty argument without control characters".into(),
            );
        }
    }
    positive(
        "restream.command_timeout",
        restream.command_timeout,
        problem,
    );
    if let Some(stunnel) = &restream.stunnel {
        let last = u32::from(stunnel.first_port) + crate::restream::MAX_ENDPOINTS as u32;
        if stunnel.first_port < 1024 || last > 65535 {
            problem(
                "restream.stunnel.first_port".into(),
                format!(
                    "must be 1024 to {} (one port per RTMPS endpoint follows it)",
                    65535 - crate::restream::MAX_ENDPOINTS
                ),
            );
        }
        if stunnel.config_path.file_name().is_none() || stunnel.config_path == restream.include_path
        {
            problem(
                "restream.stunnel.config_path".into(),
                "must be the path of a file other than `include_path`".into(),
            );
        }
        // Written into the stunnel configuration: one line, nothing else.
        let ca_file = stunnel.ca_file.to_string_lossy();
        if ca_file.is_empty() || ca_file.chars().any(char::is_control) {
            problem(
                "restream.stunnel.ca_file".into(),
                "must be the path of a CA bundle".into(),
            );
        }
        for (key, name) in [("user", &stunnel.user), ("group", &stunnel.group)] {
            // One word in the file, never root (the point is to drop root).
            let word = !name.is_empty()
                && name.len() <= 32
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !name.starts_with('-');
            if !word || name == "root" || name == "0" {
                problem(
                    format!("restream.stunnel.{key}"),
                    format!("`{name}` must be a system {key} name other than root"),
                );
            }
        }
        if let Some(unit) = &stunnel.unit
            && !valid_unit_name(unit)
        {
            problem(
                "restream.stunnel.unit".into(),
                format!("`{unit}` is not a systemd unit name"),
            );
        }
    }
    if let Some(drop) = &restream.drop_publisher {
        if !(drop.control_url.starts_with("http://") || drop.control_url.starts_with("https://")) {
            problem(
                "restream.drop_publisher.control_url".into(),
                format!("`{}` must start with http:// or https://", drop.control_url),
            );
        }
        let application_ok = !drop.application.is_empty()
            && drop
                .application
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !application_ok {
            problem(
                "restream.drop_publisher.application".into(),
                "must be the rtmp application's name (letters, digits, `_`, `-`, `.`)".into(),
            );
        }
    }
}

fn validate_power(power: &PowerConfig, problem: &mut impl FnMut(String, String)) {
    if crate::power::parse_mac(&power.mac).is_none() {
        problem(
            "power.mac".into(),
            format!(
                "`{}` is not a MAC address like \"AA:BB:CC:DD:EE:FF\"",
                power.mac
            ),
        );
    }
    if !valid_host(&power.host) {
        problem(
            "power.host".into(),
            format!("`{}` is not a host name or IP address", power.host),
        );
    }
    if power.probe_port == 0 {
        problem(
            "power.probe_port".into(),
            "must be 1 to 65535 (e.g. 22 for ssh)".into(),
        );
    }
    if power.broadcast.port() == 0 {
        problem(
            "power.broadcast".into(),
            "needs a port (Wake-on-LAN uses 9)".into(),
        );
    }
    if power.wake_timeout < Duration::from_secs(1) {
        problem("power.wake_timeout".into(), "must be at least 1s".into());
    }
    positive("power.ssh_timeout", power.ssh_timeout, problem);
    if let Some(user) = &power.ssh_user {
        let valid = !user.is_empty()
            && user.len() <= 32
            && !user.starts_with('-')
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            problem(
                "power.ssh_user".into(),
                format!("`{user}` is not a user name"),
            );
        }
    }
    for (key, command) in [
        ("restart_command", &power.restart_command),
        ("shutdown_command", &power.shutdown_command),
    ] {
        if command.split_whitespace().next().is_none() || command.chars().any(char::is_control) {
            problem(
                format!("power.{key}"),
                "must be a command line, e.g. \"sudo -n reboot\"".into(),
            );
        }
    }
}

fn validate_services(services: &ServicesConfig, problem: &mut impl FnMut(String, String)) {
    if services.units.is_empty() {
        problem(
            "services.units".into(),
            "name at least one unit, e.g. {\"nginx\": \"nginx.service\"}".into(),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (key, unit) in &services.units {
        let path = format!("services.units[{key:?}]");
        if commands::ServiceName::parse(key).is_err() {
            problem(
                path,
                "a key is 1 to 64 of letters, digits, `_`, `.`, `@` and `-`".into(),
            );
            continue;
        }
        if !seen.insert(key.to_lowercase()) {
            problem(
                path,
                "duplicate key (keys are matched ignoring case)".into(),
            );
            continue;
        }
        if !valid_unit_name(unit) {
            problem(path, format!("`{unit}` is not a systemd unit name"));
        }
    }
    if let Some(repair) = &services.repair {
        if repair.is_empty() {
            problem(
                "services.repair".into(),
                "list at least one key, or None for the default".into(),
            );
        }
        for (i, key) in repair.iter().enumerate() {
            if !services.units.keys().any(|k| k.eq_ignore_ascii_case(key)) {
                problem(
                    format!("services.repair[{i}]"),
                    format!(
                        "`{key}` is not a key of `units` ({})",
                        services
                            .units
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    positive(
        "services.command_timeout",
        services.command_timeout,
        problem,
    );
}

impl StatsServerKind {
    /// The stats URL, for the types that poll one.
    pub fn url(&self) -> Option<&str> {
        match self {
            StatsServerKind::NginxRtmp { url, .. }
            | StatsServerKind::SrtLiveServer { url, .. }
            | StatsServerKind::Belabox { url, .. }
            | StatsServerKind::Mediamtx { url }
            | StatsServerKind::Srs { url, .. }
            | StatsServerKind::NodeMediaServer { url, .. }
            | StatsServerKind::Nimble { url, .. }
            | StatsServerKind::OpenIrl { url } => Some(url),
            StatsServerKind::Obs => None,
        }
    }

    /// The server type.
    pub fn kind(&self) -> crate::guard::stats::ServerKind {
        use crate::guard::stats::ServerKind as K;
        match self {
            StatsServerKind::NginxRtmp { .. } => K::NginxRtmp,
            StatsServerKind::SrtLiveServer { .. } => K::SrtLiveServer,
            StatsServerKind::Belabox { .. } => K::Belabox,
            StatsServerKind::Mediamtx { .. } => K::Mediamtx,
            StatsServerKind::Srs { .. } => K::Srs,
            StatsServerKind::NodeMediaServer { .. } => K::NodeMediaServer,
            StatsServerKind::Nimble { .. } => K::Nimble,
            StatsServerKind::OpenIrl { .. } => K::OpenIrl,
            StatsServerKind::Obs => K::Obs,
        }
    }
}

/// A key of `permissions`, `allow` or `overrides` must be a command word exactly as listed
/// (dispatch looks it up by that name).
fn command_word_problem(word: &str) -> Option<String> {
    match commands::spec_of(word) {
        None => Some(unknown_command(word)),
        Some(spec) if spec.name != word => {
            Some(format!("write the command word as `{}`", spec.name))
        }
        Some(_) => None,
    }
}

/// "`x` is not a command", with the closest command word when one is near.
fn unknown_command(word: &str) -> String {
    let closest = commands::Command::NAMES
        .iter()
        .map(|name| (strsim::levenshtein(&word.to_lowercase(), name), *name))
        .min();
    match closest {
        Some((distance, name)) if distance <= 2 => {
            format!("`{word}` is not a command; did you mean `{name}`?")
        }
        _ => format!("`{word}` is not a command (see `help`)"),
    }
}
