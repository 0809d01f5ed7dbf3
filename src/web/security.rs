//! What every request passes through: the client IP (the peer, or what a trusted proxy says),
//! the ban list (403), the per-IP rate limit (429), access keys for the status page and the
//! overlay (401), and the security headers on every response.
//!
//! Keys are compared in constant time; a wrong key (or alert token) counts toward the automatic
//! ban. A missing key does not (a bookmark without `?key=` is a mistake, not a guess).

use super::WebState;
use crate::config::IpNet;
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

/// The client of a request: the peer address, unless the peer is a trusted proxy; then
/// `CF-Connecting-IP`, else the nearest `X-Forwarded-For` entry that is not itself a trusted
/// proxy. IPv4-mapped IPv6 addresses are shown as IPv4.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let parse = |text: &str| {
        text.trim()
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical())
    };
    if let Some(ip) = headers
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .and_then(parse)
    {
        return ip;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in forwarded.iter().rev() {
        match parse(entry) {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // Garbage from the client's side of the chain: stop at the last address we trust.
            None => break,
        }
    }
    client
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

/// A token bucket per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Beyond this many tracked IPs, the full (idle) buckets are forgotten.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one request from `ip`'s bucket, or say how long until there is one.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
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
    if state.ctx.bans.as_ref().is_some_and(|b| b.is_banned(ip)) {
        state.ctx.metrics.http_refused(Refusal::Banned);
        return refusal(StatusCode::FORBIDDEN, "banned");
    }
    if let Err(wait) = state.limiter.check(ip) {
        state.ctx.metrics.http_refused(Refusal::RateLimited);
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
    state.ctx.metrics.http_refused(Refusal::BadKey);
    if let Some(bans) = &state.ctx.bans
        && bans.bad_attempt(ip)
    {
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
    let Some(expected) = state.ctx.secrets.get(guard.variable) else {
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
            state.ctx.metrics.http_refused(Refusal::NoKey);
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

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn check(peer: &str, pairs: &[(&'static str, &'static str)], trusted: &[&str], expected: &str) {
        let ip = client_ip(peer.parse().unwrap(), &headers(pairs), &nets(trusted));
        assert_eq!(
            ip,
            expected.parse::<IpAddr>().unwrap(),
            "{peer} {pairs:?} {trusted:?}"
        );
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let xff = [("x-forwarded-for", "203.0.113.7")];
        check("198.51.100.1", &xff, &[], "198.51.100.1");
        check("198.51.100.1", &xff, &["127.0.0.1"], "198.51.100.1");
        check("127.0.0.1", &xff, &["127.0.0.1"], "203.0.113.7");
        check("::ffff:127.0.0.1", &xff, &["127.0.0.0/8"], "203.0.113.7");
        check(
            "127.0.0.1",
            &[
                ("cf-connecting-ip", "2001:db8::5"),
                ("x-forwarded-for", "203.0.113.7"),
            ],
            &["127.0.0.1"],
            "2001:db8::5",
        );
        check("127.0.0.1", &[], &["127.0.0.1"], "127.0.0.1");
    }

    #[test]
    fn the_nearest_untrusted_forwarded_address_is_the_client() {
        // The client can write anything on the left; only our proxies' additions count.
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")],
            &["127.0.0.1", "10.0.0.0/8"],
            "203.0.113.7",
        );
        check(
            "127.0.0.1",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "203.0.113.8"),
            ],
            &["127.0.0.1"],
            "203.0.113.8",
        );
        check(
            "127.0.0.1",
            &[("x-forwarded-for", "garbage, 10.0.0.2")],
            &["127.0.0.1", "10.0.0.0/8"],
            "10.0.0.2",
        );
        check(
            "127.0.0.1",
            &[("cf-connecting-ip", "not an ip")],
            &["127.0.0.1"],
            "127.0.0.1",
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
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let limiter = RateLimiter::new(2, 3);
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
