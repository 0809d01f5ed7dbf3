//! What every request passes through: the client IP (the peer, or what a trusted proxy says),
//! the ban list (403), the per-IP rate limit (429), access keys for the status page and the
//! overlay (401), and the security headers on every response.
//!
//! Keys are compared in constant time; a wrong key (or alert token) counts toward the automatic
//! ban. A missing key does not (a bookmark without `?key=` is a mistake, not a guess).

use super::WebState;
use crate::config::{ProxyHeader, TrustedProxy};
use crate::metrics::Refusal;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The client's address, as a request extension for handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Marks a response that may be embedded in another page (the overlay).
#[derive(Debug, Clone, Copy)]
pub struct Embeddable;

/// Forwarded hops read from `X-Forwarded-For` at most (nginx and Cloudflare in front of the bot
/// are two; more is a client padding the header).
const MAX_FORWARDED_HOPS: usize = 16;

/// The client of a request. The peer address, unless the peer is a trusted proxy: then the
/// header that proxy sets, and only that one. `CF-Connecting-IP` and `X-Real-IP` name the client
/// outright; `X-Forwarded-For` is read right to left, each trusted `XForwardedFor` hop naming the
/// one before it, until an address that is not such a hop (at most [`MAX_FORWARDED_HOPS`]).
/// A header another proxy sets (or the client wrote) is ignored, as is an unreadable one.
/// IPv4-mapped IPv6 addresses are shown as IPv4.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let parse = |text: &str| {
        text.trim()
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical())
    };
    let header_of = |ip: IpAddr| {
        trusted
            .iter()
            .find(|proxy| proxy.net.contains(ip))
            .map(|proxy| proxy.header)
    };
    // The one value of a single-address header; two of them are a client's addition.
    let single = |name: &str| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok().and_then(parse),
            _ => None,
        }
    };
    let mut client = peer.to_canonical();
    let mut forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|v| v.to_str().unwrap_or("").rsplit(','))
        .take(MAX_FORWARDED_HOPS);
    loop {
        let next = match header_of(client) {
            None => return client,
            Some(ProxyHeader::CfConnectingIp) => {
                return single("cf-connecting-ip").unwrap_or(client);
            }
            Some(ProxyHeader::XRealIp) => return single("x-real-ip").unwrap_or(client),
            Some(ProxyHeader::XForwardedFor) => forwarded.next().and_then(parse),
        };
        match next {
            Some(ip) => client = ip,
            // The chain ends (or the client wrote garbage): the last hop we trust saw it.
            None => return client,
        }
    }
}

/// Equal without revealing where they differ (the length may show).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// A token bucket per client: an IPv4 address, or an IPv6 /64 (one household or server gets a
/// whole /64 and can pick any address in it).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    /// Buckets kept at most (`web.limits.max_rate_limit_entries`).
    max_entries: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The bucket a client shares: its IPv4 address, or its IPv6 /64.
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32, max_entries: usize) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            max_entries: max_entries.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How many buckets are kept now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no bucket is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Bucket>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take one request from `ip`'s bucket, or say how long until there is one.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = rate_limit_key(ip);
        let now = Instant::now();
        let mut buckets = self.lock();
        if buckets.len() >= self.max_entries && !buckets.contains_key(&key) {
            // Full buckets are the same as forgotten ones.
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            // Still full (many clients at once): the least recently seen goes.
            if buckets.len() >= self.max_entries
                && let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k)
            {
                buckets.remove(&oldest);
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

/// A JSON error answer: `{"ok": false, "error": …}` (the seed's shape).
pub fn refusal(status: StatusCode, error: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"ok": false, "error": error})),
    )
        .into_response()
}

/// Every request: resolve the client, refuse banned and too fast clients, pass the client on.
pub async fn guard_request(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = client_ip(peer, request.headers(), &state.web.trusted_proxies);
    if state.peer.bans.is_banned(ip) {
        state.peer.metrics.http_refused(Refusal::Banned);
        return refusal(StatusCode::FORBIDDEN, "banned");
    }
    if let Err(wait) = state.limiter.check(ip) {
        state.peer.metrics.http_refused(Refusal::RateLimited);
        let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// The key a request presents: `?key=…` or `Authorization: Bearer …`.
fn presented_key(request: &Request) -> Option<String> {
    let from_query = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "key")
            .map(|(_, value)| value.into_owned())
    });
    from_query.or_else(|| {
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|v| v.trim().to_string())
    })
}

/// A wrong secret from `ip`: counted, and maybe the ban.
pub fn bad_secret(state: &WebState, ip: IpAddr) {
    state.peer.metrics.http_refused(Refusal::BadKey);
    if state.peer.bans.bad_attempt(ip) {
        tracing::warn!(%ip, "banned after repeated bad keys");
    }
}

/// Which key a route group needs (the state of its [`require_key`] layer).
#[derive(Clone)]
pub struct KeyGuard {
    pub state: WebState,
    /// `STATUS_KEY` (status page, its API, `/metrics`) or `OVERLAY_KEY` (overlay).
    pub variable: &'static str,
}

