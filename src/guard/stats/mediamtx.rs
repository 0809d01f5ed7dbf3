//! MediaMTX control API v3 (JSON).
//!
//! **Endpoints**: `GET <url>` where `url` is `http://host:9997/v3/paths/get/<path name>`; when
//! the path's publisher is an SRT connection, also `GET <base>/v3/srtconns/get/<source.id>`
//! (`<base>` is `url` up to `/v3/`) for the round-trip time.
//!
//! **Fields read** (path): `online` (v1.9+; `ready` on older servers, now deprecated) and
//! `source` (`null` when nobody publishes; `{type, id}` otherwise) decide whether a publisher
//! exists; `inboundBytes` (newer) or else `bytesReceived` (deprecated but still sent) is the
//! counter; `source.type == "srtConn"` with `source.id` names the SRT connection. **SRT
//! connection**: `msRTT` (smoothed RTT, ms, float).
//!
//! **Reading**: `Reading::Counter { bytes, fallback: None, rtt }`: MediaMTX reports no rate of
//! its own for a path, so the first poll of a publisher yields no bitrate yet ([`super::Meter`]
//! needs two counters).
//!
//! **NoPublisher**: HTTP 404 (the path does not exist: MediaMTX creates paths on publish), HTTP
//! 400/500 whose body says "not found" (older servers), or a path that is not `online`/`ready`
//! or has no `source`. Caveat: a 404 also answers a mistyped URL; the path name is the last part
//! of the configured URL, so check it when a stream never shows up.
//!
//! **RTT**: only for SRT publishers. A failed second request (unreachable, timeout, non-2xx,
//! unparsable) drops the RTT and keeps the reading.
//!
//! **Units**: bytes; ms rounded.
//!
//! **Sources**: MediaMTX `api/openapi.yaml` (schemas `Path`: `online`, `ready` (deprecated),
//! `source`, `inboundBytes`, `bytesReceived` (deprecated); `PathSource`: `type`, `id`;
//! `PathSourceType` includes `srtConn`; `SRTConn.msRTT`); NOALBS `src/stream_servers/mediamtx.rs`
//! (the two requests, 404/500 handling).

use super::json::{self as common, error};
use super::{Body, Reading, ServerKind, StatsError};
use commands::Millis;
use serde_json::{Map, Value};
use std::time::Duration;

const KIND: ServerKind = ServerKind::Mediamtx;

/// Reads a `/v3/paths/get/<name>` body: the reading (a counter, without RTT) and, for an SRT
/// publisher, the connection id to ask for the RTT.
pub fn parse_path(body: &[u8]) -> Result<(Reading, Option<String>), StatsError> {
    let root = common::decode(KIND, body)?;
    let object = as_object(&root)?;
    if let Some(said) = object.get("error").and_then(Value::as_str) {
        if says_not_found(said) {
            return Ok((Reading::NoPublisher, None));
        }
        return Err(error(
            KIND,
            format!("MediaMTX reports an error: {}", common::clip(said, 120)),
        ));
    }
    if object.get("items").is_some_and(Value::is_array) {
        return Err(error(
            KIND,
            "this is a list of paths: set the URL to /v3/paths/get/<path name>",
        ));
    }
    let online = ["online", "ready"]
        .iter()
        .find_map(|field| object.get(*field).and_then(Value::as_bool));
    let Some(online) = online else {
        return Err(common::with_hint(
            KIND,
            &root,
            "missing field `online` (or `ready`): is the URL /v3/paths/get/<path name>?".into(),
        ));
    };
    let source = object.get("source").filter(|source| !source.is_null());
    let Some(source) = source.filter(|_| online) else {
        return Ok((Reading::NoPublisher, None));
    };
    let counter = object
        .get("inboundBytes")
        .or_else(|| object.get("bytesReceived"));
    let bytes = common::counter(KIND, counter, "bytesReceived")?;
    let srt = (source.get("type").and_then(Value::as_str) == Some("srtConn"))
        .then(|| source.get("id").and_then(Value::as_str))
        .flatten()
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let reading = Reading::Counter {
        bytes,
        fallback: None,
        rtt: None,
    };
    Ok((reading, srt))
}

/// Reads a `/v3/srtconns/get/<id>` body: the RTT (`msRTT`), if it reports one.
pub fn parse_srt_conn(body: &[u8]) -> Result<Option<Millis>, StatsError> {
    let root = common::decode(KIND, body)?;
    let object = as_object(&root)?;
    if let Some(said) = object.get("error").and_then(Value::as_str) {
        return Err(error(
            KIND,
            format!("MediaMTX reports an error: {}", common::clip(said, 120)),
        ));
    }
    common::optional_millis(KIND, object.get("msRTT"), "msRTT")
}

