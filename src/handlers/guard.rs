//! The bitrate guard's commands: bitrate, guard, trigger, dryrun. Parsing lives in
//! `commands::guard`; the guard itself in `guard`.

use crate::context::Context;
use crate::dispatch::Invoker;
use crate::guard::TriggerRefusal;
use crate::reply::{Reply, keys};
use crate::status::{GuardStatus, ServerStatus};
use commands::Toggle;
use commands::guard::{GuardCommand, TriggerCommand};

pub(crate) async fn handle_command(
    ctx: &Context,
    guard: &crate::guard::GuardHandle,
    _invoker: &Invoker,
    cmd: GuardCommand,
) -> anyhow::Result<Reply> {
    let status = ctx.status.borrow().guard.clone().unwrap_or_default();
    Ok(match cmd {
        GuardCommand::Bitrate => bitrate(&status),
        GuardCommand::Status => guard_status(
            &status,
            ctx.obs.as_ref().is_some_and(|o| o.is_connected()),
            reset_command(ctx),
        ),
        GuardCommand::Switching(Toggle::On) => {
            guard.set_enabled(true);
            Reply::new(keys::GUARD_ENABLED)
        }
        GuardCommand::Switching(Toggle::Off) => {
            guard.set_enabled(false);
            Reply::new(keys::GUARD_DISABLED)
                .arg("command", format!("{}guard on", ctx.config.commands.prefix))
        }
        GuardCommand::DryRun(toggle) => {
            guard.set_dry_run(toggle == Toggle::On);
            Reply::new(if toggle == Toggle::On {
                keys::GUARD_DRY_RUN_ON
            } else {
                keys::GUARD_DRY_RUN_OFF
            })
        }
        GuardCommand::Trigger(trigger) => {
            let (name, unit) = match trigger {
                TriggerCommand::Low(_) => ("low", keys::TRIGGER_KBPS),
                TriggerCommand::Offline(_) => ("offline", keys::TRIGGER_KBPS),
                TriggerCommand::Rtt(_) => ("rtt", keys::TRIGGER_MS),
                TriggerCommand::RttOffline(_) => ("rtt-offline", keys::TRIGGER_MS),
            };
            match guard.trigger(trigger) {
                Ok(value) if trigger.is_show() => Reply::new(keys::TRIGGER_CURRENT)
                    .arg("trigger", name)
                    .message("value", value_reply(value, unit)),
                Ok(value) => Reply::new(keys::TRIGGER_SET)
                    .arg("trigger", name)
                    .message("value", value_reply(value, unit))
                    .arg("reset", reset_command(ctx)),
                Err(refusal) => refused(refusal),
            }
        }
        GuardCommand::ResetTriggers => {
            guard.reset_triggers();
            let status = ctx.status.borrow().guard.clone().unwrap_or_default();
            thresholds(Reply::new(keys::TRIGGER_RESET), &status)
        }
    })
}

/// `!trigger reset` with the configured prefix.
fn reset_command(ctx: &Context) -> String {
    format!("{}trigger reset", ctx.config.commands.prefix)
}

fn value_reply(value: Option<u32>, unit: crate::reply::Key) -> Reply {
    match value {
        Some(v) => Reply::new(unit).number("value", v),
        None => Reply::new(keys::TRIGGER_OFF),
    }
}

fn refused(refusal: TriggerRefusal) -> Reply {
    match refusal {
        TriggerRefusal::LowAboveRecover { recover_kbps } => {
            Reply::new(keys::TRIGGER_LOW_ABOVE_RECOVER).number("recover", recover_kbps)
        }
        TriggerRefusal::OfflineNotBelowLow { low_kbps } => {
            Reply::new(keys::TRIGGER_OFFLINE_NOT_BELOW_LOW).number("low", low_kbps)
        }
        TriggerRefusal::RttOfflineNotAboveRtt { rtt_low_ms } => {
            Reply::new(keys::TRIGGER_RTT_OFFLINE_NOT_ABOVE).number("rtt", rtt_low_ms)
        }
    }
    .with_outcome(crate::reply::Outcome::Refused)
}

/// Per server: the bitrate and RTT, or why there is none.
fn bitrate(status: &GuardStatus) -> Reply {
    if status.servers.is_empty() {
        return Reply::new(keys::GUARD_NO_SERVERS);
    }
    let servers = status.servers.iter().map(server_reply).collect();
    Reply::new(keys::GUARD_BITRATE).list("servers", servers)
}

fn server_reply(server: &ServerStatus) -> Reply {
    let reply = match (server.state, server.bitrate_kbps, server.rtt_ms) {
        ("live", Some(kbps), Some(rtt)) => Reply::new(keys::GUARD_SERVER_LIVE_RTT)
            .number("kbps", kbps)
            .number("rtt", rtt),
        ("live", Some(kbps), None) => Reply::new(keys::GUARD_SERVER_LIVE).number("kbps", kbps),
        ("no_publisher", ..) => Reply::new(keys::GUARD_SERVER_NO_PUBLISHER),
        ("error", ..) => Reply::new(keys::GUARD_SERVER_ERROR)
            .arg("error", server.error.clone().unwrap_or_default()),
        _ => Reply::new(keys::GUARD_SERVER_WAITING),
    };
    reply.arg("name", server.name.clone())
}

fn guard_status(status: &GuardStatus, obs_connected: bool, reset: String) -> Reply {
    let state = if !status.enabled {
        keys::GUARD_STATE_OFF
    } else if status.dry_run {
        keys::GUARD_STATE_DRY_RUN
    } else {
        keys::GUARD_STATE_ON
    };
    let idle = if !obs_connected {
        keys::GUARD_IDLE_OBS_OFFLINE
    } else if status.idle_reason == Some("not_streaming") {
        keys::GUARD_IDLE_NOT_STREAMING
    } else {
        keys::GUARD_IDLE_NONE
    };
    let reply = Reply::new(keys::GUARD_STATUS).message("state", Reply::new(state));
    let reply = match status.level {
        Some(level) => reply.arg("level", level.to_uppercase()),
        None => reply.message("level", Reply::new(keys::GUARD_LEVEL_MANUAL)),
    };
    let changed = if status.changed_at_runtime.is_empty() {
        Reply::new(keys::GUARD_CHANGED_NONE)
    } else {
        Reply::new(keys::GUARD_CHANGED)
            .arg("what", status.changed_at_runtime.join(", "))
            .arg("reset", reset)
    };
    thresholds(reply.message("idle", Reply::new(idle)), status).message("changed", changed)
}

/// The five thresholds in force, as the status and `trigger reset` show them.
fn thresholds(reply: Reply, status: &GuardStatus) -> Reply {
    let t = &status.triggers;
    reply
        .message("low", value_reply(t.low_kbps, keys::TRIGGER_KBPS))
        .message(
            "recover",
            value_reply(Some(t.recover_kbps), keys::TRIGGER_KBPS),
        )
        .message("offline", value_reply(t.offline_kbps, keys::TRIGGER_KBPS))
        .message("rtt", value_reply(t.rtt_low_ms, keys::TRIGGER_MS))
        .message(
            "rttoffline",
            value_reply(t.rtt_offline_ms, keys::TRIGGER_MS),
        )
}
