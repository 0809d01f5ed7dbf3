//! stream-control: run an IRL/Twitch stream from Twitch chat and Discord.
//!
//! One process, one tokio runtime. Reading order:
//!
//! - `commands` (workspace crate): the pure vocabulary; every action is a `commands::Command`.
//! - [`config`]: `config.ron`, strict and validated, every problem reported at once;
//!   [`secrets`]: secrets from the environment and the redactor; [`state_store`]: atomic state
//!   files.
//! - [`app`]: the [`app::Context`], supervision of tasks, shutdown.
//! - [`status`]: `watch<Status>` (current state) and `broadcast<Event>` (what happened).
//! - [`dispatch`]: Invocation → permission → cooldown → the one exhaustive match → handler.
//! - [`handlers`]: one file per feature; [`reply`]: keys + arguments; [`i18n`]: Fluent, from the shipped
//!   [`catalog`].
//! - Features behind the handlers: [`obs`], [`guard`], [`twitch`], [`restream`] (nginx push
//!   list), [`power`] (stream PC), [`services`] (systemd units, journal); [`exec`] runs the
//!   system programs they need (no shell, timeouts). [`kick`]: Kick's login, tokens and API
//!   (chat messages), and its chat readers (Pusher, unofficial; signed webhooks).
//! - [`surfaces`]: adapters that turn platform input into invocations (the console, Twitch
//!   chat, Discord).
//! - [`history`]: the 30-minute ring buffer of bitrate, RTT and scene switches; [`metrics`]:
//!   counters for `/metrics`; [`alerts`]: overlay alerts and their fan-out.
//! - [`web`]: status page, overlay, alert API, metrics, bans, rate limits, security headers.
//! - [`logging`]: tracing with redaction; [`tls`]: one rustls client configuration (system
//!   roots + `tls.extra_ca_files`), every HTTP client and WebSocket built from it.
//! - [`demo`]: `stream-control demo`, the bot against its built-in OBS and nginx-rtmp
//!   simulators (the OBS simulator is also the tests' fake OBS).
//! - [`doctor`]: `stream-control doctor`, every outside dependency checked with its fix;
//!   [`systemd`]: `READY=1`, watchdog pings and `STOPPING=1` for a `Type=notify` unit;
//!   [`sudoers`]: `stream-control sudoers`, the exact sudoers drop-in for the privileged commands.
//! - [`timestamp`]: RFC 3339 through humantime, offsets honoured.
//! - `fuzzing` (hidden): one fuzz target per parser, for the `fuzz/` crate and
//!   `tests/it/fuzzing.rs`.
//!
//! `docs/architecture.md` has the code map and lists the invariants with their tests.

#![deny(clippy::await_holding_lock, clippy::await_holding_refcell_ref)]

pub mod alerts;
pub mod app;
pub mod catalog;
pub mod config;
pub mod context;
pub mod demo;
pub mod dispatch;
pub mod doctor;
pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod handlers;
pub mod history;
pub mod i18n;
pub mod kick;
pub mod logging;
pub mod metrics;
pub mod obs;
pub mod power;
pub mod reply;
pub mod restream;
pub mod retry;
pub mod secrets;
pub mod services;
pub mod state_store;
pub mod status;
pub mod sudoers;
pub mod surfaces;
pub mod systemd;
pub mod timestamp;
pub mod tls;
pub mod twitch;
pub mod web;
