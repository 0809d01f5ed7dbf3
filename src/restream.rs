//! Restream endpoints pushed by nginx-rtmp. Commands: `handlers::restream`; parsing:
//! `commands::restream`.
//!
//! The endpoints live in the state directory (`restream.json`, 0600, written atomically);
//! every change renders the nginx include (and the stunnel file) from them, applies it
//! (`apply`: backup, `nginx -t`, reload, rollback on failure) and only then saves the store,
//! so a refused change leaves both nginx and the store as they were. Status carries the
//! endpoints without keys; every key is registered with the redactor.
//!
//! Changes are serialised by an async mutex: nginx's files are one shared resource, and two
//! changes must not interleave their backups and reloads. It orders changes only; nothing reads
//! through it, so `list` and Status never wait on an apply.

pub mod apply;
pub mod endpoint;
pub mod render;

use crate::config::{ProgramsConfig, RestreamConfig};
use crate::reply::Progress;
use crate::reply::{Outcome, Reply, keys};
use crate::secrets::Redactor;
use crate::state_store::StateDir;
use crate::status::{ApplyStatus, EndpointStatus, Event};
use apply::{Applied, ApplyError, Stage, Step};
use endpoint::{Endpoint, EndpointError, StoreError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub use crate::config::MAX_ENDPOINTS;

/// Why a restream command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RestreamError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refused: {0}")]
    Invalid(#[from] EndpointError),
    #[error("no endpoint named `{name}`")]
    Unknown { name: String, names: Vec<String> },
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl RestreamError {
    /// The localised answer.
    pub fn reply(&self) -> Reply {
        match self {
            RestreamError::Store(error) => error.reply(),
            RestreamError::Invalid(error) => Reply::new(keys::RESTREAM_REFUSED)
                .message("reason", error.reply())
                .with_outcome(Outcome::Refused),
            RestreamError::Unknown { name, names } => Reply::new(keys::RESTREAM_UNKNOWN)
                .arg("name", name.clone())
                .message("names", names_reply(names))
                .with_outcome(Outcome::Refused),
            RestreamError::Apply(error) => {
                let key = match (error.stage, &error.rollback_error) {
                    (_, Some(_)) => keys::RESTREAM_ROLLBACK_FAILED,
                    (Stage::Write, None) => keys::RESTREAM_WRITE_FAILED,
                    (Stage::Stunnel, None) => keys::RESTREAM_STUNNEL_FAILED,
                    (Stage::Test | Stage::Reload, None) => keys::RESTREAM_APPLY_FAILED,
                };
                Reply::new(key)
                    .arg("error", error.error.clone())
                    .arg("rollback", error.rollback_error.clone().unwrap_or_default())
                    .with_outcome(Outcome::Failed)
            }
        }
    }
}

/// Names joined with ", ", or the localised "none".
pub fn names_reply(names: &[String]) -> Reply {
    if names.is_empty() {
        Reply::new(keys::STATUS_NONE)
    } else {
        Reply::new(keys::RESTREAM_NAMES).arg("names", names.join(", "))
    }
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The endpoint's name as stored.
    pub name: String,
    /// Nothing to change (already on, already off).
    pub already: bool,
    /// The enabled endpoints after the change.
    pub pushing: Vec<String>,
    pub applied: Applied,
}

/// The restream feature: the store, the renderer and the apply, behind one change lock.
#[derive(Debug)]
pub struct Restream {
    config: RestreamConfig,
    programs: ProgramsConfig,
    /// For the nginx control URL when it is `https`.
    tls: crate::tls::Tls,
    state: StateDir,
    redactor: Redactor,
    status: crate::status::Publisher<Option<crate::status::RestreamStatus>>,
    events: crate::status::EventBus,
    /// Orders changes (see the module doc).
    changes: tokio::sync::Mutex<()>,
}

impl Restream {
    /// Set up the feature (when configured) and teach the redactor every stored key.
    pub fn new(
        config: &crate::config::Config,
        tls: &crate::tls::Tls,
        redactor: Redactor,
        status: crate::status::Publisher<Option<crate::status::RestreamStatus>>,
        events: crate::status::EventBus,
    ) -> Option<Restream> {
        let restream = Restream {
            config: config.restream.clone()?,
            programs: config.programs.clone(),
            tls: tls.clone(),
            state: StateDir::new(&config.state_dir),
            redactor,
            status,
            events,
            changes: tokio::sync::Mutex::new(()),
        };
        let loaded = endpoint::load(&restream.state);
        if let Ok(endpoints) = &loaded {
            for e in endpoints {
                restream.redactor.add(e.key());
            }
        }
        restream.publish(loaded.as_deref().unwrap_or_default(), None);
        Some(restream)
    }

    /// The stored endpoints.
    pub fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        endpoint::load(&self.state)
    }

    /// Turn an endpoint on or off and apply.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
        progress: &Progress,
    ) -> Result<Change, RestreamError> {
        let _order = self.changes.lock().await;
        let old = self.list()?;
        let mut new = old.clone();
        let index = find(&new, name)?;
        let already = new[index].enabled() == enabled;
        new[index].set_enabled(enabled);
        let name = new[index].name().to_string();
        // Applied even when unchanged: a no-op unless the files are out of date.
        let applied = self.commit(&old, &new, progress).await?;
        Ok(change(name, already, &new, applied))
    }

    /// Add an endpoint (enabled) from its full push URL and apply.
    pub async fn add(
        &self,
        name: &str,
        url: &str,
        progress: &Progress,
    ) -> Result<Change, RestreamError> {
        let _order = self.changes.lock().await;
        let endpoint = Endpoint::from_push_url(name, url, None, true)?;
        self.redactor.add(endpoint.key());
        if endpoint.base().is_secure() && self.config.stunnel.is_none() {
            return Err(EndpointError::RtmpsNeedsStunnel.into());
        }
        let old = self.list()?;
        endpoint::check_unique(&old, endpoint.name())?;
        if old.len() >= MAX_ENDPOINTS {
            return Err(EndpointError::TooMany.into());
        }
        let name = endpoint.name().to_string();
        let mut new = old.clone();
        new.push(endpoint);
        let applied = self.commit(&old, &new, progress).await?;
        Ok(change(name, false, &new, applied))
    }

    /// Remove an endpoint and apply.
    pub async fn remove(&self, name: &str, progress: &Progress) -> Result<Change, RestreamError> {
        let _order = self.changes.lock().await;
        let old = self.list()?;
        let mut new = old.clone();
        let removed = new.remove(find(&new, name)?);
        let applied = self.commit(&old, &new, progress).await?;
        Ok(change(removed.name().to_string(), false, &new, applied))
    }

    /// Bring nginx's files in line with the store (at start: after an import, an upgrade or
    /// a hand edit). A no-op when they match. Never drops the publisher.
    pub async fn sync(&self) -> Result<Applied, RestreamError> {
        let _order = self.changes.lock().await;
        let endpoints = match self.list() {
            Ok(endpoints) => endpoints,
            Err(error) => {
                self.record(Err(self.redactor.redact(&error.to_string())), &[]);
                return Err(error.into());
            }
        };
        let result = self.apply(&endpoints, false, &Progress::none()).await;
        match &result {
            Ok(applied) if !applied.changed => self.publish(&endpoints, None),
            _ => {}
        }
        result
    }

    /// Apply `new`, then save it; if saving fails, apply `old` again.
    async fn commit(
        &self,
        old: &[Endpoint],
        new: &[Endpoint],
        progress: &Progress,
    ) -> Result<Applied, RestreamError> {
        let applied = self.apply(new, true, progress).await?;
        if let Err(error) = endpoint::save(&self.state, new) {
            tracing::error!(error = %error, "saving the restream endpoints failed; restoring the previous push list");
            if let Err(again) = self.apply(old, true, &Progress::none()).await {
                tracing::error!(error = %again, "restoring the previous push list failed");
            }
            return Err(error.into());
        }
        self.publish(new, None);
        Ok(applied)
    }

    /// Render and apply `endpoints`; record the outcome in Status and on the bus.
    async fn apply(
        &self,
        endpoints: &[Endpoint],
        drop_publisher: bool,
        progress: &Progress,
    ) -> Result<Applied, RestreamError> {
        let rendered = render::render(endpoints, self.config.stunnel.as_ref())?;
        let env = apply::Environment {
            config: &self.config,
            programs: &self.programs,
            tls: &self.tls,
        };
        let step = |step: Step| {
            progress.send(Reply::new(match step {
                Step::Testing => keys::RESTREAM_TESTING,
                Step::RestartingStunnel => keys::RESTREAM_RESTARTING_STUNNEL,
                Step::DroppingPublisher => keys::RESTREAM_DROPPING,
                Step::Reloading => keys::RESTREAM_RELOADING,
            }))
        };
        let options = apply::Options { drop_publisher };
        match apply::apply(&env, &rendered, options, &step).await {
            Ok(applied) => {
                if applied.changed {
                    tracing::info!(pushing = ?rendered.pushing, "restream push list applied");
                    let _ = self.events.send(Event::RestreamApplied {
                        enabled: rendered.pushing.clone(),
                    });
                    self.record(Ok(()), endpoints);
                }
                Ok(applied)
            }
            Err(mut error) => {
                error.error = self.redactor.redact(&error.error);
                error.rollback_error = error.rollback_error.map(|e| self.redactor.redact(&e));
                tracing::error!(error = %error, "restream apply failed");
                let _ = self.events.send(Event::RestreamApplyFailed {
                    error: error.error.clone(),
                });
                self.record(Err(error.to_string()), &[]);
                Err(error.into())
            }
        }
    }

    /// Status: the apply's outcome (and, on success, the endpoints).
    fn record(&self, outcome: Result<(), String>, endpoints: &[Endpoint]) {
        let last = ApplyStatus {
            ok: outcome.is_ok(),
            at_unix: crate::status::now_unix(),
            error: outcome.err(),
        };
        if last.ok {
            self.publish(endpoints, Some(last));
        } else {
            self.status
                .update(|restream| restream.last_apply = Some(last));
        }
    }

    /// Status: the endpoints (and the apply, when given).
    fn publish(&self, endpoints: &[Endpoint], last_apply: Option<ApplyStatus>) {
        let list: Vec<EndpointStatus> = endpoints.iter().map(endpoint_status).collect();
        self.status.update(|restream| {
            restream.endpoints = list;
            if last_apply.is_some() {
                restream.last_apply = last_apply;
            }
        });
    }
}

