//! The HTTP client of the stats pages.
//!
//! A stats page is asked for several times a second, always at the same few addresses, nearly
//! always plain HTTP on the same host or LAN. So a plain `http://` address is prepared once (the
//! URL parsed, the request target, `Host`, `User-Agent`, `Accept` and, for credentials in the
//! URL, `Authorization: Basic`), and asked over one kept-alive HTTP/1.1 connection of its own,
//! driven by hyper directly: no URL parsing, pool or request building per poll. An `https://`
//! address (or one hyper's URI type refuses) goes through reqwest, with the TLS configuration
//! everything else uses.
//!
//! A reused connection can be closed by the server just as the request goes out (an idle
//! timeout, `keepalive_requests`): a GET that got no answer on a reused connection is sent once
//! more on a new one, as reqwest's pool does. A connection whose answer was not read to the end
//! (a timeout, a body over the cap) is closed, never reused.

use super::{Body, MAX_BODY_BYTES, ShownUrl, StatsError};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HOST, HeaderValue, USER_AGENT};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most addresses prepared at once (a configuration names a handful; Nimble and MediaMTX build
/// a second one from the first). Past it, every prepared address is forgotten and prepared
/// again when next asked for.
const MAX_ADDRESSES: usize = 32;

/// The stats pages' client: cheap to clone (the clones share prepared addresses and idle
/// connections). Built by [`super::client`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// For what is not plain HTTP.
    fallback: reqwest::Client,
    /// By the address as configured (or as the server type built it).
    addresses: Mutex<HashMap<String, Slot>>,
}

struct Slot {
    /// `None`: not for the direct path (HTTPS, or not a URI hyper takes).
    target: Option<Arc<Target>>,
    /// The connection the last answer came on, when it can carry another.
    idle: Option<Connection>,
}

/// A plain-HTTP address, prepared.
#[derive(Debug)]
struct Target {
    /// `host:port` to connect to (an IPv6 literal in brackets).
    connect_to: String,
    /// The request target: path and query.
    path: http::Uri,
    headers: http::HeaderMap,
}

