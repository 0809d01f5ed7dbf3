//! Softvelum Nimble Streamer management API (JSON), two requests.
//!
//! **Endpoints**: `GET <url>/manage/rtmp_status` (outgoing RTMP streams, where the SRT feed is
//! made available) and `GET <url>/manage/srt_receiver_stats` (the SRT listeners), with `url` the
//! management API base, e.g. `http://127.0.0.1:8082`. Both are requested at once.
//!
//! **Shapes**: `rtmp_status` is `[{"app": "live", "streams": [{"strm": "irl", "bandwidth":
//! "5912456", "vcodec", "acodec", "resolution", "protocol", "publish_time"}]}]`;
//! `srt_receiver_stats` is `{"SrtReceivers": [{"id": "0.0.0.0:4000", "state": "connected",
//! "stats": {"link": {"rtt": 42.6, "mbpsBandwidth", "mbpsMaxBandwidth"}, "recv": {...}}}]}`.
//!
//! **Fields read**: `rtmp_status[app == application].streams[strm == stream].bandwidth` (bits
//! per second, sent as a string; a number is accepted too) and, for the receiver whose `id` is
//! the configured `id` (exact match, else the first id containing it, as NOALBS matches),
//! `state` and `stats.link.rtt` (ms).
//!
//! **Reading**: `Reading::Rate { bitrate: bandwidth in kbps, rtt }`.
//!
//! **NoPublisher**: the receiver's `state` is `"disconnected"`, or the RTMP stream is not in
//! `rtmp_status` (the application existing or not: Nimble lists only live streams). A receiver
//! `id` that is not there at all is a configuration error ([`StatsError::Parse`] listing the
//! ids found). A `bandwidth` that is not a number is a parse error (NOALBS unwraps it and
//! crashes).
//!
//! **Degraded**: when the `srt_receiver_stats` request itself fails (unreachable, timeout,
//! non-2xx), the reading comes from `rtmp_status` alone, without RTT. An unparsable body is
//! still an error. Nimble's `salt`/`hash` API authentication is not supported.
//!
//! **Units**: bits per second → kbps by ÷ 1000 (SI, rounded; NOALBS divides by 1024); ms rounded.
//!
//! **Sources**: NOALBS `src/stream_servers/nimble.rs` and its 2021 JavaScript version (both
//! requests, `SrtReceivers`, `id` contains, `state == "disconnected"`, `stats.link.rtt`, `app`,
//! `strm`, `bandwidth` as a string); a public Nimble Prometheus exporter (`SrtReceivers[].id`,
//! `streamid`, `stats.link.rtt`); public monitoring scripts reading `rtmp_status` (`strm`,
//! `bandwidth` as a string of bits per second). Softvelum's own API page was not available to
//! confirm against.

use super::json::{self as common, error};
use super::{Reading, ServerKind, StatsError};
use commands::{Kbps, Millis};
use serde_json::Value;
use std::time::Duration;

const KIND: ServerKind = ServerKind::Nimble;

/// Reads `rtmp_status` (and, if given, `srt_receiver_stats`) for receiver `id` and the RTMP
/// stream `application`/`stream`. Without SRT stats there is no RTT and no receiver check.
pub fn parse(
    rtmp_status: &[u8],
    srt_stats: Option<&[u8]>,
    id: &str,
    application: &str,
    stream: &str,
) -> Result<Reading, StatsError> {
    let bandwidth = rtmp_bandwidth(rtmp_status, application, stream)?;
    let rtt = match srt_stats {
        Some(body) => match receiver(body, id)? {
            Receiver::Disconnected => return Ok(Reading::NoPublisher),
            Receiver::Connected(rtt) => rtt,
        },
        None => None,
    };
    match bandwidth {
        Some(bitrate) => Ok(Reading::Rate { bitrate, rtt }),
        None => Ok(Reading::NoPublisher),
    }
}

