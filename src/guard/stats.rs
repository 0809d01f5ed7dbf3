//! Ingest statistics: what one poll of a stats server says, normalised across server types.
//!
//! Each server type lives in its own file with a pure `parse` (bytes → [`Reading`]) and a thin
//! fetch. [`Meter`] turns counter readings into bitrates; [`IngestStats`] is what the decision
//! state machine sees.

use commands::{Kbps, Millis};
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

pub mod belabox;
mod client;
mod json;
pub mod mediamtx;
pub mod nginx;
pub mod nimble;
pub mod node_media_server;
pub mod obs;
pub mod openirl;
pub mod sls;
pub mod srs;

/// Largest stats body accepted; anything bigger is refused ([`StatsError::TooLarge`]).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
pub use client::Client;

/// Default request timeout for a stats page.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the decision state machine sees for one server at one poll.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestStats {
    /// The stats page could not be read or understood.
    Unreachable(StatsError),
    /// The server answers, but nobody is publishing the configured stream.
    NoPublisher,
    /// A publisher, with its bitrate and (where the server reports it) round-trip time.
    Live { bitrate: Kbps, rtt: Option<Millis> },
}

/// What one stats body says, before counters are turned into rates.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Nobody publishes the configured stream.
    NoPublisher,
    /// A publisher whose bitrate the server computed itself.
    Rate { bitrate: Kbps, rtt: Option<Millis> },
    /// A publisher with a cumulative byte counter; the bitrate is the change between polls.
    /// `fallback` is the server's own (averaged) rate, used when there is no previous counter.
    Counter {
        bytes: u64,
        fallback: Option<Kbps>,
        rtt: Option<Millis>,
    },
}

pub use crate::config::shown_url;

/// A stats address that went through [`shown_url`]: the only form a [`StatsError`] holds, so
/// that no error message can carry a credential from the configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownUrl(String);

impl ShownUrl {
    pub fn new(url: &str) -> ShownUrl {
        ShownUrl(shown_url(url))
    }

    /// The `Obs` server type, which has no URL.
    pub fn obs() -> ShownUrl {
        ShownUrl("obs".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ShownUrl {
    fn from(url: &str) -> ShownUrl {
        ShownUrl::new(url)
    }
}

impl fmt::Display for ShownUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why there is no reading. Shown to people (`bitrate`, `/api/status`): say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// Connection refused, DNS failure, TLS failure…
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: ShownUrl, reason: String },
    /// No answer within the timeout.
    #[error("{url} did not answer within {timeout_ms} ms")]
    Timeout { url: ShownUrl, timeout_ms: u64 },
    /// An HTTP status other than success (and other than what a server type uses for "no
    /// publisher", which its parser maps to [`Reading::NoPublisher`]).
    #[error("{url} answered HTTP {status}")]
    Http { url: ShownUrl, status: u16 },
    /// The body exceeded [`MAX_BODY_BYTES`].
    #[error("{url} sent more than {limit} bytes")]
    TooLarge { url: ShownUrl, limit: usize },
    /// The body is not what this server type sends (HTML, garbage, another server's schema).
    #[error("{kind} stats: {reason}")]
    Parse { kind: ServerKind, reason: String },
}

pub use crate::config::ServerKind;

/// Turns readings into [`IngestStats`], computing bitrates from byte-counter deltas.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    last: Option<(u64, Instant)>,
}

/// When a sample counts as taken, for `decide`: the tick's scheduled time, so that samples are
/// exactly one poll apart (a window is not missed, nor a dip stretched, by a page's varying
/// latency); but when the answer came more than a whole poll after the tick (a stats page that
/// stalled, or a tick that fired late behind one: the tick hands out its scheduled time,
/// already past), the time it came, so that a late reading is never dated back to before the
/// moment it describes. (The [`Meter`] takes the time each answer came: that is when the
/// counter was read.)
pub fn sample_time(tick: Instant, answered: Instant, poll: Duration) -> Instant {
    if answered.saturating_duration_since(tick) > poll {
        answered
    } else {
        tick
    }
}

/// Counter deltas over less than this are not trusted (two polls too close together).
const MIN_INTERVAL: Duration = Duration::from_millis(200);

