//! The `tls` section: certificate authorities trusted besides the system's.

use serde::Deserialize;
use std::path::PathBuf;

/// Outgoing TLS (Helix, OAuth, EventSub, Discord's API, stats pages, the nginx control URL): which certificate
/// authorities are trusted besides the system's roots. One configuration for HTTP and WebSocket
/// alike: see `tls`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM files of extra certificate authorities, one or more certificates each (a
    /// self-signed stats server's, a local proxy's). Default: none.
    #[serde(default)]
    pub extra_ca_files: Vec<PathBuf>,
}

pub(super) fn validate_tls(tls: &TlsConfig, problem: &mut impl FnMut(String, String)) {
    for (i, path) in tls.extra_ca_files.iter().enumerate() {
        if let Err(error) = crate::tls::read_ca_file(path) {
            problem(format!("tls.extra_ca_files[{i}]"), error.to_string());
        }
    }
}
