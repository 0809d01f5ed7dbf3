//! The demo's ingest: an HTTP server on `127.0.0.1` serving an nginx-rtmp `stat` page (the XML
//! that `guard/stats/nginx.rs` reads) for one stream whose bitrate follows a scripted [`Trace`]
//! in a loop.
//!
//! The page is what nginx-rtmp would show: `rtmp/server/application/live/stream` with a
//! publishing `<client>`, a cumulative `bytes_in` that grows at the trace's rate, and
//! `bw_in`/`bw_video`/`bw_audio` in bits per second. While nobody publishes, the stream is not
//! in the page at all (nginx drops it), and when the publisher comes back its counter starts
//! again from 0, as a reconnecting encoder's does.
//!
//! Time is `tokio::time::Instant`, so a paused tokio clock drives the trace: tests advance
//! through a whole loop in virtual time.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The nginx-rtmp application the simulated stream is published to.
pub const APPLICATION: &str = "live";
/// The simulated stream's name.
pub const STREAM: &str = "demo";
/// The path of the stat page.
pub const STAT_PATH: &str = "/stat";
/// What the encoder spends on audio (bits per second), as `bw_audio`.
const AUDIO_BPS: u64 = 128_000;

/// One stretch of the trace: a constant bitrate, or nobody publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// A short name for people (`good`, `drop`, `outage`, `recovery`).
    pub name: &'static str,
    /// How long it lasts (more than zero).
    pub duration: Duration,
    /// The publisher's bitrate; `None`: no publisher.
    pub kbps: Option<u32>,
}

/// A bitrate script replayed in a loop. Build it with [`Trace::new`] or take [`Trace::demo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    phases: Vec<Phase>,
    cycle: Duration,
}

/// Why a list of phases is not a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("a trace needs at least one phase")]
    Empty,
    #[error("phase {0:?} lasts no time")]
    ZeroDuration(&'static str),
}

/// What the ingest looks like at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingest {
    /// Nobody publishes: the stream is not in the stat page.
    NoPublisher,
    /// A publisher at `kbps`, having sent `bytes_in` since it connected `publishing_for` ago.
    Publishing {
        kbps: u32,
        bytes_in: u64,
        publishing_for: Duration,
    },
}

impl Trace {
    pub fn new(phases: Vec<Phase>) -> Result<Trace, TraceError> {
        if phases.is_empty() {
            return Err(TraceError::Empty);
        }
        if let Some(phase) = phases.iter().find(|p| p.duration.is_zero()) {
            return Err(TraceError::ZeroDuration(phase.name));
        }
        let cycle = phases.iter().map(|p| p.duration).sum();
        Ok(Trace { phases, cycle })
    }

    /// The demo's loop (60 s): a good ingest; a dip that stays above the demo's LOW threshold
    /// (800 kbps) unless the operator raises it (`trigger low 3000`); a drop well below it; an
    /// outage; a recovery that clears the recover threshold (3000 kbps).
    pub fn demo() -> Trace {
        let phase = |name, secs, kbps| Phase {
            name,
            duration: Duration::from_secs(secs),
            kbps,
        };
        Trace {
            cycle: Duration::from_secs(60),
            phases: vec![
                phase("good", 15, Some(6000)),
                phase("dip", 10, Some(2000)),
                phase("drop", 15, Some(400)),
                phase("outage", 10, None),
                phase("recovery", 10, Some(3500)),
            ],
        }
    }

    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The length of one loop.
    pub fn cycle(&self) -> Duration {
        self.cycle
    }

    /// The phase `elapsed` after the start (index into [`phases`](Self::phases)) and how far
    /// into it.
    pub fn phase_at(&self, elapsed: Duration) -> (usize, Duration) {
        let mut offset = Duration::from_nanos(
            u64::try_from(elapsed.as_nanos() % self.cycle.as_nanos()).unwrap_or(0),
        );
        for (index, phase) in self.phases.iter().enumerate() {
            if offset < phase.duration {
                return (index, offset);
            }
            offset -= phase.duration;
        }
        // Unreachable for a valid trace (offset < cycle); the last phase is a safe answer.
        (self.phases.len() - 1, Duration::ZERO)
    }