/// GETs the path, then (for SRT publishers) the connection's RTT. See the module documentation.
pub async fn fetch(
    client: &super::Client,
    url: &str,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let body = super::http_get(client, url, timeout).await?;
    if path_missing(&body) {
        return Ok(Reading::NoPublisher);
    }
    common::require_success(url, &body)?;
    let (reading, srt) = parse_path(&body.bytes)?;
    match (reading, srt) {
        (
            Reading::Counter {
                bytes, fallback, ..
            },
            Some(id),
        ) => Ok(Reading::Counter {
            bytes,
            fallback,
            rtt: srt_rtt(client, url, &id, timeout).await,
        }),
        (reading, _) => Ok(reading),
    }
}

/// The SRT connection's RTT, or `None` (logged) when it cannot be had.
async fn srt_rtt(client: &super::Client, url: &str, id: &str, timeout: Duration) -> Option<Millis> {
    let Some(rtt_url) = srt_conn_url(url, id) else {
        tracing::debug!(
            url = %super::shown_url(url),
            "MediaMTX URL has no /v3/: cannot ask for the SRT round-trip time"
        );
        return None;
    };
    let result = match super::http_get(client, &rtt_url, timeout).await {
        Ok(body) => {
            common::require_success(&rtt_url, &body).and_then(|()| parse_srt_conn(&body.bytes))
        }
        Err(e) => Err(e),
    };
    result
        .inspect_err(|e| {
            let url = super::shown_url(&rtt_url);
            tracing::debug!(%url, error = %e, "no SRT round-trip time");
        })
        .ok()
        .flatten()
}

/// `<base>/v3/srtconns/get/<id>` for a `<base>/v3/paths/get/<name>` URL.
fn srt_conn_url(url: &str, id: &str) -> Option<String> {
    let base = url.get(..url.find("/v3/")?)?;
    Some(format!(
        "{base}/v3/srtconns/get/{}",
        common::encode_segment(id)
    ))
}

/// Whether the answer means "no such path" (MediaMTX creates a path when someone publishes).
fn path_missing(body: &Body) -> bool {
    body.status == 404
        || (matches!(body.status, 400 | 500)
            && says_not_found(&String::from_utf8_lossy(&body.bytes)))
}

fn says_not_found(text: &str) -> bool {
    text.to_ascii_lowercase().contains("not found")
}