/// A route group's access key, when its variable is set: `?key=` or `Authorization: Bearer`.
pub async fn require_key(State(guard): State<KeyGuard>, request: Request, next: Next) -> Response {
    let state = &guard.state;
    let Some(expected) = state.peer.secrets.get(guard.variable) else {
        if !host_allowed(request.headers(), &state.web.hosts) {
            state.peer.metrics.http_refused(Refusal::UnknownHost);
            return refusal(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown host name: add it to web.hosts, or set an access key",
            );
        }
        return next.run(request).await;
    };
    let ip = request
        .extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
    let unauthorized = |error: &str| {
        let mut response = refusal(StatusCode::UNAUTHORIZED, error);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    };
    match presented_key(&request) {
        None => {
            state.peer.metrics.http_refused(Refusal::NoKey);
            unauthorized("access key required")
        }
        Some(key) if constant_time_eq(key.as_bytes(), expected.expose().as_bytes()) => {
            next.run(request).await
        }
        Some(_) => {
            bad_secret(state, ip);
            unauthorized("wrong access key")
        }
    }
}

/// Whether a page without an access key may answer a request for this `Host`: an IP address
/// (any port), `localhost`, or a name in `web.hosts`. A browser tricked by DNS rebinding sends
/// the attacker's own name, so refusing unknown names keeps other sites' scripts from reading
/// the page; no `Host` at all is not a browser's request and passes.
pub fn host_allowed(headers: &HeaderMap, hosts: &[String]) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    if host.starts_with('[') {
        return host.split_once(']').is_some_and(|(ip, port)| {
            ip[1..].parse::<std::net::Ipv6Addr>().is_ok()
                && (port.is_empty() || port.strip_prefix(':').is_some_and(is_port))
        });
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => name,
        Some(_) => return false,
        None => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    name.parse::<Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || hosts.iter().any(|known| known.eq_ignore_ascii_case(name))
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

/// Headers on every response: self-only CSP, no sniffing, no referrer, no framing (the overlay
/// may be embedded), HSTS when configured.
pub async fn security_headers(State(state): State<WebState>, mut response: Response) -> Response {
    let embeddable = response.extensions().get::<Embeddable>().is_some();
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    let csp = if embeddable {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors *"
    } else {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    };
    set(headers, "content-security-policy", csp);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    if !embeddable {
        set(headers, "x-frame-options", "DENY");
        set(headers, "cross-origin-opener-policy", "same-origin");
    }
    set(headers, "cache-control", "no-store");
    if state.web.hsts {
        set(
            headers,
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[(&str, ProxyHeader)]) -> Vec<TrustedProxy> {
        list.iter()
            .map(|(net, header)| TrustedProxy {
                net: net.parse().unwrap(),
                header: *header,
            })
            .collect()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_page_without_a_key_answers_addresses_localhost_and_known_names_only() {
        let known = vec!["stream.example.com".to_string()];
        for host in [
            "127.0.0.1:8080",
            "192.168.1.20",
            "[::1]:8080",
            "[fe80::1]",
            "localhost:8080",
            "LOCALHOST",
            "stream.example.com",
            "Stream.Example.COM.:443",
        ] {
            assert!(
                host_allowed(&headers(&[("host", host)]), &known),
                "{host} is allowed"
            );
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "stream.example.com.evil.example",
            "localhost.evil.example",
            "[::1",
            "[::1]x",
            "127.0.0.1:80:80",
            "127.0.0.1:",
            "",
        ] {
            assert!(
                !host_allowed(&headers(&[("host", host)]), &known),
                "{host:?} is refused"
            );
        }
        assert!(
            host_allowed(&HeaderMap::new(), &[]),
            "no Host: not a browser"
        );
    }

    fn check(
        peer: &str,
        pairs: &[(&'static str, &'static str)],
        trusted: &[(&str, ProxyHeader)],
        expected: &str,
    ) {
        let ip = client_ip(peer.parse().unwrap(), &headers(pairs), &proxies(trusted));
        assert_eq!(
            ip,
            expected.parse::<IpAddr>().unwrap(),
            "{peer} {pairs:?} {trusted:?}"
        );
    }

    use ProxyHeader::{CfConnectingIp as Cf, XForwardedFor as Xff, XRealIp as Real};

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let xff = [("x-forwarded-for", "203.0.113.7")];
        check("198.51.100.1", &xff, &[], "198.51.100.1");
        check("198.51.100.1", &xff, &[("127.0.0.1", Xff)], "198.51.100.1");
        check("127.0.0.1", &xff, &[("127.0.0.1", Xff)], "203.0.113.7");
        check(
            "::ffff:127.0.0.1",
            &xff,
            &[("127.0.0.0/8", Xff)],
            "203.0.113.7",
        );
        check("127.0.0.1", &[], &[("127.0.0.1", Xff)], "127.0.0.1");
        let cf = [("cf-connecting-ip", "2001:db8::5")];
        check("127.0.0.1", &cf, &[("127.0.0.1", Cf)], "2001:db8::5");
        check("198.51.100.1", &cf, &[("127.0.0.1", Cf)], "198.51.100.1");
        let real = [("x-real-ip", "203.0.113.9")];
        check("127.0.0.1", &real, &[("127.0.0.1", Real)], "203.0.113.9");
    }

    #[test]
    fn only_the_header_the_proxy_sets_counts() {
        // Behind nginx (X-Forwarded-For), a client's CF-Connecting-IP or X-Real-IP is its own
        // invention: the client is the address nginx appended.
        let spoofs = [
            ("cf-connecting-ip", "192.0.2.10"),
            ("x-real-ip", "192.0.2.11"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        check("127.0.0.1", &spoofs, &[("127.0.0.1", Xff)], "203.0.113.7");
        // Behind cloudflared (CF-Connecting-IP), X-Forwarded-For and X-Real-IP are ignored.
        let spoofs = [
            ("x-forwarded-for", "192.0.2.10"),
            ("x-real-ip", "192.0.2.11"),
            ("cf-connecting-ip", "203.0.113.7"),
        ];
        check("127.0.0.1", &spoofs, &[("127.0.0.1", Cf)], "203.0.113.7");
        // A Cloudflare proxy that did not say: the proxy itself, not the client's XFF.
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "192.0.2.10")],
            &[("127.0.0.1", Cf)],
            "127.0.0.1",
        );
        // Two CF-Connecting-IP headers: one is not Cloudflare's.
        check(
            "127.0.0.1",
            &[
                ("cf-connecting-ip", "192.0.2.10"),
                ("cf-connecting-ip", "203.0.113.7"),
            ],
            &[("127.0.0.1", Cf)],
            "127.0.0.1",
        );
        check(
            "127.0.0.1",
            &[("cf-connecting-ip", "not an ip")],
            &[("127.0.0.1", Cf)],
            "127.0.0.1",
        );
    }

    #[test]
    fn the_forwarded_chain_is_read_right_to_left_skipping_trusted_hops() {
        // The client can write anything on the left; only our proxies' additions count.
        let trusted = [("127.0.0.1", Xff), ("10.0.0.0/8", Xff)];
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")],
            &trusted,
            "203.0.113.7",
        );
        check(
            "127.0.0.1",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "203.0.113.8"),
            ],
            &trusted,
            "203.0.113.8",
        );
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "garbage, 10.0.0.2")],
            &trusted,
            "10.0.0.2",
        );
        // A client posing as a trusted hop gets no further than the padding limit.
        let padded = "198.51.100.9, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, \
                      10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1, \
                      10.0.0.1, 10.0.0.1, 10.0.0.1, 10.0.0.1";
        check(
            "127.0.0.1",
            &[("x-forwarded-for", padded)],
            &trusted,
            "10.0.0.1",
        );
        // nginx behind cloudflared: nginx appends cloudflared's address, cloudflared says who.
        check(
            "127.0.0.1",
            &[
                ("x-forwarded-for", "6.6.6.6, 10.0.0.5"),
                ("cf-connecting-ip", "203.0.113.7"),
            ],
            &[("127.0.0.1", Xff), ("10.0.0.5", Cf)],
            "203.0.113.7",
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret-key", b"secret-key"));
        assert!(!constant_time_eq(b"secret-key", b"secret-kez"));
        assert!(!constant_time_eq(b"secret-key", b"secret-key2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_clients_in_one_64_share_a_bucket() {
        let limiter = RateLimiter::new(1, 2, 100);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        assert_eq!(limiter.check(a), Ok(()));
        assert_eq!(limiter.check(b), Ok(()));
        assert!(limiter.check(a).is_err(), "the /64's bucket is empty");
        assert_eq!(
            limiter.check("2001:db8:1:3::1".parse().unwrap()),
            Ok(()),
            "another /64"
        );
        assert_eq!(limiter.len(), 2);
        // IPv4 stays per address, also written IPv4-mapped.
        assert_eq!(limiter.check("203.0.113.1".parse().unwrap()), Ok(()));
        assert_eq!(limiter.check("::ffff:203.0.113.1".parse().unwrap()), Ok(()));
        assert!(limiter.check("203.0.113.1".parse().unwrap()).is_err());
        assert_eq!(limiter.check("203.0.113.2".parse().unwrap()), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_map_never_grows_beyond_its_cap() {
        let limiter = RateLimiter::new(1, 5, 100);
        // Each client spends a token, so none of them is "full" and forgettable.
        for i in 0..5_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0xC633_6400 + i));
            assert_eq!(limiter.check(ip), Ok(()));
            assert!(limiter.len() <= 100, "{} buckets", limiter.len());
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(limiter.len(), 100);
        // The newest client is still limited by its own bucket.
        let last = IpAddr::V4(Ipv4Addr::from(0xC633_6400 + 4_999));
        for _ in 0..4 {
            assert_eq!(limiter.check(last), Ok(()));
        }
        assert!(limiter.check(last).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(2, 3, 100);
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip), Ok(()));
        }
        let wait = limiter.check(ip).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(
            limiter.check("203.0.113.2".parse().unwrap()),
            Ok(()),
            "per IP"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.check(ip), Ok(()));
        assert!(limiter.check(ip).is_err());
    }
}
