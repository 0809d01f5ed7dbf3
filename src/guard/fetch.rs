//! One poll of one configured stats server: dispatch to its type's fetch.

use super::stats::{self, Reading, ShownUrl, StatsError};
use crate::config::{StatsServerConfig, StatsServerKind};
use crate::obs::ObsHandle;

/// Fetch and parse one server's stats.
pub async fn fetch(
    client: &stats::Client,
    server: &StatsServerConfig,
    obs: Option<&ObsHandle>,
) -> Result<Reading, StatsError> {
    let timeout = server.timeout;
    match &server.kind {
        StatsServerKind::NginxRtmp {
            url,
            application,
            stream,
        } => stats::nginx::fetch(client, url, application, stream, timeout).await,
        StatsServerKind::SrtLiveServer { url, publisher } => {
            stats::sls::fetch(client, url, publisher.as_deref(), timeout).await
        }
        StatsServerKind::Belabox { url, publisher } => {
            stats::belabox::fetch(client, url, publisher.as_deref(), timeout).await
        }
        StatsServerKind::Mediamtx { url } => stats::mediamtx::fetch(client, url, timeout).await,
        StatsServerKind::Srs {
            url,
            application,
            stream,
        } => stats::srs::fetch(client, url, application, stream, timeout).await,
        StatsServerKind::NodeMediaServer {
            url,
            application,
            stream,
        } => stats::node_media_server::fetch(client, url, application, stream, timeout).await,
        StatsServerKind::Nimble {
            url,
            id,
            application,
            stream,
        } => stats::nimble::fetch(client, url, id, application, stream, timeout).await,
        StatsServerKind::OpenIrl { url } => stats::openirl::fetch(client, url, timeout).await,
        StatsServerKind::Obs => {
            let obs = obs.ok_or_else(|| StatsError::Unreachable {
                url: ShownUrl::obs(),
                reason: "OBS is not configured".into(),
            })?;
            match obs.stream_counter().await {
                Ok((active, bytes)) => Ok(stats::obs::reading(active, bytes)),
                Err(error) => Err(StatsError::Unreachable {
                    url: ShownUrl::obs(),
                    reason: error.to_string(),
                }),
            }
        }
    }
}
