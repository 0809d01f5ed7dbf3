//! The HTTP client behind twitch_api and twitch_oauth2: reqwest with a timeout, the configured
//! base URLs (Twitch's by default; a fake in tests, a proxy if ever needed), and Twitch's rate
//! limit honoured for every call: a 429 waits until `Ratelimit-Reset` (at most
//! [`MAX_RATE_LIMIT_WAIT`]) and is tried once more.

use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::{HELIX_URL, OAUTH_URL};
/// Every Twitch call gives up after this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a rate-limited call waits for its reset.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);

/// A cheap, cloneable Twitch HTTP client.
#[derive(Clone, Debug)]
pub struct TwitchHttp {
    client: reqwest::Client,
    bases: Arc<(String, String)>,
}

impl TwitchHttp {
    /// `helix` and `oauth` are the base URLs to use instead of Twitch's (with trailing slash).
    pub fn new(tls: &crate::tls::Tls, helix: &str, oauth: &str) -> TwitchHttp {
        let client = tls
            .http_client()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(crate::tls::USER_AGENT)
            .build()
            .unwrap_or_default();
        TwitchHttp {
            client,
            bases: Arc::new((with_slash(helix), with_slash(oauth))),
        }
    }

    fn rewrite(&self, uri: &http::Uri) -> Option<http::Uri> {
        let text = uri.to_string();
        let (helix, oauth) = &*self.bases;
        let rewritten = if let Some(rest) = text.strip_prefix(HELIX_URL) {
            format!("{helix}{rest}")
        } else if let Some(rest) = text.strip_prefix(OAUTH_URL) {
            format!("{oauth}{rest}")
        } else {
            return None;
        };
        rewritten.parse().ok()
    }
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// How long to wait before retrying a 429, from `Ratelimit-Reset` (epoch seconds).
fn rate_limit_wait(response: &http::Response<Bytes>) -> Option<Duration> {
    if response.status() != http::StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    // A 429 with tokens left in the bucket is another limit (EventSub's sockets and
    // subscriptions): waiting for the reset would not help.
    let remaining = response
        .headers()
        .get("ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if remaining.is_some_and(|r| r > 0) {
        return None;
    }
    let reset = response
        .headers()
        .get("ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let now = crate::status::now_unix();
    let wait = reset.map_or(Duration::from_secs(1), |reset| {
        Duration::from_secs(reset.saturating_sub(now))
    });
    Some(wait.clamp(Duration::from_millis(100), MAX_RATE_LIMIT_WAIT))
}

impl twitch_api::HttpClient for TwitchHttp {
    type Error = reqwest::Error;

    fn req(
        &self,
        mut request: http::Request<Bytes>,
    ) -> impl Future<Output = Result<http::Response<Bytes>, Self::Error>> + Send + use<> {
        if let Some(uri) = self.rewrite(request.uri()) {
            *request.uri_mut() = uri;
        }
        let client = self.client.clone();
        async move {
            // Keep what a retry needs (the body is cheap to clone).
            let (parts, body) = request.into_parts();
            let again = {
                let mut builder = http::Request::builder()
                    .method(parts.method.clone())
                    .uri(parts.uri.clone());
                if let Some(headers) = builder.headers_mut() {
                    headers.extend(parts.headers.clone());
                }
                builder.body(body.clone()).ok()
            };
            let first = http::Request::from_parts(parts, body);
            let response = <reqwest::Client as twitch_api::HttpClient>::req(&client, first).await?;
            match (rate_limit_wait(&response), again) {
                (Some(wait), Some(again)) => {
                    tracing::warn!(?wait, uri = %again.uri().path(), "Twitch rate limit: waiting for the reset");
                    tokio::time::sleep(wait).await;
                    <reqwest::Client as twitch_api::HttpClient>::req(&client, again).await
                }
                _ => Ok(response),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_twitch_bases() {
        let http = TwitchHttp::new(
            &crate::tls::Tls::system(),
            "http://127.0.0.1:1/helix",
            "http://127.0.0.1:1/oauth2/",
        );
        let uri: http::Uri = "https://api.twitch.tv/helix/users?login=a".parse().unwrap();
        assert_eq!(
            http.rewrite(&uri).unwrap().to_string(),
            "http://127.0.0.1:1/helix/users?login=a"
        );
        let uri: http::Uri = "https://id.twitch.tv/oauth2/validate".parse().unwrap();
        assert_eq!(
            http.rewrite(&uri).unwrap().to_string(),
            "http://127.0.0.1:1/oauth2/validate"
        );
        let other: http::Uri = "https://example.org/x".parse().unwrap();
        assert_eq!(http.rewrite(&other), None);
    }

    #[test]
    fn rate_limit_waits_for_the_reset_within_bounds() {
        let response = |status: u16, reset: Option<u64>| {
            let mut builder = http::Response::builder().status(status);
            if let Some(reset) = reset {
                builder = builder.header("Ratelimit-Reset", reset.to_string());
            }
            builder.body(Bytes::new()).unwrap()
        };
        let now = crate::status::now_unix();
        assert_eq!(rate_limit_wait(&response(200, Some(now + 5))), None);
        let wait = rate_limit_wait(&response(429, Some(now + 3))).unwrap();
        assert!(wait >= Duration::from_secs(2) && wait <= Duration::from_secs(3));
        assert_eq!(
            rate_limit_wait(&response(429, Some(now + 3600))),
            Some(MAX_RATE_LIMIT_WAIT)
        );
        assert_eq!(
            rate_limit_wait(&response(429, None)),
            Some(Duration::from_secs(1))
        );
        // Tokens left: another limit, no waiting.
        let mut other = response(429, Some(now + 3));
        other
            .headers_mut()
            .insert("Ratelimit-Remaining", http::HeaderValue::from_static("799"));
        assert_eq!(rate_limit_wait(&other), None);
    }
}
