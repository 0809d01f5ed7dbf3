//! nginx-rtmp `stat` page (XML).
//!
//! **Endpoint**: one `GET <url>`, the HTTP location with `rtmp_stat all;` (usually
//! `http://127.0.0.1:8080/stat`). An `rtmp_stat_stylesheet` only adds a processing instruction;
//! the body stays XML.
//!
//! **Shape**: `rtmp/server/application[name]/live/stream[name]`, each stream with cumulative
//! `bytes_in`, averaged `bw_in`/`bw_video` (bits per second, refreshed every few seconds) and one
//! `<client>` per connection. Several `<server>` blocks may appear; all are searched.
//!
//! **Fields read**: application `name`, stream `name`, the stream's `<client>` elements (a
//! `<publishing/>` child marks the publisher), `bytes_in` (the counter, bytes), `bw_video` (or,
//! when it is missing or 0, `bw_in`) as the fallback rate; 0 there too is no fallback (nginx has
//! not measured a 10 s interval yet), never a rate of 0 kbps.
//!
//! **Reading**: `Reading::Counter { bytes: bytes_in, fallback: Some(bw_video or bw_in in kbps),
//! rtt: None }` (RTMP has no RTT here).
//!
//! **NoPublisher**: the application exists and the stream is not in it (nginx drops streams
//! nobody publishes), or the stream exists with no `<client>` that is `<publishing/>` (nginx keeps
//! idle streams, e.g. with `idle_streams on` or while players wait). A missing application is a
//! configuration error ([`StatsError::Parse`] naming the applications found), not "offline".
//!
//! **Units**: bytes; bits per second → kbps by ÷ 1000 (SI, rounded half up). NOALBS divides by
//! 1024, which under-reports by 2.3 %.
//!
//! **Sources**: the real capture in `tests/fixtures/stats/nginx_stat_sample.xml`; NOALBS
//! `src/stream_servers/nginx.rs` (paths, and its test body with an idle-style stream);
//! nginx-rtmp-module `stat.xsl` (element names).

use super::json::{self as common, error};
use super::{Reading, ServerKind, StatsError};
use roxmltree::{Document, Node, ParsingOptions};
use std::time::Duration;

const KIND: ServerKind = ServerKind::NginxRtmp;

/// Deepest element nesting accepted. A stat page nests 8 levels; the XML parser recurses per
/// level, so hostile input must not reach it.
const MAX_DEPTH: usize = 64;

/// Reads an nginx-rtmp stat page for `application`/`stream`. See the module documentation.
pub fn parse(body: &[u8], application: &str, stream: &str) -> Result<Reading, StatsError> {
    let document_text = text(body)?;
    if nesting_depth(document_text.as_bytes()) > MAX_DEPTH {
        return Err(error(
            KIND,
            format!("the XML nests more than {MAX_DEPTH} elements deep: not a stat page"),
        ));
    }
    let options = ParsingOptions {
        allow_dtd: false,
        // Bounds memory on hostile input; a real page has a few dozen nodes per client.
        nodes_limit: 1_000_000,
    };
    let document = Document::parse_with_options(document_text, options)
        .map_err(|e| error(KIND, format!("invalid XML: {e}")))?;
    let root = document.root_element();
    if !root.has_tag_name("rtmp") {
        return Err(error(
            KIND,
            format!(
                "expected an nginx-rtmp stat page (`<rtmp>`), the root element is `<{}>`",
                common::clip(root.tag_name().name(), 40)
            ),
        ));
    }

    let applications: Vec<Node> = children(root, "server")
        .flat_map(|server| children(server, "application"))
        .collect();
    let wanted: Vec<Node> = applications
        .iter()
        .copied()
        .filter(|app| child_text(*app, "name") == Some(application))
        .collect();
    if wanted.is_empty() {
        let names: Vec<&str> = applications
            .iter()
            .filter_map(|app| child_text(*app, "name"))
            .collect();
        let case = if names.iter().any(|n| n.eq_ignore_ascii_case(application)) {
            "; names are case-sensitive"
        } else {
            ""
        };
        return Err(error(
            KIND,
            format!(
                "no application `{}` (found: {}){case}",
                common::clip(application, 64),
                common::list_names(names)
            ),
        ));
    }

    let found = wanted
        .iter()
        .flat_map(|app| children(*app, "live"))
        .flat_map(|live| children(live, "stream"))
        .find(|node| child_text(*node, "name") == Some(stream));
    let Some(node) = found else {
        return Ok(Reading::NoPublisher);
    };
    let publishing =
        children(node, "client").any(|client| children(client, "publishing").count() > 0);
    if !publishing {
        return Ok(Reading::NoPublisher);
    }

    let label = format!(
        "stream `{}` in application `{}`",
        common::clip(stream, 64),
        common::clip(application, 64)
    );
    let bytes = match child_text(node, "bytes_in") {
        Some(text) => text.parse::<u64>().map_err(|_| {
            error(
                KIND,
                format!(
                    "{label} has `bytes_in` {}, expected a whole number",
                    common::quote(text)
                ),
            )
        })?,
        None => return Err(error(KIND, format!("{label} has no `bytes_in`"))),
    };
    // 0 is "not measured yet" (a publisher's first 10 s), never a rate to decide on.
    let fallback = bits_per_second(node, "bw_video")
        .filter(|bps| *bps > 0)
        .or_else(|| bits_per_second(node, "bw_in"))
        .filter(|bps| *bps > 0)
        .map(common::bps_to_kbps);
    Ok(Reading::Counter {
        bytes,
        fallback,
        rtt: None,
    })
}

