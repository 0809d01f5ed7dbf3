//! The bitrate guard: fetch → parse → decide, then switch OBS scenes.
//!
//! - `stats/<server>.rs`: one file per stats server type; a pure `parse` from bytes to a
//!   [`stats::Reading`] and a thin fetch with a timeout and a body-size cap.
//! - [`stats::Meter`]: turns cumulative byte counters into bitrates (1 s resolution).
//! - `decide.rs`: the pure, time-based state machine `(policy, state, input, now) → decision`.

pub mod decide;
pub(crate) mod fetch;
mod run;
pub mod stats;
mod tick;

pub use run::{GuardHandle, TriggerRefusal, run};
