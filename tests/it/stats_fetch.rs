//! The stats fetchers against a fake HTTP server on 127.0.0.1: good bodies, HTML with status
//! 200, garbage, a streamed body over the size cap, 503, 404, a server slower than the timeout,
//! a closed port, and the two-request types (MediaMTX's SRT round-trip time, Nimble).

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::{Duration, Instant};
use stream_control::guard::stats::{
    MAX_BODY_BYTES, Reading, ServerKind, StatsError, belabox, client, mediamtx, nginx, nimble,
    node_media_server, openirl, sls, srs,
};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/",
            $name
        ))
        .as_slice()
    };
}

/// The timeout for requests that should succeed.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The timeout for requests to routes that answer late.
const SHORT: Duration = Duration::from_millis(300);
/// How late the slow routes answer.
const LATE: Duration = Duration::from_secs(5);

const SRT_ID: &str = "a3b5e2c0-7d1f-4b7e-9c2a-5f0e8d1c6b42";

fn json(status: StatusCode, body: &'static [u8]) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok_json(
    body: &'static [u8],
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move || std::future::ready(json(StatusCode::OK, body))
}

/// An SRT path whose connection id is `id`.
fn srt_path(id: &'static str) -> Response {
    let body = format!(
        r#"{{"name":"irl","ready":true,"online":true,"source":{{"type":"srtConn","id":"{id}"}},"bytesReceived":1000,"inboundBytes":1000}}"#
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(LATE).await;
    json(StatusCode::OK, fixture!("sls_publishers.json"))
}

fn router() -> Router {
    Router::new()
        // Generic answers, used with every type.
        .route(
            "/html",
            get(|| async {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    fixture!("html_error_page.html"),
                )
            }),
        )
        .route(
            "/garbage",
            get(|| async { (StatusCode::OK, b"\x00\x01\xfe\xff garbage \x9f".as_slice()) }),
        )
        .route(
            "/big",
            get(|| async {
                // Streamed (chunked, no length): 40 × 64 KiB = 2.5 MiB.
                let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/unavailable",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "404 page not found") }),
        )
        .route("/slow", get(slow))
        // nginx-rtmp.
        .route(
            "/stat",
            get(|| async {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/xml")],
                    fixture!("nginx_stat_sample.xml"),
                )
            }),
        )
        // SLS, BELABOX, OpenIRL.
        .route("/sls/stats", get(ok_json(fixture!("sls_publishers.json"))))
        .route(
            "/belabox/abc",
            get(ok_json(fixture!("belabox_publishers.json"))),
        )
        .route(
            "/stats/play_abc",
            get(ok_json(fixture!("openirl_bonded.json"))),
        )
        .route(
            "/stats/play_off",
            get(ok_json(fixture!("openirl_not_streaming.json"))),
        )
        // MediaMTX.
        .route(
            "/v3/paths/get/irl",
            get(ok_json(fixture!("mediamtx_path_srt.json"))),
        )
        .route(
            &format!("/v3/srtconns/get/{SRT_ID}"),
            get(ok_json(fixture!("mediamtx_srtconn.json"))),
        )
        .route(
            "/v3/paths/get/live",
            get(ok_json(fixture!("mediamtx_path_rtmp.json"))),
        )
        .route(
            "/v3/paths/get/offline",
            get(ok_json(fixture!("mediamtx_path_offline.json"))),
        )
        .route("/v3/paths/get/broken", get(|| async { srt_path("gone") }))
        .route(
            "/v3/srtconns/get/gone",
            get(|| async {
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    br#"{"error":"terminated"}"#,
                )
            }),
        )
        .route("/v3/paths/get/slowrtt", get(|| async { srt_path("slow") }))
        .route("/v3/srtconns/get/slow", get(slow))
        .route("/v3/paths/get/htmlrtt", get(|| async { srt_path("html") }))
        .route(
            "/v3/srtconns/get/html",
            get(|| async { (StatusCode::OK, fixture!("html_error_page.html")) }),
        )
        .route(
            "/v3/paths/get/missing",
            get(|| async { json(StatusCode::NOT_FOUND, fixture!("mediamtx_not_found.json")) }),
        )
        .route(
            "/v3/paths/get/old",
            get(|| async { json(StatusCode::BAD_REQUEST, br#"{"error":"path not found"}"#) }),
        )
        .route(
            "/v3/paths/get/fail",
            get(|| async {
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    br#"{"error":"internal"}"#,
                )
            }),
        )
        // Nimble: both pages; only rtmp_status; rtmp_status failing; rtmp_status slow.
        .route(
            "/nimble/manage/rtmp_status",
            get(ok_json(fixture!("nimble_rtmp_status.json"))),
        )
        .route(
            "/nimble/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        .route(
            "/nimble-rtmp-only/manage/rtmp_status",
            get(ok_json(fixture!("nimble_rtmp_status.json"))),
        )
        .route(
            "/nimble-down/manage/rtmp_status",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/nimble-down/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        .route("/nimble-slow/manage/rtmp_status", get(slow))
        .route(
            "/nimble-slow/manage/srt_receiver_stats",
            get(ok_json(fixture!("nimble_srt_receiver_stats.json"))),
        )
        // Node-Media-Server and SRS.
        .route(
            "/api/streams/live/irl",
            get(ok_json(fixture!("nms_stream_live.json"))),
        )
        .route(
            "/api/streams/live/off",
            get(ok_json(fixture!("nms_stream_offline.json"))),
        )
        .route(
            "/api/v1/streams/",
            get(ok_json(fixture!("srs_streams.json"))),
        )
}

/// Starts the fake server on 127.0.0.1 and returns its base URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, router()).await.expect("fake server");
    });
    format!("http://{address}")
}

