//! The `web` section: the web server's address, hosts, trusted proxies, limits, rate limit and bans.

use super::overlay::OverlayConfig;
use super::values::{check_locale, duration, ip_net, positive, socket_addr, valid_host_name};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

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
    /// Status pages on the live stream (`/api/status/stream`) at most; 503 beyond.
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

pub(super) fn default_auto_ban() -> Option<AutoBanConfig> {
    Some(AutoBanConfig::default())
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

pub(super) fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

pub(super) fn validate_web_limits(limits: &WebLimits, problem: &mut impl FnMut(String, String)) {
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

pub(super) fn validate_web(web: &WebConfig, problem: &mut impl FnMut(String, String)) {
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
        if !valid_host_name(host) {
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
