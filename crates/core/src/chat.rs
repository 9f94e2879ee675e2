//! Chat conversations: one public, one per private set of identities; explicit recipients,
//! duplicate suppression, per-sender ordering, delivery state and unread counts.
//!
//! A private conversation is keyed by the *stable identities* of its members, so it survives
//! joins, leaves, reconnects and identity takeovers. Nothing here ever moves a message from one
//! conversation to another, and a private message that cannot reach every recipient is recorded
//! as not delivered — never widened.

use crate::ids::{IdentityId, MessageId, ParticipantId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

/// A chat operation was refused. None of these are helped by retrying unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// A private conversation needs at least two distinct members.
    #[error("a private conversation needs at least two people")]
    TooFewMembers,
    /// The message claims a private conversation its sender or receiver is not part of.
    #[error("the message belongs to a private conversation this participant is not in")]
    NotAMember,
}

/// The members of a private conversation: two or more stable identities, sorted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<IdentityId>", into = "Vec<IdentityId>")]
pub struct PrivateMembers(BTreeSet<IdentityId>);

impl PrivateMembers {
    /// The members; fails with fewer than two distinct identities.
    pub fn new(members: impl IntoIterator<Item = IdentityId>) -> Result<Self, ChatError> {
        let set: BTreeSet<_> = members.into_iter().collect();
        if set.len() < 2 {
            return Err(ChatError::TooFewMembers);
        }
        Ok(Self(set))
    }

    /// Whether `identity` is a member.
    pub fn contains(&self, identity: &IdentityId) -> bool {
        self.0.contains(identity)
    }

    /// All members, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &IdentityId> {
        self.0.iter()
    }
}

impl TryFrom<Vec<IdentityId>> for PrivateMembers {
    type Error = ChatError;
    fn try_from(members: Vec<IdentityId>) -> Result<Self, ChatError> {
        Self::new(members)
    }
}

impl From<PrivateMembers> for Vec<IdentityId> {
    fn from(members: PrivateMembers) -> Self {
        members.0.into_iter().collect()
    }
}

/// Which conversation a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConversationId {
    /// Everyone in the room.
    Public,
    /// Exactly these identities.
    Private(PrivateMembers),
}

/// One chat message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Chosen by the sender; unique per sender identity.
    pub id: MessageId,
    /// The sender's session id (set by the server; a client cannot forge it).
    pub from: ParticipantId,
    /// The sender's stable identity.
    pub from_identity: IdentityId,
    /// The sender's display name at the time of sending.
    pub from_name: String,
    /// The sender's order stamp: strictly increasing over everything one identity sends, across
    /// reconnects and restarts (see [`SendOrder`]). Receivers keep each sender's messages of a
    /// conversation in this order, whatever order the network delivered them in.
    pub order: u64,
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
            .field("order", &self.order)
            .field("conversation", &self.conversation)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

/// Where one of our messages stands for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Sent; no acknowledgement yet.
    Pending,
    /// The recipient acknowledged it.
    Delivered,
    /// It will not arrive; the reason says why.
    NotDelivered(String),
}

/// Stamps our outgoing messages with strictly increasing order stamps: the wall clock in
/// milliseconds, bumped by one where it would not increase (two messages in one millisecond, or
/// the clock stepped back). A clock keeps increasing across a restart, where a counter would start
/// again at one and sort a restarted sender's new messages before its old ones.
#[derive(Debug, Default, Clone)]
pub struct SendOrder {
    last: u64,
}

impl SendOrder {
    /// The stamp for a message sent when the wall clock reads `now_ms`.
    pub fn next(&mut self, now_ms: u64) -> u64 {
        self.last = now_ms.max(self.last + 1);
        self.last
    }
}

#[derive(Debug, Default, Clone)]
struct Conversation {
    messages: Vec<ChatMessage>,
    unread: usize,
}

/// All conversations one identity can see, with the delivery state of its own messages.
#[derive(Debug, Default, Clone)]
pub struct Chat {
    conversations: BTreeMap<ConversationId, Conversation>,
    seen: HashSet<(IdentityId, MessageId)>,
    deliveries: BTreeMap<MessageId, BTreeMap<IdentityId, DeliveryState>>,
}

