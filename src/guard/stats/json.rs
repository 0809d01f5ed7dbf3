//! Helpers shared by every JSON stats parser (and the nginx XML one): decoding with readable
//! errors, unit conversions that never panic, and "this looks like another server" hints.

use super::{Body, ServerKind, StatsError};
use commands::{Kbps, Millis};
use serde_json::{Map, Value};

/// A [`StatsError::Parse`] for `kind`.
pub(crate) fn error(kind: ServerKind, reason: impl Into<String>) -> StatsError {
    StatsError::Parse {
        kind,
        reason: reason.into(),
    }
}

/// A non-2xx status is [`StatsError::Http`].
pub(crate) fn require_success(url: &str, body: &Body) -> Result<(), StatsError> {
    if (200..300).contains(&body.status) {
        Ok(())
    } else {
        Err(StatsError::Http {
            url: url.into(),
            status: body.status,
        })
    }
}

/// The type's name in the configuration (`type` of a stats server).
pub(crate) fn config_name(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::NginxRtmp => "NginxRtmp",
        ServerKind::SrtLiveServer => "SrtLiveServer",
        ServerKind::Belabox => "Belabox",
        ServerKind::Mediamtx => "Mediamtx",
        ServerKind::Srs => "Srs",
        ServerKind::NodeMediaServer => "NodeMediaServer",
        ServerKind::Nimble => "Nimble",
        ServerKind::OpenIrl => "OpenIrl",
        ServerKind::Obs => "Obs",
    }
}

/// The body without a UTF-8 byte-order mark and leading whitespace.
pub(crate) fn trim_start(body: &[u8]) -> &[u8] {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body.get(start..).unwrap_or_default()
}

/// Parses a JSON body, saying what it is when it is not JSON (empty, HTML, XML).
pub(crate) fn decode(kind: ServerKind, body: &[u8]) -> Result<Value, StatsError> {
    let text = trim_start(body);
    if text.is_empty() {
        return Err(error(kind, "the body is empty"));
    }
    if text.starts_with(b"<") {
        return Err(error(kind, markup_reason(text, "JSON")));
    }
    serde_json::from_slice(text).map_err(|e| {
        let hint = if e.is_eof() {
            " (the body ends early: truncated?)"
        } else {
            ""
        };
        error(kind, format!("invalid JSON: {e}{hint}"))
    })
}

/// Why a body starting with `<` is not what `expected` names.
pub(crate) fn markup_reason(text: &[u8], expected: &str) -> String {
    let head = head_lowercase(text);
    if looks_like_html(&head) {
        match html_title(text) {
            Some(title) => format!(
                "expected {expected}, got HTML (page title \u{201c}{title}\u{201d}): \
                 check the URL, and that nothing in front of the server answers instead"
            ),
            None => format!("expected {expected}, got HTML: check the URL"),
        }
    } else if find(&head, b"<rtmp").is_some() {
        format!(
            "expected {expected}, got XML that looks like an nginx-rtmp stat page: \
             set the type to NginxRtmp"
        )
    } else {
        format!("expected {expected}, got XML or HTML (the body starts with `<`)")
    }
}

/// The first 4 KiB, ASCII-lowercased (same byte offsets as the original).
fn head_lowercase(text: &[u8]) -> Vec<u8> {
    text.get(..text.len().min(4096))
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether a (lowercased) head is an HTML page rather than XML.
pub(crate) fn looks_like_html(head_lowercase: &[u8]) -> bool {
    [
        &b"<!doctype html"[..],
        b"<html",
        b"<head",
        b"<body",
        b"<title",
    ]
    .iter()
    .any(|tag| find(head_lowercase, tag).is_some())
}

/// Whether a body (of any case) starts like an HTML page.
pub(crate) fn is_html(text: &[u8]) -> bool {
    looks_like_html(&head_lowercase(text))
}

/// The `<title>` of an HTML page, cleaned up and shortened, if it has one.
pub(crate) fn html_title(text: &[u8]) -> Option<String> {
    let head = head_lowercase(text);
    let open = find(&head, b"<title")?;
    let start = open + find(head.get(open..)?, b">")? + 1;
    let end = start + find(head.get(start..)?, b"</title")?;
    let raw = String::from_utf8_lossy(text.get(start..end)?);
    let title = clip(&raw.split_whitespace().collect::<Vec<_>>().join(" "), 80);
    (!title.is_empty()).then_some(title)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// At most `max` characters, control characters replaced, `…` when shortened.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let visible: String = text
        .chars()
        .take(max + 1)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::reply::clip(&visible, max + 1)
}

/// A name from the body, quoted for a message (`"publish/live/feed"`), shortened.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", clip(name, 64))
}

