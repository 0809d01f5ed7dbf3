//! The HTTP/1.1 server under the router: its own accept loop, so every connection has limits
//! before a byte of it is parsed. `axum::serve` runs hyper without a timer (no header timeout)
//! and accepts without bound, and the rate limiter (a middleware) only ever sees requests whose
//! headers have arrived, so a slow or silent client would cost a socket forever.
//!
//! - **Connections**: at most `web.limits.max_connections`, and `max_connections_per_ip` from one
//!   address (IPv6: one /64; trusted proxies are exempt, every client comes through them). A
//!   connection beyond either is closed at once, before hyper sees it.
//! - **Header timeout** (hyper's `header_read_timeout`, which needs a timer): the headers of a
//!   request must arrive within `header_timeout` of the connection's start or of the previous
//!   answer, so it also ends idle keep-alive connections.
//! - **Idle timeout** ([`Watched`]): a connection that neither sends nor takes a byte for
//!   `idle_timeout` is closed: a client that stops reading a stream, or a silent WebSocket.
//! - **Request timeout**: a handler (the body it reads included) has `request_timeout`, then 408.
//!   Streams answer at once and then live by the idle timeout.
//!
//! On shutdown the listener closes, every connection is asked to finish its request, and the
//! streams end on the same token.

use super::security::rate_limit_key;
use crate::config::{TrustedProxy, WebLimits};
use crate::metrics::{Metrics, Refusal};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

/// A connection's read buffer at most, so also the largest request head (hyper's default is
/// ~400 KiB: 4,096 clients sending that much would cost 1.6 GiB). The bot's requests are a few
/// hundred bytes; browsers send 1–2 KiB of headers. A head that does not fit gets 431.
const MAX_BUFFER: usize = 16 * 1024;

/// How long shutdown waits for open requests to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Open connections, in all and per address.
#[derive(Debug, Default)]
pub struct Connections {
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    connections: Arc<Connections>,
    key: Option<IpAddr>,
}

