//! What a PeerJS server (or a peer on its data connection) can send a Confab client: server
//! frames and data-channel messages, one per line (`S…` for the server, `C…` for the data
//! channel of a peer already in the room), fed to a mesh that has joined its room. Nothing may
//! panic; every frame the mesh sends the server is JSON with a type; a frame yields a bounded
//! number of outputs.
#![no_main]

use confab_core::{IdentityId, ParticipantId};
use confab_signal::peerjs::wire::ChannelMessage;
use confab_signal::peerjs::{peer_id_for, MeshOutput, PeerJsMesh};
use libfuzzer_sys::fuzz_target;
use std::time::Instant;

const ROOM: &str = "r";

/// A mesh in room `r` that has joined and has one peer (`bob`) who offered, opened the data
/// channel and said hello.
fn joined() -> (PeerJsMesh, ParticipantId) {
    let local = peer_id_for(ROOM, &IdentityId::new("id-fuzz").expect("an id"));
    let bob = peer_id_for(ROOM, &IdentityId::new("id-bob").expect("an id"));
    let mut mesh = PeerJsMesh::new(ROOM, local, "Fuzz", Vec::new(), 1, Instant::now());
    mesh.handle_server(r#"{"type":"OPEN"}"#).expect("OPEN reads");
    mesh.peers_listed(&[]);
    let offer = format!(
        r#"{{"type":"OFFER","src":"{bob}","payload":{{"sdp":{{"type":"offer","sdp":"v=0"}},"type":"data","connectionId":"dc_1"}}}}"#
    );
    mesh.handle_server(&offer).expect("the offer reads");
    mesh.channel_opened(&bob);
    let hello = ChannelMessage::Hello {
        name: "Bob".into(),
        tracks: Vec::new(),
    };
    mesh.channel_message(&bob, &hello.to_bytes()).expect("the hello reads");
    (mesh, bob)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut mesh, bob) = joined();
    while mesh.poll_output().is_some() {}
    for line in text.split('\n') {
        let _ = match line.split_at_checked(1) {
            Some(("S", frame)) => mesh.handle_server(frame),
            Some(("C", message)) => mesh.channel_message(&bob, message.as_bytes()),
            _ => continue,
        };
        let mut outputs = 0;
        while let Some(output) = mesh.poll_output() {
            outputs += 1;
            assert!(outputs < 50, "one frame made the mesh say too much");
            if let MeshOutput::Server(frame) = output {
                let json: serde_json::Value = serde_json::from_str(&frame).expect("frames are JSON");
                assert!(json.get("type").is_some(), "{frame}");
            }
        }
    }
});
