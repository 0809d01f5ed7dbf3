//! Fuzz target `stats_sls`: `stream_control::fuzzing::stats_sls` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_sls(data);
    });
}
