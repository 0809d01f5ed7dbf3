#[path = "support/fake_eventsub.rs"]
mod fake_eventsub;