/// A base URL where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{address}")
}

fn rate(kbps: u32, rtt: Option<u32>) -> Reading {
    Reading::Rate {
        bitrate: commands::Kbps(kbps),
        rtt: rtt.map(commands::Millis),
    }
}

fn counter(bytes: u64, fallback: Option<u32>, rtt: Option<u32>) -> Reading {
    Reading::Counter {
        bytes,
        fallback: fallback.map(commands::Kbps),
        rtt: rtt.map(commands::Millis),
    }
}

#[track_caller]
fn assert_parse(result: Result<Reading, StatsError>, kind: ServerKind, piece: &str) {
    match result {
        Err(StatsError::Parse { kind: got, reason }) => {
            assert_eq!(got, kind, "{reason}");
            assert!(
                reason.contains(piece),
                "{reason:?} does not mention {piece:?}"
            );
        }
        other => panic!("expected a {kind} parse error mentioning {piece:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_http(result: Result<Reading, StatsError>, url: &str, status: u16) {
    assert_eq!(
        result,
        Err(StatsError::Http {
            url: url.into(),
            status
        })
    );
}

#[track_caller]
fn assert_too_large(result: Result<Reading, StatsError>, url: &str) {
    assert_eq!(
        result,
        Err(StatsError::TooLarge {
            url: url.into(),
            limit: MAX_BODY_BYTES
        })
    );
}

#[track_caller]
fn assert_timeout(result: Result<Reading, StatsError>, url: &str) {
    assert_eq!(
        result,
        Err(StatsError::Timeout {
            url: url.into(),
            timeout_ms: 300
        })
    );
}

#[track_caller]
fn assert_unreachable(result: Result<Reading, StatsError>, url: &str) {
    match result {
        Err(StatsError::Unreachable { url: got, reason }) => {
            assert_eq!(got, url.into());
            assert!(!reason.trim().is_empty(), "no reason given");
        }
        other => panic!("expected Unreachable for {url}, got {other:?}"),
    }
}

#[tokio::test]
async fn nginx_stat_pages_and_failures() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let fetch = |path: &str, application: &'static str, stream: &'static str, timeout| {
        let url = format!("{base}{path}");
        let http = http.clone();
        async move { nginx::fetch(&http, &url, application, stream, timeout).await }
    };
    let url = |path: &str| format!("{base}{path}");

    assert_eq!(
        fetch("/stat", "publish", "test", TIMEOUT).await,
        Ok(counter(3_837_829, Some(2578), None))
    );
    assert_eq!(
        fetch("/stat", "restream", "ep1", TIMEOUT).await,
        Ok(counter(3_241_164, Some(2233), None))
    );
    assert_eq!(
        fetch("/stat", "publish", "nope", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/stat", "live", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "no application `live` (found: publish, restream)",
    );
    assert_parse(
        fetch("/html", "publish", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "got HTML",
    );
    assert_parse(
        fetch("/garbage", "publish", "test", TIMEOUT).await,
        ServerKind::NginxRtmp,
        "not UTF-8",
    );
    assert_too_large(
        fetch("/big", "publish", "test", TIMEOUT).await,
        &url("/big"),
    );
    assert_http(
        fetch("/unavailable", "publish", "test", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_http(
        fetch("/missing", "publish", "test", TIMEOUT).await,
        &url("/missing"),
        404,
    );
    assert_timeout(
        fetch("/slow", "publish", "test", SHORT).await,
        &url("/slow"),
    );
}

#[tokio::test]
async fn sls_stats_and_failures() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");
    let fetch = |path: &str, publisher: Option<&'static str>, timeout| {
        let url = url(path);
        let http = http.clone();
        async move { sls::fetch(&http, &url, publisher, timeout).await }
    };

    assert_eq!(
        fetch("/sls/stats", Some("publish/live/feed1"), TIMEOUT).await,
        Ok(rate(3990, Some(51)))
    );
    assert_eq!(
        fetch("/sls/stats", None, TIMEOUT).await,
        Ok(rate(3990, Some(51)))
    );
    assert_eq!(
        fetch("/sls/stats", Some("publish/live/absent"), TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/html", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "expected JSON, got HTML",
    );
    assert_parse(
        fetch("/stat", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "set the type to NginxRtmp",
    );
    assert_parse(
        fetch("/garbage", None, TIMEOUT).await,
        ServerKind::SrtLiveServer,
        "invalid JSON",
    );
    assert_too_large(fetch("/big", None, TIMEOUT).await, &url("/big"));
    assert_http(
        fetch("/unavailable", None, TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_http(
        fetch("/missing", None, TIMEOUT).await,
        &url("/missing"),
        404,
    );
    assert_timeout(fetch("/slow", None, SHORT).await, &url("/slow"));
}

#[tokio::test]
async fn mediamtx_paths_and_srt_round_trip_times() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");
    let fetch = |path: &str, timeout| {
        let url = url(path);
        let http = http.clone();
        async move { mediamtx::fetch(&http, &url, timeout).await }
    };

    // SRT publisher: the second request adds msRTT 23.441 → 23 ms.
    assert_eq!(
        fetch("/v3/paths/get/irl", TIMEOUT).await,
        Ok(counter(52_811_264, None, Some(23)))
    );
    // RTMP publisher: one request, no RTT.
    assert_eq!(
        fetch("/v3/paths/get/live", TIMEOUT).await,
        Ok(counter(184_305_719, None, None))
    );
    // A failing second request drops only the RTT: 500, HTML, and too slow.
    assert_eq!(
        fetch("/v3/paths/get/broken", TIMEOUT).await,
        Ok(counter(1000, None, None))
    );
    assert_eq!(
        fetch("/v3/paths/get/htmlrtt", TIMEOUT).await,
        Ok(counter(1000, None, None))
    );
    let started = Instant::now();
    assert_eq!(
        fetch("/v3/paths/get/slowrtt", SHORT).await,
        Ok(counter(1000, None, None))
    );
    assert!(started.elapsed() < LATE, "the RTT request was not cut off");
    // No publisher: 404, old-style 400 "path not found", or an offline path.
    assert_eq!(
        fetch("/v3/paths/get/missing", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/v3/paths/get/old", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/v3/paths/get/offline", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(fetch("/missing", TIMEOUT).await, Ok(Reading::NoPublisher));
    // Real failures.
    assert_http(
        fetch("/v3/paths/get/fail", TIMEOUT).await,
        &url("/v3/paths/get/fail"),
        500,
    );
    assert_http(
        fetch("/unavailable", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_parse(
        fetch("/html", TIMEOUT).await,
        ServerKind::Mediamtx,
        "expected JSON, got HTML",
    );
    assert_parse(
        fetch("/garbage", TIMEOUT).await,
        ServerKind::Mediamtx,
        "invalid JSON",
    );
    assert_too_large(fetch("/big", TIMEOUT).await, &url("/big"));
    assert_timeout(fetch("/slow", SHORT).await, &url("/slow"));
}

#[tokio::test]
async fn nimble_needs_both_pages() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let fetch = |prefix: &str, id: &'static str, stream: &'static str, timeout| {
        let url = format!("{base}{prefix}");
        let http = http.clone();
        async move { nimble::fetch(&http, &url, id, "live", stream, timeout).await }
    };

    assert_eq!(
        fetch("/nimble", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, Some(43)))
    );
    assert_eq!(
        fetch("/nimble/", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, Some(43)))
    );
    assert_eq!(
        fetch("/nimble", "0.0.0.0:4001", "irl", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        fetch("/nimble", "0.0.0.0:4000", "other", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_parse(
        fetch("/nimble", "0.0.0.0:4000", "broken", TIMEOUT).await,
        ServerKind::Nimble,
        "`bandwidth` the text \"n/a\"",
    );
    assert_parse(
        fetch("/nimble", "0.0.0.0:9", "irl", TIMEOUT).await,
        ServerKind::Nimble,
        "no SRT receiver `0.0.0.0:9`",
    );
    // srt_receiver_stats answers 404 here: the reading stands, without RTT.
    assert_eq!(
        fetch("/nimble-rtmp-only", "0.0.0.0:4000", "irl", TIMEOUT).await,
        Ok(rate(5912, None))
    );
    assert_http(
        fetch("/nimble-down", "0.0.0.0:4000", "irl", TIMEOUT).await,
        &format!("{base}/nimble-down/manage/rtmp_status"),
        503,
    );
    assert_timeout(
        fetch("/nimble-slow", "0.0.0.0:4000", "irl", SHORT).await,
        &format!("{base}/nimble-slow/manage/rtmp_status"),
    );
}

#[tokio::test]
async fn the_other_types_fetch_too() {
    let base = start().await;
    let http = client(&stream_control::tls::Tls::system());
    let url = |path: &str| format!("{base}{path}");

    assert_eq!(
        belabox::fetch(&http, &url("/belabox/abc"), Some("live/belabox"), TIMEOUT).await,
        Ok(rate(4321, Some(36)))
    );
    assert_eq!(
        openirl::fetch(&http, &url("/stats/play_abc"), TIMEOUT).await,
        Ok(rate(763, Some(44)))
    );
    assert_eq!(
        openirl::fetch(&http, &url("/stats/play_off"), TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    let nms = url("/api/streams");
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "irl", TIMEOUT).await,
        Ok(rate(5873, None))
    );
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "off", TIMEOUT).await,
        Ok(Reading::NoPublisher)
    );
    assert_eq!(
        node_media_server::fetch(&http, &nms, "live", "nobody", TIMEOUT).await,
        Ok(Reading::NoPublisher),
        "NMS answers 404 for unknown routes"
    );
    assert_eq!(
        srs::fetch(
            &http,
            &url("/api/v1/streams/"),
            "live",
            "livestream",
            TIMEOUT
        )
        .await,
        Ok(counter(92_811_264, Some(6012), None))
    );
    assert_http(
        srs::fetch(&http, &url("/unavailable"), "live", "s", TIMEOUT).await,
        &url("/unavailable"),
        503,
    );
    assert_parse(
        openirl::fetch(&http, &url("/html"), TIMEOUT).await,
        ServerKind::OpenIrl,
        "expected JSON, got HTML",
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable_with_a_reason() {
    let base = closed_port().await;
    let http = client(&stream_control::tls::Tls::system());
    let stat = format!("{base}/stat");
    assert_unreachable(
        nginx::fetch(&http, &stat, "publish", "test", TIMEOUT).await,
        &stat,
    );
    let stats = format!("{base}/stats");
    assert_unreachable(sls::fetch(&http, &stats, None, TIMEOUT).await, &stats);
    let path = format!("{base}/v3/paths/get/live");
    assert_unreachable(mediamtx::fetch(&http, &path, TIMEOUT).await, &path);
    assert_unreachable(
        nimble::fetch(&http, &base, "0.0.0.0:4000", "live", "irl", TIMEOUT).await,
        &format!("{base}/manage/rtmp_status"),
    );
}