/// `a, b, c` (deduplicated, at most 12, shortened), or `none`.
pub(crate) fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = unique.iter().take(12).map(|n| clip(n, 40)).collect();
    let mut list = shown.join(", ");
    if unique.len() > 12 {
        list.push_str(&format!(" and {} more", unique.len() - 12));
    }
    list
}

/// A short description of a JSON value for messages: `null`, `a list`, `"abc"`, `-5`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => clip(&n.to_string(), 24),
        Value::String(s) => format!("the text {}", quote(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A rate in kbps from a JSON number (integer or float), rounded.
pub(crate) fn kbps(
    kind: ServerKind,
    value: Option<&Value>,
    what: &str,
) -> Result<Kbps, StatsError> {
    match value {
        None => Err(error(kind, format!("missing field `{what}`"))),
        Some(value) => match number_u32(value) {
            Ok(n) => Ok(Kbps(n)),
            Err(problem) => Err(error(
                kind,
                format!("`{what}` is {problem}, expected a number of kbps"),
            )),
        },
    }
}

/// A time in ms from a JSON number (integer or float), rounded; missing or `null` is `None`.
pub(crate) fn optional_millis(
    kind: ServerKind,
    value: Option<&Value>,
    what: &str,
) -> Result<Option<Millis>, StatsError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match number_u32(value) {
            Ok(n) => Ok(Some(Millis(n))),
            Err(problem) => Err(error(
                kind,
                format!("`{what}` is {problem}, expected a number of milliseconds"),
            )),
        },
    }
}

/// A cumulative counter (bytes) from a JSON integer.
pub(crate) fn counter(
    kind: ServerKind,
    value: Option<&Value>,
    what: &str,
) -> Result<u64, StatsError> {
    match value {
        None => Err(error(kind, format!("missing field `{what}`"))),
        Some(value) => value.as_u64().ok_or_else(|| {
            error(
                kind,
                format!(
                    "`{what}` is {}, expected a whole number of bytes",
                    describe(value)
                ),
            )
        }),
    }
}

/// A non-negative JSON number rounded to `u32`, or what is wrong with it.
fn number_u32(value: &Value) -> Result<u32, String> {
    if let Some(n) = value.as_u64() {
        return u32::try_from(n).map_err(|_| format!("{n} (too large)"));
    }
    match value.as_f64() {
        Some(f) => round_u32(f).ok_or_else(|| match f {
            f if f < 0.0 => format!("{} (negative)", clip(&f.to_string(), 24)),
            f => format!("{} (too large)", clip(&f.to_string(), 24)),
        }),
        None => Err(describe(value)),
    }
}

/// `f` rounded, when it is finite, not negative and fits a `u32`.
pub(crate) fn round_u32(f: f64) -> Option<u32> {
    let rounded = f.round();
    // `-0.4` rounds to `-0.0`, which is fine; `-0.6` is not.
    (rounded.is_finite() && rounded >= 0.0 && rounded <= f64::from(u32::MAX))
        .then_some(rounded as u32)
}

/// Bits per second to kbps, SI (÷ 1000, rounded half up), saturating at `u32::MAX`.
pub(crate) fn bps_to_kbps(bps: u64) -> Kbps {
    let kbps = bps / 1000 + u64::from(bps % 1000 >= 500);
    Kbps(u32::try_from(kbps).unwrap_or(u32::MAX))
}

/// An error for a `status` other than `"ok"`, with the server's `message`/`error`.
pub(crate) fn check_status(
    kind: ServerKind,
    object: &Map<String, Value>,
) -> Result<(), StatsError> {
    let Some(status) = object.get("status").and_then(Value::as_str) else {
        return Ok(());
    };
    if status.eq_ignore_ascii_case("ok") {
        return Ok(());
    }
    let said = ["message", "error"]
        .iter()
        .find_map(|field| object.get(*field).and_then(Value::as_str))
        .map(|text| format!(": {}", clip(text, 120)))
        .unwrap_or_default();
    Err(error(
        kind,
        format!("the server reports status {}{said}", quote(status)),
    ))
}

