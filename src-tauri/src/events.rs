//! Call events as the UI receives them: [`UiEvent`], sent over the `join` command's
//! [`Channel`] by one forwarding task per call. The forwarder adds what the engine's small
//! deltas leave out (a newcomer's name and identity) from a snapshot, and turns reasons and
//! errors into sentences; it decides nothing.

use crate::local_media;
use crate::state::AppState;
use confab_core::{ChatMessage, ConversationId, LeaveReason, MediaKind, ParticipantId};
use confab_engine::{CallCommand, CallControl, CallError, CallEvent};
use confab_media::SourceError;
use serde::{Deserialize, Serialize};
use std::sync::PoisonError;
use std::time::Duration;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::mpsc::UnboundedReceiver;

/// How often the mix is asked who is speaking.
const SPEAKER_CHECK: Duration = Duration::from_millis(300);

/// Someone in the call, as the UI shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantView {
    /// Session id (changes when they rejoin).
    pub id: String,
    /// Stable identity (private conversations are bound to it).
    pub identity: String,
    /// Display name.
    pub name: String,
}

/// A conversation: everyone, or exactly the listed identities (ourselves included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ConversationView {
    /// Everyone in the room.
    Public,
    /// Exactly these identities.
    Private {
        /// Member identities, sorted.
        members: Vec<String>,
    },
}

impl ConversationView {
    /// The view of a conversation this UI knows how to show; `None` for a kind it does not
    /// (such a message is not shown rather than shown in the wrong place).
    fn of(conversation: &ConversationId) -> Option<Self> {
        match conversation {
            ConversationId::Public => Some(Self::Public),
            ConversationId::Private(members) => Some(Self::Private {
                members: members.iter().map(|m| m.as_str().to_owned()).collect(),
            }),
            _ => None,
        }
    }
}

/// A chat message, ours or someone else's.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChatView {
    /// Message id.
    pub id: String,
    /// Sender's session.
    pub from: String,
    /// Sender's identity.
    pub from_identity: String,
    /// Sender's display name.
    pub from_name: String,
    /// Sender's order stamp (the UI keeps each sender's lines in this order).
    pub order: u64,
    /// Where it belongs.
    pub conversation: ConversationView,
    /// The text.
    pub text: String,
    /// Whether we sent it.
    pub own: bool,
}

impl ChatView {
    fn new(message: &ChatMessage, own: bool) -> Option<Self> {
        Some(Self {
            id: message.id.as_str().to_owned(),
            from: message.from.as_str().to_owned(),
            from_identity: message.from_identity.as_str().to_owned(),
            from_name: message.from_name.clone(),
            order: message.order,
            conversation: ConversationView::of(&message.conversation)?,
            text: message.text.clone(),
            own,
        })
    }
}

/// Something that happened in the call, for the UI.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum UiEvent {
    /// We are in the room (again, after a rejoin).
    Joined {
        /// Our session id.
        local: String,
        /// Our identity.
        identity: String,
    },
    /// Someone joined.
    ParticipantJoined {
        /// Who.
        participant: ParticipantView,
    },
    /// Someone left.
    ParticipantLeft {
        /// Session id.
        id: String,
        /// Why, as a sentence.
        reason: String,
    },
    /// Someone muted or unmuted.
    TrackMuted {
        /// Session id.
        participant: String,
        /// `audio` or `video`.
        media: MediaKind,
        /// New state.
        muted: bool,
    },
    /// A chat message to show (received, or sent by us).
    Chat {
        /// The message.
        message: ChatView,
    },
    /// A recipient acknowledged our private message.
    ChatDelivered {
        /// Message id.
        id: String,
        /// Recipient identity.
        to: String,
    },
    /// Our private message will not be delivered.
    ChatNotDelivered {
        /// Message id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The connection was lost; getting back in.
    Reconnecting {
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// The loudest participant now (`None`: nobody is speaking).
    ActiveSpeaker {
        /// Session id.
        participant: Option<String>,
    },
    /// Media stopped while the call goes on.
    MediaInterrupted,
    /// Media flows again.
    MediaRestored,
    /// Our camera or microphone stopped; that medium is muted until another device is picked.
    DeviceLost {
        /// `audio` or `video`.
        media: MediaKind,
        /// A sentence saying what happened and what to do.
        message: String,
    },
    /// Something went wrong; the call goes on.
    Problem {
        /// A sentence.
        message: String,
    },
    /// The call is over.
    Ended {
        /// Why, as a sentence.
        reason: String,
    },
}

/// A sentence for why someone (or we) left.
pub fn leave_sentence(reason: LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Hangup => "left the call",
        LeaveReason::ConnectionLost => "lost their connection",
        LeaveReason::ServerShutdown => "the meeting was closed",
        LeaveReason::Refused => "was refused by the server",
        LeaveReason::Replaced => "joined again from another device or window",
        _ => "left",
    }
}

fn ended_sentence(reason: LeaveReason, error: Option<&CallError>) -> String {
    match (reason, error) {
        (_, Some(error)) => format!("The call ended: {error}"),
        (LeaveReason::Hangup, None) => "You left the call.".into(),
        (LeaveReason::ConnectionLost, None) => "The call ended: the connection was lost.".into(),
        (LeaveReason::ServerShutdown, None) => "The meeting was closed by its host.".into(),
        (LeaveReason::Refused, None) => "The server refused this call.".into(),
        (LeaveReason::Replaced, None) => {
            "You joined this meeting from another device or window, so this one has left.".into()
        }
        (_, None) => "The call ended.".into(),
    }
}