impl Chat {
    /// Records a message someone else sent to `me`. `Ok(false)` (and no change) for a
    /// duplicate; an error for a private message `me` or its sender is not a member of.
    pub fn receive(&mut self, me: &IdentityId, message: ChatMessage) -> Result<bool, ChatError> {
        if let ConversationId::Private(members) = &message.conversation {
            if !members.contains(me) || !members.contains(&message.from_identity) {
                return Err(ChatError::NotAMember);
            }
        }
        if !self
            .seen
            .insert((message.from_identity.clone(), message.id.clone()))
        {
            return Ok(false);
        }
        let conversation = self
            .conversations
            .entry(message.conversation.clone())
            .or_default();
        conversation.unread += 1;
        let later_from_same_sender = conversation
            .messages
            .iter()
            .position(|m| m.from_identity == message.from_identity && m.order > message.order);
        match later_from_same_sender {
            Some(index) => conversation.messages.insert(index, message),
            None => conversation.messages.push(message),
        }
        Ok(true)
    }

    /// Records a message we sent to `recipients` (pending until each acknowledges). Delivery is
    /// tracked only for messages with named recipients (private ones).
    pub fn record_sent(&mut self, message: ChatMessage, recipients: impl IntoIterator<Item = IdentityId>) {
        let state: BTreeMap<_, _> = recipients
            .into_iter()
            .map(|r| (r, DeliveryState::Pending))
            .collect();
        if !state.is_empty() {
            self.deliveries.insert(message.id.clone(), state);
        }
        self.push_own(message);
    }

    /// Records a message we wrote that cannot be delivered at all: history keeps it, marked.
    pub fn record_undeliverable(
        &mut self,
        message: ChatMessage,
        recipients: impl IntoIterator<Item = IdentityId>,
        reason: &str,
    ) {
        let state = recipients
            .into_iter()
            .map(|r| (r, DeliveryState::NotDelivered(reason.to_owned())))
            .collect();
        self.deliveries.insert(message.id.clone(), state);
        self.push_own(message);
    }

    fn push_own(&mut self, message: ChatMessage) {
        self.seen
            .insert((message.from_identity.clone(), message.id.clone()));
        self.conversations
            .entry(message.conversation.clone())
            .or_default()
            .messages
            .push(message);
    }

    /// `recipient` acknowledged message `id`. Returns whether that changed anything.
    pub fn mark_delivered(&mut self, id: &MessageId, recipient: &IdentityId) -> bool {
        match self.deliveries.get_mut(id).and_then(|d| d.get_mut(recipient)) {
            Some(state) if *state == DeliveryState::Pending => {
                *state = DeliveryState::Delivered;
                true
            }
            _ => false,
        }
    }

    /// Message `id` will not reach any recipient still pending.
    pub fn mark_not_delivered(&mut self, id: &MessageId, reason: &str) {
        for state in self
            .deliveries
            .get_mut(id)
            .into_iter()
            .flat_map(|d| d.values_mut())
        {
            if *state == DeliveryState::Pending {
                *state = DeliveryState::NotDelivered(reason.to_owned());
            }
        }
    }

    /// Our private messages that some recipient has not acknowledged, with those recipients,
    /// oldest first within each conversation.
    pub fn unacknowledged(&self) -> Vec<(ChatMessage, Vec<IdentityId>)> {
        self.conversations
            .values()
            .flat_map(|c| &c.messages)
            .filter_map(|message| {
                let waiting: Vec<IdentityId> = self
                    .deliveries
                    .get(&message.id)?
                    .iter()
                    .filter(|(_, state)| **state == DeliveryState::Pending)
                    .map(|(recipient, _)| recipient.clone())
                    .collect();
                (!waiting.is_empty()).then(|| (message.clone(), waiting))
            })
            .collect()
    }

    /// `recipient` will not acknowledge message `id`.
    pub fn mark_not_delivered_to(&mut self, id: &MessageId, recipient: &IdentityId, reason: &str) {
        if let Some(state) = self.deliveries.get_mut(id).and_then(|d| d.get_mut(recipient)) {
            if *state == DeliveryState::Pending {
                *state = DeliveryState::NotDelivered(reason.to_owned());
            }
        }
    }

    /// Per-recipient delivery state of one of our messages.
    pub fn delivery(&self, id: &MessageId) -> Option<&BTreeMap<IdentityId, DeliveryState>> {
        self.deliveries.get(id)
    }

