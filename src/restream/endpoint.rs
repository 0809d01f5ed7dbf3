//! Restream endpoints: validation, the store file in the state directory, the seed's import.
//!
//! An [`Endpoint`] can only be built through validation, so everything the renderer sees is
//! safe to write into nginx configuration: names are `[A-Za-z0-9 _-]`, URLs are `rtmp://` or
//! `rtmps://` with a host name or IP, an optional port and a path of `[A-Za-z0-9._~-]`
//! segments, keys are `[A-Za-z0-9._~=&+?%-]`. Whitespace, `;`, `{`, `}`, quotes, `#`, `$`, `\`,
//! control characters and anything outside ASCII are refused everywhere. The stored file is
//! validated the same way when it is read, so a hand-edited file cannot smuggle anything in.

use crate::config::valid_host_name;
use crate::reply::{Reply, keys};
use crate::state_store::{Sensitivity, StateDir};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The store file in the state directory (0600: it holds stream keys).
pub const STORE_FILE: &str = "restream.json";
/// Longest endpoint name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest push URL (base and key), in characters.
pub const MAX_URL_CHARS: usize = 1024;
/// Longest stream key, in characters.
pub const MAX_KEY_CHARS: usize = 512;

/// Where an endpoint streams to; decides nothing but the label (and the seed's presets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Twitch,
    Youtube,
    Kick,
    Custom,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Twitch,
        Platform::Youtube,
        Platform::Kick,
        Platform::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Twitch => "twitch",
            Platform::Youtube => "youtube",
            Platform::Kick => "kick",
            Platform::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The platform a base URL belongs to, as the seed's presets and detection had it.
    pub fn detect(base: &BaseUrl) -> Platform {
        let host = base.host.to_ascii_lowercase();
        if host.starts_with("fa723fc1b171.")
            || host.contains("kick")
            || (host == "127.0.0.1" && base.port == Some(19360))
        {
            Platform::Kick
        } else if host.ends_with(".live-video.net")
            || host.ends_with(".twitch.tv")
            || host == "twitch.tv"
        {
            Platform::Twitch
        } else if host.ends_with(".youtube.com") {
            Platform::Youtube
        } else {
            Platform::Custom
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an endpoint was refused. Each maps to a localised reason; none quotes a URL or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("the name is empty")]
    NameEmpty,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the name may only contain letters, digits, spaces, `_` and `-`")]
    NameCharacters,
    #[error("an endpoint named `{0}` exists already")]
    NameTaken(String),
    #[error("the URL is longer than {MAX_URL_CHARS} characters")]
    UrlTooLong,
    #[error("the URL contains characters that are not allowed")]
    UrlCharacters,
    #[error("the URL must start with rtmp:// or rtmps://")]
    UrlScheme,
    #[error("the URL's host is not a host name or IP address")]
    UrlHost,
    #[error("the URL's port is not 1 to 65535")]
    UrlPort,
    #[error("the URL needs an application path of letters, digits, `.`, `_`, `~` and `-`")]
    UrlPath,
    #[error("the URL has no stream key after the application")]
    KeyMissing,
    #[error("the stream key is longer than {MAX_KEY_CHARS} characters")]
    KeyTooLong,
    #[error("the stream key contains characters that are not allowed")]
    KeyCharacters,
    #[error("`{0}` is not a platform (twitch, youtube, kick, custom)")]
    UnknownPlatform(String),
    #[error("RTMPS needs the restream.stunnel section in config.ron")]
    RtmpsNeedsStunnel,
    #[error("there are {} endpoints already", crate::restream::MAX_ENDPOINTS)]
    TooMany,
    #[error("the entry is not an endpoint object")]
    Malformed,
}