/// GETs both pages (concurrently) and parses them. See the module documentation.
pub async fn fetch(
    client: &super::Client,
    url: &str,
    id: &str,
    application: &str,
    stream: &str,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let rtmp_url = common::join(url, "manage/rtmp_status");
    let srt_url = common::join(url, "manage/srt_receiver_stats");
    let (rtmp, srt) = tokio::join!(
        super::http_get(client, &rtmp_url, timeout),
        super::http_get(client, &srt_url, timeout),
    );
    let rtmp = rtmp?;
    common::require_success(&rtmp_url, &rtmp)?;
    let srt = srt.and_then(|body| common::require_success(&srt_url, &body).map(|()| body));
    let srt = match srt {
        Ok(body) => Some(body),
        Err(e) => {
            let url = super::shown_url(&srt_url);
            tracing::debug!(%url, error = %e, "no Nimble SRT receiver stats");
            None
        }
    };
    parse(
        &rtmp.bytes,
        srt.as_ref().map(|body| body.bytes.as_slice()),
        id,
        application,
        stream,
    )
}

enum Receiver {
    Disconnected,
    Connected(Option<Millis>),
}

/// The stream's `bandwidth` in kbps, or `None` when the stream is not listed.
fn rtmp_bandwidth(
    body: &[u8],
    application: &str,
    stream: &str,
) -> Result<Option<Kbps>, StatsError> {
    let root = common::decode(KIND, body)?;
    let Some(apps) = root.as_array() else {
        return Err(common::with_hint(
            KIND,
            &root,
            format!(
                "expected the rtmp_status list of applications, got {}",
                common::describe(&root)
            ),
        ));
    };
    let found = apps
        .iter()
        .filter(|app| app.get("app").and_then(Value::as_str) == Some(application))
        .filter_map(|app| app.get("streams").and_then(Value::as_array))
        .flatten()
        .find(|entry| entry.get("strm").and_then(Value::as_str) == Some(stream));
    let Some(entry) = found else {
        return Ok(None);
    };
    let label = format!(
        "stream `{}/{}`",
        common::clip(application, 64),
        common::clip(stream, 64)
    );
    let bandwidth = entry.get("bandwidth");
    let bps = match bandwidth {
        Some(Value::String(text)) => parse_bps(text),
        Some(value @ Value::Number(_)) => value.as_f64().and_then(whole_bps),
        _ => None,
    };
    match bps {
        Some(bps) => Ok(Some(common::bps_to_kbps(bps))),
        None => Err(error(
            KIND,
            format!(
                "{label} has `bandwidth` {}, expected bits per second",
                bandwidth.map_or_else(|| "missing".into(), common::describe)
            ),
        )),
    }
}

/// A bits-per-second text: a whole number, or a decimal one (rounded).
fn parse_bps(text: &str) -> Option<u64> {
    let text = text.trim();
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(whole_bps))
}

/// A finite, non-negative float rounded to `u64` (saturating at its maximum).
fn whole_bps(bps: f64) -> Option<u64> {
    let rounded = bps.round();
    // `as` saturates at `u64::MAX` for large finite values.
    (rounded.is_finite() && rounded >= 0.0).then_some(rounded as u64)
}