fn as_object(root: &Value) -> Result<&Map<String, Value>, StatsError> {
    root.as_object().ok_or_else(|| {
        error(
            KIND,
            format!("expected a JSON object, got {}", common::describe(root)),
        )
    })
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
        "/tests/fixtures/stats/mediamtx_path_rtmp.json"
    ));
    const SRT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_path_srt.json"
    ));
    const OFFLINE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_path_offline.json"
    ));
    const NOT_FOUND: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_not_found.json"
    ));
    const LIST: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_paths_list.json"
    ));
    const SRT_CONN: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/mediamtx_srtconn.json"
    ));
    const SLS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_publishers.json"
    ));

    const SRT_ID: &str = "a3b5e2c0-7d1f-4b7e-9c2a-5f0e8d1c6b42";

    fn counter(bytes: u64) -> Reading {
        Reading::Counter {
            bytes,
            fallback: None,
            rtt: None,
        }
    }

    /// Checks `parse_path`: the reading (or error) and the SRT connection id.
    fn check(name: &str, body: &[u8], expected: &Expect, srt: Option<&str>) {
        let got = parse_path(body);
        if let Ok((_, id)) = &got {
            assert_eq!(id.as_deref(), srt, "case `{name}`: SRT connection id");
        }
        assert_expected(name, KIND, got.map(|(reading, _)| reading), expected);
    }

    #[test]
    fn parses_paths() {
        let cases: &[(&str, &[u8], Expect, Option<&str>)] = &[
            (
                "an RTMP publisher (v1.9+: online, inboundBytes)",
                RTMP,
                Expect::Is(counter(184_305_719)),
                None,
            ),
            (
                "an SRT publisher (older: ready, bytesReceived) names its connection",
                SRT,
                Expect::Is(counter(52_811_264)),
                Some(SRT_ID),
            ),
            (
                "a configured path nobody publishes",
                OFFLINE,
                Expect::Is(Reading::NoPublisher),
                None,
            ),
            (
                "inboundBytes wins over the deprecated bytesReceived",
                br#"{"online":true,"source":{"type":"rtmpConn","id":"x"},"inboundBytes":7,"bytesReceived":5}"#,
                Expect::Is(counter(7)),
                None,
            ),
            (
                "online wins over the deprecated ready",
                br#"{"online":false,"ready":true,"source":{"type":"rtmpConn","id":"x"},"bytesReceived":5}"#,
                Expect::Is(Reading::NoPublisher),
                None,
            ),
            (
                "online without a source (always-available placeholder)",
                br#"{"online":true,"available":true,"source":null,"inboundBytes":5}"#,
                Expect::Is(Reading::NoPublisher),
                None,
            ),
            (
                "an SRT source without an id",
                br#"{"ready":true,"source":{"type":"srtConn","id":""},"bytesReceived":5}"#,
                Expect::Is(counter(5)),
                None,
            ),
            (
                "a path-not-found error body",
                NOT_FOUND,
                Expect::Is(Reading::NoPublisher),
                None,
            ),
            (
                "another error body",
                br#"{"status":"error","error":"authentication error"}"#,
                Expect::Fails(&["MediaMTX reports an error: authentication error"]),
                None,
            ),
            (
                "the paths list instead of one path",
                LIST,
                Expect::Fails(&["/v3/paths/get/<path name>"]),
                None,
            ),
            (
                "a publisher without a counter",
                br#"{"ready":true,"source":{"type":"rtmpConn","id":"x"}}"#,
                Expect::Fails(&["missing field `bytesReceived`"]),
                None,
            ),
            (
                "a negative counter",
                br#"{"ready":true,"source":{"type":"rtmpConn","id":"x"},"bytesReceived":-1}"#,
                Expect::Fails(&["`bytesReceived` is -1"]),
                None,
            ),
            (
                "SLS stats",
                SLS,
                Expect::Fails(&["missing field `online`", "set the type to SrtLiveServer"]),
                None,
            ),
            ("an HTML page", HTML, Expect::Fails(&["expected JSON, got HTML"]), None),
            ("the nginx page", NGINX, Expect::Fails(&["NginxRtmp"]), None),
            ("truncated", truncated(RTMP), Expect::Fails(&["truncated"]), None),
            ("garbage", GARBAGE, Expect::Fails(&["invalid JSON"]), None),
            ("empty", b"", Expect::Fails(&["empty"]), None),
        ];
        for (name, body, expected, srt) in cases {
            check(name, body, expected, *srt);
        }
    }

    /// One case: name, body, the RTT or a piece of the error reason.
    type SrtCase<'a> = (&'a str, &'a [u8], Result<Option<Millis>, &'a str>);

    #[test]
    fn parses_srt_connections() {
        let cases: &[SrtCase] = &[
            ("msRTT 23.441 → 23 ms", SRT_CONN, Ok(Some(Millis(23)))),
            ("no msRTT", br#"{"id":"x","state":"publish"}"#, Ok(None)),
            (
                "negative msRTT",
                br#"{"msRTT":-2.5}"#,
                Err("`msRTT` is -2.5 (negative)"),
            ),
            ("an error body", NOT_FOUND, Err("path not found")),
            ("HTML", HTML, Err("got HTML")),
            ("a list", b"[]", Err("expected a JSON object")),
        ];
        for (name, body, expected) in cases {
            match (parse_srt_conn(body), expected) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "case `{name}`"),
                (Err(StatsError::Parse { reason, .. }), Err(piece)) => {
                    assert!(reason.contains(piece), "case `{name}`: {reason:?}");
                }
                (got, want) => panic!("case `{name}`: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn builds_the_srt_connection_url() {
        assert_eq!(
            srt_conn_url("http://127.0.0.1:9997/v3/paths/get/irl", "a b").as_deref(),
            Some("http://127.0.0.1:9997/v3/srtconns/get/a%20b")
        );
        assert_eq!(
            srt_conn_url("http://h/mediamtx/v3/paths/get/live/sub", SRT_ID).as_deref(),
            Some(format!("http://h/mediamtx/v3/srtconns/get/{SRT_ID}").as_str())
        );
        assert_eq!(srt_conn_url("http://h/paths/irl", "x"), None);
    }

    #[test]
    fn knows_which_answers_mean_no_path() {
        let body = |status, text: &str| Body {
            status,
            bytes: text.as_bytes().to_vec(),
        };
        assert!(path_missing(&body(404, "")));
        assert!(path_missing(&body(400, r#"{"error":"path not found"}"#)));
        assert!(path_missing(&body(
            500,
            r#"{"status":"error","error":"Path Not Found"}"#
        )));
        assert!(!path_missing(&body(500, r#"{"error":"internal"}"#)));
        assert!(!path_missing(&body(401, "not found")));
        assert!(!path_missing(&body(200, "not found")));
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_path(&body);
            let _ = parse_srt_conn(&body);
        }

        #[test]
        fn never_panics_on_path_like_json(
            mut path in object_with(
                &["online", "ready", "inboundBytes", "bytesReceived", "error", "items"],
                field_value(),
            ),
            source in proptest::option::of(prop_oneof![
                Just(serde_json::Value::Null),
                object_with(&["type", "id"], prop_oneof![
                    Just(serde_json::Value::from("srtConn")),
                    any_json(),
                ].boxed()),
            ]),
        ) {
            if let (Some(source), Some(map)) = (source, path.as_object_mut()) {
                map.insert("source".into(), source);
            }
            let body = serde_json::to_vec(&path).unwrap_or_default();
            let _ = parse_path(&body);
            let _ = parse_srt_conn(&body);
            let _ = parse_path(truncated(&body));
        }
    }
}
