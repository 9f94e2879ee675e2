//! Getting back into the room after the signaling connection was lost: retry with jittered
//! exponential backoff while still serving commands. A session that was in the room first asks
//! to be resumed — the server sends again what the old connection swallowed and so do we, and
//! the room and the media connection carry on untouched. If the server no longer holds the
//! session (or the room was already over), close what is left and start a fresh signaling
//! session as the same identity with the chat carried over.

use super::{Driver, BACKOFF_FIRST, BACKOFF_LONGEST, CONNECT_TIMEOUT, RECONNECT_FOR};
use crate::api::{CallCommand, CallEvent, Recovery};
use crate::seal::SessionKeys;
use confab_core::{LeaveReason, Room};
use confab_signal::native::NativeAdapter;
use confab_signal::{Transport, TransportError, WebSocketTransport};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout_at};

/// How an attempt to resume went.
enum Resume {
    /// The session carries on.
    Done,
    /// The server no longer holds it; the connection can join afresh.
    Refused(Box<WebSocketTransport>),
    /// The new connection failed too.
    ConnectionFailed,
}

/// The wait before reconnect attempt `attempt` (1-based).
pub(crate) fn backoff(attempt: u32) -> Duration {
    let doubled = BACKOFF_FIRST.saturating_mul(1 << attempt.saturating_sub(1).min(8));
    doubled
        .min(BACKOFF_LONGEST)
        .mul_f64(0.75 + rand::random::<f64>() * 0.5)
}

impl Driver {
    /// Gets back into the room: closes what is left of the old connections, then tries new ones
    /// with backoff, serving commands meanwhile, until one is admitted or time runs out.
    pub(super) async fn reconnect(&mut self, commands: &mut mpsc::UnboundedReceiver<CallCommand>) {
        self.lost = false;
        let lost_since = *self.lost_since.get_or_insert_with(Instant::now);
        let resuming = self.room.is_joined();
        if !resuming {
            self.close_media_connection().await;
        }
        self.transport.close().await;
        let url = self.link.websocket_url();
        let mut attempt = 0;
        while self.record.ended.is_none() {
            if lost_since.elapsed() >= RECONNECT_FOR {
                let gone = TransportError::Lost(format!(
                    "could not get back into the meeting within {} s",
                    RECONNECT_FOR.as_secs()
                ));
                return self.record.end(LeaveReason::ConnectionLost, Some(gone.into()));
            }
            attempt += 1;
            self.record.send(CallEvent::Reconnecting { attempt });
            let until = tokio::time::Instant::now() + backoff(attempt);
            let mut connected = None;
            let connecting = async {
                sleep_until(until).await;
                WebSocketTransport::connect(&url, CONNECT_TIMEOUT).await
            };
            tokio::pin!(connecting);
            while connected.is_none() && self.record.ended.is_none() {
                tokio::select! {
                    result = &mut connecting => connected = Some(result),
                    command = commands.recv() => self.command(command).await,
                }
            }
            match connected {
                Some(Ok(transport)) if resuming => match self.resume_on(transport, commands).await {
                    Resume::Done => return,
                    Resume::Refused(transport) => {
                        self.close_media_connection().await;
                        return self.begin_session(*transport);
                    }
                    Resume::ConnectionFailed => {}
                },
                Some(Ok(transport)) => return self.begin_session(transport),
                Some(Err(e)) => tracing::info!(attempt, error = %e, "reconnect attempt failed"),
                None => {}
            }
        }
    }

    /// Asks to carry the session on over `transport`, serving commands while the server
    /// answers; on success sends again what the server had not processed.
    async fn resume_on(
        &mut self,
        mut transport: WebSocketTransport,
        commands: &mut mpsc::UnboundedReceiver<CallCommand>,
    ) -> Resume {
        let Some(request) = self
            .adapter
            .resume_request(&self.link.room, &self.link.token, Instant::now())
        else {
            return Resume::Refused(Box::new(transport));
        };
        if transport.send(request).await.is_err() {
            return Resume::ConnectionFailed;
        }
        let until = tokio::time::Instant::now() + CONNECT_TIMEOUT;
        let answer = loop {
            tokio::select! {
                answer = timeout_at(until, transport.recv()) => break answer,
                command = commands.recv() => self.command(command).await,
            }
            if self.record.ended.is_some() {
                return Resume::ConnectionFailed;
            }
        };
        let Ok(Some(Ok(frame))) = answer else {
            return Resume::ConnectionFailed;
        };
        match self.adapter.resume_answer(&frame) {
            Ok(again) => {
                for frame in again {
                    if transport.send(frame).await.is_err() {
                        return Resume::ConnectionFailed;
                    }
                }
                self.transport = transport;
                self.last_heard = Instant::now();
                if let Some(lost) = self.lost_since.take() {
                    self.record.recovered(lost, Recovery::Resumed);
                }
                tracing::info!("resumed the session on a new connection");
                self.send_queued_chat();
                if let Some(local) = self.room.local_id().cloned() {
                    self.record.send(CallEvent::Joined { local });
                }
                Resume::Done
            }
            Err(code) => {
                tracing::info!(?code, "the server no longer holds the session; joining afresh");
                Resume::Refused(Box::new(transport))
            }
        }
    }

    /// A fresh signaling session on `transport`: new session keys, the same identity and chat.
    fn begin_session(&mut self, transport: WebSocketTransport) {
        let now = Instant::now();
        self.keys = SessionKeys::generate();
        let (id, key) = (self.identity.id.clone(), self.keys.public().to_owned());
        let old = std::mem::replace(&mut self.room, Room::new(id.clone(), key.clone()));
        self.room = Room::resume(id, key, old.into_chat());
        self.transport = transport;
        self.adapter = NativeAdapter::new(now);
        self.last_heard = now;
        self.join();
    }

    /// Stops sending into the media connection and closes it, keeping its byte counts.
    async fn close_media_connection(&mut self) {
        if let Some(media) = self.outgoing.media() {
            media.attach(None, None);
        }
        if let Some(peer) = self.peer.take() {
            let stats = peer.stats().await;
            self.closed_media_bytes.0 += stats.bytes_sent;
            self.closed_media_bytes.1 += stats.bytes_received;
            self.closed_ice_restarts += peer.ice_restarts();
            tokio::spawn(async move { peer.close().await });
        }
        self.local = None;
        self.media_path.reset();
    }
}
