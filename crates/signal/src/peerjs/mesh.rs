//! A mesh room over a PeerJS server, as a sans-IO state machine: frames from the server and
//! messages from the data connections go in, and what to send where comes out as
//! [`MeshOutput`]s, which the call driver carries out.
//!
//! Joining: the server registers our id (`OPEN`); the driver lists the server's peers
//! ([`MeshOutput::ListPeers`]); we offer a data connection and a media connection to every
//! member of our room already there. They learn of us from our offers. Each side says hello on
//! the data connection (name, tracks), and only then is the other a participant of the room.
//! When both offer to each other at once, the offer from the lower id wins.
//!
//! Leaving: we tell every peer (`LEAVE`, which PeerJS clients act on) and close. A peer is gone
//! when it says so, when the server cannot reach it, or when one of its connections closes or
//! fails. A lost server connection is not a lost call: media and chat flow peer to peer, and
//! the driver reconnects with the same id and token while the call goes on.
//!
//! Getting back together: every few heartbeats we list the server's peers again and offer to
//! members we have no connection with, and a peer that never says hello (an offer or answer
//! lost while a server connection was down, a connection that never opened) is let go after a
//! few heartbeats, to be offered to afresh. So two participants whose connections failed (a
//! network change) find each other again, both offering at once and the lower id winning.
//!
//! Chat: public messages go to every participant's data connection, private ones to each
//! recipient's alone (peer to peer, encrypted by the connection's DTLS: the PeerJS server never
//! sees them), and recipients acknowledge them.

use super::wire::{self, parse_server, ChannelMessage, Lane, ServerMessage};
use super::{identity_of, member_of_room};
use crate::adapter::AdapterError;
use confab_core::chat::{ChatMessage, ConversationId, PrivateMembers};
use confab_core::{
    IceCandidate, LeaveReason, MessageId, ParticipantId, ParticipantInfo, SessionDescription,
    SignalErrorCode, SignalIn, TrackId, TrackInfo,
};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How often we tell the server we are alive (PeerJS clients send a heartbeat every 5 s).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// Every this many heartbeats we look at the server's list again, to find members we have no
/// connection with (their connections to us failed, or an offer or answer was lost while a
/// server connection was down) and offer to them.
pub const HEARTBEATS_PER_LISTING: u32 = 3;

/// A peer that has not said hello after this many heartbeats (an offer never answered, a
/// connection that never opened) is let go, to be offered to afresh at the next listing.
pub const HEARTBEATS_TO_SAY_HELLO: u32 = 3;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum MeshOutput {
    /// Send this frame to the server.
    Server(String),
    /// Ask the server who is there and call [`PeerJsMesh::peers_listed`] with the answer.
    ListPeers,
    /// Tell the room.
    Signal(SignalIn),
    /// Make a new connection of `lane` to the peer (replacing any) and offer it; a data
    /// connection opens its channel with `connection` as label, as PeerJS' do.
    Offer {
        /// The peer.
        peer: ParticipantId,
        /// Media or data.
        lane: Lane,
        /// The connection's id.
        connection: String,
    },
    /// Make a new connection of `lane` for the peer's offer (replacing any) and answer it.
    Answer(ParticipantId, Lane, SessionDescription),
    /// Apply the peer's answer to our offer.
    Remote(ParticipantId, Lane, SessionDescription),
    /// Apply the peer's candidate.
    Candidate(ParticipantId, Lane, IceCandidate),
    /// Send this on the peer's data channel.
    Channel(ParticipantId, Vec<u8>),
    /// Close the connection.
    Close(ParticipantId, Lane),
}

/// One connection to a peer, as PeerJS names it.
#[derive(Debug, Clone)]
struct Connection {
    id: String,
    /// We offered it (and wait for the answer while `answered` is false).
    ours: bool,
    answered: bool,
}

