//! Stream output control through OBS: start, stop, record. Parsing lives in `commands::stream`.

use crate::context::Context;
use crate::dispatch::Invoker;
use crate::obs::Outcome;
use crate::reply::{Reply, UserError, keys};
use crate::status::SwitchedBy;
use commands::stream::{RecordAction, StreamCommand};

pub(crate) async fn handle_command(
    ctx: &Context,
    _invoker: &Invoker,
    cmd: StreamCommand,
) -> anyhow::Result<Reply> {
    let Some(obs) = &ctx.obs else {
        return Ok(Reply::not_enabled(keys::FEATURE_OBS));
    };
    match cmd {
        StreamCommand::Start => {
            if obs.start_stream().await.map_err(UserError::from)? == Outcome::Already {
                return Ok(Reply::new(keys::STREAM_ALREADY_LIVE));
            }
            match &obs.config().scenes.starting {
                Some(starting) => {
                    obs.switch_to(starting, SwitchedBy::Command)
                        .await
                        .map_err(UserError::from)?;
                    Ok(Reply::new(keys::STREAM_STARTED_SCENE).arg("scene", starting.clone()))
                }
                None => Ok(Reply::new(keys::STREAM_STARTED)),
            }
        }
        StreamCommand::Stop => match obs
            .end_stream(SwitchedBy::Command)
            .await
            .map_err(UserError::from)?
        {
            Outcome::Done => Ok(Reply::new(keys::STREAM_STOPPED)),
            Outcome::Already => Ok(Reply::new(keys::STREAM_NOT_LIVE)),
        },
        StreamCommand::Record(RecordAction::Start) => {
            obs.start_record().await.map_err(UserError::from)?;
            Ok(Reply::new(keys::RECORD_STARTED))
        }
        StreamCommand::Record(RecordAction::Stop) => {
            obs.stop_record().await.map_err(UserError::from)?;
            Ok(Reply::new(keys::RECORD_STOPPED))
        }
    }
}