/// Forwards one call's events to the UI until the call ends, and says who is speaking whenever
/// that changes. When the call ends, its pictures and sound are let go and the speaker closed.
pub async fn forward<R: Runtime>(
    mut events: UnboundedReceiver<CallEvent>,
    control: CallControl,
    channel: Channel<UiEvent>,
    app: AppHandle<R>,
) {
    let state = app.state::<AppState>();
    let send = |view: UiEvent| {
        if channel.send(view).is_err() {
            tracing::debug!("the UI stopped listening to call events");
        }
    };
    let mut speaking: Option<String> = None;
    let mut listen = tokio::time::interval(SPEAKER_CHECK);
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = listen.tick() => {
                let loudest = state.mixer.loudest();
                if loudest != speaking {
                    speaking.clone_from(&loudest);
                    send(UiEvent::ActiveSpeaker { participant: loudest });
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        match &event {
            CallEvent::ParticipantLeft { id, .. } => state.mixer.remove(id.as_str()),
            // Others see our camera off rather than its last picture frozen.
            CallEvent::SourceLost { kind, .. } => control.command(CallCommand::SetMuted {
                kind: *kind,
                muted: true,
            }),
            _ => {}
        }
        let ended = matches!(event, CallEvent::Ended { .. });
        if let Some(view) = ui_event(event, &control).await {
            send(view);
        }
        if ended {
            break;
        }
    }
    state
        .speaker
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    state.mixer.clear();
    state.tiles.clear();
    state.forget_own_media();
}

async fn ui_event(event: CallEvent, control: &CallControl) -> Option<UiEvent> {
    Some(match event {
        CallEvent::Joined { local } => UiEvent::Joined {
            local: local.as_str().to_owned(),
            identity: control
                .snapshot()
                .await
                .and_then(|s| s.identity)
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
        },
        CallEvent::ParticipantJoined(id) => UiEvent::ParticipantJoined {
            participant: participant_view(control, &id).await?,
        },
        CallEvent::ParticipantLeft { id, reason } => UiEvent::ParticipantLeft {
            id: id.as_str().to_owned(),
            reason: leave_sentence(reason).to_owned(),
        },
        CallEvent::TrackMuted {
            participant,
            kind,
            muted,
        } => UiEvent::TrackMuted {
            participant: participant.as_str().to_owned(),
            media: kind,
            muted,
        },
        CallEvent::ChatReceived(message) => UiEvent::Chat {
            message: ChatView::new(&message, false)?,
        },
        CallEvent::ChatSent(message) => UiEvent::Chat {
            message: ChatView::new(&message, true)?,
        },
        CallEvent::ChatDelivered { id, to } => UiEvent::ChatDelivered {
            id: id.as_str().to_owned(),
            to: to.as_str().to_owned(),
        },
        CallEvent::ChatNotDelivered { id, reason } => UiEvent::ChatNotDelivered {
            id: id.as_str().to_owned(),
            reason,
        },
        CallEvent::Reconnecting { attempt } => UiEvent::Reconnecting { attempt },
        CallEvent::MediaInterrupted => UiEvent::MediaInterrupted,
        CallEvent::MediaRestored => UiEvent::MediaRestored,
        CallEvent::SourceLost { kind, error } => UiEvent::DeviceLost {
            media: kind,
            message: lost_sentence(kind, &error),
        },
        CallEvent::Problem(error) => UiEvent::Problem {
            message: error.to_string(),
        },
        CallEvent::Ended { reason, error } => UiEvent::Ended {
            reason: ended_sentence(reason, error.as_ref()),
        },
        _ => return None,
    })
}

/// What the user reads when our camera or microphone stops mid-call.
fn lost_sentence(kind: MediaKind, error: &SourceError) -> String {
    let (device, muted) = match kind {
        MediaKind::Video => ("camera", "Your video is off"),
        MediaKind::Audio => ("microphone", "You are muted"),
    };
    format!(
        "{} {muted} until you pick a {device} in the list under the call (plug it back in and pick it again, or pick another).",
        local_media::sentence(error)
    )
}

async fn participant_view(control: &CallControl, id: &ParticipantId) -> Option<ParticipantView> {
    let snapshot = control.snapshot().await?;
    let remote = snapshot.participants.into_iter().find(|p| &p.id == id)?;
    Some(ParticipantView {
        id: remote.id.as_str().to_owned(),
        identity: remote.identity.as_str().to_owned(),
        name: remote.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reach_the_ui_as_tagged_camel_case_json() {
        let event = UiEvent::TrackMuted {
            participant: "p1".into(),
            media: MediaKind::Video,
            muted: true,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "trackMuted", "participant": "p1", "media": "video", "muted": true})
        );
    }

    #[test]
    fn a_private_conversation_names_its_members_and_a_public_one_names_none() {
        let private: ConversationView =
            serde_json::from_value(serde_json::json!({"kind": "private", "members": ["a", "b"]})).unwrap();
        assert_eq!(
            private,
            ConversationView::Private {
                members: vec!["a".into(), "b".into()]
            }
        );
        let missing = serde_json::from_value::<ConversationView>(serde_json::json!({"kind": "private"}));
        assert!(
            missing.is_err(),
            "a private conversation without members is refused, never made public"
        );
    }

    #[test]
    fn a_stopped_device_says_what_is_off_and_what_to_do() {
        let camera = lost_sentence(MediaKind::Video, &SourceError::Stopped { kind: "camera" });
        assert!(
            camera.starts_with("The camera stopped working. Your video is off"),
            "{camera}"
        );
        assert!(camera.contains("pick a camera"), "{camera}");
        let microphone = lost_sentence(MediaKind::Audio, &SourceError::NotFound { kind: "microphone" });
        assert!(
            microphone.contains("You are muted until you pick a microphone"),
            "{microphone}"
        );
    }
}
