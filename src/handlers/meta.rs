//! About the bot itself: help, status, ping, version. Parsing lives in `commands::meta`.

use crate::context::Context;
use crate::dispatch::{Invoker, may_use_word};
use crate::reply::{Reply, format_uptime, keys};
use crate::status::TaskState;
use commands::Feature;
use commands::meta::MetaCommand;

pub(crate) async fn handle_command(
    ctx: &Context,
    invoker: &Invoker,
    cmd: MetaCommand,
) -> anyhow::Result<Reply> {
    let commands = &ctx.config.commands;
    let prefix = commands.prefix.as_str();
    Ok(match cmd {
        MetaCommand::Ping => Reply::new(keys::PONG),
        MetaCommand::Version => Reply::new(keys::VERSION).arg("version", env!("CARGO_PKG_VERSION")),
        MetaCommand::Help(None) => {
            let usable: Vec<String> = commands::Command::NAMES
                .iter()
                .filter(|name| may_use_word(commands, invoker, name))
                .map(|name| format!("{prefix}{name}"))
                .collect();
            Reply::new(keys::HELP_LIST).arg("commands", usable.join(" "))
        }
        MetaCommand::Help(Some(topic)) => {
            let alias = commands
                .aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(&topic));
            match (alias, commands::spec_of(&topic)) {
                (Some((alias, target)), _) => Reply::new(keys::HELP_ALIAS)
                    .arg("alias", format!("{prefix}{alias}"))
                    .arg(
                        "target",
                        format!("{prefix}{}", target.trim().trim_start_matches(prefix)),
                    ),
                (None, Some(spec)) if may_use_word(commands, invoker, spec.name) => {
                    Reply::new(keys::HELP_COMMAND)
                        .arg("usage", format!("{prefix}{}", spec.usage))
                        .command_description("description", spec.name)
                }
                _ => Reply::new(keys::HELP_UNKNOWN)
                    .arg("topic", topic)
                    .arg("help", format!("{prefix}help")),
            }
        }
        MetaCommand::Status => status(ctx),
    })
}

fn status(ctx: &Context) -> Reply {
    let status = ctx.status.borrow().clone();
    let (enabled, disabled): (Vec<_>, Vec<_>) = Feature::ALL
        .into_iter()
        .partition(|f| status.features.get(f.name()).copied().unwrap_or(false));
    let names = |list: Vec<Feature>| -> Vec<Reply> {
        list.into_iter()
            .map(|f| Reply::new(crate::reply::feature_name(f)))
            .collect()
    };
    let or_none = |list: Vec<Reply>| {
        if list.is_empty() {
            vec![Reply::new(keys::STATUS_NONE)]
        } else {
            list
        }
    };
    let problems: Vec<Reply> = status
        .tasks
        .iter()
        .filter(|(_, task)| task.state == TaskState::Restarting)
        .map(|(name, task)| {
            Reply::new(keys::STATUS_TASK_PROBLEM)
                .arg("task", name.clone())
                .number("restarts", task.restarts)
        })
        .collect();
    let summary = Reply::new(keys::STATUS_SUMMARY)
        .arg("uptime", format_uptime(ctx.started.elapsed().as_secs()))
        .list("enabled", or_none(names(enabled)))
        .list("disabled", or_none(names(disabled)));
    if problems.is_empty() {
        summary.message("tasks", Reply::new(keys::STATUS_ALL_RUNNING))
    } else {
        summary.list("tasks", problems)
    }
}
