//! What a Janus server (or anyone on its data channel) can send a Confab client: Janus API
//! frames and TextRoom frames, one per line (`S…` for the API, `C…` for the data channel),
//! fed to a dialect that has already joined its room. Nothing may panic; every frame the
//! dialect sends back is JSON with a transaction; a frame yields a bounded number of outputs.
#![no_main]

use confab_core::link::JanusLink;
use confab_core::IdentityId;
use confab_signal::janus::{JanusDialect, JanusOutput};
use libfuzzer_sys::fuzz_target;

/// Takes a fresh dialect through the join (transactions are numbered c1, c2, … in order).
fn joined() -> JanusDialect {
    let link = JanusLink {
        server: "ws://janus.test:8188/".parse().expect("a URL"),
        room: 1234,
        pin: None,
        token: None,
    };
    let mut dialect = JanusDialect::new(&link, "Fuzz", &IdentityId::new("id-fuzz").expect("an id"));
    for frame in [
        r#"{"janus":"success","transaction":"c1","data":{"id":1}}"#,
        r#"{"janus":"success","transaction":"c2","data":{"id":2}}"#,
        r#"{"janus":"success","transaction":"c3","data":{"id":3}}"#,
        r#"{"janus":"event","sender":2,"plugindata":{"data":{"videoroom":"joined","id":9,"private_id":5,"publishers":[{"id":7,"streams":[{"type":"video"}]}]}}}"#,
    ] {
        dialect.handle_server(frame).expect("the join script reads");
    }
    dialect.join_room();
    dialect.chat_channel_opened();
    while dialect.poll_output().is_some() {}
    dialect
        .handle_channel(r#"{"textroom":"success","transaction":"c7","participants":[{"username":"8"}]}"#, 0)
        .expect("the chat join reads");
    dialect
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut dialect = joined();
    while dialect.poll_output().is_some() {}
    for line in text.split('\n') {
        let _ = match line.split_at_checked(1) {
            Some(("S", frame)) => dialect.handle_server(frame),
            Some(("C", frame)) => dialect.handle_channel(frame, 1),
            _ => continue,
        };
        let mut outputs = 0;
        while let Some(output) = dialect.poll_output() {
            outputs += 1;
            assert!(outputs < 200, "one frame made the dialect say too much");
            if let JanusOutput::Server(frame) | JanusOutput::Channel(frame) = output {
                let json: serde_json::Value = serde_json::from_str(&frame).expect("frames are JSON");
                assert!(json.get("transaction").is_some(), "{frame}");
            }
        }
    }
});
