//! Private messages sealed end to end with NaCl box (`crypto_box`: X25519 + XSalsa20-Poly1305).
//!
//! Each session has a fresh key pair whose public half is announced at join. A private message
//! is sealed once per recipient with (recipient public key, our secret key): only that recipient
//! can open it, and opening proves it came from the session that announced the sender's key.
//! The sealed payload repeats the message id, the sender's identity and the conversation's
//! members, so a copy that was tampered with, re-labelled or delivered to the wrong person fails
//! a check here or in the room. Nothing that fails is shown to anyone.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use confab_core::{
    ChatMessage, ConversationId, Envelope, IdentityId, MessageId, PrivateDraft, PrivateMembers, Recipient,
};
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};
use serde::{Deserialize, Serialize};

const PAYLOAD_VERSION: u32 = 2;
const NONCE_BYTES: usize = 24;

/// A sealed message could not be made or opened. None is helped by retrying; none is shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A participant announced a key that is not 32 bytes of base64.
    #[error("{0} announced an unusable encryption key")]
    BadKey(String),
    /// The envelope's nonce or ciphertext is not valid base64 of the right size.
    #[error("a private message from {0} was malformed and has been dropped")]
    Malformed(String),
    /// Authentication failed: not sealed by the sender's announced key for us (forged, altered
    /// or meant for someone else).
    #[error("a private message claiming to be from {0} failed verification and has been dropped")]
    Unverified(String),
    /// It opened, but says it is a different message or from a different identity.
    #[error("a private message from {0} did not match its envelope and has been dropped")]
    Mismatch(String),
}

#[derive(Serialize, Deserialize)]
struct SealedPayload {
    v: u32,
    id: MessageId,
    from_identity: IdentityId,
    from_name: String,
    order: u64,
    members: PrivateMembers,
    text: String,
}

fn public_key(of: &Recipient) -> Result<PublicKey, SealError> {
    let bytes: [u8; 32] = BASE64
        .decode(&of.key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SealError::BadKey(of.participant.to_string()))?;
    Ok(PublicKey::from(bytes))
}

/// This session's key pair.
pub struct SessionKeys {
    secret: SecretKey,
    public: String,
}

impl SessionKeys {
    /// A fresh key pair from the OS random number generator.
    pub fn generate() -> Self {
        let secret = SecretKey::generate(&mut OsRng);
        let public = BASE64.encode(secret.public_key().as_bytes());
        Self { secret, public }
    }

    /// The public key to announce (base64).
    pub fn public(&self) -> &str {
        &self.public
    }

    /// Seals `draft` once per recipient.
    pub fn seal(&self, draft: &PrivateDraft) -> Result<Vec<Envelope>, SealError> {
        let ConversationId::Private(members) = &draft.message.conversation else {
            return Ok(Vec::new());
        };
        let payload = SealedPayload {
            v: PAYLOAD_VERSION,
            id: draft.message.id.clone(),
            from_identity: draft.message.from_identity.clone(),
            from_name: draft.message.from_name.clone(),
            order: draft.message.order,
            members: members.clone(),
            text: draft.message.text.clone(),
        };
        let plaintext = serde_json::to_vec(&payload).map_err(|_| SealError::Malformed("us".into()))?;
        draft
            .recipients
            .iter()
            .map(|recipient| {
                let sealer = SalsaBox::new(&public_key(recipient)?, &self.secret);
                let nonce = SalsaBox::generate_nonce(&mut OsRng);
                let ciphertext = sealer
                    .encrypt(&nonce, plaintext.as_slice())
                    .map_err(|_| SealError::Malformed("us".into()))?;
                Ok(Envelope {
                    to: recipient.participant.clone(),
                    nonce: BASE64.encode(nonce),
                    ciphertext: BASE64.encode(ciphertext),
                })
            })
            .collect()
    }

