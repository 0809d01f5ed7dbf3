//! The integration tests, one binary: each file is a module (`cargo test --test it <module>::`
//! runs one file's tests). The fakes and helpers they share are the `stream-control-test-support`
//! crate (`tests/support/`), compiled once.
//!
//! Tests run on threads of one process, so none may change process-wide state that another
//! reads: no `std::env::set_var`, no `set_current_dir`, no global tracing subscriber (a test that
//! captures logs uses `tracing::subscriber::set_default` on its own single-threaded runtime).
//! `overlay` raises the open-file soft limit, which only helps the others.

mod app;
mod authz;
mod browser;
mod config;
mod demo;
mod discord;
mod discord_gateway;
mod discord_twitch;
mod dispatch;
mod doctor;
mod fake_eventsub;
mod fake_obs;
mod fake_twitch;
mod fuzzing;
mod guard;
mod guard_decide;
mod guard_nginx;
mod history;
mod invariants;
mod kick;
mod kick_readers;
mod layering;
mod locales;
mod long_run;
mod obs;
mod overlay;
mod power;
mod process;
mod real_obs;
mod restream;
mod restream_nginx;
mod services;
mod sounds;
mod stats_fetch;
mod sudoers;
mod systemd;
mod tls;
mod token_file;
mod twitch;
mod web;
mod web_limits;