    /// The ingest `elapsed` after the start. The publisher connected at the end of the last
    /// outage before `elapsed` (or at the start), and its counter has grown since.
    pub fn ingest_at(&self, elapsed: Duration) -> Ingest {
        let (index, into) = self.phase_at(elapsed);
        let Some(kbps) = self.phases[index].kbps else {
            return Ingest::NoPublisher;
        };
        // kbps × ns / 10⁶ = bits.
        let mut bit_ns = u128::from(kbps) * into.as_nanos();
        let mut publishing_for = into;
        if self.phases.iter().all(|p| p.kbps.is_some()) {
            // Never an outage: one publisher since the start.
            let loops = elapsed.as_nanos() / self.cycle.as_nanos();
            bit_ns += loops * self.bit_ns(&self.phases);
            bit_ns += self.bit_ns(&self.phases[..index]);
            publishing_for = elapsed;
        } else {
            // Walk back to the outage before this phase (at most one loop), not before the start.
            let mut behind = elapsed.saturating_sub(into);
            let mut at = index;
            while !behind.is_zero() {
                at = at.checked_sub(1).unwrap_or(self.phases.len() - 1);
                let phase = &self.phases[at];
                let Some(kbps) = phase.kbps else { break };
                bit_ns += u128::from(kbps) * phase.duration.as_nanos();
                publishing_for += phase.duration;
                behind = behind.saturating_sub(phase.duration);
            }
        }
        Ingest::Publishing {
            kbps,
            bytes_in: u64::try_from(bit_ns / 8_000_000).unwrap_or(u64::MAX),
            publishing_for,
        }
    }

    /// Bits × 10⁶ sent over `phases` (outages send nothing).
    fn bit_ns(&self, phases: &[Phase]) -> u128 {
        phases
            .iter()
            .filter_map(|p| p.kbps.map(|kbps| u128::from(kbps) * p.duration.as_nanos()))
            .sum()
    }
}

/// The stat page for `ingest`, `uptime` after nginx started.
pub fn stat_xml(ingest: &Ingest, uptime: Duration) -> String {
    let mut stream = String::new();
    let (bw_in, bytes_in, clients) = match *ingest {
        Ingest::NoPublisher => (0, 0, 0),
        Ingest::Publishing {
            kbps,
            bytes_in,
            publishing_for,
        } => {
            let bw_in = u64::from(kbps) * 1000;
            let bw_audio = AUDIO_BPS.min(bw_in);
            let time = publishing_for.as_millis();
            let _ = write!(
                stream,
                "<stream>\n<name>{STREAM}</name>\n<time>{time}</time><bw_in>{bw_in}</bw_in>\n\
                 <bytes_in>{bytes_in}</bytes_in>\n<bw_out>0</bw_out>\n<bytes_out>0</bytes_out>\n\
                 <bw_audio>{bw_audio}</bw_audio>\n<bw_video>{bw_video}</bw_video>\n\
                 <client><id>1</id><address>127.0.0.1</address><time>{time}</time>\
                 <flashver>FMLE/3.0 (compatible; stream-control demo)</flashver><dropped>0</dropped>\
                 <avsync>0</avsync><timestamp>{time}</timestamp><publishing/><active/></client>\n\
                 <meta><video><width>1920</width><height>1080</height><frame_rate>30</frame_rate>\
                 <codec>H264</codec><profile>High</profile><compat>0</compat><level>4.1</level></video>\
                 <audio><codec>AAC</codec><profile>LC</profile><channels>2</channels>\
                 <sample_rate>48000</sample_rate></audio></meta>\n\
                 <nclients>1</nclients>\n<publishing/>\n<active/>\n</stream>\n",
                bw_video = bw_in - bw_audio,
            );
            (bw_in, bytes_in, 1)
        }
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rtmp>\n\
         <nginx_version>1.22.1</nginx_version>\n<nginx_rtmp_version>1.1.4</nginx_rtmp_version>\n\
         <built>stream-control demo</built>\n<pid>{pid}</pid>\n<uptime>{uptime}</uptime>\n\
         <naccepted>{clients}</naccepted>\n<bw_in>{bw_in}</bw_in>\n<bytes_in>{bytes_in}</bytes_in>\n\
         <bw_out>0</bw_out>\n<bytes_out>0</bytes_out>\n<server>\n<application>\n\
         <name>{APPLICATION}</name>\n<live>\n{stream}<nclients>{clients}</nclients>\n</live>\n\
         </application>\n</server>\n</rtmp>\n",
        pid = std::process::id(),
        uptime = uptime.as_secs(),
    )
}

/// The simulated nginx-rtmp stat server. Dropping it stops serving.
pub struct StatsSim {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

struct Inner {
    trace: Trace,
    /// The trace's time zero.
    started: Instant,
}

impl Inner {
    fn ingest(&self) -> Ingest {
        self.trace.ingest_at(self.started.elapsed())
    }
}

impl StatsSim {
    /// Listens on `127.0.0.1:0` and starts the trace now.
    pub async fn start(trace: Trace) -> std::io::Result<StatsSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            trace,
            started: Instant::now(),
        });
        let router = Router::new()
            .route(STAT_PATH, get(stat))
            .with_state(inner.clone());
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let shutdown = stop.clone().cancelled_owned();
        tracker.spawn(async move {
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "the demo's stats server stopped");
            }
        });
        tracker.close();
        Ok(StatsSim {
            addr,
            inner,
            stop,
            tracker,
        })
    }

    /// `http://127.0.0.1:<port>/stat`.
    pub fn url(&self) -> String {
        format!("http://{}{STAT_PATH}", self.addr)
    }

    pub fn trace(&self) -> &Trace {
        &self.inner.trace
    }

    /// When the trace started.
    pub fn started(&self) -> Instant {
        self.inner.started
    }

    /// The ingest now.
    pub fn ingest(&self) -> Ingest {
        self.inner.ingest()
    }

    /// Stop serving and wait for the server task.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tracker.wait().await;
    }
}

