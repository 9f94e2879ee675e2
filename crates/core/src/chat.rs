//! Chat conversations: messages with explicit conversation ids, duplicate suppression, unread counts.
//!
//! This slice carries the public conversation; private conversations (bound to stable
//! identities, sealed end to end) extend [`ConversationId`] in their own issue. No code here
//! ever moves a message from one conversation to another.

use crate::ids::{MessageId, ParticipantId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Which conversation a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConversationId {
    /// Everyone in the room.
    Public,
}

/// One chat message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Chosen by the sender; unique per sender.
    pub id: MessageId,
    /// The sender's session id (set by the server; a client cannot forge it).
    pub from: ParticipantId,
    /// The sender's display name at the time of sending.
    pub from_name: String,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// The text. Never logged.
    pub text: String,
}

impl fmt::Debug for ChatMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatMessage")
            .field("id", &self.id)
            .field("from", &self.from)
            .field("conversation", &self.conversation)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

#[derive(Debug, Default, Clone)]
struct Conversation {
    messages: Vec<ChatMessage>,
    unread: usize,
}

/// All conversations a participant can see.
#[derive(Debug, Default, Clone)]
pub struct Chat {
    conversations: BTreeMap<ConversationId, Conversation>,
    seen: HashSet<(ParticipantId, MessageId)>,
}

impl Chat {
    /// Records a message someone else sent. Returns `false` (and changes nothing) for a duplicate.
    pub fn receive(&mut self, message: ChatMessage) -> bool {
        if !self.seen.insert((message.from.clone(), message.id.clone())) {
            return false;
        }
        let conversation = self
            .conversations
            .entry(message.conversation.clone())
            .or_default();
        conversation.unread += 1;
        conversation.messages.push(message);
        true
    }

    /// Records a message we sent, so our own history shows it.
    pub fn record_sent(&mut self, message: ChatMessage) {
        self.seen.insert((message.from.clone(), message.id.clone()));
        self.conversations
            .entry(message.conversation.clone())
            .or_default()
            .messages
            .push(message);
    }

    /// Messages of one conversation, oldest first.
    pub fn messages(&self, conversation: &ConversationId) -> &[ChatMessage] {
        self.conversations
            .get(conversation)
            .map(|c| c.messages.as_slice())
            .unwrap_or_default()
    }

    /// Unread count of one conversation.
    pub fn unread(&self, conversation: &ConversationId) -> usize {
        self.conversations.get(conversation).map_or(0, |c| c.unread)
    }

    /// Marks a conversation read.
    pub fn mark_read(&mut self, conversation: &ConversationId) {
        if let Some(c) = self.conversations.get_mut(conversation) {
            c.unread = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(from: &str, id: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId::new(id).unwrap(),
            from: ParticipantId::new(from).unwrap(),
            from_name: from.to_uppercase(),
            conversation: ConversationId::Public,
            text: text.into(),
        }
    }

    #[test]
    fn duplicates_are_suppressed_per_sender() {
        let mut chat = Chat::default();
        assert!(chat.receive(msg("a", "1", "hi")));
        assert!(!chat.receive(msg("a", "1", "hi")));
        assert!(chat.receive(msg("b", "1", "hello")));
        assert_eq!(chat.messages(&ConversationId::Public).len(), 2);
        assert_eq!(chat.unread(&ConversationId::Public), 2);
        chat.mark_read(&ConversationId::Public);
        assert_eq!(chat.unread(&ConversationId::Public), 0);
    }

    #[test]
    fn own_messages_are_history_not_unread() {
        let mut chat = Chat::default();
        chat.record_sent(msg("me", "1", "x"));
        assert_eq!(chat.unread(&ConversationId::Public), 0);
        assert_eq!(chat.messages(&ConversationId::Public)[0].text, "x");
    }

    #[test]
    fn debug_hides_text() {
        assert!(!format!("{:?}", msg("a", "1", "secret words")).contains("secret"));
    }
}
