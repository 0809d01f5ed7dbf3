//! Demo mode (placeholder while the simulators move in).

pub mod obs_sim;
