//! Fuzz target `restream_endpoint`: `stream_control::fuzzing::restream_endpoint` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::restream_endpoint(data);
    });
}