/// Which server type a JSON body looks like, from fields only that type sends.
pub(crate) fn guess(root: &Value) -> Option<ServerKind> {
    let has = |field: &str| root.get(field).is_some();
    if let Some(Value::Object(publishers)) = root.get("publishers") {
        let fields = || publishers.values().filter_map(Value::as_object);
        if fields().any(|p| p.contains_key("dropped_pkts")) {
            return Some(ServerKind::Belabox);
        }
        let camel = ["mbpsRecvRate", "mbpsBandwidth", "msRcvBuf", "pktRcvDrop"];
        if fields().any(|p| camel.iter().any(|f| p.contains_key(*f))) {
            return Some(ServerKind::SrtLiveServer);
        }
        return None;
    }
    if has("publisher") {
        Some(ServerKind::OpenIrl)
    } else if has("isLive") {
        Some(ServerKind::NodeMediaServer)
    } else if has("SrtReceivers") {
        Some(ServerKind::Nimble)
    } else if has("inboundBytes")
        || has("bytesReceived")
        || (has("source") && (has("ready") || has("online")))
    {
        Some(ServerKind::Mediamtx)
    } else if root.get("streams").is_some_and(Value::is_array) && has("code") {
        Some(ServerKind::Srs)
    } else if root
        .as_array()
        .and_then(|apps| apps.first())
        .is_some_and(|app| app.get("app").is_some() && app.get("streams").is_some())
    {
        Some(ServerKind::Nimble)
    } else {
        None
    }
}

/// `reason`, plus "this looks like X stats, not Y: set the type to Z" when it does.
pub(crate) fn with_hint(kind: ServerKind, root: &Value, reason: String) -> StatsError {
    match guess(root) {
        Some(other) if other != kind => error(
            kind,
            format!(
                "{reason}; this looks like {other} stats, not {kind}: set the type to {}",
                config_name(other)
            ),
        ),
        _ => error(kind, reason),
    }
}

/// `text` percent-encoded for use as one URL path segment.
pub(crate) fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `base` without trailing slashes, then `/` and `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path)
}

/// Test helpers shared by the parsers' unit tests: fixtures and proptest strategies.
#[cfg(test)]
pub(crate) mod testing {
    use crate::guard::stats::{Reading, ServerKind, StatsError};
    use proptest::prelude::*;
    use serde_json::Value;

    /// An HTML error page as a reverse proxy sends it (status 200 or 502).
    pub(crate) const HTML: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/html_error_page.html"
    ));
    /// The real nginx-rtmp capture.
    pub(crate) const NGINX: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nginx_stat_sample.xml"
    ));
    /// Random bytes, as a misconfigured port might send.
    pub(crate) const GARBAGE: &[u8] = b"\x00\x9f\x92\x96 \xff\xfe{\"publishers\"\x01";

    /// The first half of a body, as a connection cut mid-transfer leaves it.
    pub(crate) fn truncated(body: &[u8]) -> &[u8] {
        body.get(..body.len() / 2).unwrap_or_default()
    }

    /// What a parse should give: a reading, or a parse error whose reason contains every piece.
    #[derive(Debug)]
    pub(crate) enum Expect {
        Is(Reading),
        Fails(&'static [&'static str]),
    }

    /// Compares a parse result with an expectation, naming the case on failure.
    pub(crate) fn assert_expected(
        name: &str,
        kind: ServerKind,
        got: Result<Reading, StatsError>,
        expected: &Expect,
    ) {
        match (got, expected) {
            (Ok(reading), Expect::Is(want)) => assert_eq!(&reading, want, "case `{name}`"),
            (Err(StatsError::Parse { kind: k, reason }), Expect::Fails(pieces)) => {
                assert_eq!(k, kind, "case `{name}`: wrong kind in {reason:?}");
                for piece in *pieces {
                    assert!(
                        reason.contains(piece),
                        "case `{name}`: {reason:?} does not mention {piece:?}"
                    );
                }
            }
            (got, want) => panic!("case `{name}`: got {got:?}, expected {want:?}"),
        }
    }

    /// Any JSON value, nested a few levels, with the numbers that break naive code.
    pub(crate) fn any_json() -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just(-1.0),
                Just(0.0),
                Just(1.0),
                Just(0.5),
                Just(1e300),
                Just(4_294_967_295.6)
            ]
            .prop_map(Value::from),
            "[a-z0-9 ./:]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
    }

    /// A JSON object with these fields (each present or not), values from `value`.
    pub(crate) fn object_with(
        fields: &'static [&'static str],
        value: BoxedStrategy<Value>,
    ) -> BoxedStrategy<Value> {
        proptest::collection::vec(proptest::option::of(value), fields.len())
            .prop_map(move |values| {
                let map = fields
                    .iter()
                    .zip(values)
                    .filter_map(|(field, value)| Some(((*field).to_string(), value?)))
                    .collect();
                Value::Object(map)
            })
            .boxed()
    }

    /// A plausible field value: mostly numbers, sometimes the wrong type.
    pub(crate) fn field_value() -> BoxedStrategy<Value> {
        prop_oneof![
            4 => prop_oneof![
                (0u64..10_000).prop_map(Value::from),
                (-10.0f64..100_000.0).prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
            ],
            1 => any_json(),
        ]
        .boxed()
    }
}