    /// Opens our copy of message `id` from `from` (with their announced identity and key).
    pub fn open(
        &self,
        id: &MessageId,
        from: &Recipient,
        envelope: &Envelope,
    ) -> Result<ChatMessage, SealError> {
        let who = || from.participant.to_string();
        let nonce = BASE64
            .decode(&envelope.nonce)
            .ok()
            .filter(|n| n.len() == NONCE_BYTES)
            .ok_or_else(|| SealError::Malformed(who()))?;
        let ciphertext = BASE64
            .decode(&envelope.ciphertext)
            .map_err(|_| SealError::Malformed(who()))?;
        let opener = SalsaBox::new(&public_key(from)?, &self.secret);
        let plaintext = opener
            .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
            .map_err(|_| SealError::Unverified(who()))?;
        let payload: SealedPayload =
            serde_json::from_slice(&plaintext).map_err(|_| SealError::Malformed(who()))?;
        if payload.v != PAYLOAD_VERSION || payload.id != *id || payload.from_identity != from.identity {
            return Err(SealError::Mismatch(who()));
        }
        Ok(ChatMessage {
            id: payload.id,
            from: from.participant.clone(),
            from_identity: payload.from_identity,
            from_name: payload.from_name,
            order: payload.order,
            conversation: ConversationId::Private(payload.members),
            text: payload.text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_core::ParticipantId;

    struct Person {
        keys: SessionKeys,
        as_recipient: Recipient,
    }

    fn person(name: &str) -> Person {
        let keys = SessionKeys::generate();
        let as_recipient = Recipient {
            participant: ParticipantId::new(format!("p-{name}")).unwrap(),
            identity: IdentityId::new(name).unwrap(),
            key: keys.public().to_owned(),
        };
        Person { keys, as_recipient }
    }

    fn draft(from: &Person, to: &[&Person], text: &str) -> PrivateDraft {
        let members = to
            .iter()
            .map(|p| p.as_recipient.identity.clone())
            .chain([from.as_recipient.identity.clone()]);
        PrivateDraft {
            message: ChatMessage {
                id: MessageId::new("m1").unwrap(),
                from: from.as_recipient.participant.clone(),
                from_identity: from.as_recipient.identity.clone(),
                from_name: "Sender".into(),
                order: 1,
                conversation: ConversationId::Private(PrivateMembers::new(members).unwrap()),
                text: text.into(),
            },
            recipients: to.iter().map(|p| p.as_recipient.clone()).collect(),
        }
    }

    #[test]
    fn each_recipient_opens_their_own_copy_and_sees_the_sender() {
        let (alice, bob, carol) = (person("alice"), person("bob"), person("carol"));
        let draft = draft(&alice, &[&bob, &carol], "psst");
        let envelopes = alice.keys.seal(&draft).unwrap();
        assert_eq!(envelopes.len(), 2);
        for (envelope, reader) in envelopes.iter().zip([&bob, &carol]) {
            assert!(!envelope.ciphertext.contains("psst"));
            let opened = reader
                .keys
                .open(&draft.message.id, &alice.as_recipient, envelope)
                .unwrap();
            assert_eq!(opened.text, "psst");
            assert_eq!(opened.from_identity, alice.as_recipient.identity);
            assert_eq!(opened.conversation, draft.message.conversation);
        }
    }

    #[test]
    fn misrouted_forged_altered_and_relabelled_copies_do_not_open() {
        let (alice, bob, carol, mallory) =
            (person("alice"), person("bob"), person("carol"), person("mallory"));
        let d = draft(&alice, &[&bob], "for bob only");
        let envelope = &alice.keys.seal(&d).unwrap()[0];
        let id = &d.message.id;
        // Delivered to the wrong person.
        assert!(matches!(
            carol.keys.open(id, &alice.as_recipient, envelope),
            Err(SealError::Unverified(_))
        ));
        // Claimed to come from someone else.
        assert!(matches!(
            bob.keys.open(id, &mallory.as_recipient, envelope),
            Err(SealError::Unverified(_))
        ));
        // Sealed by Mallory but relabelled as Alice's.
        let forged = &mallory.keys.seal(&draft(&mallory, &[&bob], "hi")).unwrap()[0];
        assert!(matches!(
            bob.keys.open(id, &alice.as_recipient, forged),
            Err(SealError::Unverified(_))
        ));
        // One bit flipped.
        let mut bytes = BASE64.decode(&envelope.ciphertext).unwrap();
        bytes[0] ^= 1;
        let altered = Envelope {
            ciphertext: BASE64.encode(bytes),
            ..envelope.clone()
        };
        assert!(matches!(
            bob.keys.open(id, &alice.as_recipient, &altered),
            Err(SealError::Unverified(_))
        ));
        // Replayed under another message id.
        let other = MessageId::new("m2").unwrap();
        assert!(matches!(
            bob.keys.open(&other, &alice.as_recipient, envelope),
            Err(SealError::Mismatch(_))
        ));
        // Garbage.
        let junk = Envelope {
            nonce: "x".into(),
            ..envelope.clone()
        };
        assert!(matches!(
            bob.keys.open(id, &alice.as_recipient, &junk),
            Err(SealError::Malformed(_))
        ));
    }
}