/// The configured receiver's state and RTT.
fn receiver(body: &[u8], id: &str) -> Result<Receiver, StatsError> {
    let root = common::decode(KIND, body)?;
    let receivers = match root.get("SrtReceivers") {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(error(
                KIND,
                format!(
                    "`SrtReceivers` is {}, expected a list",
                    common::describe(other)
                ),
            ));
        }
        None => {
            return Err(common::with_hint(
                KIND,
                &root,
                "missing field `SrtReceivers` in srt_receiver_stats".into(),
            ));
        }
    };
    let ids = || {
        receivers
            .iter()
            .filter_map(|receiver| Some((receiver, receiver.get("id")?.as_str()?)))
    };
    let found = ids()
        .find(|(_, found)| *found == id)
        .or_else(|| ids().find(|(_, found)| !id.is_empty() && found.contains(id)));
    let Some((entry, found_id)) = found else {
        return Err(error(
            KIND,
            format!(
                "no SRT receiver `{}` (found: {})",
                common::clip(id, 64),
                common::list_names(ids().map(|(_, found)| found))
            ),
        ));
    };
    let state = entry
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if state.eq_ignore_ascii_case("disconnected") {
        return Ok(Receiver::Disconnected);
    }
    let rtt = entry
        .get("stats")
        .and_then(|stats| stats.get("link"))
        .and_then(|link| link.get("rtt"));
    let what = format!("SrtReceivers[{}].stats.link.rtt", common::quote(found_id));
    Ok(Receiver::Connected(common::optional_millis(
        KIND, rtt, &what,
    )?))
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{
        Expect, GARBAGE, HTML, NGINX, any_json, assert_expected, field_value, object_with,
        truncated,
    };
    use super::*;
    use proptest::prelude::*;

    const RTMP: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nimble_rtmp_status.json"
    ));
    const SRT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nimble_srt_receiver_stats.json"
    ));
    const SLS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_publishers.json"
    ));

    /// One case: rtmp_status, srt_receiver_stats, id, application, stream, expectation.
    type Case<'a> = (
        &'a str,
        &'a [u8],
        Option<&'a [u8]>,
        &'a str,
        &'a str,
        &'a str,
        Expect,
    );

    fn check(
        name: &str,
        rtmp: &[u8],
        srt: Option<&[u8]>,
        id: &str,
        app: &str,
        stream: &str,
        expected: &Expect,
    ) {
        assert_expected(name, KIND, parse(rtmp, srt, id, app, stream), expected);
    }

    fn rate(kbps: u32, rtt: Option<u32>) -> Expect {
        Expect::Is(Reading::Rate {
            bitrate: Kbps(kbps),
            rtt: rtt.map(Millis),
        })
    }

    #[test]
    fn parses_both_pages() {
        let cases: &[Case] = &[
            (
                "a connected receiver and its RTMP stream: 5912456 bps → 5912 kbps",
                RTMP,
                Some(SRT),
                "0.0.0.0:4000",
                "live",
                "irl",
                rate(5912, Some(43)),
            ),
            (
                "the id matched by containment",
                RTMP,
                Some(SRT),
                ":4000",
                "live",
                "irl",
                rate(5912, Some(43)),
            ),
            (
                "without SRT stats: no RTT",
                RTMP,
                None,
                "0.0.0.0:4000",
                "live",
                "irl",
                rate(5912, None),
            ),
            (
                "a disconnected receiver",
                RTMP,
                Some(SRT),
                "0.0.0.0:4001",
                "live",
                "irl",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "the RTMP stream is not listed",
                RTMP,
                Some(SRT),
                "0.0.0.0:4000",
                "live",
                "other",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "the application has no streams",
                RTMP,
                Some(SRT),
                "0.0.0.0:4000",
                "backup",
                "irl",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an unknown receiver id",
                RTMP,
                Some(SRT),
                "0.0.0.0:5000",
                "live",
                "irl",
                Expect::Fails(&[
                    "no SRT receiver `0.0.0.0:5000` (found: 0.0.0.0:4000, 0.0.0.0:4001)",
                ]),
            ),
            (
                "bandwidth that is not a number (NOALBS crashes here)",
                RTMP,
                Some(SRT),
                "0.0.0.0:4000",
                "live",
                "broken",
                Expect::Fails(&["stream `live/broken` has `bandwidth` the text \"n/a\""]),
            ),
            (
                "bandwidth as a number",
                br#"[{"app":"a","streams":[{"strm":"s","bandwidth":2500400}]}]"#,
                None,
                "x",
                "a",
                "s",
                rate(2500, None),
            ),
            (
                "bandwidth as a decimal text",
                br#"[{"app":"a","streams":[{"strm":"s","bandwidth":" 999.6 "}]}]"#,
                None,
                "x",
                "a",
                "s",
                rate(1, None),
            ),
            (
                "a negative bandwidth",
                br#"[{"app":"a","streams":[{"strm":"s","bandwidth":"-5"}]}]"#,
                None,
                "x",
                "a",
                "s",
                Expect::Fails(&["`bandwidth` the text \"-5\""]),
            ),
            (
                "no bandwidth",
                br#"[{"app":"a","streams":[{"strm":"s"}]}]"#,
                None,
                "x",
                "a",
                "s",
                Expect::Fails(&["`bandwidth` missing"]),
            ),
            (
                "the two pages swapped",
                SRT,
                Some(RTMP),
                "0.0.0.0:4000",
                "live",
                "irl",
                Expect::Fails(&["expected the rtmp_status list"]),
            ),
            (
                "SLS stats as SRT stats",
                RTMP,
                Some(SLS),
                "0.0.0.0:4000",
                "live",
                "irl",
                Expect::Fails(&[
                    "missing field `SrtReceivers`",
                    "set the type to SrtLiveServer",
                ]),
            ),
            (
                "an HTML rtmp_status",
                HTML,
                Some(SRT),
                "0.0.0.0:4000",
                "live",
                "irl",
                Expect::Fails(&["expected JSON, got HTML"]),
            ),
            (
                "an HTML srt_receiver_stats",
                RTMP,
                Some(HTML),
                "0.0.0.0:4000",
                "live",
                "irl",
                Expect::Fails(&["expected JSON, got HTML"]),
            ),
            (
                "the nginx page",
                NGINX,
                None,
                "x",
                "live",
                "irl",
                Expect::Fails(&["NginxRtmp"]),
            ),
            (
                "truncated",
                truncated(RTMP),
                Some(SRT),
                "0.0.0.0:4000",
                "live",
                "irl",
                Expect::Fails(&["truncated"]),
            ),
            (
                "garbage",
                GARBAGE,
                None,
                "x",
                "live",
                "irl",
                Expect::Fails(&["invalid JSON"]),
            ),
            (
                "empty",
                b"",
                None,
                "x",
                "live",
                "irl",
                Expect::Fails(&["empty"]),
            ),
        ];
        for (name, rtmp, srt, id, app, stream, expected) in cases {
            check(name, rtmp, *srt, id, app, stream, expected);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(rtmp in proptest::collection::vec(any::<u8>(), 0..512),
                                 srt in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..512))) {
            let _ = parse(&rtmp, srt.as_deref(), "0.0.0.0:4000", "live", "irl");
            let _ = parse(RTMP, srt.as_deref(), "", "live", "irl");
        }

        #[test]
        fn never_panics_on_nimble_like_json(
            streams in proptest::collection::vec(object_with(&["strm", "bandwidth"], prop_oneof![
                Just(serde_json::Value::from("irl")),
                "[0-9.-]{0,22}".prop_map(serde_json::Value::from),
                field_value(),
            ].boxed()), 0..4),
            receivers in proptest::collection::vec(
                (object_with(&["id", "state"], prop_oneof![
                    Just(serde_json::Value::from("0.0.0.0:4000")),
                    Just(serde_json::Value::from("disconnected")),
                    any_json(),
                ].boxed()), field_value()),
                0..4,
            ),
        ) {
            let rtmp = serde_json::json!([{ "app": "live", "streams": streams }]);
            let receivers: Vec<serde_json::Value> = receivers
                .into_iter()
                .map(|(mut receiver, rtt)| {
                    if let Some(map) = receiver.as_object_mut() {
                        map.insert("stats".into(), serde_json::json!({ "link": { "rtt": rtt } }));
                    }
                    receiver
                })
                .collect();
            let srt = serde_json::json!({ "SrtReceivers": receivers });
            let rtmp = serde_json::to_vec(&rtmp).unwrap_or_default();
            let srt = serde_json::to_vec(&srt).unwrap_or_default();
            let _ = parse(&rtmp, Some(&srt), "0.0.0.0:4000", "live", "irl");
            let _ = parse(&rtmp, Some(truncated(&srt)), ":4000", "live", "irl");
        }
    }
}
