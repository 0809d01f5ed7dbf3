//! Fuzz target `eventsub_frame`: `stream_control::fuzzing::eventsub_frame` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::eventsub_frame(data);
    });
}
