//! Fuzz target `stats_node_media_server`: `stream_control::fuzzing::stats_node_media_server` under AFL++.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        stream_control::fuzzing::stats_node_media_server(data);
    });
}
