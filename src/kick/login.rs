//! `stream-control kick login [--bot]`: Kick's OAuth 2.1 authorization code flow with PKCE
//! (KickDevDocs, getting-started/generating-tokens-oauth2-flow.md; RFC 7636), answered on a
//! one-shot HTTP listener on `127.0.0.1:<kick.redirect_port>`.
//!
//! The verifier is 32 bytes from the operating system's random source in base64url (43
//! characters: RFC 7636 §4.1 asks for 43–128 of `[A-Za-z0-9-._~]`), the challenge its SHA-256
//! in base64url (`S256`, §4.2; Kick accepts no other method). `state` is 16 more random bytes;
//! only a callback carrying it is taken (RFC 6749 §10.12, OAuth 2.1 §7.12): any other request
//! gets a short page saying it was ignored, and the login goes on waiting. Kick's `error=` on
//! the callback ends the login with Kick's reason. Then the code is exchanged (form POST with
//! the verifier and the same redirect URI), the account is read from `GET /public/v1/users`,
//! and the token is stored in the state directory (0600, atomic).
//!
//! Limits: the whole login [`LOGIN_TIMEOUT`]; each connection [`CONNECTION_TIMEOUT`] to send its
//! request head of at most [`MAX_REQUEST_BYTES`]; Kick's calls the configured
//! `kick.request_timeout`. The listener takes one connection at a time, on loopback only.
//!
//! Kick's login page rewrites the first `127.0.0.1` in its URL to `localhost` (a Next.js bug),
//! which would break the exact redirect URI match; Kick's documented workaround is a
//! sacrificial parameter holding `127.0.0.1` before `redirect_uri` ("Workaround for 127.0.0.1
//! Host Redirect URI"), so the authorize URL carries `redirect=127.0.0.1`.

use super::auth::{self, Account, Credentials, StoredToken};
use super::http::KickHttp;
use crate::config::Config;
use crate::secrets::{Redactor, Secrets};
use crate::state_store::StateDir;
use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest a login waits for the browser's callback.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long one connection may take to send its request head.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head the listener reads (a callback URL is a few hundred bytes).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Where Kick sends the browser back to.
pub const CALLBACK_PATH: &str = "/kick/callback";

/// A PKCE pair (RFC 7636 §4.1, §4.2).
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkce(***)")
    }
}

impl Pkce {
    /// A new verifier from the operating system's random source.
    pub fn new() -> Result<Pkce, getrandom::Error> {
        Ok(Pkce::from_verifier(random_text(32)?))
    }

