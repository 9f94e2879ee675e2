//! Making and closing the connections of a PeerJS mesh: a data connection carries the chat
//! channel; a media connection sends our camera and microphone and receives the peer's on the
//! same sections (asking to receive the kinds we do not send). Every media connection's tracks
//! are fed by the one encoder per medium ([`LocalMedia::attach_all`]).

use super::{ConnectionKey, PeerConnection, PeerJsCall};
use crate::api::CallError;
use crate::send::track_id;
use confab_core::{MediaKind, ParticipantId, SessionDescription};
use confab_rtc::PeerSession;
use confab_signal::peerjs::Lane;
use std::sync::Arc;

impl PeerJsCall {
    /// Makes a new connection of `lane` to `peer` and offers it.
    pub(super) async fn offer(
        &mut self,
        peer: &ParticipantId,
        lane: Lane,
        connection: &str,
    ) -> Result<(), CallError> {
        let session = self.new_connection(peer, lane).await?;
        match lane {
            Lane::Data => session.open_data_channel(connection).await?,
            Lane::Media => {
                let mut tracks = Vec::new();
                for kind in [MediaKind::Video, MediaKind::Audio] {
                    if self.outgoing.sends(kind) {
                        let stream = self.mesh.local().as_str();
                        tracks.push(session.add_two_way_track(stream, track_id(kind), kind).await?);
                    } else {
                        session.add_receiver(kind).await?;
                    }
                }
                self.feed(peer, tracks);
            }
        }
        let offer = session.create_offer().await?;
        self.mesh.local_description(peer, lane, &offer);
        Ok(())
    }

    /// Makes a new connection of `lane` for `peer`'s offer and answers it.
    pub(super) async fn answer(
        &mut self,
        peer: &ParticipantId,
        lane: Lane,
        offer: SessionDescription,
    ) -> Result<(), CallError> {
        let session = self.new_connection(peer, lane).await?;
        let answer = match lane {
            Lane::Data => session
                .apply_remote(offer)
                .await?
                .ok_or(CallError::Rtc(confab_rtc::RtcError::NotConnected))?,
            Lane::Media => {
                let sending: Vec<_> = self
                    .outgoing
                    .kinds()
                    .iter()
                    .map(|&kind| (track_id(kind), kind))
                    .collect();
                let stream = self.mesh.local().to_string();
                let (answer, tracks) = session.answer_sending(offer, &stream, &sending).await?;
                self.feed(peer, tracks);
                answer
            }
        };
        self.mesh.local_description(peer, lane, &answer);
        Ok(())
    }

    /// Closes a connection, keeping what it carried for the snapshot.
    pub(super) async fn close(&mut self, key: &ConnectionKey) {
        let Some(connection) = self.peers.remove(key) else {
            return;
        };
        self.traffic.close(&connection.session).await;
        if !connection.tracks.is_empty() {
            self.retarget();
        }
    }

    /// A new connection in `key`'s place (closing the one it replaces), its events forwarded to
    /// the call tagged with a fresh generation.
    async fn new_connection(
        &mut self,
        peer: &ParticipantId,
        lane: Lane,
    ) -> Result<Arc<PeerSession>, CallError> {
        let key = (peer.clone(), lane);
        self.close(&key).await;
        let (session, mut events) = PeerSession::new(&self.peer_config).await?;
        self.generation += 1;
        let generation = self.generation;
        let forward = self.peer_tx.clone();
        let tag = key.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if forward.send((tag.clone(), generation, event)).is_err() {
                    return;
                }
            }
        });
        let session = Arc::new(session);
        let connection = PeerConnection {
            generation,
            session: session.clone(),
            label: None,
            tracks: Vec::new(),
        };
        self.peers.insert(key, connection);
        Ok(session)
    }

    /// Feeds `tracks` (on `peer`'s media connection) from our camera and microphone, starting
    /// them the first time.
    fn feed(&mut self, peer: &ParticipantId, tracks: Vec<Arc<confab_rtc::LocalMediaTrack>>) {
        if tracks.is_empty() {
            return;
        }
        self.outgoing.start();
        if let Some(connection) = self.peers.get_mut(&(peer.clone(), Lane::Media)) {
            connection.tracks = tracks;
        }
        self.retarget();
    }

    /// Points our encoders at every media connection's tracks.
    fn retarget(&self) {
        let Some(media) = self.outgoing.media() else {
            return;
        };
        let tracks = self.peers.values().flat_map(|c| c.tracks.iter());
        let (videos, audios): (Vec<_>, Vec<_>) = tracks.cloned().partition(|t| t.kind() == MediaKind::Video);
        media.attach_all(videos, audios);
    }
}
