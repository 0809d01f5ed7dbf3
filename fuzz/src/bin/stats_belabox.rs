//! Fuzz target `stats_belabox`: `stream_control::fuzzing::stats_belabox` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_belabox(data);
    });
}
