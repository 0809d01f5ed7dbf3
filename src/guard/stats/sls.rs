//! SRT Live Server (SLS) JSON stats.
//!
//! **Endpoint**: one `GET <url>`, the SLS stats page as configured (for the mattwb65 fork, the
//! b3ck edit and OpenIRL's `?legacy=1` format: `http://127.0.0.1:8181/stats`).
//!
//! **Shape**: `{"publishers": {"<stream id>": {"bitrate": 3990, "rtt": 50.5, "mbpsBandwidth":
//! 9.3, "mbpsRecvRate": 5.2, "msRcvBuf": 1935, "pktRcvLoss": 0, "pktRcvDrop": 0, "uptime": 1036,
//! ...}}, "status": "ok"}`. Publishers are keyed by their SRT stream id
//! (`publish/live/feed1`); nobody publishing is `"publishers": {}`.
//!
//! **Fields read**: `status` (anything but `"ok"` is an error, with the server's `message` /
//! `error`), `publishers.<key>.bitrate` (kbps, integer or float, rounded) and
//! `publishers.<key>.rtt` (ms, float, rounded; optional). Nothing else: `mbpsBandwidth` is SRT's
//! estimate of the *link capacity*, never a bitrate (the seed's bug), and `mbpsRecvRate` is not
//! needed since SLS computes `bitrate` itself. A `connected: false` entry (BELABOX-style) counts
//! as not publishing.
//!
//! **Which publisher**: with a configured key, that entry; without one, the connected entry with
//! the highest bitrate (as the seed did, since many setups have exactly one publisher).
//!
//! **NoPublisher**: `publishers` is empty or `null`, or the configured key is not in it. A body
//! that is not SLS JSON (HTML error page, another server's JSON, truncated JSON) is a
//! [`StatsError::Parse`] that says what it looks like instead.
//!
//! **Units**: kbps and ms, as SLS reports them (its `bitrate` is "in kbps": OpenIRL's
//! `CSLSManager::create_legacy_json_stats_for_publisher`).
//!
//! **Sources**: NOALBS `src/stream_servers/sls.rs` (field names); real bodies in NOALBS issues
//! #170 and #173; OpenIRL/srt-live-server `slscore/SLSManager.cpp` (legacy format).
//!
//! This file also holds what every JSON stats parser shares (`common`) and the
//! publisher-map logic shared with BELABOX and OpenIRL's legacy format (`publishers`).

use super::json as common;
use super::{Reading, ServerKind, StatsError};
use std::time::Duration;

const KIND: ServerKind = ServerKind::SrtLiveServer;