/// The endpoints for Status and the Discord panel: never a key.
pub fn endpoint_status(endpoint: &Endpoint) -> EndpointStatus {
    EndpointStatus {
        name: endpoint.name().to_string(),
        platform: endpoint.platform().as_str(),
        enabled: endpoint.enabled(),
        url_masked: endpoint.base().to_string(),
    }
}

/// The endpoints as Status shows them (the Discord control panel's list).
pub fn list(restream: &Restream) -> Vec<EndpointStatus> {
    restream
        .status
        .borrow()
        .restream
        .as_ref()
        .map(|r| r.endpoints.clone())
        .unwrap_or_default()
}

fn change(name: String, already: bool, new: &[Endpoint], applied: Applied) -> Change {
    Change {
        name,
        already,
        pushing: enabled_names(new),
        applied,
    }
}

fn enabled_names(endpoints: &[Endpoint]) -> Vec<String> {
    endpoints
        .iter()
        .filter(|e| e.enabled())
        .map(|e| e.name().to_string())
        .collect()
}

fn find(endpoints: &[Endpoint], name: &str) -> Result<usize, RestreamError> {
    endpoints
        .iter()
        .position(|e| e.is_named(name))
        .ok_or_else(|| RestreamError::Unknown {
            name: name.to_string(),
            names: endpoints.iter().map(|e| e.name().to_string()).collect(),
        })
}