impl Drop for StatsSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn stat(State(inner): State<Arc<Inner>>) -> impl IntoResponse {
    let body = stat_xml(&inner.ingest(), inner.started.elapsed());
    ([(header::CONTENT_TYPE, "text/xml")], body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::stats::{Reading, nginx};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn publishing(ingest: Ingest) -> (u32, u64, Duration) {
        match ingest {
            Ingest::Publishing {
                kbps,
                bytes_in,
                publishing_for,
            } => (kbps, bytes_in, publishing_for),
            Ingest::NoPublisher => panic!("expected a publisher"),
        }
    }

    #[test]
    fn the_demo_trace_is_good_dip_drop_outage_recovery() {
        let trace = Trace::demo();
        assert_eq!(Trace::new(trace.phases().to_vec()), Ok(trace.clone()));
        let names: Vec<_> = trace.phases().iter().map(|p| p.name).collect();
        assert_eq!(names, ["good", "dip", "drop", "outage", "recovery"]);
        assert_eq!(trace.cycle(), secs(60));
        assert_eq!(trace.phase_at(secs(0)), (0, secs(0)));
        assert_eq!(trace.phase_at(secs(16)), (1, secs(1)));
        assert_eq!(trace.phase_at(secs(40)), (3, secs(0)));
        assert_eq!(trace.phase_at(secs(59)), (4, secs(9)));
        // It loops.
        assert_eq!(trace.phase_at(secs(60 + 26)), (2, secs(1)));
    }

    #[test]
    fn bytes_grow_at_the_phase_rate_and_restart_after_an_outage() {
        let trace = Trace::demo();
        // 6000 kbps for 10 s = 7.5 MB.
        assert_eq!(
            publishing(trace.ingest_at(secs(10))),
            (6000, 7_500_000, secs(10))
        );
        // 15 s at 6000, 10 s at 2000, 5 s at 400: 11.25 MB + 2.5 MB + 250 kB.
        assert_eq!(
            publishing(trace.ingest_at(secs(30))),
            (400, 14_000_000, secs(30))
        );
        assert_eq!(trace.ingest_at(secs(45)), Ingest::NoPublisher);
        // A new publisher after the outage: 2 s at 3500 kbps.
        assert_eq!(
            publishing(trace.ingest_at(secs(52))),
            (3500, 875_000, secs(2))
        );
        // Into the next loop the same publisher goes on: 10 s at 3500, 1 s at 6000.
        assert_eq!(
            publishing(trace.ingest_at(secs(61))),
            (6000, 4_375_000 + 750_000, secs(11))
        );
        // Fractions of a second count.
        assert_eq!(
            publishing(trace.ingest_at(Duration::from_millis(250))).1,
            187_500
        );
    }

    #[test]
    fn a_trace_without_an_outage_keeps_one_publisher() {
        let trace = Trace::new(vec![
            Phase {
                name: "a",
                duration: secs(2),
                kbps: Some(800),
            },
            Phase {
                name: "b",
                duration: secs(1),
                kbps: Some(1600),
            },
        ])
        .unwrap();
        // Two loops (2×(1600+1600) kbit) + 1 s of a (800 kbit) = 7200 kbit.
        assert_eq!(
            publishing(trace.ingest_at(secs(7))),
            (800, 900_000, secs(7))
        );
    }

    #[test]
    fn bad_traces_are_refused() {
        assert_eq!(Trace::new(Vec::new()), Err(TraceError::Empty));
        let zero = Phase {
            name: "zero",
            duration: Duration::ZERO,
            kbps: None,
        };
        assert_eq!(
            Trace::new(vec![zero]),
            Err(TraceError::ZeroDuration("zero"))
        );
    }

    #[test]
    fn the_page_reads_as_nginx_rtmp_to_the_guards_parser() {
        let trace = Trace::demo();
        let page = stat_xml(&trace.ingest_at(secs(10)), secs(10));
        assert_eq!(
            nginx::parse(page.as_bytes(), APPLICATION, STREAM),
            Ok(Reading::Counter {
                bytes: 7_500_000,
                fallback: Some(commands::Kbps(5872)),
                rtt: None,
            })
        );
        let page = stat_xml(&Ingest::NoPublisher, secs(40));
        assert_eq!(
            nginx::parse(page.as_bytes(), APPLICATION, STREAM),
            Ok(Reading::NoPublisher)
        );
    }
}
