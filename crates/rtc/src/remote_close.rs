//! Noticing that the other side closed the connection: its SCTP ABORT or DTLS close_notify,
//! which the library does not report as a state change (a webrtc-rs peer that receives them
//! only reaches `disconnected` after an ICE timeout).

use crate::session::{Callbacks, PeerEvent};
use rtc::peer_connection::transport::{RTCDtlsTransportState, RTCSctpTransportState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use webrtc::peer_connection::PeerConnection;

/// How often [`watch_remote_close`] looks at the DTLS state when nothing woke it.
const CLOSE_POLL: Duration = Duration::from_millis(250);
/// After a data channel ends, the rest of a close (SCTP ABORT, DTLS close_notify) follows
/// within milliseconds: look this often, this many times, before going back to [`CLOSE_POLL`].
const CLOSE_FOLLOW: Duration = Duration::from_millis(5);
const CLOSE_FOLLOW_LOOKS: u32 = 60;

/// Reports [`PeerEvent::RemoteClosed`] (and ends every remote track) once the other side has
/// closed the connection. Wakes when a data channel ends (a peer closing ends them first, then
/// the SCTP association and DTLS) and follows closely for a moment; otherwise looks every
/// [`CLOSE_POLL`], for sessions without data channels. Holds the connection weakly and stops when the session closes.
pub(crate) fn watch_remote_close(
    pc: std::sync::Weak<dyn PeerConnection>,
    closed: Arc<AtomicBool>,
    session: Arc<Callbacks>,
) {
    tokio::spawn(async move {
        let mut following = 0;
        loop {
            let wait = if following > 0 {
                following -= 1;
                CLOSE_FOLLOW
            } else {
                CLOSE_POLL
            };
            tokio::select! {
                () = session.closing.notified() => following = CLOSE_FOLLOW_LOOKS,
                () = tokio::time::sleep(wait) => {}
            }
            let Some(pc) = pc.upgrade() else { return };
            if closed.load(Ordering::Relaxed) || session.events.is_closed() {
                return;
            }
            if closed_by_peer(pc.as_ref()).await && !closed.load(Ordering::Relaxed) {
                session.endings.end_everything();
                let _ = session.events.send(PeerEvent::RemoteClosed);
                return;
            }
        }
    });
}

/// Whether the other side ended the connection: its DTLS close_notify closed the transport,
/// or its SCTP ABORT closed the association (which comes first when it has data channels).
async fn closed_by_peer(pc: &dyn PeerConnection) -> bool {
    if let Some(sctp) = pc.sctp().await {
        if sctp.state().await.ok() == Some(RTCSctpTransportState::Closed) {
            return true;
        }
    }
    dtls_state(pc).await == Some(RTCDtlsTransportState::Closed)
}

/// The state of the DTLS transport everything is bundled on, once there is one.
async fn dtls_state(pc: &dyn PeerConnection) -> Option<RTCDtlsTransportState> {
    let transport = match pc.sctp().await {
        Some(sctp) => Some(sctp.transport()),
        None => {
            let mut found = None;
            for transceiver in pc.get_transceivers().await {
                if let Ok(Some(receiver)) = transceiver.receiver().await {
                    if let Ok(Some(transport)) = receiver.transport().await {
                        found = Some(transport);
                        break;
                    }
                }
            }
            found
        }
    }?;
    transport.state().await.ok()
}
