//! systemd services and their logs: `service status|restart|repair`, `logs`. Parsing lives in
//! `commands::services`; the programs in `services`.

use crate::context::Context;
use crate::dispatch::{Invoker, Progress};
use crate::reply::{Outcome, Reply, keys};
use crate::services::{self, ServiceError, Unit};
use crate::status::ServiceUnitStatus;
use commands::services::ServicesCommand;

pub(crate) async fn handle_command(
    _ctx: &Context,
    peer: &crate::services::Services,
    _invoker: &Invoker,
    cmd: ServicesCommand,
    progress: &Progress,
) -> anyhow::Result<Reply> {
    let config = &peer.config;
    let result = async {
        Ok::<Reply, ServiceError>(match cmd {
            ServicesCommand::Status(name) => {
                let units = match name {
                    None => services::units(config),
                    Some(name) => vec![services::resolve(config, name.as_str())?],
                };
                let states = services::states(peer, &units).await;
                Reply::new(keys::SERVICE_STATUS).list(
                    "units",
                    states
                        .iter()
                        .map(|(unit, status)| unit_reply(unit, status))
                        .collect(),
                )
            }
            ServicesCommand::Restart(name) => {
                let unit = services::resolve(config, name.as_str())?;
                let status = services::restart(peer, &unit).await?;
                Reply::new(keys::SERVICE_RESTARTED).message("unit", unit_reply(&unit, &status))
            }
            ServicesCommand::Repair => {
                let step = |unit: &Unit, result: &Result<ServiceUnitStatus, ServiceError>| {
                    progress.send(step_reply(unit, result));
                };
                let results = services::repair(peer, &step).await;
                let failed = results.iter().any(|(_, r)| r.is_err());
                Reply::new(keys::SERVICE_REPAIR_DONE)
                    .list(
                        "steps",
                        results
                            .iter()
                            .map(|(unit, r)| step_reply(unit, r))
                            .collect(),
                    )
                    .with_outcome(if failed {
                        Outcome::Failed
                    } else {
                        Outcome::Done
                    })
            }
            ServicesCommand::Logs(name, lines) => {
                let unit = services::resolve(config, name.as_str())?;
                let lines =
                    services::logs(peer, &unit, services::clamp_lines(lines.map(|l| l.0))).await?;
                if lines.is_empty() {
                    Reply::new(keys::LOGS_EMPTY).arg("unit", unit.unit)
                } else {
                    Reply::new(keys::LOGS_LINES)
                        .arg("unit", unit.unit)
                        .number("count", lines.len() as f64)
                        .arg("lines", format!("\n{}", lines.join("\n")))
                }
            }
        })
    }
    .await;
    Ok(result.unwrap_or_else(|error| error.reply()))
}

/// `key (unit): state`.
fn unit_reply(unit: &Unit, status: &ServiceUnitStatus) -> Reply {
    Reply::new(keys::SERVICE_UNIT_STATE)
        .arg("key", unit.key.clone())
        .arg("unit", unit.unit.clone())
        .message("state", state_reply(status))
}

/// A state in words; an unknown one with systemctl's error.
fn state_reply(status: &ServiceUnitStatus) -> Reply {
    let key = match status.state.as_str() {
        "active" => keys::SERVICE_STATE_ACTIVE,
        "inactive" => keys::SERVICE_STATE_INACTIVE,
        "failed" => keys::SERVICE_STATE_FAILED,
        "activating" => keys::SERVICE_STATE_ACTIVATING,
        "deactivating" => keys::SERVICE_STATE_DEACTIVATING,
        "reloading" => keys::SERVICE_STATE_RELOADING,
        services::UNKNOWN => {
            return Reply::new(keys::SERVICE_STATE_UNKNOWN)
                .arg("error", status.error.clone().unwrap_or_default());
        }
        other => return Reply::new(keys::SERVICE_STATE_OTHER).arg("state", other.to_string()),
    };
    Reply::new(key)
}

fn step_reply(unit: &Unit, result: &Result<ServiceUnitStatus, ServiceError>) -> Reply {
    match result {
        Ok(status) => {
            Reply::new(keys::SERVICE_REPAIR_STEP).message("unit", unit_reply(unit, status))
        }
        Err(error) => Reply::new(keys::SERVICE_REPAIR_STEP_FAILED)
            .arg("key", unit.key.clone())
            .message("error", error.reply()),
    }
}
