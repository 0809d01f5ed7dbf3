//! Fuzz target `stats_nimble`: `stream_control::fuzzing::stats_nimble` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_nimble(data);
    });
}
