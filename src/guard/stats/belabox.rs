//! BELABOX cloud relay or self-hosted BELABOX receiver JSON stats.
//!
//! **Endpoint**: one `GET <url>`, the stats URL BELABOX gives you (cloud:
//! `http://<region>.srt.belabox.net:8080/<stream id>`; self-hosted receiver: its SLS-style stats
//! page, e.g. `http://127.0.0.1:8181/stats`).
//!
//! **Shape**: `{"publishers": {"<stream id>": {"connected": true, "latency": 2000, "network":
//! 4500, "bitrate": 4321, "rtt": 35.8, "dropped_pkts": 12}}, "consumers": [...]}`. Older relays
//! send only `bitrate`, `rtt` and `dropped_pkts`.
//!
//! **Fields read**: `publishers.<key>.bitrate` (kbps), `publishers.<key>.rtt` (ms, rounded;
//! optional), `publishers.<key>.connected` (optional; `false` means nobody publishes) and, when
//! present, `status` (anything but `"ok"` is an error). `dropped_pkts` is not needed and not
//! required: a body in the SLS camelCase schema (`mbpsRecvRate`, `pktRcvDrop`, no
//! `dropped_pkts`) parses the same way, since users often pick BELABOX for a self-hosted SLS
//! (NOALBS issues #170, #188, where that mix-up was fatal). Only if such a body fails for another
//! reason does the error add "this looks like SRT Live Server stats: set the type to
//! SrtLiveServer".
//!
//! **Which publisher**: the configured key (the stream id), or without one the connected entry
//! with the highest bitrate.
//!
//! **NoPublisher**: `publishers` empty or `null`, the key missing, or `connected: false`.
//!
//! **Bitrate 0 and 1**: BELABOX reports `0` for a publisher that is connected but sends nothing
//! and `1` as a placeholder while a stream starts (NOALBS: 0 → offline, 1 → keep the previous
//! scene). Both become `Reading::Rate { bitrate: Kbps(0) }`: the connection exists, no video
//! arrives, and the decision layer owns what 0 kbps means (it treats it as offline after its own
//! delay). Reporting `NoPublisher` instead would hide the RTT of a connected-but-idle encoder,
//! and reporting 1 kbps would be a made-up number.
//!
//! **Units**: kbps and ms, as BELABOX reports them.
//!
//! **Sources**: NOALBS `src/stream_servers/belabox.rs` (fields, 0/1 semantics) and peers.md §1.2;
//! a public BELABOX Prometheus exporter (`connected`, `latency`, `network`, `bitrate`, `rtt`,
//! `dropped_pkts`); NOALBS issue #170 (the SLS body users feed to this type).

use super::json as common;
use super::sls::publishers;
use super::{Reading, ServerKind, StatsError};
use std::time::Duration;

const KIND: ServerKind = ServerKind::Belabox;

/// Reads a BELABOX stats body. See the module documentation for the rules.
pub fn parse(body: &[u8], publisher: Option<&str>) -> Result<Reading, StatsError> {
    let root = common::decode(KIND, body)?;
    publishers::parse(KIND, &root, publisher, publishers::One::Placeholder)
}

