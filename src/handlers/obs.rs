//! OBS control: the stream output (start, stop, record), the scenes (live, brb, starting,
//! scene, fix, refresh), audio inputs (mute, unmute) and sources (source show|hide). Parsing
//! lives in `commands::obs`; the OBS peer in `obs`.
//!
//! `scene <name>` reaches only the scenes the configuration names (`obs.scenes`, the refresh
//! scene, `obs.switchable_scenes`); any other OBS scene is answered like an unknown one, and
//! "not found" lists only switchable scenes (the chat may be public). `mute`/`unmute` and
//! `source` follow the same rule with `obs.audio_inputs` and `obs.sources` (default: none), and
//! the same matching (exact, case-insensitive, an unambiguous part, a close spelling).

use crate::config::FixConfig;
use crate::context::Context;
use crate::dispatch::Invoker;
use crate::obs::scenes::{NameMatch, resolve};
use crate::obs::{ObsHandle, Outcome};
use crate::reply::{Key, Reply, UserError, keys};
use crate::status::SwitchedBy;
use commands::obs::{ObsCommand, RecordAction, Visibility};

pub(crate) async fn handle_command(
    _ctx: &Context,
    obs: &ObsHandle,
    _invoker: &Invoker,
    cmd: ObsCommand,
) -> anyhow::Result<Reply> {
    let scenes = &obs.config().scenes;
    match cmd {
        ObsCommand::Start => match obs
            .begin_stream(SwitchedBy::Command)
            .await
            .map_err(UserError::from)?
        {
            (Outcome::Already, _) => Ok(Reply::new(keys::STREAM_ALREADY_LIVE)),
            (Outcome::Done, Some(scene)) => {
                Ok(Reply::new(keys::STREAM_STARTED_SCENE).arg("scene", scene))
            }
            (Outcome::Done, None) => Ok(Reply::new(keys::STREAM_STARTED)),
        },
        ObsCommand::Stop => match obs
            .end_stream(SwitchedBy::Command)
            .await
            .map_err(UserError::from)?
        {
            Outcome::Done => Ok(Reply::new(keys::STREAM_STOPPED)),
            Outcome::Already => Ok(Reply::new(keys::STREAM_NOT_LIVE)),
        },
        ObsCommand::Record(RecordAction::Start) => {
            obs.start_record().await.map_err(UserError::from)?;
            Ok(Reply::new(keys::RECORD_STARTED))
        }
        ObsCommand::Record(RecordAction::Stop) => {
            obs.stop_record().await.map_err(UserError::from)?;
            Ok(Reply::new(keys::RECORD_STOPPED))
        }
        ObsCommand::Live => switch(obs, &scenes.live).await,
        ObsCommand::Brb => switch(obs, &scenes.brb).await,
        ObsCommand::Starting => match &scenes.starting {
            Some(starting) => switch(obs, starting).await,
            None => Ok(Reply::new(keys::SCENE_NOT_CONFIGURED).arg("which", "starting")),
        },
        ObsCommand::Switch(query) => {
            if !obs.is_connected() {
                return Err(UserError::from(crate::obs::ObsError::NotConnected).into());
            }
            // Only the switchable scenes: nothing else is reached, or named in an answer.
            let names = obs.switchable_scenes();
            match pick(
                query.as_str(),
                &names,
                keys::SCENE_AMBIGUOUS,
                keys::SCENE_NOT_FOUND,
            ) {
                Ok(scene) => switch(obs, &scene).await,
                Err(answer) => Ok(answer),
            }
        }
        ObsCommand::Fix => fix(obs).await,
        ObsCommand::Refresh => refresh(obs).await,
        ObsCommand::Mute(query) => mute(obs, query.as_str(), true).await,
        ObsCommand::Unmute(query) => mute(obs, query.as_str(), false).await,
        ObsCommand::Source(query, visibility) => source(obs, query.as_str(), visibility).await,
    }
}

/// The configured name `query` matches, or the answer when it matched several (`ambiguous`) or
/// none (`not_found`): the candidates (only configured names), or a dash.
fn pick(query: &str, names: &[String], ambiguous: Key, not_found: Key) -> Result<String, Reply> {
    let (key, candidates) = match resolve(query, names) {
        NameMatch::Found(name) => return Ok(name),
        NameMatch::Ambiguous(candidates) => (ambiguous, candidates),
        NameMatch::NotFound(candidates) => (not_found, candidates),
    };
    let candidates = if candidates.is_empty() {
        "–".into()
    } else {
        candidates.join(", ")
    };
    Err(Reply::new(key)
        .arg("query", query)
        .arg("candidates", candidates))
}