#[derive(Debug, Default)]
struct Remote {
    name: Option<String>,
    /// Said hello: a participant of the room.
    announced: bool,
    channel_open: bool,
    lanes: BTreeMap<Lane, Connection>,
    /// Heartbeats gone by while the peer had not said hello.
    silent_heartbeats: u32,
}

/// One participant's side of a PeerJS mesh room.
pub struct PeerJsMesh {
    room: String,
    local: ParticipantId,
    name: String,
    tracks: Vec<TrackInfo>,
    /// Unique to this call: names our connections.
    session: String,
    connections_made: u64,
    registered: bool,
    joined: bool,
    left: bool,
    remotes: BTreeMap<ParticipantId, Remote>,
    outputs: VecDeque<MeshOutput>,
    next_heartbeat: Instant,
    heartbeats: u32,
}

impl PeerJsMesh {
    /// Our side of `room` as `local` (see [`super::peer_id_for`]), showing `name`, sending
    /// `tracks`; `session` (random, per call) names our connections.
    pub fn new(
        room: &str,
        local: ParticipantId,
        name: &str,
        tracks: Vec<TrackInfo>,
        session: u32,
        now: Instant,
    ) -> Self {
        Self {
            room: room.to_owned(),
            local,
            name: name.to_owned(),
            tracks,
            session: format!("{session:08x}"),
            connections_made: 0,
            registered: false,
            joined: false,
            left: false,
            remotes: BTreeMap::new(),
            outputs: VecDeque::new(),
            next_heartbeat: now + HEARTBEAT_INTERVAL,
            heartbeats: 0,
        }
    }

    /// Our peer id.
    pub fn local(&self) -> &ParticipantId {
        &self.local
    }

    /// Whether the server has our id registered (we are not between connections).
    pub fn registered(&self) -> bool {
        self.registered
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<MeshOutput> {
        self.outputs.pop_front()
    }

    /// When [`Self::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.left).then_some(self.next_heartbeat)
    }

