//! Node-Media-Server (v2.x) HTTP API (JSON).
//!
//! **Endpoint**: `GET <url>/<application>/<stream>`, where `url` is the API's streams base,
//! e.g. `http://127.0.0.1:8000/api/streams` (NMS route `/api/streams/:app/:stream`). The
//! application and stream are percent-encoded as path segments.
//!
//! **Shape**: `{"isLive": true, "viewers": 3, "duration": 1834, "bitrate": 5873, "startTime":
//! "...", "arguments": {}}`; for a stream nobody publishes NMS answers 200 with `isLive: false`
//! and zeros.
//!
//! **Fields read**: `isLive` (bool) and `bitrate`. NMS computes `bitrate` as bytes × 8 / elapsed
//! ms over its sampling interval, i.e. kbps (SI), and sends 0 during a publisher's first
//! second.
//!
//! **Reading**: `Reading::Rate { bitrate, rtt: None }`.
//!
//! **NoPublisher**: `isLive == false`, or HTTP 404.
//!
//! **Not read**: the v4 API (`/api/v1/streams`, `{"success", "data": {"streams": [...]}}`) has
//! another shape; such a body is a [`StatsError::Parse`] that says so. HTTP Basic auth (NMS
//! `auth.api`) is not supported by this type's configuration.
//!
//! **Sources**: Node-Media-Server `src/api/controllers/streams.js` (`getStream`: `isLive`,
//! `viewers`, `duration`, `bitrate`, `startTime`, `arguments`) and `node_rtmp_session.js`
//! (`bitrate = round(bytes * 8 / diff_ms)`); NOALBS `src/stream_servers/nms.rs` (the URL shape).

use super::json::{self as common, error};
use super::{Reading, ServerKind, StatsError};
use serde_json::Value;
use std::time::Duration;

const KIND: ServerKind = ServerKind::NodeMediaServer;

/// Reads a `/api/streams/<application>/<stream>` body.
pub fn parse(body: &[u8]) -> Result<Reading, StatsError> {
    let root = common::decode(KIND, body)?;
    let Some(object) = root.as_object() else {
        return Err(error(
            KIND,
            format!(
                "expected a JSON object with `isLive`, got {}",
                common::describe(&root)
            ),
        ));
    };
    let live = match object.get("isLive") {
        Some(Value::Bool(live)) => *live,
        Some(other) => {
            return Err(error(
                KIND,
                format!(
                    "`isLive` is {}, expected true or false",
                    common::describe(other)
                ),
            ));
        }
        None if object.contains_key("success") && object.contains_key("data") => {
            return Err(error(
                KIND,
                "missing field `isLive`: this is the Node-Media-Server v4 API, which this type \
                 does not read; use a v2 server's /api/streams",
            ));
        }
        None => {
            return Err(common::with_hint(
                KIND,
                &root,
                "missing field `isLive`: the URL must be the API base (e.g. \
                 http://127.0.0.1:8000/api/streams); the application and stream are appended"
                    .into(),
            ));
        }
    };
    if !live {
        return Ok(Reading::NoPublisher);
    }
    let bitrate = common::kbps(KIND, object.get("bitrate"), "bitrate")?;
    Ok(Reading::Rate { bitrate, rtt: None })
}

/// GETs `<url>/<application>/<stream>`; 404 is [`Reading::NoPublisher`], other non-2xx answers
/// are [`StatsError::Http`].
pub async fn fetch(
    client: &super::Client,
    url: &str,
    application: &str,
    stream: &str,
    timeout: Duration,
) -> Result<Reading, StatsError> {
    let url = stream_url(url, application, stream);
    let body = super::http_get(client, &url, timeout).await?;
    if body.status == 404 {
        return Ok(Reading::NoPublisher);
    }
    common::require_success(&url, &body)?;
    parse(&body.bytes)
}

fn stream_url(base: &str, application: &str, stream: &str) -> String {
    common::join(
        base,
        &format!(
            "{}/{}",
            common::encode_segment(application),
            common::encode_segment(stream)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{
        Expect, GARBAGE, HTML, NGINX, assert_expected, field_value, object_with, truncated,
    };
    use super::*;
    use commands::Kbps;
    use proptest::prelude::*;

    const LIVE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nms_stream_live.json"
    ));
    const OFFLINE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nms_stream_offline.json"
    ));
    const V4: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nms_v4_streams.json"
    ));
    const OPENIRL: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/openirl_single.json"
    ));

    fn check(name: &str, body: &[u8], expected: &Expect) {
        assert_expected(name, KIND, parse(body), expected);
    }

    #[test]
    fn parses_stream_answers() {
        let cases: &[(&str, &[u8], Expect)] = &[
            (
                "a live stream",
                LIVE,
                Expect::Is(Reading::Rate {
                    bitrate: Kbps(5873),
                    rtt: None,
                }),
            ),
            ("not live", OFFLINE, Expect::Is(Reading::NoPublisher)),
            (
                "live in its first second: 0",
                br#"{"isLive":true,"viewers":0,"duration":0,"bitrate":0}"#,
                Expect::Is(Reading::Rate {
                    bitrate: Kbps(0),
                    rtt: None,
                }),
            ),
            (
                "live without a bitrate",
                br#"{"isLive":true}"#,
                Expect::Fails(&["missing field `bitrate`"]),
            ),
            (
                "isLive as text",
                br#"{"isLive":"yes","bitrate":5}"#,
                Expect::Fails(&["`isLive` is the text \"yes\""]),
            ),
            ("the v4 API", V4, Expect::Fails(&["v4 API"])),
            (
                "OpenIRL's JSON",
                OPENIRL,
                Expect::Fails(&["missing field `isLive`", "set the type to OpenIrl"]),
            ),
            (
                "an HTML page",
                HTML,
                Expect::Fails(&["expected JSON, got HTML"]),
            ),
            ("the nginx page", NGINX, Expect::Fails(&["NginxRtmp"])),
            ("truncated", truncated(LIVE), Expect::Fails(&["truncated"])),
            ("garbage", GARBAGE, Expect::Fails(&["invalid JSON"])),
            ("empty", b"", Expect::Fails(&["empty"])),
        ];
        for (name, body, expected) in cases {
            check(name, body, expected);
        }
    }

    #[test]
    fn builds_the_stream_url() {
        assert_eq!(
            stream_url("http://127.0.0.1:8000/api/streams/", "live", "my key"),
            "http://127.0.0.1:8000/api/streams/live/my%20key"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn never_panics_on_stream_like_json(
            value in object_with(&["isLive", "bitrate", "viewers", "success", "data"], field_value()),
            live in proptest::option::of(any::<bool>()),
        ) {
            let mut value = value;
            if let (Some(live), Some(map)) = (live, value.as_object_mut()) {
                map.insert("isLive".into(), live.into());
            }
            let body = serde_json::to_vec(&value).unwrap_or_default();
            let _ = parse(&body);
            let _ = parse(truncated(&body));
        }
    }
}