/// One HTTP/1.1 connection: its sender and the task that drives it (stopped when the
/// connection is dropped, so a server that never answers cannot keep it open).
struct Connection {
    send: SendRequest<Empty<Bytes>>,
    task: tokio::task::AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why an exchange failed, and whether the request could have gone unanswered because the
/// server closed a reused connection (then it is sent once more on a new one).
enum Failure {
    NoAnswer(StatsError),
    Other(StatsError),
}

impl Client {
    pub(super) fn new(fallback: reqwest::Client) -> Client {
        Client {
            inner: Arc::new(Inner {
                fallback,
                addresses: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// GET `url` within `timeout`; see [`super::http_get`].
    pub async fn get(&self, url: &str, timeout: Duration) -> Result<Body, StatsError> {
        let request = async {
            match self.checkout(url) {
                (Some(target), idle) => self.get_direct(url, &target, idle).await,
                (None, _) => get_through_reqwest(&self.inner.fallback, url).await,
            }
        };
        tokio::time::timeout(timeout, request)
            .await
            .unwrap_or_else(|_| {
                Err(StatsError::Timeout {
                    url: ShownUrl::new(url),
                    timeout_ms: timeout.as_millis() as u64,
                })
            })
    }

    /// The prepared address and its idle connection (taken: one request at a time uses it).
    fn checkout(&self, url: &str) -> (Option<Arc<Target>>, Option<Connection>) {
        let mut addresses = self.addresses();
        if let Some(slot) = addresses.get_mut(url) {
            return (slot.target.clone(), slot.idle.take());
        }
        if addresses.len() >= MAX_ADDRESSES {
            addresses.clear();
        }
        let target = Target::prepare(url).map(Arc::new);
        addresses.insert(
            url.to_owned(),
            Slot {
                target: target.clone(),
                idle: None,
            },
        );
        (target, None)
    }

    fn addresses(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    async fn get_direct(
        &self,
        url: &str,
        target: &Target,
        idle: Option<Connection>,
    ) -> Result<Body, StatsError> {
        // A connection the server closed since is not ready: a new one, as if none was idle.
        if let Some(mut connection) = idle
            && connection.send.ready().await.is_ok()
        {
            match exchange(url, target, connection).await {
                Err(Failure::NoAnswer(_)) => {}
                done => return self.keep(url, done),
            }
        }
        let connection = connect(url, target).await?;
        self.keep(url, exchange(url, target, connection).await)
    }

    /// The body of an exchange; its connection back in the slot when it can carry another.
    fn keep(
        &self,
        url: &str,
        done: Result<(Body, Option<Connection>), Failure>,
    ) -> Result<Body, StatsError> {
        let (body, connection) = done.map_err(|(Failure::NoAnswer(e) | Failure::Other(e))| e)?;
        if let Some(connection) = connection
            && let Some(slot) = self.addresses().get_mut(url)
        {
            slot.idle = Some(connection);
        }
        Ok(body)
    }
}

impl Target {
    /// `None` for anything but a plain `http://` URL that hyper's URI type takes.
    fn prepare(url: &str) -> Option<Target> {
        let parsed = url::Url::parse(url).ok()?;
        if parsed.scheme() != "http" {
            return None;
        }
        let host = parsed.host_str()?;
        let port = parsed.port_or_known_default()?;
        let path: http::Uri = parsed[url::Position::BeforePath..url::Position::AfterQuery]
            .parse()
            .ok()?;
        let host_header = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(&host_header).ok()?);
        headers.insert(USER_AGENT, HeaderValue::from_static(crate::tls::USER_AGENT));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        // Credentials in the URL are sent as Basic authentication, as reqwest does.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            let decode =
                |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
            let mut pair = decode(parsed.username());
            pair.push(b':');
            pair.extend(decode(parsed.password().unwrap_or("")));
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Some(Target {
            connect_to: format!("{host}:{port}"),
            path,
            headers,
        })
    }
}

async fn connect(url: &str, target: &Target) -> Result<Connection, StatsError> {
    let unreachable = |reason: String| StatsError::Unreachable {
        url: ShownUrl::new(url),
        reason,
    };
    let stream = tokio::net::TcpStream::connect(target.connect_to.as_str())
        .await
        .map_err(|e| unreachable(format!("cannot connect: {e}")))?;
    // One small request, then the answer: nothing to gain from Nagle.
    let _ = stream.set_nodelay(true);
    let (send, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(crate::status::error_chain(&e)))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    })
    .abort_handle();
    Ok(Connection { send, task })
}

/// One request and its whole answer; the connection back when it can carry another.
async fn exchange(
    url: &str,
    target: &Target,
    mut connection: Connection,
) -> Result<(Body, Option<Connection>), Failure> {
    let failed = |e: hyper::Error| StatsError::Unreachable {
        url: ShownUrl::new(url),
        reason: crate::status::error_chain(&e),
    };
    let mut request = http::Request::new(Empty::new());
    *request.uri_mut() = target.path.clone();
    *request.headers_mut() = target.headers.clone();
    let response = connection
        .send
        .send_request(request)
        .await
        .map_err(|e| Failure::NoAnswer(failed(e)))?;
    let body = read_capped(url, response, failed)
        .await
        .map_err(Failure::Other)?;
    let reusable = !connection.send.is_closed();
    Ok((body, reusable.then_some(connection)))
}

async fn get_through_reqwest(client: &reqwest::Client, url: &str) -> Result<Body, StatsError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable_error(url, e))?;
    read_capped(url, http::Response::from(response), |e| {
        unreachable_error(url, e)
    })
    .await
}

/// The status and the whole body, at most [`MAX_BODY_BYTES`] of it.
async fn read_capped<B: hyper::body::Body<Data = Bytes>>(
    url: &str,
    response: http::Response<B>,
    failed: impl Fn(B::Error) -> StatsError,
) -> Result<Body, StatsError> {
    let status = response.status().as_u16();
    let mut body = std::pin::pin!(response.into_body());
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(&failed)?.into_data() {
            if bytes.len() + data.len() > MAX_BODY_BYTES {
                return Err(StatsError::TooLarge {
                    url: ShownUrl::new(url),
                    limit: MAX_BODY_BYTES,
                });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Body { status, bytes })
}

fn unreachable_error(url: &str, error: reqwest::Error) -> StatsError {
    // reqwest's Display includes the URL, credentials and query too: drop it, and keep only the
    // causes (which name no URL).
    let error = error.without_url();
    let reason = match std::error::Error::source(&error) {
        Some(cause) => crate::status::error_chain(cause),
        None if error.is_timeout() => "timed out".into(),
        None => "request failed".into(),
    };
    StatsError::Unreachable {
        url: ShownUrl::new(url),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_addresses_are_prepared_once_with_their_headers() {
        let target = Target::prepare("http://user:p%40ss@127.0.0.1:8181/stats?legacy=1#x").unwrap();
        assert_eq!(target.connect_to, "127.0.0.1:8181");
        assert_eq!(target.path, "/stats?legacy=1");
        assert_eq!(target.headers[HOST], "127.0.0.1:8181");
        assert_eq!(target.headers[ACCEPT], "*/*");
        // base64("user:p@ss")
        assert_eq!(target.headers[AUTHORIZATION], "Basic dXNlcjpwQHNz");
        assert!(target.headers[AUTHORIZATION].is_sensitive());

        let target = Target::prepare("http://[::1]/stat").unwrap();
        assert_eq!(target.connect_to, "[::1]:80");
        assert_eq!(target.headers[HOST], "[::1]");
        assert!(!target.headers.contains_key(AUTHORIZATION));

        let target = Target::prepare("http://stats.lan:8080").unwrap();
        assert_eq!(target.path, "/");
        assert_eq!(target.headers[HOST], "stats.lan:8080");

        assert!(Target::prepare("https://stats.example/stats").is_none());
        assert!(Target::prepare("not a url").is_none());
    }
}
