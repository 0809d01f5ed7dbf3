//! Fuzz target `stats_srs`: `stream_control::fuzzing::stats_srs` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_srs(data);
    });
}