/// GETs the stat page and parses it; a non-2xx answer is [`StatsError::Http`].
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

/// The body as text, or why it cannot be the stat XML (empty, JSON, HTML, not UTF-8).
fn text(body: &[u8]) -> Result<&str, StatsError> {
    let trimmed = common::trim_start(body);
    match trimmed.first() {
        None => return Err(error(KIND, "the body is empty")),
        Some(b'{' | b'[') => {
            let reason = "expected the nginx-rtmp stat XML, got JSON".to_string();
            return Err(match serde_json::from_slice(trimmed) {
                Ok(value) => common::with_hint(KIND, &value, reason),
                Err(_) => error(KIND, reason),
            });
        }
        Some(_) if common::is_html(trimmed) => {
            return Err(error(
                KIND,
                common::markup_reason(trimmed, "the nginx-rtmp stat XML")
                    + "; the URL must be the location with `rtmp_stat all;`",
            ));
        }
        Some(_) => {}
    }
    std::str::from_utf8(trimmed).map_err(|e| {
        error(
            KIND,
            format!("expected the nginx-rtmp stat XML, got bytes that are not UTF-8 text ({e})"),
        )
    })
}

/// How deep elements nest, counted without a full parse. Comments, CDATA, processing
/// instructions and quoted attribute values are skipped, so it never under-counts the parser's
/// depth (it may over-count on malformed input, which is refused anyway).
fn nesting_depth(text: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0usize;
    while let Some(rest) = text.get(i..) {
        let Some(offset) = rest.iter().position(|b| *b == b'<') else {
            break;
        };
        let tag = rest.get(offset..).unwrap_or_default();
        let skip_to = |end: &[u8]| {
            tag.windows(end.len())
                .position(|w| w == end)
                .map_or(text.len(), |p| i + offset + p + end.len())
        };
        i = if tag.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if tag.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if tag.starts_with(b"<?") {
            skip_to(b"?>")
        } else if tag.starts_with(b"<!") {
            skip_to(b">")
        } else if tag.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i + offset + 2
        } else {
            let mut quote = None;
            let mut end = None;
            for (j, byte) in tag.iter().enumerate().skip(1) {
                match (quote, *byte) {
                    (Some(q), b) if b == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(*byte),
                    (None, b'>') => {
                        end = Some(j);
                        break;
                    }
                    (None, _) => {}
                }
            }
            let self_closing = end.is_some_and(|j| tag.get(j.wrapping_sub(1)) == Some(&b'/'));
            if !self_closing {
                depth = depth.saturating_add(1);
                deepest = deepest.max(depth);
            }
            end.map_or(text.len(), |j| i + offset + j + 1)
        };
    }
    deepest
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |child| child.has_tag_name(name))
}