    /// The pair for a given verifier: the challenge is `BASE64URL(SHA256(verifier))`.
    pub fn from_verifier(verifier: String) -> Pkce {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// `bytes` random bytes in base64url without padding.
fn random_text(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// A login in progress: the listener is bound, the authorize URL is ready.
pub struct Login {
    account: Account,
    listener: TcpListener,
    redirect_uri: String,
    authorize_url: String,
    state: String,
    pkce: Pkce,
    http: KickHttp,
    credentials: Credentials,
    state_dir: StateDir,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("account", &self.account)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// What a finished login stored.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub account: Account,
    pub token: StoredToken,
    /// The token file.
    pub file: std::path::PathBuf,
    /// Scopes asked for that Kick did not grant.
    pub missing_scopes: Vec<String>,
}

impl Login {
    /// Bind `127.0.0.1:<kick.redirect_port>` and prepare the authorize URL.
    pub async fn bind(config: &Config, secrets: &Secrets, bot: bool) -> anyhow::Result<Login> {
        let kick = kick_section(config)?;
        let listener = TcpListener::bind(("127.0.0.1", kick.redirect_port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on 127.0.0.1:{} for Kick's redirect (another program uses \
                     the port? change `kick.redirect_port`, and the redirect URL of the Kick \
                     application with it)",
                    kick.redirect_port
                )
            })?;
        Login::with_listener(config, secrets, bot, listener)
    }

    /// The same on a listener already bound (its port makes the redirect URI).
    pub fn with_listener(
        config: &Config,
        secrets: &Secrets,
        bot: bool,
        listener: TcpListener,
    ) -> anyhow::Result<Login> {
        let kick = kick_section(config)?;
        let credentials = Credentials::from_secrets(secrets).context(
            "KICK_CLIENT_ID and KICK_CLIENT_SECRET must be set: create an application at \
             kick.com/settings/developer",
        )?;
        let port = listener
            .local_addr()
            .context("the login listener's address")?
            .port();
        let account = if bot {
            Account::Bot
        } else {
            Account::Broadcaster
        };
        let tls = crate::tls::Tls::new(&config.tls)?;
        let http = KickHttp::new(&tls, kick);
        let redirect_uri = crate::config::redirect_uri(port);
        let pkce = Pkce::new().context("the operating system's random source")?;
        let state = random_text(16).context("the operating system's random source")?;
        let authorize_url = authorize_url(
            &http.oauth("oauth/authorize"),
            credentials.client_id.expose(),
            &redirect_uri,
            account.scopes(),
            &pkce.challenge,
            &state,
        );
        Ok(Login {
            account,
            listener,
            redirect_uri,
            authorize_url,
            state,
            pkce,
            http,
            credentials,
            state_dir: StateDir::new(&config.state_dir),
        })
    }

    /// The address to open in a browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The redirect URI the Kick application must list.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Wait (at most [`LOGIN_TIMEOUT`]) for the callback, exchange the code, read the account
    /// and store the token.
    pub async fn finish(self) -> anyhow::Result<LoggedIn> {
        tokio::time::timeout(LOGIN_TIMEOUT, self.complete())
            .await
            .unwrap_or_else(|_| {
                bail!(
                    "no login came back within {}: run the command again and open the address \
                     it prints",
                    humantime::format_duration(LOGIN_TIMEOUT)
                )
            })
    }

    async fn complete(self) -> anyhow::Result<LoggedIn> {
        loop {
            let (mut stream, _) = self
                .listener
                .accept()
                .await
                .context("accepting the browser's connection")?;
            let Ok(Ok(head)) =
                tokio::time::timeout(CONNECTION_TIMEOUT, read_head(&mut stream)).await
            else {
                let _ = answer(&mut stream, 400, "The request was too slow or too large.").await;
                continue;
            };
            match callback(&head, &self.state) {
                Callback::Other(status, text) => {
                    let _ = answer(&mut stream, status, text).await;
                }
                Callback::Refused(reason) => {
                    let _ = answer(
                        &mut stream,
                        400,
                        &format!("Kick refused the login: {reason}. Go back to the terminal."),
                    )
                    .await;
                    bail!("Kick refused the login: {reason}");
                }
                Callback::Code(code) => {
                    let outcome = self.store(&code).await;
                    let page = match &outcome {
                        Ok(done) => format!(
                            "Logged in to Kick as {}. You can close this tab.",
                            done.token.username.as_deref().unwrap_or("?")
                        ),
                        Err(_) => "The login failed: the terminal says why.".to_string(),
                    };
                    let status = if outcome.is_ok() { 200 } else { 502 };
                    let _ = answer(&mut stream, status, &page).await;
                    return outcome;
                }
            }
        }
    }

    /// Exchange `code`, read who logged in, store the token.
    async fn store(&self, code: &str) -> anyhow::Result<LoggedIn> {
        let mut token = auth::exchange_code(
            &self.http,
            &self.credentials,
            code,
            &self.pkce.verifier,
            &self.redirect_uri,
        )
        .await
        .context("exchanging the code for a token")?;
        let user = super::api::current_user(&self.http, &token.access_token)
            .await
            .context("reading which Kick account logged in")?;
        token.user_id = Some(user.user_id);
        token.username = Some(user.name);
        let file = self.account.file();
        auth::save(&self.state_dir, file, &token, &Redactor::default())
            .with_context(|| format!("saving {}", self.state_dir.path(file).display()))?;
        Ok(LoggedIn {
            account: self.account,
            missing_scopes: token.missing_scopes(self.account.scopes()),
            token,
            file: self.state_dir.path(file),
        })
    }
}

fn kick_section(config: &Config) -> anyhow::Result<&crate::config::KickConfig> {
    config
        .kick
        .as_ref()
        .context("config.ron has no `kick` section: add one first")
}

/// Kick's authorize address with every parameter it requires (generating-tokens-oauth2-flow.md,
/// "Authorization Endpoint"), the sacrificial `redirect` before `redirect_uri` (see the module
/// documentation), scopes space-separated.
pub fn authorize_url(
    base: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    challenge: &str,
    state: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect", "127.0.0.1")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .finish();
    format!("{base}?{query}")
}

/// Read a request head (up to the blank line), at most [`MAX_REQUEST_BYTES`].
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
        if head.len() > MAX_REQUEST_BYTES {
            return Err(std::io::Error::other("request head too large"));
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// What a request to the listener is.
#[derive(Debug, PartialEq, Eq)]
enum Callback {
    /// The login's callback with a code.
    Code(String),
    /// The login's callback with Kick's `error` (and `error_description`).
    Refused(String),
    /// Anything else: answered with this status and text, and ignored.
    Other(u16, &'static str),
}

/// Classify a request head: only `GET /kick/callback` with our `state` counts.
fn callback(head: &str, state: &str) -> Callback {
    let line = head.lines().next().unwrap_or_default();
    let mut words = line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Callback::Other(400, "Not an HTTP request.");
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method != "GET" || path != CALLBACK_PATH {
        return Callback::Other(404, "Nothing here: this address only takes Kick's login.");
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != Some(state) {
        return Callback::Other(
            400,
            "This answer does not belong to the login in progress (its state does not match): \
             it was ignored.",
        );
    }
    if let Some(error) = get("error") {
        let reason = match get("error_description") {
            Some(description) => format!("{error}: {description}"),
            None => error.to_string(),
        };
        return Callback::Refused(super::http::cut(&reason, 200));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Callback::Code(code.to_string()),
        _ => Callback::Other(400, "Kick's answer has no code: it was ignored."),
    }
}

/// Answer the browser with a short page and close.
async fn answer(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        502 => "Bad Gateway",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>stream-control: Kick login</title>\
         <p>{}</p>\n",
        escape(text)
    );
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::time::timeout(CONNECTION_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("the browser does not read")))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636 Appendix B.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_new_verifier_is_43_unreserved_characters_and_never_the_same() {
        let a = Pkce::new().unwrap();
        let b = Pkce::new().unwrap();
        assert_eq!(a.verifier.len(), 43);
        assert!(
            a.verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(a.verifier, b.verifier);
    }

    #[test]
    fn the_authorize_url_has_every_parameter_and_the_workaround_first() {
        let url = authorize_url(
            "https://id.kick.com/oauth/authorize",
            "cid",
            "http://127.0.0.1:8888/kick/callback",
            &["user:read", "chat:write"],
            "chal",
            "st",
        );
        assert_eq!(
            url,
            "https://id.kick.com/oauth/authorize?response_type=code&client_id=cid\
             &redirect=127.0.0.1&redirect_uri=http%3A%2F%2F127.0.0.1%3A8888%2Fkick%2Fcallback\
             &scope=user%3Aread+chat%3Awrite&code_challenge=chal&code_challenge_method=S256\
             &state=st"
        );
    }

    #[test]
    fn only_our_callback_counts() {
        let get = |target: &str| callback(&format!("GET {target} HTTP/1.1\r\n\r\n"), "s1");
        assert_eq!(
            get("/kick/callback?code=abc&state=s1"),
            Callback::Code("abc".into())
        );
        assert!(matches!(
            get("/kick/callback?code=abc&state=other"),
            Callback::Other(400, _)
        ));
        assert!(matches!(
            get("/kick/callback?code=abc"),
            Callback::Other(400, _)
        ));
        assert!(matches!(get("/favicon.ico"), Callback::Other(404, _)));
        assert!(matches!(
            get("/kick/callback?state=s1"),
            Callback::Other(400, _)
        ));
        assert_eq!(
            get("/kick/callback?error=access_denied&error_description=User+said+no&state=s1"),
            Callback::Refused("access_denied: User said no".into())
        );
        assert!(matches!(
            callback("POST /kick/callback?code=a&state=s1 HTTP/1.1\r\n\r\n", "s1"),
            Callback::Other(404, _)
        ));
        assert!(matches!(callback("", "s1"), Callback::Other(400, _)));
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(escape("<b>&\"</b>"), "&lt;b&gt;&amp;&quot;&lt;/b&gt;");
    }
}
