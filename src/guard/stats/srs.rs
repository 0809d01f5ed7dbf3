//! SRS (Simple Realtime Server) HTTP API v1 (JSON).
//!
//! **Endpoint**: one `GET <url>`, `http://host:1985/api/v1/streams/`. SRS pages this list
//! (`?start=&count=`); with many streams on one server, add `?count=100` to the URL.
//!
//! **Shape**: `{"code": 0, "server": "...", "streams": [{"id", "name", "vhost", "app",
//! "recv_bytes", "send_bytes", "kbps": {"recv_30s", "send_30s"}, "publish": {"active", "cid"},
//! "video", "audio", ...}]}`. `/api/v1/streams/<id>` answers `{"code": 0, "stream": {...}}`,
//! which is read too.
//!
//! **Fields read**: `code` (non-zero is an error), each stream's `app` and `name` (the
//! configured application and stream), `publish.active`, `recv_bytes` (cumulative bytes
//! received) and `kbps.recv_30s` (the 30-second average receive rate, kbps).
//!
//! **Reading**: with `recv_bytes`, `Reading::Counter { bytes: recv_bytes, fallback:
//! Some(recv_30s) }` (the counter gives 1-second resolution, the average only fills the first
//! poll); without it, `Reading::Rate { bitrate: recv_30s }`. No RTT.
//!
//! **NoPublisher**: no stream with that app and name (SRS forgets streams some time after the
//! publisher leaves), or `publish.active` is false (SRS keeps the entry while it lingers).
//!
//! **Units**: bytes; kbps as SRS reports them.
//!
//! **Sources**: SRS `trunk/src/app/srs_app_statistic.cpp` (`SrsStatisticStream::dumps`:
//! `recv_bytes`, `kbps.recv_30s`, `publish.active`) and its HTTP API docs (example body with
//! `"kbps": {"recv_30s", "send_30s"}`, `"publish": {"active", "cid"}`); several public SRS
//! clients with the same struct. NOALBS has no SRS support (peers.md §1.2).

use super::json::{self as common, error};
use super::{Reading, ServerKind, StatsError};
use serde_json::Value;
use std::time::Duration;

const KIND: ServerKind = ServerKind::Srs;

/// Reads an SRS `/api/v1/streams/` body for `application`/`stream`.
pub fn parse(body: &[u8], application: &str, stream: &str) -> Result<Reading, StatsError> {
    let root = common::decode(KIND, body)?;
    let Some(object) = root.as_object() else {
        return Err(common::with_hint(
            KIND,
            &root,
            format!(
                "expected a JSON object with `streams`, got {}",
                common::describe(&root)
            ),
        ));
    };
    match object.get("code") {
        None => {}
        Some(code) if code.as_i64() == Some(0) => {}
        Some(code) => {
            return Err(error(
                KIND,
                format!(
                    "SRS answered error code {}: check the URL (/api/v1/streams/)",
                    common::describe(code)
                ),
            ));
        }
    }
    let streams: Vec<&Value> = match (object.get("streams"), object.get("stream")) {
        (Some(Value::Array(list)), _) => list.iter().collect(),
        (Some(Value::Null), _) | (None, Some(Value::Null)) => Vec::new(),
        (None, Some(one @ Value::Object(_))) => vec![one],
        (Some(other), _) | (None, Some(other)) => {
            return Err(error(
                KIND,
                format!("`streams` is {}, expected a list", common::describe(other)),
            ));
        }
        (None, None) => {
            return Err(common::with_hint(
                KIND,
                &root,
                "missing field `streams`: is the URL /api/v1/streams/?".into(),
            ));
        }
    };
    let matching: Vec<&Value> = streams
        .into_iter()
        .filter(|entry| {
            entry.get("app").and_then(Value::as_str) == Some(application)
                && entry.get("name").and_then(Value::as_str) == Some(stream)
        })
        .collect();
    // The same app/name can exist once per vhost: the first active one counts.
    let Some(entry) = matching.into_iter().find(|entry| active(entry)) else {
        return Ok(Reading::NoPublisher);
    };

    let label = format!(
        "{}/{}",
        common::clip(application, 64),
        common::clip(stream, 64)
    );
    let average = match entry.get("kbps").and_then(|kbps| kbps.get("recv_30s")) {
        None | Some(Value::Null) => None,
        value => Some(common::kbps(
            KIND,
            value,
            &format!("streams[{label}].kbps.recv_30s"),
        )?),
    };
    match entry.get("recv_bytes") {
        None | Some(Value::Null) => match average {
            Some(bitrate) => Ok(Reading::Rate { bitrate, rtt: None }),
            None => Err(error(
                KIND,
                format!("stream {label} has neither `recv_bytes` nor `kbps.recv_30s`"),
            )),
        },
        counter => Ok(Reading::Counter {
            bytes: common::counter(KIND, counter, &format!("streams[{label}].recv_bytes"))?,
            fallback: average,
            rtt: None,
        }),
    }
}

