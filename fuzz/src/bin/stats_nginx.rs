//! Fuzz target `stats_nginx`: `stream_control::fuzzing::stats_nginx` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_nginx(data);
    });
}