impl Meter {
    /// The stats for this poll, or `None` when a counter has no usable previous value yet and no
    /// fallback rate (the next poll will have one).
    pub fn update(
        &mut self,
        reading: Result<Reading, StatsError>,
        now: Instant,
    ) -> Option<IngestStats> {
        match reading {
            // The counter goes on while a fetch fails: keep the baseline, so the next answer
            // gives the average over the gap (a reset would fall back to a stale server average,
            // such as nginx-rtmp's 10 s `bw_in`).
            Err(error) => Some(IngestStats::Unreachable(error)),
            Ok(Reading::NoPublisher) => {
                self.last = None;
                Some(IngestStats::NoPublisher)
            }
            Ok(Reading::Rate { bitrate, rtt }) => {
                self.last = None;
                Some(IngestStats::Live { bitrate, rtt })
            }
            Ok(Reading::Counter {
                bytes,
                fallback,
                rtt,
            }) => {
                let previous = self.last;
                let rate = match previous {
                    Some((before, at))
                        if bytes >= before && now.duration_since(at) >= MIN_INTERVAL =>
                    {
                        let secs = now.duration_since(at).as_secs_f64();
                        let kbps = ((bytes - before) as f64 * 8.0 / 1000.0 / secs).round();
                        Some(Kbps(kbps.min(f64::from(u32::MAX)) as u32))
                    }
                    // Too soon after the last poll: keep the older baseline.
                    Some((before, _)) if bytes >= before => return None,
                    // No baseline, or the counter went backwards (publisher reconnected).
                    _ => None,
                };
                self.last = Some((bytes, now));
                rate.or(fallback)
                    .map(|bitrate| IngestStats::Live { bitrate, rtt })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(bytes: u64) -> Result<Reading, StatsError> {
        Ok(Reading::Counter {
            bytes,
            fallback: None,
            rtt: None,
        })
    }

    /// Each server type's URL shapes (the `Endpoint` in its module), with and without what
    /// must never be shown.
    #[test]
    fn stats_addresses_are_shown_without_credentials_queries_or_stream_ids() {
        let check = |url: &str, expected: &str| assert_eq!(shown_url(url), expected, "{url}");
        // nginx-rtmp: the stat location.
        check("http://127.0.0.1:8080/stat", "http://127.0.0.1:8080/stat");
        check(
            "http://admin:hunter2@stats.example:8080/stat?key=SECRET#top",
            "http://stats.example:8080/stat",
        );
        check(
            "http://127.0.0.1:8080/rtmp-stat-x7",
            "http://127.0.0.1:8080/…",
        );
        // SRT Live Server and a self-hosted BELABOX receiver.
        check("http://127.0.0.1:8181/stats", "http://127.0.0.1:8181/stats");
        check(
            "http://127.0.0.1:8181/stats?publisher=live/KEY",
            "http://127.0.0.1:8181/stats",
        );
        // BELABOX cloud: the whole path is the stream id.
        check(
            "http://eu.srt.belabox.net:8080/STREAMID",
            "http://eu.srt.belabox.net:8080/…",
        );
        // MediaMTX: the path name (one or more segments), and the SRT connection id.
        check(
            "http://u:p@127.0.0.1:9997/v3/paths/get/live/STREAMKEY",
            "http://127.0.0.1:9997/v3/paths/get/…",
        );
        check(
            "http://127.0.0.1:9997/v3/srtconns/get/0b1c-STREAMID",
            "http://127.0.0.1:9997/v3/srtconns/get/…",
        );
        // SRS: the streams list (trailing slash kept).
        check(
            "http://127.0.0.1:1985/api/v1/streams/",
            "http://127.0.0.1:1985/api/v1/streams/",
        );
        // Node-Media-Server: application and stream key after the base.
        check(
            "http://127.0.0.1:8000/api/streams/live/KEY",
            "http://127.0.0.1:8000/api/streams/…",
        );
        check(
            "http://127.0.0.1:8000/api/streams/live/KEY/",
            "http://127.0.0.1:8000/api/streams/…/",
        );
        // Nimble: both management pages.
        check(
            "http://127.0.0.1:8082/manage/rtmp_status",
            "http://127.0.0.1:8082/manage/rtmp_status",
        );
        check(
            "http://127.0.0.1:8082/manage/srt_receiver_stats",
            "http://127.0.0.1:8082/manage/srt_receiver_stats",
        );
        // OpenIRL: the player id, and the legacy query.
        check(
            "http://127.0.0.1:8080/stats/play_SECRET?legacy=1",
            "http://127.0.0.1:8080/stats/…",
        );
        // Default ports, IPv6, a user name alone, an encoded segment.
        check(
            "https://user@stats.example/stat",
            "https://stats.example/stat",
        );
        check("http://[::1]:8080/stat", "http://[::1]:8080/stat");
        check("http://host/stats/%41KEY", "http://host/stats/…");
        check("http://host", "http://host/");
    }

    #[test]
    fn what_is_not_a_url_is_never_echoed() {
        for typed in [
            "not a url with SECRET",
            "http://[SECRET",
            "",
            "127.0.0.1:SECRET/stat",
        ] {
            let shown = shown_url(typed);
            assert!(!shown.contains("SECRET"), "{typed:?} shown as {shown:?}");
        }
        assert_eq!(shown_url("localhost:8080/stat"), "localhost:…");
    }

    #[test]
    fn an_error_names_the_shown_address_only() {
        let error = StatsError::Http {
            url: "http://u:pw@127.0.0.1:9997/v3/paths/get/KEY?t=SECRET".into(),
            status: 401,
        };
        assert_eq!(
            error.to_string(),
            "http://127.0.0.1:9997/v3/paths/get/… answered HTTP 401"
        );
    }

    #[test]
    fn counters_become_bitrates_from_deltas() {
        let t0 = Instant::now();
        let mut meter = Meter::default();
        assert_eq!(meter.update(counter(1_000_000), t0), None);
        let second = meter.update(counter(1_312_500), t0 + Duration::from_secs(1));
        assert_eq!(
            second,
            Some(IngestStats::Live {
                bitrate: Kbps(2500),
                rtt: None
            })
        );
        let half = meter.update(counter(1_350_000), t0 + Duration::from_millis(1500));
        assert_eq!(
            half,
            Some(IngestStats::Live {
                bitrate: Kbps(600),
                rtt: None
            })
        );
    }

    #[test]
    fn a_reset_counter_starts_again_and_uses_the_fallback() {
        let t0 = Instant::now();
        let mut meter = Meter::default();
        meter.update(counter(5_000_000), t0);
        let reset = Ok(Reading::Counter {
            bytes: 10,
            fallback: Some(Kbps(900)),
            rtt: Some(Millis(40)),
        });
        assert_eq!(
            meter.update(reset, t0 + Duration::from_secs(1)),
            Some(IngestStats::Live {
                bitrate: Kbps(900),
                rtt: Some(Millis(40))
            })
        );
        assert_eq!(
            meter.update(counter(125_010), t0 + Duration::from_secs(2)),
            Some(IngestStats::Live {
                bitrate: Kbps(1000),
                rtt: None
            })
        );
    }

    #[test]
    fn polls_too_close_together_keep_the_older_baseline() {
        let t0 = Instant::now();
        let mut meter = Meter::default();
        meter.update(counter(0), t0);
        assert_eq!(
            meter.update(counter(100), t0 + Duration::from_millis(50)),
            None
        );
        assert_eq!(
            meter.update(counter(125_000), t0 + Duration::from_secs(1)),
            Some(IngestStats::Live {
                bitrate: Kbps(1000),
                rtt: None
            })
        );
    }

    #[test]
    fn an_error_keeps_the_baseline_for_the_average_over_the_gap() {
        let t0 = Instant::now();
        let mut meter = Meter::default();
        meter.update(counter(1_000_000), t0);
        let error = StatsError::Timeout {
            url: ShownUrl::new("http://127.0.0.1/stat"),
            timeout_ms: 2000,
        };
        assert_eq!(
            meter.update(Err(error.clone()), t0 + Duration::from_secs(2)),
            Some(IngestStats::Unreachable(error))
        );
        // 3 s after the last answer, 300 kbps on average since then (not the fallback).
        let after = Ok(Reading::Counter {
            bytes: 1_000_000 + 112_500,
            fallback: Some(Kbps(2500)),
            rtt: None,
        });
        assert_eq!(
            meter.update(after, t0 + Duration::from_secs(3)),
            Some(IngestStats::Live {
                bitrate: Kbps(300),
                rtt: None
            })
        );
    }

    #[test]
    fn missing_publishers_pass_through_and_reset() {
        let t0 = Instant::now();
        let mut meter = Meter::default();
        meter.update(counter(1000), t0);
        assert_eq!(
            meter.update(Ok(Reading::NoPublisher), t0),
            Some(IngestStats::NoPublisher)
        );
        assert_eq!(
            meter.update(counter(2000), t0 + Duration::from_secs(1)),
            None
        );
    }
}

/// The answer to a stats request: status and body (at most [`MAX_BODY_BYTES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub status: u16,
    pub bytes: Vec<u8>,
}

/// GET `url` with a timeout and a body-size cap. Any HTTP status is returned as a [`Body`]: the
/// server type decides what a 404 means. Never follows redirects: the client is built by
/// [`client`].
pub async fn http_get(client: &Client, url: &str, timeout: Duration) -> Result<Body, StatsError> {
    client.get(url, timeout).await
}

/// The HTTP client for stats pages: no proxy for loopback, no redirects, a connect timeout.
pub fn client(tls: &crate::tls::Tls) -> Client {
    let fallback = tls
        .http_client()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(DEFAULT_TIMEOUT)
        .no_proxy()
        .user_agent(crate::tls::USER_AGENT)
        .build()
        .unwrap_or_default();
    Client::new(fallback)
}