/// Whether an entry's `publish.active` is true (some builds send it as text).
fn active(entry: &Value) -> bool {
    match entry
        .get("publish")
        .and_then(|publish| publish.get("active"))
    {
        Some(Value::Bool(active)) => *active,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// GETs the streams list and parses it; a non-2xx answer is [`StatsError::Http`].
pub async fn fetch(
    client: &super::Client,
    url: &str,
    application: &str,
    stream: &str,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let body = super::http_get(client, url, timeout).await?;
    common::require_success(url, &body)?;
    parse(&body.bytes, application, stream)
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{
        Expect, GARBAGE, HTML, NGINX, any_json, assert_expected, field_value, object_with,
        truncated,
    };
    use super::*;
    use commands::Kbps;
    use proptest::prelude::*;

    const STREAMS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/srs_streams.json"
    ));
    const MEDIAMTX: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_path_rtmp.json"
    ));

    fn check(name: &str, body: &[u8], application: &str, stream: &str, expected: &Expect) {
        assert_expected(name, KIND, parse(body, application, stream), expected);
    }

    #[test]
    fn parses_stream_lists() {
        let cases: &[(&str, &[u8], &str, &str, Expect)] = &[
            (
                "an active publisher with a byte counter",
                STREAMS,
                "live",
                "livestream",
                Expect::Is(Reading::Counter {
                    bytes: 92_811_264,
                    fallback: Some(Kbps(6012)),
                    rtt: None,
                }),
            ),
            (
                "a stream SRS still lists after its publisher left",
                STREAMS,
                "live",
                "backup",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an active publisher without recv_bytes: the 30 s average",
                STREAMS,
                "irl",
                "cam",
                Expect::Is(Reading::Rate {
                    bitrate: Kbps(2500),
                    rtt: None,
                }),
            ),
            (
                "the same name in another app",
                STREAMS,
                "irl",
                "livestream",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "no streams at all",
                br#"{"code":0,"server":"vid-1","streams":[]}"#,
                "live",
                "livestream",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "one stream by id, active as text",
                br#"{"code":0,"stream":{"app":"live","name":"s","publish":{"active":"true"},"kbps":{"recv_30s":900.4}}}"#,
                "live",
                "s",
                Expect::Is(Reading::Rate {
                    bitrate: Kbps(900),
                    rtt: None,
                }),
            ),
            (
                "an error code",
                br#"{"code":2048}"#,
                "live",
                "s",
                Expect::Fails(&["error code 2048"]),
            ),
            (
                "an active stream with no rate at all",
                br#"{"code":0,"streams":[{"app":"live","name":"s","publish":{"active":true}}]}"#,
                "live",
                "s",
                Expect::Fails(&["neither `recv_bytes` nor `kbps.recv_30s`"]),
            ),
            (
                "a negative average",
                br#"{"code":0,"streams":[{"app":"live","name":"s","publish":{"active":true},"kbps":{"recv_30s":-1}}]}"#,
                "live",
                "s",
                Expect::Fails(&["`streams[live/s].kbps.recv_30s` is -1"]),
            ),
            (
                "MediaMTX's JSON",
                MEDIAMTX,
                "live",
                "s",
                Expect::Fails(&["missing field `streams`", "set the type to Mediamtx"]),
            ),
            ("an HTML page", HTML, "live", "s", Expect::Fails(&["expected JSON, got HTML"])),
            ("the nginx page", NGINX, "live", "s", Expect::Fails(&["NginxRtmp"])),
            ("truncated", truncated(STREAMS), "live", "s", Expect::Fails(&["truncated"])),
            ("garbage", GARBAGE, "live", "s", Expect::Fails(&["invalid JSON"])),
            ("empty", b"", "live", "s", Expect::Fails(&["empty"])),
        ];
        for (name, body, application, stream, expected) in cases {
            check(name, body, application, stream, expected);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, "live", "s");
        }

        #[test]
        fn never_panics_on_stream_like_json(
            entries in proptest::collection::vec(
                (
                    object_with(&["recv_bytes", "clients"], field_value()),
                    prop_oneof![Just(serde_json::json!(true)), any_json()],
                    field_value(),
                ),
                0..4,
            ),
            code in proptest::option::of(field_value()),
        ) {
            let streams: Vec<serde_json::Value> = entries
                .into_iter()
                .map(|(mut entry, active, average)| {
                    if let Some(map) = entry.as_object_mut() {
                        map.insert("app".into(), "live".into());
                        map.insert("name".into(), "s".into());
                        map.insert("publish".into(), serde_json::json!({ "active": active }));
                        map.insert("kbps".into(), serde_json::json!({ "recv_30s": average }));
                    }
                    entry
                })
                .collect();
            let mut root = serde_json::json!({ "streams": streams });
            if let (Some(code), Some(map)) = (code, root.as_object_mut()) {
                map.insert("code".into(), code);
            }
            let body = serde_json::to_vec(&root).unwrap_or_default();
            let _ = parse(&body, "live", "s");
            let _ = parse(truncated(&body), "live", "s");
        }
    }
}
