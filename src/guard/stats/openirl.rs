//! OpenIRL srtla receiver stats (OpenIRL's SRT Live Server fork, JSON).
//!
//! **Endpoint**: one `GET <url>`, the player's stats page, e.g.
//! `http://127.0.0.1:8080/stats/play_<id>` (no authentication needed for `/stats`).
//!
//! **Shape**: `{"publisher": {"bitrate": 6214, "rtt": 30.2, "buffer": 1995, "dropped_pkts": 45,
//! "latency": 2000, "throughput": 6390, "uptime": 3600, "peers": [{"connection_id", "bitrate",
//! "rtt", "jitter", "throughput", "uptime"}]}, "status": "ok"}`. `peers` lists the links of a
//! bonded (srtla) connection; `latency` is absent for RTMP ingest. Nobody publishing:
//! `{"status": "ok", "message": "Publisher is currently not streaming"}`; an unknown player id:
//! `{"status": "error", "message": "Invalid player key"}`. With `?legacy=1` the body is SLS-style
//! (`{"publishers": {"live": {...}}}`), which is read too.
//!
//! **Fields read**: `status` (with `message` for errors), `publisher.bitrate` (kbps),
//! `publisher.rtt` (ms) and `publisher.peers[].bitrate` / `.rtt`.
//!
//! **RTT**: for a bonded connection (peers with bitrate > 0 and a usable `rtt`) the
//! bitrate-weighted mean of those peers' RTT, since the links carry the stream in that
//! proportion; otherwise `publisher.rtt`; otherwise none. Peers without `rtt` (older receivers)
//! or with an unusable one are skipped.
//!
//! **Reading**: `Reading::Rate { bitrate, rtt }`; bitrate 0 (connected, nothing arriving) and 1
//! (the start-up placeholder) are both `Kbps(0)`: see [`super::belabox`] for why.
//!
//! **NoPublisher**: `publisher` absent or `null` in a body that is not another server's (a
//! `status: "error"` is an error: the player id in the URL is wrong).
//!
//! **Units**: kbps and ms, rounded.
//!
//! **Sources**: OpenIRL/srt-live-server `API.md` (`GET /stats/{player_id}`, both formats) and
//! `slscore/SLSManager.cpp` (`generate_json_for_publisher`: the not-streaming and invalid-key
//! bodies; `create_json_stats_for_publisher` and `append_srtla_peers`: fields, `bitrate` in kbps);
//! NOALBS `src/stream_servers/openirl.rs` (PR #189: `peers[].rtt`, the weighted mean, 0/1
//! semantics, RTMP ingest without `latency`).

use super::json::{self as common, error};
use super::sls::publishers;
use super::{Reading, ServerKind, StatsError};
use commands::{Kbps, Millis};
use serde_json::{Map, Value};
use std::time::Duration;

const KIND: ServerKind = ServerKind::OpenIrl;

/// Reads an OpenIRL `/stats/<player id>` body. See the module documentation.
pub fn parse(body: &[u8]) -> Result<Reading, StatsError> {
    let root = common::decode(KIND, body)?;
    let Some(object) = root.as_object() else {
        return Err(error(
            KIND,
            format!(
                "expected a JSON object with `publisher`, got {}",
                common::describe(&root)
            ),
        ));
    };
    common::check_status(KIND, object)
        .map_err(|e| with_advice(e, " (check the player id at the end of the URL)"))?;
    let publisher = match object.get("publisher") {
        Some(Value::Object(publisher)) => publisher,
        Some(Value::Null) => return Ok(Reading::NoPublisher),
        Some(other) => {
            return Err(error(
                KIND,
                format!(
                    "`publisher` is {}, expected an object",
                    common::describe(other)
                ),
            ));
        }
        None if object.contains_key("publishers") => {
            return publishers::parse(KIND, &root, None, publishers::One::Placeholder);
        }
        None => {
            return match common::guess(&root) {
                Some(other) if other != KIND => Err(common::with_hint(
                    KIND,
                    &root,
                    "missing field `publisher`".into(),
                )),
                _ => Ok(Reading::NoPublisher),
            };
        }
    };
    let bitrate = match common::kbps(KIND, publisher.get("bitrate"), "publisher.bitrate")? {
        Kbps(1) => Kbps(0),
        bitrate => bitrate,
    };
    let rtt = match bonded_rtt(publisher) {
        Some(rtt) => Some(rtt),
        None => common::optional_millis(KIND, publisher.get("rtt"), "publisher.rtt")?,
    };
    Ok(Reading::Rate { bitrate, rtt })
}

/// GETs `url` and parses it; a non-2xx answer is [`StatsError::Http`].
pub async fn fetch(
    client: &super::Client,
    url: &str,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let body = super::http_get(client, url, timeout).await?;
    common::require_success(url, &body)?;
    parse(&body.bytes)
}

/// The bitrate-weighted mean RTT of the peers that carry data, if any do.
fn bonded_rtt(publisher: &Map<String, Value>) -> Option<Millis> {
    let peers = publisher.get("peers")?.as_array()?;
    let (weighted, total) = peers
        .iter()
        .filter_map(|peer| {
            let bitrate = peer.get("bitrate")?.as_f64()?;
            let rtt = peer.get("rtt")?.as_f64()?;
            let usable = bitrate.is_finite()
                && bitrate > 0.0
                && rtt.is_finite()
                && rtt >= 0.0
                && rtt <= f64::from(u32::MAX);
            usable.then_some((bitrate, rtt))
        })
        .fold((0.0f64, 0.0f64), |(weighted, total), (bitrate, rtt)| {
            (weighted + bitrate * rtt, total + bitrate)
        });
    if total > 0.0 {
        common::round_u32(weighted / total).map(Millis)
    } else {
        None
    }
}

