//! Chat: sending to a conversation the engine knows. The UI names the conversation; the
//! engine and server decide who receives it, and a private one can never become public.

use crate::error::UiError;
use crate::events::ConversationView;
use crate::state::AppState;
use confab_core::{ConversationId, IdentityId, PrivateMembers};
use confab_engine::CallCommand;
use tauri::State;

/// The engine's conversation for what the UI named.
pub fn conversation_id(view: ConversationView) -> Result<ConversationId, UiError> {
    match view {
        ConversationView::Public => Ok(ConversationId::Public),
        ConversationView::Private { members } => {
            let members = members
                .into_iter()
                .map(IdentityId::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    UiError::new(
                        "bad_conversation",
                        format!("That conversation names no one valid: {e}."),
                    )
                })?;
            PrivateMembers::new(members)
                .map(ConversationId::Private)
                .map_err(|e| {
                    UiError::new(
                        "bad_conversation",
                        format!("That private conversation cannot be used: {e}."),
                    )
                })
        }
    }
}

/// Sends `text` to `conversation`; the message shows through the call's `chat` event.
#[tauri::command]
pub async fn send_chat(
    state: State<'_, AppState>,
    conversation: ConversationView,
    text: String,
) -> Result<(), UiError> {
    if text.trim().is_empty() {
        return Err(UiError::new("empty_message", "Type a message first."));
    }
    let conversation = conversation_id(conversation)?;
    let call = state.call.lock().await;
    let call = call.as_ref().ok_or_else(UiError::not_in_call)?;
    call.command(CallCommand::SendChat { conversation, text });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_conversation_needs_someone_besides_us() {
        let lonely = ConversationView::Private {
            members: vec!["me".into()],
        };
        assert_eq!(conversation_id(lonely).unwrap_err().code, "bad_conversation");
        let pair = ConversationView::Private {
            members: vec!["me".into(), "you".into()],
        };
        assert!(matches!(conversation_id(pair), Ok(ConversationId::Private(_))));
    }
}