impl EndpointError {
    /// The localised reason.
    pub fn reply(&self) -> Reply {
        match self {
            EndpointError::NameEmpty => Reply::new(keys::ENDPOINT_NAME_EMPTY),
            EndpointError::NameTooLong => {
                Reply::new(keys::ENDPOINT_NAME_TOO_LONG).number("max", MAX_NAME_CHARS as f64)
            }
            EndpointError::NameCharacters => Reply::new(keys::ENDPOINT_NAME_CHARACTERS),
            EndpointError::NameTaken(name) => {
                Reply::new(keys::ENDPOINT_NAME_TAKEN).arg("name", name.clone())
            }
            EndpointError::UrlTooLong => {
                Reply::new(keys::ENDPOINT_URL_TOO_LONG).number("max", MAX_URL_CHARS as f64)
            }
            EndpointError::UrlCharacters => Reply::new(keys::ENDPOINT_URL_CHARACTERS),
            EndpointError::UrlScheme => Reply::new(keys::ENDPOINT_URL_SCHEME),
            EndpointError::UrlHost => Reply::new(keys::ENDPOINT_URL_HOST),
            EndpointError::UrlPort => Reply::new(keys::ENDPOINT_URL_PORT),
            EndpointError::UrlPath => Reply::new(keys::ENDPOINT_URL_PATH),
            EndpointError::KeyMissing => Reply::new(keys::ENDPOINT_KEY_MISSING),
            EndpointError::KeyTooLong => {
                Reply::new(keys::ENDPOINT_KEY_TOO_LONG).number("max", MAX_KEY_CHARS as f64)
            }
            EndpointError::KeyCharacters => Reply::new(keys::ENDPOINT_KEY_CHARACTERS),
            EndpointError::UnknownPlatform(platform) => Reply::new(keys::ENDPOINT_PLATFORM)
                .arg("platform", shorten(platform))
                .arg("expected", Platform::ALL.map(Platform::as_str).join(", ")),
            EndpointError::RtmpsNeedsStunnel => Reply::new(keys::ENDPOINT_RTMPS_NEEDS_STUNNEL),
            EndpointError::TooMany => Reply::new(keys::ENDPOINT_TOO_MANY)
                .number("max", crate::restream::MAX_ENDPOINTS as f64),
            EndpointError::Malformed => Reply::new(keys::ENDPOINT_MALFORMED),
        }
    }
}

/// A name as the user wrote it, safe to show (printable ASCII, at most 32 characters).
fn shorten(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_NAME_CHARS)
        .collect()
}

/// Characters that may never reach nginx (the list and `\`), besides the
/// per-part character sets below.
fn forbidden(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || !c.is_ascii()
        || matches!(c, ';' | '{' | '}' | '"' | '\'' | '`' | '#' | '$' | '\\')
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')
}

fn key_char(c: char) -> bool {
    path_char(c) || matches!(c, '=' | '&' | '+' | '?' | '%')
}

/// A validated endpoint name.
pub fn check_name(name: &str) -> Result<&str, EndpointError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EndpointError::NameEmpty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(EndpointError::NameTooLong);
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-'))
    {
        return Err(EndpointError::NameCharacters);
    }
    Ok(name)
}

fn check_key(key: &str) -> Result<&str, EndpointError> {
    if key.is_empty() {
        return Err(EndpointError::KeyMissing);
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(EndpointError::KeyTooLong);
    }
    if !key.chars().all(key_char) {
        return Err(EndpointError::KeyCharacters);
    }
    Ok(key)
}

/// A validated push base: `rtmp[s]://host[:port]/application[/more…]`, no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    secure: bool,
    host: String,
    port: Option<u16>,
    /// Segments without leading or trailing `/`, e.g. `app` or `live2/x`.
    path: String,
}

impl BaseUrl {
    /// Parse a base URL (trailing slashes are dropped).
    pub fn parse(text: &str) -> Result<BaseUrl, EndpointError> {
        let (base, segments) = parse_url(text)?;
        base.with_path(&segments)
    }

    /// This scheme, host and port with a path of these segments (at least one).
    fn with_path(self, segments: &[&str]) -> Result<BaseUrl, EndpointError> {
        let valid = !segments.is_empty()
            && segments
                .iter()
                .all(|s| !s.is_empty() && s.chars().all(path_char));
        if !valid {
            return Err(EndpointError::UrlPath);
        }
        Ok(BaseUrl {
            path: segments.join("/"),
            ..self
        })
    }

    /// `rtmps://`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, or the scheme's default (1935 for RTMP, 443 for RTMPS).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 443 } else { 1935 })
    }

    /// The application path, e.g. `app`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `host` or `[v6]`, with `:port` when one was given.
    fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "rtmps" } else { "rtmp" };
        write!(f, "{scheme}://{}/{}", self.authority(), self.path)
    }
}