/// GETs `url` and parses it; a non-2xx answer is [`StatsError::Http`].
pub async fn fetch(
    client: &super::Client,
    url: &str,
    publisher: Option<&str>,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let body = super::http_get(client, url, timeout).await?;
    common::require_success(url, &body)?;
    parse(&body.bytes, publisher)
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{
        Expect, GARBAGE, HTML, NGINX, assert_expected, field_value, object_with, truncated,
    };
    use super::*;
    use commands::{Kbps, Millis};
    use proptest::prelude::*;

    const LIVE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/belabox_publishers.json"
    ));
    const SLS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_publishers.json"
    ));
    const EMPTY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_no_publishers.json"
    ));
    const NIMBLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nimble_srt_receiver_stats.json"
    ));

    fn rate(kbps: u32, rtt: Option<u32>) -> Expect {
        Expect::Is(Reading::Rate {
            bitrate: Kbps(kbps),
            rtt: rtt.map(Millis),
        })
    }

    fn check(name: &str, body: &[u8], publisher: Option<&str>, expected: &Expect) {
        assert_expected(name, KIND, parse(body, publisher), expected);
    }

    #[test]
    fn parses_belabox_bodies() {
        let cases: &[(&str, &[u8], Option<&str>, Expect)] = &[
            (
                "a live publisher",
                LIVE,
                Some("live/belabox"),
                rate(4321, Some(36)),
            ),
            (
                "bitrate 1 is the start-up placeholder: 0",
                LIVE,
                Some("live/placeholder"),
                rate(0, Some(40)),
            ),
            (
                "bitrate 0 while connected stays a rate of 0",
                LIVE,
                Some("live/zero"),
                rate(0, Some(0)),
            ),
            (
                "connected: false is nobody publishing",
                LIVE,
                Some("live/gone"),
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "without a key, the highest connected bitrate",
                LIVE,
                None,
                rate(4321, Some(36)),
            ),
            (
                "a stream id nobody publishes",
                LIVE,
                Some("live/other"),
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "no publishers",
                EMPTY,
                None,
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an old relay: bitrate, rtt, dropped_pkts only",
                br#"{"publishers":{"abc":{"bitrate":3134,"rtt":3.58,"dropped_pkts":0}}}"#,
                Some("abc"),
                rate(3134, Some(4)),
            ),
            (
                "only disconnected entries",
                br#"{"publishers":{"a":{"connected":false,"bitrate":0,"rtt":0}}}"#,
                None,
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "SLS camelCase stats are read leniently (issue #170)",
                SLS,
                Some("publish/live/feed1"),
                rate(3990, Some(51)),
            ),
            (
                "an SLS body that also fails names the mix-up",
                br#"{"publishers":{"a":{"bitrate":"n/a","mbpsRecvRate":5.1,"pktRcvDrop":0}}}"#,
                Some("a"),
                Expect::Fails(&[
                    "`publishers[\"a\"].bitrate` is the text \"n/a\"",
                    "this looks like SRT Live Server stats, not BELABOX: set the type to SrtLiveServer",
                ]),
            ),
            (
                "Nimble's SRT stats",
                NIMBLE,
                None,
                Expect::Fails(&["missing field `publishers`", "set the type to Nimble"]),
            ),
            (
                "a float rtt is rounded, a float bitrate too",
                br#"{"publishers":{"a":{"bitrate":4999.5,"rtt":0.4}}}"#,
                Some("a"),
                rate(5000, Some(0)),
            ),
            (
                "rtt null",
                br#"{"publishers":{"a":{"bitrate":100,"rtt":null}}}"#,
                Some("a"),
                rate(100, None),
            ),
            (
                "an HTML page",
                HTML,
                None,
                Expect::Fails(&["expected JSON, got HTML"]),
            ),
            (
                "the nginx page",
                NGINX,
                None,
                Expect::Fails(&["set the type to NginxRtmp"]),
            ),
            (
                "truncated",
                truncated(LIVE),
                None,
                Expect::Fails(&["truncated"]),
            ),
            ("garbage", GARBAGE, None, Expect::Fails(&["invalid JSON"])),
            ("empty", b"", None, Expect::Fails(&["empty"])),
        ];
        for (name, body, publisher, expected) in cases {
            check(name, body, *publisher, expected);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, None);
            let _ = parse(&body, Some("a"));
        }

        #[test]
        fn never_panics_on_belabox_like_json(
            entries in proptest::collection::btree_map(
                "[a-c]{1,2}",
                object_with(&["bitrate", "rtt", "connected", "dropped_pkts"], field_value()),
                0..4,
            ),
            key in proptest::option::of("[a-c]{1,2}"),
        ) {
            let root = serde_json::json!({ "publishers": entries });
            let body = serde_json::to_vec(&root).unwrap_or_default();
            if let Ok(Reading::Rate { bitrate, .. }) = parse(&body, key.as_deref()) {
                prop_assert_ne!(bitrate, Kbps(1));
            }
            let _ = parse(truncated(&body), key.as_deref());
        }
    }
}