impl Connections {
    /// Admit a connection from `peer`, or `None` when a cap is reached. `key` is the address
    /// counted per IP (`None`: a trusted proxy, not counted per IP).
    pub fn admit(self: &Arc<Self>, key: Option<IpAddr>, limits: &WebLimits) -> Option<Admitted> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *counts;
        if *total >= limits.max_connections {
            return None;
        }
        if let Some(key) = key {
            let open = per_ip.entry(key).or_default();
            if *open >= limits.max_connections_per_ip {
                return None;
            }
            *open += 1;
        }
        *total += 1;
        Some(Admitted {
            connections: self.clone(),
            key,
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self
            .connections
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *counts;
        *total -= 1;
        if let Some(key) = self.key
            && let Some(open) = per_ip.get_mut(&key)
        {
            *open -= 1;
            // The map holds only addresses with a connection open: it is bounded by the caps.
            if *open == 0 {
                per_ip.remove(&key);
            }
        }
    }
}

/// File descriptors kept for everything but web clients (OBS, Twitch, Discord, stats servers,
/// state files, programs).
const RESERVED_FILES: u64 = 256;

/// `max_connections`, lowered if the process may not open that many files. The soft limit is
/// first raised to the hard one (systemd gives services 1024 soft, 524288 hard): a socket is a
/// file, and running out of them would fail every `accept` and every outgoing connection alike.
pub fn fit_to_open_files(max_connections: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return max_connections;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let fits = usize::try_from(soft.saturating_sub(RESERVED_FILES))
        .unwrap_or(usize::MAX)
        .max(1);
    if fits < max_connections {
        tracing::warn!(
            max_connections,
            open_files = soft,
            "web.limits.max_connections is above what the open-file limit allows; using {fits} \
             (raise LimitNOFILE= in the unit to allow more)"
        );
        return fits;
    }
    max_connections
}

/// Connections the kernel may queue before they are accepted. Tokio's `bind` asks for 1,024;
/// when a thousand clients reconnect at once (an attack cut by the header timeout), a fuller
/// queue drops SYNs and an honest client waits a second for its retransmission. Linux caps this
/// at `net.core.somaxconn` (4,096 by default since 5.4).
const LISTEN_BACKLOG: u32 = 4096;

/// Listen on `addr` with [`LISTEN_BACKLOG`].
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted bot may bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// What the accept loop needs besides the router.
pub struct Serve {
    pub limits: WebLimits,
    pub trusted_proxies: Vec<TrustedProxy>,
    pub metrics: Arc<Metrics>,
    pub connections: Arc<Connections>,
}

/// Accept and serve connections until `token` is cancelled, then let open requests finish (at
/// most [`SHUTDOWN_GRACE`]).
pub async fn serve(listener: TcpListener, app: Router, serve: Serve, token: CancellationToken) {
    let serve = Arc::new(serve);
    let tracker = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = token.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before it was taken: wait a
                    // little rather than spin (what `axum::serve` does too).
                    tracing::warn!(%error, "cannot accept a web connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let ip = peer.ip().to_canonical();
        let trusted = serve.trusted_proxies.iter().any(|p| p.net.contains(ip));
        let key = (!trusted).then(|| rate_limit_key(ip));
        let Some(admitted) = serve.connections.admit(key, &serve.limits) else {
            serve.metrics.http_refused(Refusal::TooManyConnections);
            // Closed before hyper reads a byte: the cheapest answer there is.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let serve = serve.clone();
        let token = token.clone();
        tracker.spawn(async move {
            connection(stream, peer, app, &serve, token).await;
            drop(admitted);
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = tracker.len(),
            "web connections still open at shutdown; closing them"
        );
    }
}

/// One connection: HTTP/1.1 with upgrades (the overlay's WebSocket), until it ends or shutdown.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    serve: &Serve,
    token: CancellationToken,
) {
    let request_timeout = serve.limits.request_timeout;
    let metrics = serve.metrics.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        let metrics = metrics.clone();
        async move {
            let answer = app.oneshot(request.map(axum::body::Body::new));
            Ok::<_, std::convert::Infallible>(
                match tokio::time::timeout(request_timeout, answer).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => {
                        metrics.http_refused(Refusal::Timeout);
                        super::security::refusal(StatusCode::REQUEST_TIMEOUT, "request timeout")
                            .into_response()
                    }
                },
            )
        }
    });
    let io = TokioIo::new(Watched::new(stream, serve.limits.idle_timeout));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(serve.limits.header_timeout)
        .max_buf_size(MAX_BUFFER)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, %peer, "web connection ended");
            }
        }
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A stream that fails with `TimedOut` once neither direction has moved a byte for its idle
/// time, noticed whenever a read or write waits.
pub struct Watched<T> {
    inner: T,
    idle: Duration,
    last_progress: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl<T> Watched<T> {
    pub fn new(inner: T, idle: Duration) -> Self {
        let now = Instant::now();
        Watched {
            inner,
            idle,
            last_progress: now,
            deadline: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    fn progressed(&mut self) {
        self.last_progress = Instant::now();
    }

    /// A write's outcome: bytes taken are progress; a write that waits is watched.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.check_idle(cx).map(Err),
        }
    }

    /// Called when the inner stream is not ready: `Ready(error)` if it has been idle too long,
    /// otherwise the deadline is armed to wake the task when it would be.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let due = self.last_progress + self.idle;
            if self.deadline.deadline() != due {
                self.deadline.as_mut().reset(due);
            }
            ready!(self.deadline.as_mut().poll(cx));
            if self.last_progress + self.idle <= Instant::now() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no traffic within the idle timeout",
                ));
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.progressed();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.check_idle(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(total: usize, per_ip: usize) -> WebLimits {
        WebLimits {
            max_connections: total,
            max_connections_per_ip: per_ip,
            ..WebLimits::default()
        }
    }

    #[test]
    fn connections_are_capped_in_all_and_per_address_and_freed_on_drop() {
        let connections = Arc::new(Connections::default());
        let limits = limits(5, 2);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        let first = connections.admit(Some(a), &limits).unwrap();
        let _second = connections.admit(Some(a), &limits).unwrap();
        assert!(connections.admit(Some(a), &limits).is_none(), "per address");
        let _others: Vec<_> = (0..2)
            .map(|_| connections.admit(Some(b), &limits).unwrap())
            .collect();
        // A trusted proxy is not counted per address, only in all.
        let _proxy = connections.admit(None, &limits).unwrap();
        assert_eq!(connections.open(), 5);
        assert!(connections.admit(None, &limits).is_none(), "in all");
        drop(first);
        assert!(connections.admit(Some(a), &limits).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_moves_no_byte_for_its_idle_time_fails() {
        let (client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, Duration::from_secs(60));
        let mut client = client;
        // Traffic within the idle time keeps it open.
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(50)).await;
            client.write_all(b"x").await.unwrap();
            let mut byte = [0u8; 1];
            watched.read_exact(&mut byte).await.unwrap();
        }
        let started = Instant::now();
        let mut byte = [0u8; 1];
        let error = watched.read_exact(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_is_dropped_after_the_idle_time() {
        let (_client, server) = tokio::io::duplex(16);
        let mut watched = Watched::new(server, Duration::from_secs(60));
        let started = Instant::now();
        // The pipe holds 16 bytes; the peer never reads, so the write waits, then fails.
        let error = watched.write_all(&[0u8; 64]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }
}
