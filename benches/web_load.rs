//! The web server under a connection attack, release build (`cargo bench --bench web_load`):
//! the real binary in its own process, with the default `web.limits` (only the rate limit is
//! raised, so the health probe itself is never answered 429), on 127.0.0.1.
//!
//! 1. Baseline: `/healthz` on a new connection every 20 ms for 20 s; latency from `connect` to
//!    the whole answer (p50, p99, max) and the bot's RSS.
//! 2. Attack, held for 30 s: 500 slow-header clients (the start of a request, then a byte a
//!    second, never the end of the headers) and 2,000 idle keep-alive sockets (one request, then
//!    silence). Each reconnects as soon as the bot closes it, so the attack is held however the
//!    bot cuts it. The attackers come from 150 loopback addresses (127.0.1.x, 127.0.2.x: ≤ 20 per
//!    address, under the per-address cap), as a botnet would; from one address the per-address
//!    cap would hold them to 64. The same probes run meanwhile; the attack sockets open at each
//!    probe are counted (min and mean), and the RSS sampled every second.
//! 3. 10,000 `/api/status/stream` attempts, 1,000 at a time from 250 addresses; a served stream
//!    is kept open to the end, so at most `max_status_streams` (100) may ever be served.
//! 4. The attack again (`WEB_LOAD_ROUNDS`, default 2 in all), to see whether memory grows from
//!    one to the next; RSS 15 s after each phase.
//!
//! Clients run in this process on two threads, sharing the machine's two cores with the bot.

mod common;
use stream_control_test_support::nginx;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BUILT: &str = env!("CARGO_BIN_EXE_stream-control");
const SLOW: usize = 500;
const IDLE: usize = 2000;
const SSE_ATTEMPTS: usize = 10_000;
const SSE_AT_ONCE: usize = 1000;
const PROBE_EVERY: Duration = Duration::from_millis(20);

fn main() {
    common::raise_fd_limit(65_536);
    let runtime = common::runtime();
    runtime.block_on(bench());
}

async fn connect_from(source: [u8; 4], addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

/// Read until the peer closes (EOF or reset).
async fn until_closed(stream: &mut TcpStream) {
    let mut chunk = [0u8; 1024];
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            return;
        }
    }
}

/// One `/healthz` on a new connection: the time to the whole answer, or `None` if it failed.
async fn probe(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

struct Probed {
    latencies: Vec<Duration>,
    failed: usize,
    held: Vec<usize>,
    rss_max_kib: u64,
}

/// Probe for `window`, noting the attack sockets open at each probe and the bot's highest RSS.
async fn probes(addr: SocketAddr, window: Duration, pid: u32, open: &AtomicUsize) -> Probed {
    let mut probed = Probed {
        latencies: Vec::new(),
        failed: 0,
        held: Vec::new(),
        rss_max_kib: 0,
    };
    let started = Instant::now();
    let mut ticker = tokio::time::interval(PROBE_EVERY);
    while started.elapsed() < window {
        ticker.tick().await;
        probed.held.push(open.load(Ordering::Relaxed));
        match probe(addr).await {
            Some(latency) => probed.latencies.push(latency),
            None => probed.failed += 1,
        }
        probed.rss_max_kib = probed.rss_max_kib.max(common::status_field(pid, "VmRSS"));
    }
    probed.latencies.sort();
    probed
}

fn report(name: &str, probed: &Probed) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let held_min = probed.held.iter().min().copied().unwrap_or(0);
    let held_mean = probed.held.iter().sum::<usize>() as f64 / probed.held.len().max(1) as f64;
    println!(
        "{name:<10} probes {:>5} failed {:>3}  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  \
         attack sockets open: min {held_min} mean {held_mean:.0}  RSS max {:.1} MiB",
        probed.latencies.len(),
        probed.failed,
        ms(common::percentile(&probed.latencies, 0.5)),
        ms(common::percentile(&probed.latencies, 0.99)),
        ms(*probed.latencies.last().unwrap()),
        common::mib(probed.rss_max_kib),
    );
}