/// The scheme, host and port of a URL, and its non-empty path segments.
fn parse_url(text: &str) -> Result<(BaseUrl, Vec<&str>), EndpointError> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(EndpointError::UrlTooLong);
    }
    if text.chars().any(forbidden) {
        return Err(EndpointError::UrlCharacters);
    }
    let lower = text.to_ascii_lowercase();
    let (secure, rest) = if lower.starts_with("rtmp://") {
        (false, &text["rtmp://".len()..])
    } else if lower.starts_with("rtmps://") {
        (true, &text["rtmps://".len()..])
    } else {
        return Err(EndpointError::UrlScheme);
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = split_authority(authority)?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let segments = if segments == [""] {
        Vec::new()
    } else {
        segments
    };
    Ok((
        BaseUrl {
            secure,
            host,
            port,
            path: String::new(),
        },
        segments,
    ))
}

fn split_authority(authority: &str) -> Result<(String, Option<u16>), EndpointError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (address, after) = v6.split_once(']').ok_or(EndpointError::UrlHost)?;
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(EndpointError::UrlHost);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(EndpointError::UrlPort)?),
        };
        (format!("[{address}]"), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if !valid_host_name(host) {
            return Err(EndpointError::UrlHost);
        }
        (host.to_string(), port)
    };
    let port = match port {
        None => None,
        Some(port) => {
            let valid =
                !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
            match port.parse::<u16>() {
                Ok(port) if valid && port > 0 => Some(port),
                _ => return Err(EndpointError::UrlPort),
            }
        }
    };
    Ok((host, port))
}

/// One restream endpoint, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    name: String,
    platform: Platform,
    base: BaseUrl,
    key: String,
    enabled: bool,
}

/// Never shows the key.
impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("platform", &self.platform)
            .field("base", &self.base.to_string())
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint from its parts. `platform: None` detects it from the URL.
    pub fn new(
        name: &str,
        platform: Option<Platform>,
        base_url: &str,
        key: &str,
        enabled: bool,
    ) -> Result<Endpoint, EndpointError> {
        let name = check_name(name)?;
        Endpoint::assemble(name, platform, BaseUrl::parse(base_url)?, key, enabled)
    }

    /// An endpoint from a full push URL (`base/key`, as platforms show it and `restream add`
    /// takes it): the last path segment is the key.
    pub fn from_push_url(
        name: &str,
        url: &str,
        platform: Option<Platform>,
        enabled: bool,
    ) -> Result<Endpoint, EndpointError> {
        let name = check_name(name)?;
        let (base, segments) = parse_url(url)?;
        let Some((key, application)) = segments.split_last() else {
            return Err(EndpointError::UrlPath);
        };
        if application.is_empty() {
            return Err(EndpointError::KeyMissing);
        }
        Endpoint::assemble(name, platform, base.with_path(application)?, key, enabled)
    }

    fn assemble(
        name: &str,
        platform: Option<Platform>,
        base: BaseUrl,
        key: &str,
        enabled: bool,
    ) -> Result<Endpoint, EndpointError> {
        let key = check_key(key)?;
        Ok(Endpoint {
            name: name.to_string(),
            platform: platform.unwrap_or_else(|| Platform::detect(&base)),
            base,
            key: key.to_string(),
            enabled,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The stream key: only for the renderer and the redactor.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// The push URL with the key masked (`rtmp://host/app/live…wxyz`), for replies.
    pub fn masked_url(&self) -> String {
        crate::secrets::mask_key(&format!("{}/{}", self.base, self.key))
    }

    /// Whether `name` is this endpoint's name (names are unique ignoring case).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.trim())
    }
}

/// A new name must differ (ignoring case) from every existing one.
pub fn check_unique(existing: &[Endpoint], name: &str) -> Result<(), EndpointError> {
    match existing.iter().find(|e| e.is_named(name)) {
        Some(taken) => Err(EndpointError::NameTaken(taken.name.clone())),
        None => Ok(()),
    }
}

/// The store file's shape: `{"endpoints": [{name, platform, url, key, enabled}]}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    endpoints: Vec<StoredEndpoint>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredEndpoint {
    name: String,
    platform: String,
    /// The base URL, without the key.
    url: String,
    key: String,
    enabled: bool,
}

