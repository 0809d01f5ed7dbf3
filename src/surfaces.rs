//! Surfaces are adapters: they turn platform input into an `Invocation` and render the `Reply`
//! back. No business logic lives here.

pub mod console;
pub mod discord;
pub mod twitch_chat;