/// The supervised task: bring nginx in line with the store at start, then wait.
pub async fn run(restream: Arc<Restream>, cancel: CancellationToken) -> anyhow::Result<()> {
    match restream.sync().await {
        Ok(applied) if applied.changed => {
            tracing::info!("restream: nginx's push list was out of date and is applied");
        }
        Ok(_) => {}
        Err(error) => {
            tracing::error!(error = %error, "restream: bringing nginx in line with the store failed")
        }
    }
    cancel.cancelled().await;
    Ok(())
}

/// Why an import did not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the restream section is missing from the configuration")]
    NotEnabled,
    #[error("not the seed's rtmp_endpoints.json ({{\"push_endpoints\": […]}}): {0}")]
    Format(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `stream-control restream import FILE`: add the seed's `rtmp_endpoints.json` entries to the
/// store, each validated (the refused ones are reported, never half-imported). nginx is not
/// touched: the bot applies the store when it starts, or at the next `restream` change.
pub fn import(
    config: &crate::config::Config,
    seed_json: &str,
) -> Result<endpoint::ImportReport, ImportError> {
    let restream = config.restream.as_ref().ok_or(ImportError::NotEnabled)?;
    let state = StateDir::new(&config.state_dir);
    let mut endpoints = endpoint::load(&state)?;
    let report = endpoint::import_seed(seed_json, &endpoints, restream.stunnel.is_some())?;
    if !report.imported.is_empty() {
        endpoints.extend(report.imported.iter().cloned());
        endpoint::save(&state, &endpoints)?;
    }
    Ok(report)
}
