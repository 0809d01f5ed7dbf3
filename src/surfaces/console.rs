//! The local console: `stream-control run --console` reads command lines from stdin as the
//! broadcaster and prints the replies, so the vocabulary can be tried without Twitch or Discord.
//! The prefix is optional here (`!ping` and `ping` both work). End of input (Ctrl-D) quits.

use crate::context::Context;
use crate::dispatch::{self, Invocation, Invoker};
use crate::reply::{self, Reply, keys};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// The console task.
pub async fn run(ctx: Arc<Context>, token: CancellationToken) -> anyhow::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let prefix = &ctx.config.commands.prefix;
    out.write_all(format!("stream-control console: type {prefix}help (Ctrl-D quits)\n").as_bytes())
        .await?;
    out.flush().await?;
    loop {
        let line = tokio::select! {
            _ = token.cancelled() => return Ok(()),
            line = lines.next_line() => line?,
        };
        let Some(line) = line else {
            // End of input: the operator is done.
            ctx.shutdown.cancel();
            return Ok(());
        };
        if let Some(answer) = answer(&ctx, &line).await {
            out.write_all(answer.as_bytes()).await?;
            out.write_all(b"\n").await?;
            out.flush().await?;
        }
    }
}

/// The console's answer to one line (`None` for a blank line).
pub async fn answer(ctx: &Arc<Context>, line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let config = &ctx.config.commands;
    let locale = ctx.i18n.default_locale();
    let parsed = dispatch::parse_line(config, line)
        .or_else(|| dispatch::parse_line(config, &format!("{}{line}", config.prefix)));
    let reply = match parsed {
        None => {
            Reply::new(keys::ERROR_UNKNOWN_COMMAND).arg("help", format!("{}help", config.prefix))
        }
        Some(Err(error)) => reply::usage(&error, &config.prefix),
        Some(Ok(command)) => {
            let invocation = Invocation {
                command,
                invoker: Invoker::console(),
                locale: locale.to_string(),
                reply_to: None,
                progress: crate::dispatch::Progress::none(),
            };
            dispatch::dispatch_isolated(ctx.clone(), invocation).await
        }
    };
    Some(ctx.render(locale, &reply))
}
