//! Fuzz target `chat_line`: `stream_control::fuzzing::chat_line` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::chat_line(data);
    });
}
