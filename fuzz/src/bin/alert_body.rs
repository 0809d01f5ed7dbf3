//! Fuzz target `alert_body`: `stream_control::fuzzing::alert_body` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::alert_body(data);
    });
}