    /// Every conversation with at least one message.
    pub fn conversations(&self) -> impl Iterator<Item = &ConversationId> {
        self.conversations.keys()
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

    fn identity(s: &str) -> IdentityId {
        IdentityId::new(s).unwrap()
    }

    fn private(members: &[&str]) -> ConversationId {
        ConversationId::Private(PrivateMembers::new(members.iter().map(|m| identity(m))).unwrap())
    }

    fn msg(from: &str, id: &str, conversation: ConversationId) -> ChatMessage {
        ChatMessage {
            id: MessageId::new(id).unwrap(),
            from: ParticipantId::new(format!("p-{from}")).unwrap(),
            from_identity: identity(from),
            from_name: from.to_uppercase(),
            order: 1,
            conversation,
            text: "words".into(),
        }
    }

    #[test]
    fn duplicates_are_suppressed_per_sender_identity() {
        let me = identity("me");
        let mut chat = Chat::default();
        assert_eq!(chat.receive(&me, msg("a", "1", ConversationId::Public)), Ok(true));
        assert_eq!(
            chat.receive(&me, msg("a", "1", ConversationId::Public)),
            Ok(false)
        );
        assert_eq!(chat.receive(&me, msg("b", "1", ConversationId::Public)), Ok(true));
        assert_eq!(chat.messages(&ConversationId::Public).len(), 2);
        assert_eq!(chat.unread(&ConversationId::Public), 2);
        chat.mark_read(&ConversationId::Public);
        assert_eq!(chat.unread(&ConversationId::Public), 0);
    }

    #[test]
    fn private_messages_stay_in_their_own_conversation() {
        let me = identity("me");
        let mut chat = Chat::default();
        chat.receive(&me, msg("a", "1", private(&["a", "me"]))).unwrap();
        chat.receive(&me, msg("b", "2", private(&["b", "me"]))).unwrap();
        assert_eq!(chat.messages(&private(&["me", "a"])).len(), 1);
        assert_eq!(chat.messages(&private(&["me", "b"])).len(), 1);
        assert!(chat.messages(&ConversationId::Public).is_empty());
    }

    #[test]
    fn a_private_message_for_others_is_refused() {
        let me = identity("me");
        let mut chat = Chat::default();
        assert_eq!(
            chat.receive(&me, msg("a", "1", private(&["a", "b"]))),
            Err(ChatError::NotAMember)
        );
        assert_eq!(
            chat.receive(&me, msg("x", "1", private(&["a", "me"]))),
            Err(ChatError::NotAMember)
        );
        assert_eq!(chat.conversations().count(), 0);
    }

    #[test]
    fn delivery_goes_pending_to_delivered_or_not_delivered() {
        let mut chat = Chat::default();
        let message = msg("me", "1", private(&["a", "b", "me"]));
        chat.record_sent(message, [identity("a"), identity("b")]);
        let id = MessageId::new("1").unwrap();
        assert!(chat.mark_delivered(&id, &identity("a")));
        assert!(
            !chat.mark_delivered(&id, &identity("a")),
            "a second ack changes nothing"
        );
        chat.mark_not_delivered(&id, "b left");
        let states = chat.delivery(&id).unwrap();
        assert_eq!(states[&identity("a")], DeliveryState::Delivered);
        assert_eq!(
            states[&identity("b")],
            DeliveryState::NotDelivered("b left".into())
        );
        assert_eq!(
            chat.unread(&private(&["a", "b", "me"])),
            0,
            "own messages are not unread"
        );
    }

    #[test]
    fn each_senders_messages_keep_their_order_stamps_whatever_the_arrival_order() {
        let me = identity("me");
        let mut chat = Chat::default();
        let stamped = |from: &str, id: &str, order: u64| ChatMessage {
            order,
            ..msg(from, id, ConversationId::Public)
        };
        chat.receive(&me, stamped("a", "a1", 10)).unwrap();
        chat.receive(&me, stamped("b", "b1", 5)).unwrap();
        chat.receive(&me, stamped("a", "a3", 30)).unwrap();
        chat.receive(&me, stamped("a", "a2", 20)).unwrap();
        let order: Vec<_> = chat
            .messages(&ConversationId::Public)
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(
            order,
            ["a1", "b1", "a2", "a3"],
            "a late a2 goes before a3; b's message keeps its arrival place"
        );
    }

    #[test]
    fn order_stamps_increase_when_the_clock_does_not() {
        let mut order = SendOrder::default();
        assert_eq!(order.next(1000), 1000);
        assert_eq!(order.next(1000), 1001, "same millisecond");
        assert_eq!(order.next(900), 1002, "clock stepped back");
        assert_eq!(order.next(5000), 5000);
    }

    #[test]
    fn fewer_than_two_members_is_not_a_conversation() {
        assert_eq!(
            PrivateMembers::new([identity("a"), identity("a")]),
            Err(ChatError::TooFewMembers)
        );
    }

    #[test]
    fn debug_hides_text() {
        assert!(!format!("{:?}", msg("a", "1", ConversationId::Public)).contains("words"));
    }
}
