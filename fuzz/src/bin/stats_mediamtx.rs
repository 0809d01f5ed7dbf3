//! Fuzz target `stats_mediamtx`: `stream_control::fuzzing::stats_mediamtx` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_mediamtx(data);
    });
}
