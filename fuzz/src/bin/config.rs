//! Fuzz target `config`: `stream_control::fuzzing::config` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::config(data);
    });
}
