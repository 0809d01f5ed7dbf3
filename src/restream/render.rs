//! The nginx include and the stunnel configuration, from the endpoints. Pure: no I/O, no
//! clock; golden-tested (`tests/it/restream.rs` against `tests/fixtures/restream/`).
//!
//! The include holds only `push` lines (one per enabled endpoint), never a whole nginx.conf:
//! the operator's `application` block includes it. nginx-rtmp cannot push RTMPS, so each
//! enabled `rtmps://` endpoint gets a local stunnel client port (`first_port`, the next…), its
//! push goes to `rtmp://127.0.0.1:<port>/<path>/<key>`, and the stunnel file names the real
//! ingest with certificate checks.

use super::endpoint::{Endpoint, EndpointError};
use crate::config::StunnelConfig;
use std::fmt::Write;

/// What one render produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The nginx include file's text.
    pub include: String,
    /// The stunnel configuration's text, when `restream.stunnel` is configured.
    pub stunnel: Option<String>,
    /// The enabled endpoints' names, in push order.
    pub pushing: Vec<String>,
    /// Whether any enabled endpoint goes through stunnel.
    pub uses_stunnel: bool,
}

/// The include with no endpoint (also what a missing include is restored to).
pub const INCLUDE_HEADER: &str = "\
# Written by stream-control: one push per enabled restream endpoint.
# Do not edit: every change from the bot rewrites it. Include it inside the rtmp
# application that receives the stream (docs/setup.md, \"Restream\").
";

/// The stunnel configuration with no endpoint.
pub const STUNNEL_HEADER: &str = "\
; Written by stream-control: one stunnel client per enabled RTMPS restream endpoint.
; Do not edit: every change from the bot rewrites it.
";

/// The stunnel configuration with no endpoint: the header and the global options. stunnel
/// starts as root (systemd's `stunnel@` unit) and drops to `setuid`/`setgid` once its ports are
/// bound ("setuid = USER: setuid() to USER in daemon mode", stunnel(8), GLOBAL OPTIONS), so a
/// file rewritten by a compromised bot user cannot run anything as root through stunnel.
pub fn stunnel_empty(stunnel: &StunnelConfig) -> String {
    format!(
        "{STUNNEL_HEADER}setuid = {}\nsetgid = {}\n",
        stunnel.user, stunnel.group
    )
}

/// Render both files. Refuses an enabled RTMPS endpoint when stunnel is not configured.
pub fn render(
    endpoints: &[Endpoint],
    stunnel: Option<&StunnelConfig>,
) -> Result<Rendered, EndpointError> {
    let mut include = String::from(INCLUDE_HEADER);
    let mut tunnels = stunnel.map(stunnel_empty).unwrap_or_default();
    let mut pushing = Vec::new();
    let mut next_port = stunnel.map(|s| s.first_port);
    let mut uses_stunnel = false;
    for endpoint in endpoints.iter().filter(|e| e.enabled()) {
        let base = endpoint.base();
        let name = endpoint.name();
        let platform = endpoint.platform();
        if base.is_secure() {
            let (Some(stunnel), Some(port)) = (stunnel, next_port) else {
                return Err(EndpointError::RtmpsNeedsStunnel);
            };
            next_port = port.checked_add(1);
            uses_stunnel = true;
            let _ = writeln!(
                include,
                "# {name} ({platform}, RTMPS through stunnel on 127.0.0.1:{port})\npush rtmp://127.0.0.1:{port}/{}/{};",
                base.path(),
                endpoint.key()
            );
            write_tunnel(&mut tunnels, stunnel, name, port, base);
        } else {
            let _ = writeln!(
                include,
                "# {name} ({platform})\npush {base}/{};",
                endpoint.key()
            );
        }
        pushing.push(name.to_string());
    }
    Ok(Rendered {
        include,
        stunnel: stunnel.map(|_| tunnels),
        pushing,
        uses_stunnel,
    })
}

fn write_tunnel(
    out: &mut String,
    stunnel: &StunnelConfig,
    name: &str,
    port: u16,
    base: &super::endpoint::BaseUrl,
) {
    let host = base.host();
    let address = host.trim_start_matches('[').trim_end_matches(']');
    let is_ip = address.parse::<std::net::IpAddr>().is_ok();
    let _ = write!(
        out,
        "\n[restream-{port}]\n; {name}\nclient = yes\naccept = 127.0.0.1:{port}\nconnect = {address}:{}\n",
        base.port_or_default()
    );
    if is_ip {
        let _ = writeln!(out, "checkIP = {address}");
    } else {
        let _ = writeln!(out, "sni = {address}\ncheckHost = {address}");
    }
    let _ = writeln!(
        out,
        "verifyChain = yes\nCAfile = {}",
        stunnel.ca_file.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, url: &str, enabled: bool) -> Endpoint {
        Endpoint::from_push_url(name, url, None, enabled).unwrap()
    }

    #[test]
    fn only_enabled_endpoints_are_pushed() {
        let endpoints = [
            endpoint("One", "rtmp://a.example/app/k1", true),
            endpoint("Two", "rtmp://b.example:1936/live/k2", false),
        ];
        let rendered = render(&endpoints, None).unwrap();
        assert_eq!(
            rendered.include,
            format!("{INCLUDE_HEADER}# One (custom)\npush rtmp://a.example/app/k1;\n")
        );
        assert_eq!(rendered.pushing, ["One"]);
        assert_eq!(rendered.stunnel, None);
        assert!(!rendered.uses_stunnel);
    }

    #[test]
    fn rtmps_without_stunnel_is_refused() {
        let endpoints = [endpoint("S", "rtmps://a.example/app/k", true)];
        assert_eq!(
            render(&endpoints, None),
            Err(EndpointError::RtmpsNeedsStunnel)
        );
        // Disabled, it does not matter.
        let endpoints = [endpoint("S", "rtmps://a.example/app/k", false)];
        assert!(render(&endpoints, None).is_ok());
    }

    #[test]
    fn no_endpoints_is_a_valid_empty_include() {
        let rendered = render(&[], Some(&StunnelConfig::default())).unwrap();
        assert_eq!(rendered.include, INCLUDE_HEADER);
        assert_eq!(
            rendered.stunnel.as_deref(),
            Some(format!("{STUNNEL_HEADER}setuid = stunnel4\nsetgid = stunnel4\n").as_str())
        );
        assert!(!rendered.uses_stunnel);
    }
}
