//! The `tls` section: certificate authorities trusted besides the system's.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
        if let Err(error) = read_ca_file(path) {
            problem(format!("tls.extra_ca_files[{i}]"), error.to_string());
        }
    }
}

/// Why an extra CA file cannot be used; `reason` says why, for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct CaFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// The certificates of one extra CA file: PEM, one or more `CERTIFICATE` sections, each usable
/// as a trust anchor. Other PEM sections (a key, say) are skipped.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let problem = |reason: String| CaFileError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = read_small_file(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(problem(
            "not a PEM file (no `-----BEGIN CERTIFICATE-----` line)".into(),
        ));
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("not a valid PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(problem(
            "no certificate in it (no `-----BEGIN CERTIFICATE-----` section)".into(),
        ));
    }
    for (i, cert) in certs.iter().enumerate() {
        if let Err(e) = webpki_anchor(cert) {
            return Err(problem(format!(
                "certificate {} of {} cannot be a certificate authority: {e}",
                i + 1,
                certs.len()
            )));
        }
    }
    Ok(certs)
}

/// The largest extra CA file read (a distribution's whole bundle is about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A regular file's bytes, at most [`MAX_CA_FILE_BYTES`] (`/dev/zero` or a FIFO would never end).
fn read_small_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    // Before opening: opening a FIFO waits for a writer.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(std::io::Error::other("larger than 16 MiB"));
    }
    Ok(bytes)
}

fn webpki_anchor(cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    RootCertStore::empty().add(cert.clone().into_owned())
}