/// Why the store file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, entry {index}: {error}")]
    Invalid {
        path: String,
        index: usize,
        error: EndpointError,
    },
}

impl StoreError {
    /// The localised answer.
    pub fn reply(&self) -> Reply {
        match self {
            StoreError::Io { path, source } => Reply::new(keys::RESTREAM_STORE_FAILED)
                .arg("path", path.clone())
                .arg("error", source.to_string()),
            StoreError::Invalid { path, index, error } => Reply::new(keys::RESTREAM_STORE_INVALID)
                .arg("path", path.clone())
                .number("index", *index as f64)
                .message("reason", error.reply()),
        }
        .with_outcome(crate::reply::Outcome::Failed)
    }
}

/// The endpoints in the state directory (none when the file does not exist yet). Every entry
/// is validated again.
pub fn load(state: &StateDir) -> Result<Vec<Endpoint>, StoreError> {
    let path = state.path(STORE_FILE).display().to_string();
    let file: Option<StoreFile> = state
        .read_json(STORE_FILE)
        .map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for (i, stored) in file
        .map(|f| f.endpoints)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let invalid = |error| StoreError::Invalid {
            path: path.clone(),
            index: i + 1,
            error,
        };
        let platform = Platform::parse(&stored.platform)
            .ok_or_else(|| invalid(EndpointError::UnknownPlatform(stored.platform.clone())))?;
        let endpoint = Endpoint::new(
            &stored.name,
            Some(platform),
            &stored.url,
            &stored.key,
            stored.enabled,
        )
        .map_err(invalid)?;
        check_unique(&endpoints, endpoint.name()).map_err(invalid)?;
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}

/// Replace the store file atomically (0600).
pub fn save(state: &StateDir, endpoints: &[Endpoint]) -> Result<(), StoreError> {
    let file = StoreFile {
        endpoints: endpoints
            .iter()
            .map(|e| StoredEndpoint {
                name: e.name.clone(),
                platform: e.platform.as_str().into(),
                url: e.base.to_string(),
                key: e.key.clone(),
                enabled: e.enabled,
            })
            .collect(),
    };
    state
        .write_json(STORE_FILE, &file, Sensitivity::Secret)
        .map_err(|source| StoreError::Io {
            path: state.path(STORE_FILE).display().to_string(),
            source,
        })
}

/// One entry of the seed's `rtmp_endpoints.json`.
#[derive(Debug, Deserialize)]
struct SeedEntry {
    #[serde(default)]
    name: String,
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    url: String,
}

#[derive(Debug, Deserialize)]
struct SeedFile {
    push_endpoints: Vec<serde_json::Value>,
}

/// What an import took and what it refused.
#[derive(Debug)]
pub struct ImportReport {
    pub imported: Vec<Endpoint>,
    /// Entry number (1-based), the name as written (printable characters only), the reason.
    pub refused: Vec<(usize, String, EndpointError)>,
}

