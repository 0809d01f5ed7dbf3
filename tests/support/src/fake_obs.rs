//! The tests' fake OBS Studio is the demo's simulator (`stream_control::demo::obs_sim`): an
//! obs-websocket v5 server on `127.0.0.1` speaking the real protocol, with scripted failures.
//! This wrapper only keeps the tests' names and turns the simulator's errors (an unknown scene
//! or input, a port that cannot be bound) into panics, which is what a test wants.

#![allow(dead_code, unused_imports)]

use std::ops::{Deref, DerefMut};
use stream_control::demo::obs_sim::ObsSim;

pub use stream_control::demo::obs_sim::{
    AVAILABLE_REQUESTS, ObsSimOptions as FakeObsOptions, Recorded, auth_string, close_code,
    media_state, new_uuid, op, status, subscription,
};

/// The simulator; every method of [`ObsSim`] is available through `Deref`.
pub struct FakeObs(ObsSim);

impl FakeObs {
    /// Starts listening on `127.0.0.1:0`. Panics if `current_scene` is not in `scenes`, or if
    /// the port cannot be bound.
    pub async fn start(options: FakeObsOptions) -> FakeObs {
        FakeObs(
            ObsSim::start(options)
                .await
                .unwrap_or_else(|e| panic!("fake OBS: {e}")),
        )
    }

    /// [`ObsSim::set_scene`]; panics if the scene does not exist.
    pub fn set_scene(&self, name: &str) {
        self.0
            .set_scene(name)
            .unwrap_or_else(|e| panic!("fake OBS: set_scene: {e}"));
    }

    /// [`ObsSim::set_media_state`]; panics on an unknown input or state.
    pub fn set_media_state(&self, input: &str, state: &str) {
        self.0
            .set_media_state(input, state)
            .unwrap_or_else(|e| panic!("fake OBS: set_media_state: {e}"));
    }

    /// [`ObsSim::remove_scene`]; panics if it does not exist or is the last one.
    pub fn remove_scene(&self, name: &str) {
        self.0
            .remove_scene(name)
            .unwrap_or_else(|e| panic!("fake OBS: remove_scene: {e}"));
    }

    /// [`ObsSim::restart`]; panics if the port cannot be bound again.
    pub async fn restart(&mut self) {
        self.0
            .restart()
            .await
            .unwrap_or_else(|e| panic!("fake OBS: restart: {e}"));
    }

    /// [`ObsSim::shutdown`].
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }
}

impl Deref for FakeObs {
    type Target = ObsSim;

    fn deref(&self) -> &ObsSim {
        &self.0
    }
}

impl DerefMut for FakeObs {
    fn deref_mut(&mut self) -> &mut ObsSim {
        &mut self.0
    }
}