/// A slow-header client from `source`, reconnecting whenever it is cut, until `stop`.
async fn slowloris(
    source: [u8; 4],
    addr: SocketAddr,
    open: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect_from(source, addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        open.fetch_add(1, Ordering::Relaxed);
        let mut sent = stream
            .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-A: ").as_bytes())
            .await
            .is_ok();
        let mut chunk = [0u8; 256];
        while sent && !stop.load(Ordering::Relaxed) {
            tokio::select! {
                read = stream.read(&mut chunk) => if !matches!(read, Ok(n) if n > 0) { break },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    sent = stream.write_all(b"a").await.is_ok();
                }
            }
        }
        open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An idle keep-alive client from `source`: one request, then silence until cut; again.
async fn idler(source: [u8; 4], addr: SocketAddr, open: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect_from(source, addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        open.fetch_add(1, Ordering::Relaxed);
        if stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .is_ok()
        {
            tokio::select! {
                _ = until_closed(&mut stream) => {}
                _ = async { while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                } } => {}
            }
        }
        open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One status-stream attempt: `Some(stream)` if served (kept open by the caller), else the
/// answer's status (0: closed without one).
async fn sse_attempt(source: [u8; 4], addr: SocketAddr) -> Result<TcpStream, u16> {
    let mut stream = connect_from(source, addr).await.map_err(|_| 0u16)?;
    stream
        .write_all(format!("GET /api/status/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .map_err(|_| 0u16)?;
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .map_err(|_| 0u16)?
        .map_err(|_| 0u16)?;
    let status: u16 = std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if status == 200 {
        Ok(stream)
    } else {
        Err(status)
    }
}

async fn settle_rss(pid: u32) -> u64 {
    tokio::time::sleep(Duration::from_secs(15)).await;
    common::status_field(pid, "VmRSS")
}

async fn bench() {
    let state = tempfile::tempdir().unwrap();
    let port = nginx::free_port();
    let config = state.path().join("config.ron");
    stream_control::state_store::write_atomic(
        &config,
        format!(
            r#"(state_dir: "{}", log: (filter: "error"),
                web: (bind: "127.0.0.1:{port}", rate_limit: (per_second: 100000, burst: 100000)))"#,
            state.path().display()
        )
        .as_bytes(),
        stream_control::state_store::Sensitivity::Public,
    )
    .unwrap();
    let mut bot = Command::new(BUILT);
    bot.env_clear();
    // Passed on when set, to compare glibc's allocator settings.
    if let Ok(arenas) = std::env::var("MALLOC_ARENA_MAX") {
        bot.env("MALLOC_ARENA_MAX", arenas);
    }
    let mut bot = bot
        .args(["run", "--config", config.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("the release binary");
    let pid = bot.id();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    while probe(addr).await.is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let none = AtomicUsize::new(0);
    let baseline = probes(addr, Duration::from_secs(20), pid, &none).await;
    report("baseline", &baseline);
    let rss_idle = common::status_field(pid, "VmRSS");

    let rounds: usize = std::env::var("WEB_LOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let mut peaks = Vec::new();
    for _ in 0..rounds {
        let attacked = attack(addr, pid).await;
        peaks.push((attacked.rss_max_kib, settle_rss(pid).await));
    }

    let mut served = Vec::new();
    let mut refused = std::collections::BTreeMap::<u16, usize>::new();
    let started = Instant::now();
    for wave in 0..SSE_ATTEMPTS / SSE_AT_ONCE {
        let attempts: Vec<_> = (0..SSE_AT_ONCE)
            .map(|i| {
                let n = wave * SSE_AT_ONCE + i;
                tokio::spawn(sse_attempt([127, 0, 3, (n % 250 + 1) as u8], addr))
            })
            .collect();
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(stream) => served.push(stream),
                Err(status) => *refused.entry(status).or_default() += 1,
            }
        }
    }
    let rss_streams = common::status_field(pid, "VmRSS");
    println!(
        "status streams: {SSE_ATTEMPTS} attempts in {:.1} s: {} served (cap 100), refused {:?} \
         (0: closed without an answer); RSS with them open {:.1} MiB",
        started.elapsed().as_secs_f64(),
        served.len(),
        refused,
        common::mib(rss_streams)
    );
    assert!(served.len() <= 100, "more streams served than the cap");
    drop(served);
    let rss_end = settle_rss(pid).await;
    let mib = |kib: u64| format!("{:.1}", common::mib(kib));
    println!(
        "RSS (MiB): idle {}; each attack's peak and 15 s after: {}; 15 s after the streams {}",
        mib(rss_idle),
        peaks
            .iter()
            .map(|(peak, after)| format!("{} → {}", mib(*peak), mib(*after)))
            .collect::<Vec<_>>()
            .join(", "),
        mib(rss_end)
    );
    let _ = bot.kill();
    let _ = bot.wait();
}

/// Hold the attack for 30 s while probing; the attackers stop at the end.
async fn attack(addr: SocketAddr, pid: u32) -> Probed {
    let open = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    // Slow-header clients from 127.0.1.1–50, idle ones from 127.0.2.1–100.
    for (clients, subnet, addresses, slow) in [(SLOW, 1, 50, true), (IDLE, 2, 100, false)] {
        for i in 0..clients {
            let source = [127, 0, subnet, (i % addresses + 1) as u8];
            let (open, stop) = (open.clone(), stop.clone());
            attackers.push(if slow {
                tokio::spawn(slowloris(source, addr, open, stop))
            } else {
                tokio::spawn(idler(source, addr, open, stop))
            });
        }
    }
    let ramp = Instant::now();
    while open.load(Ordering::Relaxed) < SLOW + IDLE && ramp.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "attack: {} of {} sockets open after {:.1} s",
        open.load(Ordering::Relaxed),
        SLOW + IDLE,
        ramp.elapsed().as_secs_f64()
    );
    let attacked = probes(addr, Duration::from_secs(30), pid, &open).await;
    report("attacked", &attacked);
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        let _ = attacker.await;
    }
    attacked
}
