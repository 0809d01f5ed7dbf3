//! The HTTP client for Kick's OAuth server and API: reqwest from `tls::Tls` with the
//! configured timeout, no redirects, a user agent of our own (Kick's hosts are behind
//! Cloudflare, which refuses requests without a browser-like or named agent: KickDevDocs
//! issue #281 "Request blocked by security policy"), answers read up to [`MAX_BODY_BYTES`],
//! and Kick's error answers turned into [`KickError`].
//!
//! Kick's API answers `{"data": …, "message": "…"}`, errors included
//! (`{"data":{},"message":"Unauthorized"}`, KickDevDocs issue #253;
//! `{"data":"Channel not found","message":"Bad request"}`, issue #123); its OAuth server
//! answers errors as `{"error": "…"}` (getting-started/generating-tokens-oauth2-flow.md,
//! every 400 tab), and Cloudflare as `{"error": "…", "reference": "…"}`. [`Answer::reason`]
//! reads all three.

use crate::config::KickConfig;
use std::time::Duration;

/// The most of an answer the bot reads: Kick's answers here are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most of Kick's own error text kept in an error (it is shown to the operator).
const MAX_REASON_CHARS: usize = 200;

/// Why a call to Kick failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KickError {
    /// No token file for this account: `stream-control kick login` (with `--bot` for the bot
    /// account) has not been run.
    #[error("not logged in to Kick: run {}", login_command(.bot))]
    NotLoggedIn { bot: bool },
    /// Kick refused the refresh token (revoked, or replaced by another login): only a new
    /// login helps, so nothing is retried.
    #[error("Kick refused the refresh token ({reason}): log in again with {}", login_command(.bot))]
    LoginRequired { bot: bool, reason: String },
    #[error(
        "KICK_CLIENT_ID and KICK_CLIENT_SECRET must both be set (the Kick application's credentials)"
    )]
    NoCredentials,
    /// 401 even with a fresh token.
    #[error("Kick refused the token: {0}")]
    Unauthorized(String),
    /// 403: a scope the token lacks (named when known), or Kick's edge refusing the request.
    #[error("Kick refused the request (403): {reason}{}", scope_hint(.missing_scope))]
    Forbidden {
        reason: String,
        missing_scope: Option<String>,
    },
    #[error("Kick does not know it (404): {0}")]
    NotFound(String),
    /// 429. `retry_after` from the `Retry-After` header, when Kick sends one.
    #[error("Kick says: too many requests{}", retry_hint(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// 400: Kick's reason.
    #[error("Kick refused the request (400): {0}")]
    BadRequest(String),
    /// Kick answered 500 to a message sent as its bot (`type: "bot"`): known to happen when the
    /// application's bot is not enabled, and at times regardless (KickDevDocs issues #123,
    /// #343).
    #[error(
        "Kick could not post as the application's bot ({0}): enable the bot in the application's settings (kick.com/settings/developer), log in a bot account with `stream-control kick login --bot`, or set `kick.send_as: Broadcaster`"
    )]
    BotRefused(String),
    #[error("Kick answered {status}: {reason}")]
    Server { status: u16, reason: String },
    /// No answer: the network, a timeout, TLS.
    #[error("Kick could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what Kick documents.
    #[error("Kick's answer could not be read: {0}")]
    Invalid(String),
}

fn login_command(bot: &bool) -> &'static str {
    if *bot {
        "`stream-control kick login --bot`"
    } else {
        "`stream-control kick login`"
    }
}

fn scope_hint(scope: &Option<String>) -> String {
    scope
        .as_ref()
        .map(|s| format!("; the token lacks the scope {s}"))
        .unwrap_or_default()
}

fn retry_hint(after: &Option<Duration>) -> String {
    after
        .map(|d| format!(" (try again in {} s)", d.as_secs().max(1)))
        .unwrap_or_default()
}

impl KickError {
    /// Whether only a new login can fix it.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            KickError::NotLoggedIn { .. } | KickError::LoginRequired { .. }
        )
    }
}

/// An answer: its status, `Retry-After`, and body (at most [`MAX_BODY_BYTES`]). `Debug` shows
/// the body's length only: a token answer's body holds secrets.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Answer {
    /// The body as `T`, for an answer that holds secrets (a token answer): a failure says
    /// where the body is not what Kick documents, never what it holds (serde's message may
    /// quote a value).
    pub fn secret_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, KickError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            KickError::Invalid(format!(
                "the answer (HTTP {}) is not what Kick documents ({:?} error at line {} column {})",
                self.status,
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, KickError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            KickError::Invalid(format!("{e} (HTTP {}: {})", self.status, self.excerpt()))
        })
    }

    /// The body's start as text (an error page is not always JSON).
    fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        cut(text.trim(), MAX_REASON_CHARS)
    }

    /// Kick's reason for an error: `message` (with `data` when it is text), `error` and
    /// `error_description`, or the start of the body.
    pub fn reason(&self) -> String {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&self.body) else {
            return match self.excerpt() {
                empty if empty.is_empty() => format!("HTTP {}", self.status),
                text => text,
            };
        };
        let text = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let parts: Vec<&str> = [
            text("message"),
            text("data"),
            text("error"),
            text("error_description"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            return self.excerpt();
        }
        cut(&parts.join(": "), MAX_REASON_CHARS)
    }

    /// The error for a failed answer (not 401: the caller refreshes and retries first).
    pub fn error(&self) -> KickError {
        let reason = self.reason();
        match self.status {
            400 => KickError::BadRequest(reason),
            401 => KickError::Unauthorized(reason),
            403 => KickError::Forbidden {
                missing_scope: missing_scope(&reason),
                reason,
            },
            404 => KickError::NotFound(reason),
            429 => KickError::RateLimited {
                retry_after: self.retry_after,
            },
            status => KickError::Server { status, reason },
        }
    }
}