/// Reads an SLS stats body. See the module documentation for the rules.
pub fn parse(body: &[u8], publisher: Option<&str>) -> Result<Reading, StatsError> {
    let root = common::decode(KIND, body)?;
    publishers::parse(KIND, &root, publisher, publishers::One::IsOne)
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

/// The SLS-style `{"publishers": {"<key>": {...}}}` map, shared by SLS, BELABOX and OpenIRL's
/// legacy format.
pub(crate) mod publishers {
    use super::common::{self, error};
    use crate::guard::stats::{Reading, ServerKind, StatsError};
    use commands::{Kbps, Millis};
    use serde_json::{Map, Value};

    /// What a bitrate of exactly 1 kbps means.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum One {
        /// A real (tiny) bitrate.
        IsOne,
        /// BELABOX/OpenIRL's "connected, no data yet" placeholder: reported as 0.
        Placeholder,
    }

    /// One publisher entry: `None` when it says `connected: false`.
    type Entry = Option<(Kbps, Option<Millis>)>;

    pub(crate) fn parse(
        kind: ServerKind,
        root: &Value,
        publisher: Option<&str>,
        one: One,
    ) -> Result<Reading, StatsError> {
        let Some(object) = root.as_object() else {
            return Err(error(
                kind,
                format!(
                    "expected a JSON object with `publishers`, got {}",
                    common::describe(root)
                ),
            ));
        };
        common::check_status(kind, object)?;
        let map = match object.get("publishers") {
            Some(Value::Object(map)) => map,
            Some(Value::Null) => return Ok(Reading::NoPublisher),
            Some(other) => {
                return Err(error(
                    kind,
                    format!(
                        "`publishers` is {}, expected an object keyed by stream id",
                        common::describe(other)
                    ),
                ));
            }
            None => {
                return Err(common::with_hint(
                    kind,
                    root,
                    "missing field `publishers`".into(),
                ));
            }
        };
        let chosen = match publisher {
            Some(key) => match map.get(key) {
                Some(value) => entry(kind, key, value, one),
                None => return Ok(Reading::NoPublisher),
            },
            None => loudest(kind, map, one),
        };
        match chosen.map_err(|e| hint_on(kind, root, e))? {
            Some((bitrate, rtt)) => Ok(Reading::Rate { bitrate, rtt }),
            None => Ok(Reading::NoPublisher),
        }
    }

    /// The connected entry with the highest bitrate (the first one on a tie).
    fn loudest(kind: ServerKind, map: &Map<String, Value>, one: One) -> Result<Entry, StatsError> {
        let mut best: Entry = None;
        for (key, value) in map {
            if let Some((bitrate, rtt)) = entry(kind, key, value, one)?
                && best.is_none_or(|(top, _)| bitrate > top)
            {
                best = Some((bitrate, rtt));
            }
        }
        Ok(best)
    }

    fn entry(kind: ServerKind, key: &str, value: &Value, one: One) -> Result<Entry, StatsError> {
        let path = format!("publishers[{}]", common::quote(key));
        let Some(fields) = value.as_object() else {
            return Err(error(
                kind,
                format!(
                    "`{path}` is {}, expected an object",
                    common::describe(value)
                ),
            ));
        };
        if fields.get("connected") == Some(&Value::Bool(false)) {
            return Ok(None);
        }
        let bitrate = common::kbps(kind, fields.get("bitrate"), &format!("{path}.bitrate"))?;
        let bitrate = match (one, bitrate) {
            (One::Placeholder, Kbps(1)) => Kbps(0),
            _ => bitrate,
        };
        let rtt = common::optional_millis(kind, fields.get("rtt"), &format!("{path}.rtt"))?;
        Ok(Some((bitrate, rtt)))
    }

    /// Adds "this looks like X: set the type to Y" to an error when the body is another type's.
    fn hint_on(kind: ServerKind, root: &Value, error: StatsError) -> StatsError {
        match error {
            StatsError::Parse { kind: k, reason } if k == kind => {
                common::with_hint(kind, root, reason)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{Expect, GARBAGE, HTML, NGINX, assert_expected, truncated};
    use super::*;
    use commands::{Kbps, Millis};
    use proptest::prelude::*;

    const LIVE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_publishers.json"
    ));
    const EMPTY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_no_publishers.json"
    ));
    const BELABOX: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/belabox_publishers.json"
    ));
    const OPENIRL: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_single.json"
    ));
    const MEDIAMTX: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_path_rtmp.json"
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
    fn parses_sls_bodies() {
        let cases: &[(&str, &[u8], Option<&str>, Expect)] = &[
            (
                "the configured publisher",
                LIVE,
                Some("publish/live/feed1"),
                rate(3990, Some(51)),
            ),
            (
                "a float bitrate is rounded",
                LIVE,
                Some("publish/live/float"),
                rate(2501, Some(12)),
            ),
            (
                "bitrate 0 while connected is a rate of 0 (issue #173)",
                LIVE,
                Some("live/test/idle"),
                rate(0, Some(24)),
            ),
            (
                "without a publisher, the highest bitrate wins",
                LIVE,
                None,
                rate(3990, Some(51)),
            ),
            (
                "a key nobody publishes",
                LIVE,
                Some("publish/live/other"),
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "empty publishers",
                EMPTY,
                Some("publish/live/feed1"),
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "empty publishers, no key",
                EMPTY,
                None,
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "null publishers",
                br#"{"publishers":null,"status":"ok"}"#,
                None,
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "a BELABOX body parses too (same map)",
                BELABOX,
                Some("live/belabox"),
                rate(4321, Some(36)),
            ),
            (
                "no rtt is fine",
                br#"{"publishers":{"a":{"bitrate":800}}}"#,
                Some("a"),
                rate(800, None),
            ),
            (
                "mbpsBandwidth is never a bitrate",
                br#"{"publishers":{"a":{"mbpsBandwidth":2317.6,"rtt":3}}}"#,
                Some("a"),
                Expect::Fails(&["missing field `publishers[\"a\"].bitrate`"]),
            ),
            (
                "a status other than ok",
                br#"{"status":"error","message":"Invalid player key"}"#,
                None,
                Expect::Fails(&["status \"error\"", "Invalid player key"]),
            ),
            (
                "negative bitrate",
                br#"{"publishers":{"a":{"bitrate":-5,"rtt":1}}}"#,
                Some("a"),
                Expect::Fails(&["`publishers[\"a\"].bitrate` is -5"]),
            ),
            (
                "huge bitrate",
                br#"{"publishers":{"a":{"bitrate":1e300}}}"#,
                Some("a"),
                Expect::Fails(&["too large"]),
            ),
            (
                "negative rtt",
                br#"{"publishers":{"a":{"bitrate":5,"rtt":-3.5}}}"#,
                Some("a"),
                Expect::Fails(&["`publishers[\"a\"].rtt` is -3.5 (negative)"]),
            ),
            (
                "bitrate as text",
                br#"{"publishers":{"a":{"bitrate":"3000"}}}"#,
                Some("a"),
                Expect::Fails(&["the text \"3000\""]),
            ),
            (
                "publishers as a list",
                br#"{"publishers":[{"bitrate":1}]}"#,
                None,
                Expect::Fails(&["`publishers` is a list"]),
            ),
            (
                "an HTML error page",
                HTML,
                None,
                Expect::Fails(&["expected JSON, got HTML", "502 Bad Gateway"]),
            ),
            (
                "the nginx stat page",
                NGINX,
                None,
                Expect::Fails(&["nginx-rtmp", "NginxRtmp"]),
            ),
            (
                "OpenIRL's modern format",
                OPENIRL,
                None,
                Expect::Fails(&["missing field `publishers`", "set the type to OpenIrl"]),
            ),
            (
                "MediaMTX's JSON",
                MEDIAMTX,
                None,
                Expect::Fails(&["missing field `publishers`", "set the type to Mediamtx"]),
            ),
            (
                "truncated JSON",
                truncated(LIVE),
                None,
                Expect::Fails(&["invalid JSON", "truncated"]),
            ),
            ("garbage", GARBAGE, None, Expect::Fails(&["invalid JSON"])),
            ("empty body", b"", None, Expect::Fails(&["empty"])),
            (
                "a JSON list",
                b"[1,2]",
                None,
                Expect::Fails(&["expected a JSON object"]),
            ),
        ];
        for (name, body, publisher, expected) in cases {
            check(name, body, *publisher, expected);
        }
    }

    #[test]
    fn converts_units_without_panicking() {
        use common::{bps_to_kbps, round_u32};
        assert_eq!(bps_to_kbps(2_577_576), Kbps(2578));
        assert_eq!(bps_to_kbps(499), Kbps(0));
        assert_eq!(bps_to_kbps(500), Kbps(1));
        assert_eq!(bps_to_kbps(u64::MAX), Kbps(u32::MAX));
        assert_eq!(round_u32(-0.4), Some(0));
        assert_eq!(round_u32(-0.6), None);
        assert_eq!(round_u32(f64::NAN), None);
        assert_eq!(round_u32(f64::INFINITY), None);
        assert_eq!(round_u32(4_294_967_295.4), Some(u32::MAX));
        assert_eq!(round_u32(4_294_967_295.6), None);
        assert_eq!(common::encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(common::join("http://h/api/", "x"), "http://h/api/x");
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512),
                                 key in proptest::option::of("[a-z/]{0,8}")) {
            let _ = parse(&body, key.as_deref());
        }

        #[test]
        fn never_panics_on_sls_like_json(
            entries in proptest::collection::btree_map(
                "[a-z/]{1,6}",
                super::super::json::testing::object_with(&["bitrate", "rtt", "connected"], super::super::json::testing::field_value()),
                0..4,
            ),
            status in proptest::option::of(super::super::json::testing::any_json()),
            key in proptest::option::of("[a-z/]{1,6}"),
        ) {
            let mut root = serde_json::Map::new();
            root.insert("publishers".into(), serde_json::Value::Object(entries.into_iter().collect()));
            if let Some(status) = status {
                root.insert("status".into(), status);
            }
            let body = serde_json::to_vec(&serde_json::Value::Object(root)).unwrap_or_default();
            let _ = parse(&body, key.as_deref());
            let _ = parse(truncated(&body), key.as_deref());
        }

        #[test]
        fn never_panics_on_any_json(value in super::super::json::testing::any_json()) {
            let body = serde_json::to_vec(&value).unwrap_or_default();
            let _ = parse(&body, None);
            let _ = parse(&body, Some("a"));
        }
    }
}
