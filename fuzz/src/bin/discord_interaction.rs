//! Fuzz target `discord_interaction`: `stream_control::fuzzing::discord_interaction` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::discord_interaction(data);
    });
}
