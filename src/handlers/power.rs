//! Stream-PC power: `pc status|wake|restart|shutdown`. Parsing lives in `commands::power`; the
//! packet, probe and ssh in `power`.
//!
//! Restart and shutdown are refused while OBS streams (the stream would end) unless `force`.

use crate::context::Context;
use crate::dispatch::{Invoker, Progress};
use crate::power::{self, Action, Woken};
use crate::reply::{Outcome, Reply, keys};
use commands::power::PowerCommand;
use std::time::Duration;

pub(crate) async fn handle_command(
    ctx: &Context,
    power: &crate::power::Power,
    _invoker: &Invoker,
    cmd: PowerCommand,
    progress: &Progress,
) -> anyhow::Result<Reply> {
    let config = &power.config;
    let seconds = |d: Duration| d.as_secs_f64().round();
    let (action, force, word) = match cmd {
        PowerCommand::Status => {
            return Ok(match power::check(power).await {
                Ok(()) => Reply::new(keys::PC_ON).arg("host", config.host.clone()),
                Err(error) => Reply::new(keys::PC_OFF)
                    .arg("host", config.host.clone())
                    .arg("error", error),
            });
        }
        PowerCommand::Wake => {
            let waiting = |elapsed: Duration| {
                progress.send(if elapsed.is_zero() {
                    Reply::new(keys::PC_WAKE_SENT)
                        .arg("mac", config.mac.to_uppercase())
                        .number("seconds", seconds(config.wake_timeout))
                } else {
                    Reply::new(keys::PC_WAKE_WAITING).number("seconds", seconds(elapsed))
                })
            };
            return Ok(match power::wake(power, &waiting).await {
                Ok(Woken::Up(after)) => {
                    Reply::new(keys::PC_WAKE_UP).number("seconds", seconds(after))
                }
                Ok(Woken::TimedOut(after)) => Reply::new(keys::PC_WAKE_TIMEOUT)
                    .number("seconds", seconds(after))
                    .with_outcome(Outcome::Failed),
                Err(error) => Reply::new(keys::PC_WAKE_FAILED)
                    .arg("error", error.to_string())
                    .with_outcome(Outcome::Failed),
            });
        }
        PowerCommand::Restart { force } => (Action::Restart, force, "restart"),
        PowerCommand::Shutdown { force } => (Action::Shutdown, force, "shutdown"),
    };
    let streaming = ctx
        .status
        .borrow()
        .obs
        .as_ref()
        .is_some_and(|o| o.streaming);
    if streaming && !force {
        let prefix = &ctx.config.commands.prefix;
        return Ok(Reply::new(keys::PC_STREAMING)
            .arg("command", format!("{prefix}pc {word}"))
            .arg("forced", format!("{prefix}pc {word} force"))
            .with_outcome(Outcome::Refused));
    }
    Ok(
        match power::run_action(config, &ctx.config.programs, action).await {
            Ok(()) => Reply::new(match action {
                Action::Restart => keys::PC_RESTARTING,
                Action::Shutdown => keys::PC_SHUTTING_DOWN,
            }),
            Err(error) => error.reply(),
        },
    )
}
