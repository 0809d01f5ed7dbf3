//! Fuzz target `stats_openirl`: `stream_control::fuzzing::stats_openirl` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_openirl(data);
    });
}