    /// Sends the heartbeat when it is due; lets go of peers that never said hello, and lists
    /// the server's peers again every [`HEARTBEATS_PER_LISTING`] heartbeats.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_heartbeat || self.left {
            return;
        }
        self.next_heartbeat = now + HEARTBEAT_INTERVAL;
        let silent: Vec<ParticipantId> = self
            .remotes
            .iter_mut()
            .filter(|(_, remote)| !remote.announced)
            .filter_map(|(peer, remote)| {
                remote.silent_heartbeats += 1;
                (remote.silent_heartbeats > HEARTBEATS_TO_SAY_HELLO).then(|| peer.clone())
            })
            .collect();
        for peer in silent {
            self.drop_peer(&peer, LeaveReason::ConnectionLost);
        }
        if !self.registered {
            return;
        }
        self.outputs.push_back(MeshOutput::Server(wire::heartbeat()));
        self.heartbeats += 1;
        if self.joined && self.heartbeats.is_multiple_of(HEARTBEATS_PER_LISTING) {
            self.outputs.push_back(MeshOutput::ListPeers);
        }
    }

    /// Reads one frame from the server.
    pub fn handle_server(&mut self, frame: &str) -> Result<(), AdapterError> {
        if self.left {
            return Ok(());
        }
        match parse_server(frame)? {
            ServerMessage::Open => {
                self.registered = true;
                self.outputs.push_back(MeshOutput::ListPeers);
            }
            ServerMessage::IdTaken => self.signal(SignalIn::Error {
                code: SignalErrorCode::IdentityTaken,
                message: format!("the PeerJS server already has a peer called {}", self.local),
            }),
            ServerMessage::Error(message) => self.signal(SignalIn::Error {
                code: wire::server_error(&message),
                message: format!("the PeerJS server said: {message}"),
            }),
            ServerMessage::Offer {
                src,
                lane,
                connection,
                sdp,
                name,
            } => self.offered(&src, lane, connection, sdp, name),
            ServerMessage::Answer { src, connection, sdp } => {
                let Some((peer, lane)) = self.find(&src, &connection) else {
                    return Ok(());
                };
                let Some(ours) = self.lane_mut(&peer, lane).filter(|c| c.ours && !c.answered) else {
                    return Ok(());
                };
                ours.answered = true;
                self.outputs.push_back(MeshOutput::Remote(peer, lane, sdp));
            }
            ServerMessage::Candidate {
                src,
                connection,
                candidate,
            } => {
                if let Some((peer, lane)) = self.find(&src, &connection) {
                    self.outputs
                        .push_back(MeshOutput::Candidate(peer, lane, candidate));
                }
            }
            ServerMessage::Leave { src } => {
                if let Some(peer) = self.member(&src) {
                    self.drop_peer(&peer, LeaveReason::Hangup);
                }
            }
            // Our message could not reach the peer: it is not on the server. A participant whose
            // connections to us still work has only lost the server for a moment (as we may);
            // anyone else is not there.
            ServerMessage::Expire { src } => {
                if let Some(peer) = self.member(&src) {
                    if self.remotes.get(&peer).is_some_and(|r| !r.channel_open) {
                        self.drop_peer(&peer, LeaveReason::ConnectionLost);
                    }
                }
            }
            ServerMessage::Other => {}
        }
        Ok(())
    }

    /// The server connection dropped; the driver is reconnecting.
    pub fn server_lost(&mut self) {
        self.registered = false;
    }

    /// The driver reconnected with our id and token. The server says `OPEN` only if it had let
    /// our id go; if it still held it, it silently takes the new socket, so we are registered
    /// either way. Whoever arrived meanwhile could not find us: we look for them.
    pub fn server_reconnected(&mut self) {
        self.registered = true;
        self.outputs.push_back(MeshOutput::ListPeers);
    }

    /// The server's list of peers: we offer connections to the members of our room we have no
    /// connection with. The first list lets us into the room.
    pub fn peers_listed(&mut self, ids: &[String]) {
        if self.left {
            return;
        }
        if !self.joined {
            self.joined = true;
            self.signal(SignalIn::Joined {
                local: self.local.clone(),
                participants: Vec::new(),
            });
        }
        for id in ids {
            let Some(peer) = self.member(id) else { continue };
            if peer == self.local || self.remotes.contains_key(&peer) {
                continue;
            }
            let mut remote = Remote::default();
            for lane in [Lane::Data, Lane::Media] {
                let connection = self.new_connection_id(lane);
                remote.lanes.insert(
                    lane,
                    Connection {
                        id: connection.clone(),
                        ours: true,
                        answered: false,
                    },
                );
                self.outputs.push_back(MeshOutput::Offer {
                    peer: peer.clone(),
                    lane,
                    connection,
                });
            }
            self.remotes.insert(peer, remote);
        }
    }

    /// Our offer or answer for a connection is ready.
    pub fn local_description(&mut self, peer: &ParticipantId, lane: Lane, sdp: &SessionDescription) {
        if let Some(connection) = self.lane_mut(peer, lane).map(|c| c.id.clone()) {
            let frame = wire::description(peer.as_str(), lane, &connection, sdp, &self.name);
            self.outputs.push_back(MeshOutput::Server(frame));
        }
    }

    /// A candidate of ours for a connection.
    pub fn local_candidate(&mut self, peer: &ParticipantId, lane: Lane, candidate: &IceCandidate) {
        if let Some(connection) = self.lane_mut(peer, lane).map(|c| c.id.clone()) {
            let frame = wire::candidate(peer.as_str(), lane, &connection, candidate);
            self.outputs.push_back(MeshOutput::Server(frame));
        }
    }

    /// The data channel to `peer` is open: we say hello.
    pub fn channel_opened(&mut self, peer: &ParticipantId) {
        let Some(remote) = self.remotes.get_mut(peer) else {
            return;
        };
        remote.channel_open = true;
        let hello = ChannelMessage::Hello {
            name: self.name.clone(),
            tracks: self.tracks.clone(),
        };
        self.outputs
            .push_back(MeshOutput::Channel(peer.clone(), hello.to_bytes()));
    }

    /// A message from `peer`'s data channel. `from` is always the connection's peer: a peer
    /// cannot speak for another.
    pub fn channel_message(&mut self, peer: &ParticipantId, data: &[u8]) -> Result<(), AdapterError> {
        let Some(remote) = self.remotes.get_mut(peer) else {
            return Ok(());
        };
        match ChannelMessage::parse(data)? {
            ChannelMessage::Hello { name, tracks } => {
                remote.name = Some(name.clone());
                if remote.announced {
                    for track in tracks {
                        let participant = peer.clone();
                        self.signal(SignalIn::TrackPublished { participant, track });
                    }
                } else {
                    remote.announced = true;
                    self.signal(SignalIn::ParticipantJoined(ParticipantInfo {
                        id: peer.clone(),
                        identity: identity_of(peer),
                        key: String::new(),
                        name,
                        tracks,
                    }));
                }
            }
            ChannelMessage::Chat { id, order, text, to } => {
                let from_name = remote.name.clone().unwrap_or_else(|| peer.to_string());
                let conversation = if to.is_empty() {
                    ConversationId::Public
                } else {
                    let members = to.iter().map(|id| self.member(id).map(|p| identity_of(&p)));
                    let members: Option<Vec<_>> = members.chain([Some(identity_of(peer))]).collect();
                    let members = members.and_then(|m| PrivateMembers::new(m).ok()).ok_or_else(|| {
                        AdapterError::Protocol {
                            code: SignalErrorCode::BadMessage,
                            message: "a peer sent a private message to people outside the room".into(),
                        }
                    })?;
                    ConversationId::Private(members)
                };
                self.signal(SignalIn::Chat(ChatMessage {
                    id,
                    from: peer.clone(),
                    from_identity: identity_of(peer),
                    from_name,
                    order,
                    conversation,
                    text,
                }));
            }
            ChannelMessage::Ack { id } => self.signal(SignalIn::ChatAck {
                id,
                from: peer.clone(),
            }),
            ChannelMessage::Mute { track, muted } => self.signal(SignalIn::TrackMuted {
                participant: peer.clone(),
                track,
                muted,
            }),
        }
        Ok(())
    }

    /// One of `peer`'s connections closed or failed: the peer is gone.
    pub fn connection_closed(&mut self, peer: &ParticipantId) {
        self.drop_peer(peer, LeaveReason::ConnectionLost);
    }

    /// Sends a public message to every participant.
    pub fn send_public(&mut self, message: &ChatMessage) {
        let chat = ChannelMessage::Chat {
            id: message.id.clone(),
            order: message.order,
            text: message.text.clone(),
            to: Vec::new(),
        }
        .to_bytes();
        let present: Vec<ParticipantId> = self
            .remotes
            .iter()
            .filter(|(_, r)| r.announced && r.channel_open)
            .map(|(peer, _)| peer.clone())
            .collect();
        for peer in present {
            self.outputs.push_back(MeshOutput::Channel(peer, chat.clone()));
        }
    }

    /// Sends a private message to each of `to` (and nobody else).
    pub fn send_private(&mut self, message: &ChatMessage, to: &[ParticipantId]) -> Result<(), AdapterError> {
        if let Some(gone) = to
            .iter()
            .find(|p| self.remotes.get(p).is_none_or(|r| !r.channel_open))
        {
            return Err(AdapterError::Protocol {
                code: SignalErrorCode::UnknownParticipant,
                message: format!("{gone} is no longer connected"),
            });
        }
        let chat = ChannelMessage::Chat {
            id: message.id.clone(),
            order: message.order,
            text: message.text.clone(),
            to: to.iter().map(ToString::to_string).collect(),
        }
        .to_bytes();
        for peer in to {
            self.outputs
                .push_back(MeshOutput::Channel(peer.clone(), chat.clone()));
        }
        Ok(())
    }

    /// Acknowledges a private message from `to`.
    pub fn send_ack(&mut self, id: MessageId, to: &ParticipantId) {
        let ack = ChannelMessage::Ack { id }.to_bytes();
        self.outputs.push_back(MeshOutput::Channel(to.clone(), ack));
    }

    /// Tells everyone that one of our tracks was muted or unmuted (and says so in later hellos).
    pub fn set_muted(&mut self, track: &TrackId, muted: bool) {
        for info in self.tracks.iter_mut().filter(|t| &t.id == track) {
            info.muted = muted;
        }
        let message = ChannelMessage::Mute {
            track: track.clone(),
            muted,
        }
        .to_bytes();
        for (peer, _) in self.remotes.iter().filter(|(_, r)| r.channel_open) {
            self.outputs
                .push_back(MeshOutput::Channel(peer.clone(), message.clone()));
        }
    }

    /// Leaves: every peer is told, every connection closed.
    pub fn leave(&mut self) {
        if self.left {
            return;
        }
        for (peer, remote) in std::mem::take(&mut self.remotes) {
            self.outputs
                .push_back(MeshOutput::Server(wire::leave(peer.as_str())));
            for lane in remote.lanes.into_keys() {
                self.outputs.push_back(MeshOutput::Close(peer.clone(), lane));
            }
        }
        self.left = true;
    }

    fn offered(&mut self, src: &str, lane: Lane, id: String, sdp: SessionDescription, name: Option<String>) {
        let Some(peer) = self.member(src) else {
            tracing::info!("ignored a PeerJS offer from a peer outside this room");
            return;
        };
        if peer == self.local {
            return;
        }
        let local_wins = self.local < peer;
        let remote = self.remotes.entry(peer.clone()).or_default();
        if let Some(ours) = remote.lanes.get(&lane) {
            if ours.ours && !ours.answered && local_wins {
                return; // both offered at once: the peer takes our offer instead
            }
        }
        if let Some(name) = name {
            remote.name.get_or_insert(name);
        }
        if lane == Lane::Data {
            remote.channel_open = false;
        }
        let connection = Connection {
            id,
            ours: false,
            answered: true,
        };
        remote.lanes.insert(lane, connection);
        self.outputs.push_back(MeshOutput::Answer(peer, lane, sdp));
    }

    fn drop_peer(&mut self, peer: &ParticipantId, reason: LeaveReason) {
        let Some(remote) = self.remotes.remove(peer) else {
            return;
        };
        for lane in remote.lanes.into_keys() {
            self.outputs.push_back(MeshOutput::Close(peer.clone(), lane));
        }
        if remote.announced {
            self.signal(SignalIn::ParticipantLeft {
                id: peer.clone(),
                reason,
            });
        }
    }

    fn member(&self, id: &str) -> Option<ParticipantId> {
        member_of_room(&self.room, id)
    }

    /// The peer and lane of connection `connection` from `src`.
    fn find(&self, src: &str, connection: &str) -> Option<(ParticipantId, Lane)> {
        let peer = self.member(src)?;
        let lane = self
            .remotes
            .get(&peer)?
            .lanes
            .iter()
            .find(|(_, c)| c.id == connection)
            .map(|(lane, _)| *lane)?;
        Some((peer, lane))
    }

    fn lane_mut(&mut self, peer: &ParticipantId, lane: Lane) -> Option<&mut Connection> {
        self.remotes.get_mut(peer)?.lanes.get_mut(&lane)
    }

    fn new_connection_id(&mut self, lane: Lane) -> String {
        self.connections_made += 1;
        lane.connection_id(&format!("{}{}", self.session, self.connections_made))
    }

    fn signal(&mut self, signal: SignalIn) {
        self.outputs.push_back(MeshOutput::Signal(signal));
    }
}

#[cfg(test)]
mod tests;