/// Mute or unmute the configured audio input `query` names.
async fn mute(obs: &ObsHandle, query: &str, muted: bool) -> anyhow::Result<Reply> {
    let inputs = &obs.config().audio_inputs;
    if inputs.is_empty() {
        return Ok(Reply::new(keys::AUDIO_NONE_CONFIGURED));
    }
    if !obs.is_connected() {
        return Err(UserError::from(crate::obs::ObsError::NotConnected).into());
    }
    let input = match pick(query, inputs, keys::AUDIO_AMBIGUOUS, keys::AUDIO_NOT_FOUND) {
        Ok(input) => input,
        Err(answer) => return Ok(answer),
    };
    obs.set_input_mute(&input, muted)
        .await
        .map_err(UserError::from)?;
    let key = if muted {
        keys::AUDIO_MUTED
    } else {
        keys::AUDIO_UNMUTED
    };
    Ok(Reply::new(key).arg("input", input))
}

/// Show or hide the configured source `query` names, in its scene or the program scene.
async fn source(obs: &ObsHandle, query: &str, visibility: Visibility) -> anyhow::Result<Reply> {
    let sources = &obs.config().sources;
    if sources.is_empty() {
        return Ok(Reply::new(keys::SOURCE_NONE_CONFIGURED));
    }
    if !obs.is_connected() {
        return Err(UserError::from(crate::obs::ObsError::NotConnected).into());
    }
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let name = match pick(
        query,
        &names,
        keys::SOURCE_AMBIGUOUS,
        keys::SOURCE_NOT_FOUND,
    ) {
        Ok(name) => name,
        Err(answer) => return Ok(answer),
    };
    let Some(source) = sources.iter().find(|s| s.name == name) else {
        anyhow::bail!("a matched source `{query}` is not configured");
    };
    let scene = obs
        .set_source_visible(source, visibility == Visibility::Show)
        .await
        .map_err(UserError::from)?;
    let key = match visibility {
        Visibility::Show => keys::SOURCE_SHOWN,
        Visibility::Hide => keys::SOURCE_HIDDEN,
    };
    Ok(Reply::new(key)
        .arg("source", source.name.clone())
        .arg("scene", scene))
}

async fn switch(obs: &ObsHandle, scene: &str) -> anyhow::Result<Reply> {
    let changed = obs
        .switch_to(scene, SwitchedBy::Command)
        .await
        .map_err(UserError::from)?;
    let key = if changed {
        keys::SCENE_SWITCHED
    } else {
        keys::SCENE_ALREADY
    };
    Ok(Reply::new(key).arg("scene", scene))
}

/// Restart the configured media sources and confirm they play, or the BRB → LIVE bounce.
async fn fix(obs: &ObsHandle) -> anyhow::Result<Reply> {
    match obs.config().fix.clone() {
        FixConfig::RestartMedia {
            sources,
            confirm_timeout,
        } => {
            for source in &sources {
                obs.restart_media(source).await.map_err(UserError::from)?;
            }
            // Confirm by asking until each plays again, at most confirm_timeout.
            let deadline = tokio::time::Instant::now() + confirm_timeout;
            let mut failed = Vec::new();
            for source in &sources {
                loop {
                    if obs.media_playing(source).await.map_err(UserError::from)? {
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        failed.push(source.clone());
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
            let reply = if failed.is_empty() {
                Reply::new(keys::FIX_RESTARTED)
            } else {
                Reply::new(keys::FIX_NOT_PLAYING).arg("failed", failed.join(", "))
            };
            Ok(reply.arg("sources", sources.join(", ")))
        }
        FixConfig::Bounce { delay } => {
            let scenes = &obs.config().scenes;
            obs.switch_to(&scenes.brb, SwitchedBy::Command)
                .await
                .map_err(UserError::from)?;
            tokio::time::sleep(delay).await;
            obs.switch_to(&scenes.live, SwitchedBy::Command)
                .await
                .map_err(UserError::from)?;
            Ok(Reply::new(keys::FIX_BOUNCED)
                .arg("brb", scenes.brb.clone())
                .arg("live", scenes.live.clone()))
        }
    }
}

/// Show the refresh scene (default BRB) for `refresh_hold`, then go back to where OBS was.
async fn refresh(obs: &ObsHandle) -> anyhow::Result<Reply> {
    let config = obs.config();
    let back = obs
        .current_scene()
        .unwrap_or_else(|| config.scenes.live.clone());
    let through = config
        .refresh_scene
        .clone()
        .unwrap_or_else(|| config.scenes.brb.clone());
    obs.switch_to(&through, SwitchedBy::Command)
        .await
        .map_err(UserError::from)?;
    tokio::time::sleep(config.refresh_hold).await;
    obs.switch_to(&back, SwitchedBy::Command)
        .await
        .map_err(UserError::from)?;
    Ok(Reply::new(keys::REFRESH_DONE).arg("scene", back))
}