fn with_advice(error: StatsError, advice: &str) -> StatsError {
    match error {
        StatsError::Parse { kind, reason } => StatsError::Parse {
            kind,
            reason: reason + advice,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{
        Expect, GARBAGE, HTML, NGINX, assert_expected, field_value, object_with, truncated,
    };
    use super::*;
    use proptest::prelude::*;

    const SINGLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_single.json"
    ));
    const BONDED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_bonded.json"
    ));
    const RTMP: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_rtmp_ingest.json"
    ));
    const NOT_STREAMING: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_not_streaming.json"
    ));
    const INVALID_KEY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_invalid_key.json"
    ));
    const SRS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/srs_streams.json"
    ));

    fn rate(kbps: u32, rtt: Option<u32>) -> Expect {
        Expect::Is(Reading::Rate {
            bitrate: Kbps(kbps),
            rtt: rtt.map(Millis),
        })
    }

    fn check(name: &str, body: &[u8], expected: &Expect) {
        assert_expected(name, KIND, parse(body), expected);
    }

    #[test]
    fn parses_receiver_stats() {
        let cases: &[(&str, &[u8], Expect)] = &[
            ("a single SRT connection", SINGLE, rate(6214, Some(30))),
            (
                "bonded: (20.501×479 + 84.249×284) / 763 = 44.2 ms; the idle peer is ignored",
                BONDED,
                rate(763, Some(44)),
            ),
            ("RTMP ingest (no latency)", RTMP, rate(6808, Some(26))),
            ("not streaming", NOT_STREAMING, Expect::Is(Reading::NoPublisher)),
            (
                "publisher null",
                br#"{"publisher":null,"status":"ok"}"#,
                Expect::Is(Reading::NoPublisher),
            ),
            ("an empty object", b"{}", Expect::Is(Reading::NoPublisher)),
            (
                "the placeholder bitrate 1",
                br#"{"publisher":{"bitrate":1,"rtt":40.0},"status":"ok"}"#,
                rate(0, Some(40)),
            ),
            (
                "bitrate 0",
                br#"{"publisher":{"bitrate":0,"rtt":12.4},"status":"ok"}"#,
                rate(0, Some(12)),
            ),
            (
                "peers without rtt (older receivers): publisher.rtt",
                br#"{"publisher":{"bitrate":900,"rtt":55.5,"peers":[{"bitrate":500,"jitter":1.0},{"bitrate":400}]}}"#,
                rate(900, Some(56)),
            ),
            (
                "only idle peers and no rtt: none",
                br#"{"publisher":{"bitrate":0,"peers":[{"bitrate":0,"rtt":20.0}]}}"#,
                rate(0, None),
            ),
            (
                "a bad peer is skipped",
                br#"{"publisher":{"bitrate":500,"peers":[{"bitrate":500,"rtt":60.0},{"bitrate":"x","rtt":5.0},{"bitrate":5,"rtt":-1}]}}"#,
                rate(500, Some(60)),
            ),
            (
                "the legacy format (?legacy=1)",
                br#"{"publishers":{"live":{"bitrate":16363,"rtt":30.2,"mbpsRecvRate":2.4}},"status":"ok"}"#,
                rate(16363, Some(30)),
            ),
            (
                "an unknown player id",
                INVALID_KEY,
                Expect::Fails(&["status \"error\": Invalid player key", "check the player id"]),
            ),
            (
                "a publisher without a bitrate",
                br#"{"publisher":{"rtt":3.0}}"#,
                Expect::Fails(&["missing field `publisher.bitrate`"]),
            ),
            (
                "a negative rtt",
                br#"{"publisher":{"bitrate":5,"rtt":-3}}"#,
                Expect::Fails(&["`publisher.rtt` is -3 (negative)"]),
            ),
            (
                "SRS's JSON",
                SRS,
                Expect::Fails(&["missing field `publisher`", "set the type to Srs"]),
            ),
            ("an HTML page", HTML, Expect::Fails(&["expected JSON, got HTML"])),
            ("the nginx page", NGINX, Expect::Fails(&["NginxRtmp"])),
            ("truncated", truncated(BONDED), Expect::Fails(&["truncated"])),
            ("garbage", GARBAGE, Expect::Fails(&["invalid JSON"])),
            ("empty", b"", Expect::Fails(&["empty"])),
        ];
        for (name, body, expected) in cases {
            check(name, body, expected);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn never_panics_on_receiver_like_json(
            publisher in object_with(&["bitrate", "rtt", "latency"], field_value()),
            peers in proptest::option::of(proptest::collection::vec(
                object_with(&["bitrate", "rtt"], field_value()), 0..5)),
            status in proptest::option::of(field_value()),
        ) {
            let mut publisher = publisher;
            if let (Some(peers), Some(map)) = (peers, publisher.as_object_mut()) {
                map.insert("peers".into(), serde_json::Value::Array(peers));
            }
            let mut root = serde_json::json!({ "publisher": publisher });
            if let (Some(status), Some(map)) = (status, root.as_object_mut()) {
                map.insert("status".into(), status);
            }
            let body = serde_json::to_vec(&root).unwrap_or_default();
            if let Ok(Reading::Rate { bitrate, .. }) = parse(&body) {
                prop_assert_ne!(bitrate, Kbps(1));
            }
            let _ = parse(truncated(&body));
        }
    }
}
