//! Restream endpoints for nginx-rtmp: `restream list|on|off|add|remove`. Parsing lives in
//! `commands::restream`; the store, render and apply in `restream`.
//!
//! `restream add` shows a stream key to whoever reads the command, and `restream list` names
//! hosts, so dispatch refuses both in public Twitch chat (`Command::is_private`; Discord answers
//! privately; the console is local). Replies never hold a key:
//! URLs are masked (`rtmp://host/app/live…wxyz`).

use crate::context::Context;
use crate::dispatch::{Invoker, Progress};
use crate::reply::{Reply, keys};
use crate::restream::{Change, RestreamError, endpoint::Endpoint, names_reply};
use commands::Toggle;
use commands::restream::RestreamCommand;

pub(crate) async fn handle_command(
    ctx: &Context,
    restream: &crate::restream::Restream,
    _invoker: &Invoker,
    cmd: RestreamCommand,
    progress: &Progress,
) -> anyhow::Result<Reply> {
    let prefix = &ctx.config.commands.prefix;
    Ok(match cmd {
        RestreamCommand::List => match restream.list() {
            Ok(endpoints) if endpoints.is_empty() => Reply::new(keys::RESTREAM_LIST_EMPTY)
                .arg("command", format!("{prefix}restream add <name> <url>")),
            Ok(endpoints) => Reply::new(keys::RESTREAM_LIST)
                .list("endpoints", endpoints.iter().map(endpoint_reply).collect()),
            Err(error) => error.reply(),
        },
        RestreamCommand::Set(name, toggle) => {
            let on = toggle == Toggle::On;
            answer(
                restream.set_enabled(name.as_str(), on, progress).await,
                |change| match (on, change.already) {
                    (true, true) => keys::RESTREAM_ALREADY_ON,
                    (true, false) => keys::RESTREAM_ENABLED,
                    (false, true) => keys::RESTREAM_ALREADY_OFF,
                    (false, false) => keys::RESTREAM_DISABLED,
                },
            )
        }
        RestreamCommand::Add(name, url) => answer(
            restream.add(name.as_str(), url.as_str(), progress).await,
            |_| keys::RESTREAM_ADDED,
        ),
        RestreamCommand::Remove(name) => {
            answer(restream.remove(name.as_str(), progress).await, |_| {
                keys::RESTREAM_REMOVED
            })
        }
    })
}

/// `Name (platform, on): rtmp://host/app/live…wxyz`.
fn endpoint_reply(endpoint: &Endpoint) -> Reply {
    Reply::new(keys::RESTREAM_ENDPOINT)
        .arg("name", endpoint.name())
        .arg("platform", endpoint.platform().as_str())
        .message(
            "state",
            Reply::new(if endpoint.enabled() {
                keys::RESTREAM_STATE_ON
            } else {
                keys::RESTREAM_STATE_OFF
            }),
        )
        .arg("url", endpoint.masked_url())
}

/// A change's reply: `key` with the name, what is pushed now, and how a running stream
/// gets the new list.
fn answer(
    result: Result<Change, RestreamError>,
    key: impl Fn(&Change) -> crate::reply::Key,
) -> Reply {
    let change = match result {
        Ok(change) => change,
        Err(error) => return error.reply(),
    };
    let note = match &change.applied.dropped {
        _ if !change.applied.changed => Reply::new(keys::RESTREAM_NOTE_NONE),
        None => Reply::new(keys::RESTREAM_NOTE_NEXT_PUBLISH),
        Some(Ok(0)) => Reply::new(keys::RESTREAM_NOTE_NONE),
        Some(Ok(_)) => Reply::new(keys::RESTREAM_NOTE_DROPPED),
        Some(Err(error)) => Reply::new(keys::RESTREAM_NOTE_DROP_FAILED).arg("error", error.clone()),
    };
    Reply::new(key(&change))
        .arg("name", change.name.clone())
        .message("pushing", names_reply(&change.pushing))
        .message("note", note)
}