/// A scope named in a 403's reason (`… scope chat:write …`), if any.
fn missing_scope(reason: &str) -> Option<String> {
    reason
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
        .find(|word| {
            super::auth::KNOWN_SCOPES
                .iter()
                .any(|s| word.trim_end_matches(['.', ')']) == *s)
        })
        .map(|word| word.trim_end_matches(['.', ')']).to_string())
}

/// `text` cut to at most `max` characters, on a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

/// The client for both of Kick's hosts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct KickHttp {
    client: reqwest::Client,
    api: String,
    oauth: String,
    timeout: Duration,
}

impl KickHttp {
    /// A client for `config`'s addresses and timeout.
    pub fn new(tls: &crate::tls::Tls, config: &KickConfig) -> KickHttp {
        let client = tls
            .http_client()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(crate::tls::USER_AGENT)
            .build()
            .unwrap_or_default();
        KickHttp {
            client,
            api: with_slash(&config.api_url),
            oauth: with_slash(&config.oauth_url),
            timeout: config.request_timeout,
        }
    }

    /// An API address: `path` below the API base (`public/v1/chat`).
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    /// An OAuth address: `path` below the OAuth base (`oauth/token`).
    pub fn oauth(&self, path: &str) -> String {
        format!("{}{path}", self.oauth)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Send a request and read its answer (within the timeout, at most [`MAX_BODY_BYTES`]).
    /// Any status is an [`Answer`]; no answer is [`KickError::Unreachable`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, KickError> {
        let exchange = async {
            let mut response = request.send().await.map_err(unreachable)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(KickError::Invalid(format!(
                        "the answer is longer than {MAX_BODY_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(KickError::Unreachable(format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                )))
            })
    }

    /// POST an `application/x-www-form-urlencoded` body (what Kick's token endpoint takes).
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, KickError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = self
            .client
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.send(request).await
    }
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// A transport error without its URL (reqwest's text names it, query and all) and with its
/// causes.
fn unreachable(error: reqwest::Error) -> KickError {
    let error = error.without_url();
    KickError::Unreachable(crate::status::error_chain(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn kicks_error_shapes_are_read() {
        assert_eq!(
            answer(401, r#"{"data":{},"message":"Unauthorized"}"#).reason(),
            "Unauthorized"
        );
        assert_eq!(
            answer(
                400,
                r#"{"data":"Channel not found","message":"Bad request"}"#
            )
            .reason(),
            "Bad request: Channel not found"
        );
        assert_eq!(
            answer(400, r#"{"error":"Invalid request"}"#).reason(),
            "Invalid request"
        );
        assert_eq!(
            answer(
                403,
                r#"{"error":"Request blocked by security policy.","reference":"9e"}"#
            )
            .reason(),
            "Request blocked by security policy."
        );
        assert_eq!(
            answer(502, "<html>Bad gateway</html>").reason(),
            "<html>Bad gateway</html>"
        );
        assert_eq!(answer(500, "").reason(), "HTTP 500");
        let long = answer(500, &"é".repeat(300)).reason();
        assert_eq!(long.chars().count(), MAX_REASON_CHARS);
    }

    #[test]
    fn statuses_map_to_errors_and_a_403_names_its_scope() {
        assert!(matches!(
            answer(400, "{}").error(),
            KickError::BadRequest(_)
        ));
        assert_eq!(
            answer(403, r#"{"data":{},"message":"missing scope chat:write"}"#).error(),
            KickError::Forbidden {
                reason: "missing scope chat:write".into(),
                missing_scope: Some("chat:write".into())
            }
        );
        let limited = Answer {
            retry_after: Some(Duration::from_secs(3)),
            ..answer(429, "")
        };
        assert_eq!(
            limited.error(),
            KickError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert!(matches!(
            answer(503, "down").error(),
            KickError::Server { status: 503, .. }
        ));
    }

    #[test]
    fn a_secret_answer_that_does_not_parse_is_not_quoted() {
        let leaky = answer(
            200,
            r#"{"access_token": 12, "refresh_token": "r-s3cr3t-value"}"#,
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Token {
            access_token: String,
        }
        let error = leaky.secret_json::<Token>().unwrap_err().to_string();
        assert!(
            !error.contains("s3cr3t") && !error.contains("12"),
            "{error}"
        );
        assert!(error.contains("line 1"), "{error}");
        assert!(!format!("{leaky:?}").contains("s3cr3t"));
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("åäö", 2), "åä");
        assert_eq!(cut("ab", 5), "ab");
    }
}
