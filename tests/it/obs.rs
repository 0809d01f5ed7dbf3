//! OBS control end to end: the app against the simulated obs-websocket server (the demo's
//! `obs_sim`), through dispatch (commands), confirmed stream start/stop, diagnostics and
//! reconnects. Real sockets on 127.0.0.1, so real time; every wait is bounded and event-driven.
//!
//! The same cases run twice (`obs_cases.rs`): against obs-websocket 5.5 (OBS 30.2+, the obws
//! client) and against 5.1 as OBS 29.0.2 sends it (no UUIDs, the older answers: the compat
//! client, chosen at connect time).

/// OBS 30.2 and newer.
mod obws {
    const OBS_VERSION: &str = "31.0.2";
    const WEBSOCKET_VERSION: &str = "5.5.4";
    include!("obs_cases.rs");
}

/// OBS 28.0 to 30.1 (Debian 12 ships 29.0.2 with obs-websocket 5.1.0).
mod compat {
    const OBS_VERSION: &str = "29.0.2";
    const WEBSOCKET_VERSION: &str = "5.1.0";
    include!("obs_cases.rs");
}