/// Read the seed's `{"push_endpoints": [{name, enabled, platform?, url,
/// base_url_override?}]}` (`url` is the full push URL; `base_url_override` is already part of
/// it). Every entry is validated; names must be new to `existing` and to the file.
pub fn import_seed(
    text: &str,
    existing: &[Endpoint],
    rtmps_allowed: bool,
) -> Result<ImportReport, serde_json::Error> {
    let file: SeedFile = serde_json::from_str(text)?;
    let mut report = ImportReport {
        imported: Vec::new(),
        refused: Vec::new(),
    };
    for (i, value) in file.push_endpoints.into_iter().enumerate() {
        let number = i + 1;
        let entry = match serde_json::from_value::<SeedEntry>(value) {
            Ok(entry) => entry,
            Err(_) => {
                report
                    .refused
                    .push((number, String::new(), EndpointError::Malformed));
                continue;
            }
        };
        let result = (|| {
            let platform = match &entry.platform {
                None => None,
                Some(p) => Some(
                    Platform::parse(p).ok_or_else(|| EndpointError::UnknownPlatform(p.clone()))?,
                ),
            };
            let endpoint =
                Endpoint::from_push_url(&entry.name, &entry.url, platform, entry.enabled)?;
            if endpoint.base.secure && !rtmps_allowed {
                return Err(EndpointError::RtmpsNeedsStunnel);
            }
            check_unique(existing, endpoint.name())?;
            check_unique(&report.imported, endpoint.name())?;
            if existing.len() + report.imported.len() >= crate::restream::MAX_ENDPOINTS {
                return Err(EndpointError::TooMany);
            }
            Ok(endpoint)
        })();
        match result {
            Ok(endpoint) => report.imported.push(endpoint),
            Err(error) => report.refused.push((number, shorten(&entry.name), error)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls_split_into_base_and_key() {
        let check = |url: &str, base: &str, key: &str, platform: Platform| {
            let e = Endpoint::from_push_url("n", url, None, true).unwrap();
            assert_eq!(
                (e.base().to_string().as_str(), e.key(), e.platform()),
                (base, key, platform),
                "{url}"
            );
        };
        check(
            "rtmp://ingest.global-contribute.live-video.net/app/live_123_abc",
            "rtmp://ingest.global-contribute.live-video.net/app",
            "live_123_abc",
            Platform::Twitch,
        );
        check(
            "RTMPS://A.rtmp.youtube.com:443/live2/x/abcd-efgh/",
            "rtmps://A.rtmp.youtube.com:443/live2/x",
            "abcd-efgh",
            Platform::Youtube,
        );
        check(
            "rtmp://[::1]:1935/app/k",
            "rtmp://[::1]:1935/app",
            "k",
            Platform::Custom,
        );
        let secure = Endpoint::from_push_url("s", "rtmps://h.example/app/k", None, true).unwrap();
        assert!(secure.base().is_secure());
        assert_eq!(secure.base().port_or_default(), 443);
    }

    #[test]
    fn the_seed_presets_are_detected() {
        let detect = |url| Platform::detect(&BaseUrl::parse(url).unwrap());
        assert_eq!(
            detect("rtmp://127.0.0.1:19360/fa723fc1b171.global-contribute.live-video.net"),
            Platform::Kick
        );
        assert_eq!(
            detect("rtmps://fa723fc1b171.global-contribute.live-video.net/app"),
            Platform::Kick
        );
        assert_eq!(detect("rtmp://a.rtmp.youtube.com/live2"), Platform::Youtube);
        assert_eq!(detect("rtmp://live.twitch.tv/app"), Platform::Twitch);
        assert_eq!(detect("rtmp://example.com/live"), Platform::Custom);
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let check = |name: &str, url: &str, expected: EndpointError| {
            assert_eq!(
                Endpoint::from_push_url(name, url, None, true).unwrap_err(),
                expected,
                "{name:?} {url:?}"
            );
        };
        check("", "rtmp://h/app/k", EndpointError::NameEmpty);
        check(
            &"n".repeat(33),
            "rtmp://h/app/k",
            EndpointError::NameTooLong,
        );
        check("a.b", "rtmp://h/app/k", EndpointError::NameCharacters);
        check("a", "http://h/app/k", EndpointError::UrlScheme);
        check("a", "rtmp://h/app/k;", EndpointError::UrlCharacters);
        check("a", "rtmp://-h/app/k", EndpointError::UrlHost);
        check("a", "rtmp://u@h/app/k", EndpointError::UrlHost);
        check("a", "rtmp://h:0/app/k", EndpointError::UrlPort);
        check("a", "rtmp://h:99999/app/k", EndpointError::UrlPort);
        check("a", "rtmp://h", EndpointError::UrlPath);
        check("a", "rtmp://h/app", EndpointError::KeyMissing);
        check("a", "rtmp://h/ap*p/k", EndpointError::UrlPath);
        check("a", "rtmp://h//k", EndpointError::UrlPath);
        check("a", "rtmp://h/app/k*y", EndpointError::KeyCharacters);
        check(
            "a",
            &format!("rtmp://h/app/{}", "k".repeat(MAX_KEY_CHARS + 1)),
            EndpointError::KeyTooLong,
        );
        check(
            "a",
            &format!("rtmp://h/app/{}", "k".repeat(MAX_URL_CHARS)),
            EndpointError::UrlTooLong,
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let e = Endpoint::from_push_url("a", "rtmp://h/app/live_0123456789_secret", None, true)
            .unwrap();
        assert!(!format!("{e:?}").contains("secret"));
        assert_eq!(e.masked_url(), "rtmp://h/app/live…cret");
    }
}
