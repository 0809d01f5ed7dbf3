//! Logs in Discord: journal lines as code blocks under the message limit, and `/logs … follow`,
//! which keeps one message showing the newest lines of a unit's journal for a while.

use super::MESSAGE_LIMIT;
use super::interact::Target;
use crate::context::Context;
use crate::reply::{Reply, ReplyArg, keys};
use poise::serenity_prelude as serenity;
use std::collections::VecDeque;
use std::time::Duration;

/// Edits of the follow message are at least this far apart.
pub const FOLLOW_EDIT_INTERVAL: Duration = Duration::from_secs(2);

/// A code fence inside a journal line would end the block: break it up.
fn defuse(line: &str) -> String {
    line.replace("```", "`\u{200b}``")
}

/// Lines as code blocks, each message (fences included) under the limit. A line longer than a
/// block is cut (not continued: a journal line's tail is rarely worth a block of its own).
pub fn code_blocks(lines: &[&str]) -> Vec<String> {
    const FENCES: usize = "```\n".len() + "```".len();
    let room = MESSAGE_LIMIT - FENCES;
    let mut text = String::new();
    for line in lines {
        text.extend(defuse(line).chars().take(room - 1));
        text.push('\n');
    }
    crate::reply::split(&text, room, crate::reply::Breaks::Lines)
        .into_iter()
        .map(|block| format!("```\n{block}```"))
        .collect()
}

/// The messages of a reply: journal lines (`logs-lines`) become a header and code blocks;
/// everything else is its rendered text.
pub fn messages(ctx: &Context, locale: &str, reply: &Reply) -> Vec<String> {
    if reply.key == keys::LOGS_LINES
        && let Some(ReplyArg::Text(lines)) = reply
            .args
            .iter()
            .find(|(name, _)| *name == "lines")
            .map(|(_, value)| value)
    {
        let mut header = reply.clone();
        for (name, value) in &mut header.args {
            if *name == "lines" {
                *value = ReplyArg::Text(String::new());
            }
        }
        let lines: Vec<&str> = lines.lines().filter(|l| !l.is_empty()).collect();
        let blocks = code_blocks(&lines);
        let mut out = vec![ctx.render(locale, &header)];
        // The header shares the first message when both fit.
        let mut blocks = blocks.into_iter();
        if let Some(first) = blocks.next() {
            if out[0].chars().count() + first.chars().count() < MESSAGE_LIMIT {
                out[0] = format!("{}\n{first}", out[0]);
            } else {
                out.push(first);
            }
        }
        out.extend(blocks);
        return out;
    }
    vec![ctx.render(locale, reply)]
}

/// `/logs <service> follow`: one follow-up message showing the newest journal lines, edited at
/// most every [`FOLLOW_EDIT_INTERVAL`], for `discord.logs_follow_max`.
pub async fn follow(
    ctx: &Context,
    http: &serenity::Http,
    target: Target<'_>,
    locale: &str,
    service: &str,
) {
    let max = ctx
        .config
        .discord
        .as_ref()
        .map_or(Duration::from_secs(600), |d| d.logs_follow_max);
    let followed = match &ctx.services {
        Some(services) => crate::services::follow(services, service, max).await,
        None => Err(crate::services::ServiceError::NotEnabled),
    };
    let mut lines = match followed {
        Ok(lines) => lines,
        Err(error) => {
            let text = ctx.render(locale, &error.reply());
            return target.followup(http, &text, true).await;
        }
    };
    let minutes = (max.as_secs() as f64 / 60.0).ceil();
    let following = |tail: &VecDeque<String>, ended: bool| {
        let key = if ended {
            keys::DISCORD_LOGS_FOLLOW_ENDED
        } else {
            keys::DISCORD_LOGS_FOLLOWING
        };
        let header = ctx.render(
            locale,
            &Reply::new(key)
                .arg("service", service.to_string())
                .number("minutes", minutes),
        );
        let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
        let block = code_blocks(&tail).pop().unwrap_or_default();
        format!("{header}\n{block}")
    };
    let mut tail: VecDeque<String> = VecDeque::new();
    let Some(message) = target
        .followup_message(http, &following(&tail, false))
        .await
    else {
        return;
    };
    let mut dirty = false;
    let mut next_edit = tokio::time::Instant::now() + FOLLOW_EDIT_INTERVAL;
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => {
                    tail.push_back(line);
                    // Only what fits in one message is ever shown.
                    while tail.iter().map(|l| l.chars().count() + 1).sum::<usize>() > MESSAGE_LIMIT {
                        tail.pop_front();
                    }
                    dirty = true;
                }
                None => break,
            },
            _ = tokio::time::sleep_until(next_edit), if dirty => {
                target.edit_followup(http, message, &following(&tail, false)).await;
                dirty = false;
                next_edit = tokio::time::Instant::now() + FOLLOW_EDIT_INTERVAL;
            }
            _ = ctx.shutdown.cancelled() => break,
        }
    }
    target
        .edit_followup(http, message, &following(&tail, true))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_stay_under_the_limit_and_keep_every_line() {
        let lines: Vec<String> = (0..300)
            .map(|i| format!("line {i} {}", "x".repeat(40)))
            .collect();
        let mut refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let long = "y".repeat(5000);
        refs.push(&long);
        refs.push("evil ``` fence");
        let blocks = code_blocks(&refs);
        assert!(blocks.len() > 1);
        for block in &blocks {
            assert!(block.chars().count() <= MESSAGE_LIMIT, "{}", block.len());
            assert!(block.starts_with("```\n") && block.ends_with("```"));
            assert_eq!(block.matches("```").count(), 2, "no fence inside");
        }
        let all = blocks.concat();
        assert!(all.contains("line 0 ") && all.contains("line 299 "));
    }
}