/// The trimmed text of the first `name` child element.
fn child_text<'a>(node: Node<'a, '_>, name: &'static str) -> Option<&'a str> {
    children(node, name)
        .next()
        .and_then(|child| child.text())
        .map(str::trim)
}

/// A bits-per-second element, when present and a whole number.
fn bits_per_second(node: Node, name: &'static str) -> Option<u64> {
    child_text(node, name)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::json::testing::{Expect, GARBAGE, HTML, NGINX, assert_expected, truncated};
    use super::*;
    use commands::Kbps;
    use proptest::prelude::*;

    const IDLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/nginx_idle_streams.xml"
    ));
    const SLS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats/sls_publishers.json"
    ));

    fn counter(bytes: u64, fallback: Option<u32>) -> Expect {
        Expect::Is(Reading::Counter {
            bytes,
            fallback: fallback.map(Kbps),
            rtt: None,
        })
    }

    fn check(name: &str, body: &[u8], application: &str, stream: &str, expected: &Expect) {
        assert_expected(name, KIND, parse(body, application, stream), expected);
    }

    #[test]
    fn parses_stat_pages() {
        let cases: &[(&str, &[u8], &str, &str, Expect)] = &[
            (
                "the captured publisher: bytes_in, bw_video 2577576 bps → 2578 kbps",
                NGINX,
                "publish",
                "test",
                counter(3_837_829, Some(2578)),
            ),
            (
                "a restream endpoint with its own publisher (client 6); bw_video 0 → bw_in",
                NGINX,
                "restream",
                "ep1",
                counter(3_241_164, Some(2233)),
            ),
            (
                "a stream the application does not have",
                NGINX,
                "publish",
                "nope",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an application the server does not have",
                NGINX,
                "live",
                "test",
                Expect::Fails(&["no application `live` (found: publish, restream)"]),
            ),
            (
                "names are case-sensitive",
                NGINX,
                "Publish",
                "test",
                Expect::Fails(&["no application `Publish`", "case-sensitive"]),
            ),
            (
                "an idle stream whose clients are players, none publishing",
                IDLE,
                "live",
                "feed",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an idle stream with no clients at all",
                IDLE,
                "live",
                "cam",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "an application with no streams",
                IDLE,
                "empty",
                "feed",
                Expect::Is(Reading::NoPublisher),
            ),
            (
                "a second <server> block; no bw_video → bw_in",
                IDLE,
                "backup",
                "feed",
                counter(46_207_311, Some(6123)),
            ),
            (
                "applications from every server are listed",
                IDLE,
                "publish",
                "feed",
                Expect::Fails(&["(found: live, empty, backup)"]),
            ),
            (
                "an HTML error page",
                HTML,
                "publish",
                "test",
                Expect::Fails(&["got HTML", "502 Bad Gateway", "rtmp_stat all;"]),
            ),
            (
                "SLS JSON",
                SLS,
                "publish",
                "test",
                Expect::Fails(&["got JSON", "set the type to SrtLiveServer"]),
            ),
            (
                "truncated XML",
                truncated(NGINX),
                "publish",
                "test",
                Expect::Fails(&["invalid XML"]),
            ),
            (
                "garbage",
                GARBAGE,
                "publish",
                "test",
                Expect::Fails(&["not UTF-8"]),
            ),
            (
                "empty body",
                b"  \n",
                "publish",
                "test",
                Expect::Fails(&["empty"]),
            ),
            (
                "another XML document",
                b"<?xml version=\"1.0\"?><feed><entry/></feed>",
                "publish",
                "test",
                Expect::Fails(&["the root element is `<feed>`"]),
            ),
            (
                "a publisher with a broken counter",
                b"<rtmp><server><application><name>a</name><live><stream><name>s</name>\
                  <bytes_in>-1</bytes_in><client><publishing/></client></stream></live>\
                  </application></server></rtmp>",
                "a",
                "s",
                Expect::Fails(&["`bytes_in` \"-1\""]),
            ),
            (
                "a publisher without a counter",
                b"<rtmp><server><application><name>a</name><live><stream><name>s</name>\
                  <client><publishing/></client></stream></live></application></server></rtmp>",
                "a",
                "s",
                Expect::Fails(&["has no `bytes_in`"]),
            ),
            (
                "no rates at all: no fallback",
                b"<rtmp><server><application><name>a</name><live><stream><name>s</name>\
                  <bytes_in>18446744073709551615</bytes_in><bw_video>x</bw_video>\
                  <client><publishing/></client></stream></live></application></server></rtmp>",
                "a",
                "s",
                counter(u64::MAX, None),
            ),
            (
                "a DTD is refused",
                b"<?xml version=\"1.0\"?><!DOCTYPE rtmp [<!ENTITY a \"aaaa\">]><rtmp>&a;</rtmp>",
                "a",
                "s",
                Expect::Fails(&["invalid XML"]),
            ),
        ];
        for (name, body, application, stream, expected) in cases {
            check(name, body, application, stream, expected);
        }
    }

    #[test]
    fn measures_nesting_without_parsing() {
        assert_eq!(nesting_depth(NGINX), 8);
        assert_eq!(
            nesting_depth(b"<a><b/><c x='/>'><!-- </a></a> --></c></a>"),
            2
        );
        assert_eq!(nesting_depth(b"<a><![CDATA[</a></a>]]><b>"), 2);
        assert_eq!(nesting_depth(b"<a x=\"unterminated"), 1);
    }

    #[test]
    fn survives_deep_nesting() {
        let depth = 50_000;
        let mut body = "<rtmp>".to_string();
        body.push_str(&"<a>".repeat(depth));
        body.push_str(&"</a>".repeat(depth));
        body.push_str("</rtmp>");
        assert!(matches!(
            parse(body.as_bytes(), "a", "s"),
            Err(StatsError::Parse { .. })
        ));
    }

    /// An nginx stat page built from the grammar's pieces, with random names and values.
    fn stat_page() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            (0u64..10_000_000).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("-1".to_string()),
            Just(String::new()),
            "[a-z]{0,4}",
        ];
        let client = (any::<bool>(), any::<bool>()).prop_map(|(publishing, active)| {
            format!(
                "<client><id>1</id>{}{}</client>",
                if publishing { "<publishing/>" } else { "" },
                if active { "<active/>" } else { "" }
            )
        });
        let stream = (
            "[a-c]{1,2}",
            proptest::option::of(number.clone()),
            proptest::option::of(number.clone()),
            proptest::option::of(number),
            proptest::collection::vec(client, 0..3),
        )
            .prop_map(|(name, bytes, video, bw_in, clients)| {
                let field = |tag: &str, value: Option<String>| {
                    value
                        .map(|v| format!("<{tag}>{v}</{tag}>"))
                        .unwrap_or_default()
                };
                format!(
                    "<stream><name>{name}</name>{}{}{}{}</stream>",
                    field("bytes_in", bytes),
                    field("bw_video", video),
                    field("bw_in", bw_in),
                    clients.concat()
                )
            });
        let application =
            ("[a-c]{1,2}", proptest::collection::vec(stream, 0..3)).prop_map(|(name, streams)| {
                format!(
                    "<application><name>{name}</name><live>{}</live></application>",
                    streams.concat()
                )
            });
        proptest::collection::vec(application, 0..4).prop_map(|apps| {
            format!(
                "<?xml version=\"1.0\"?><rtmp><server>{}</server></rtmp>",
                apps.concat()
            )
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, "a", "b");
        }

        #[test]
        fn never_panics_on_stat_pages(page in stat_page(), app in "[a-c]{1,2}",
                                      stream in "[a-c]{1,2}", cut in any::<prop::sample::Index>()) {
            let _ = parse(page.as_bytes(), &app, &stream);
            let cut = cut.index(page.len() + 1);
            let _ = parse(page.as_bytes().get(..cut).unwrap_or_default(), &app, &stream);
        }
    }
}
