//! Validated ID newtypes. Nothing crosses a module boundary as a bare `String` id.
//!
//! Every ID is 1..=64 characters of `[A-Za-z0-9_.-]`, so IDs are safe to put in URLs, logs,
//! SDP `msid` attributes and file names without escaping.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ID failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value was empty or longer than 64 characters. Retrying with the same value cannot help.
    #[error("{kind} must be 1 to 64 characters long")]
    Length {
        /// Which kind of ID was being built.
        kind: &'static str,
    },
    /// The value had a character outside `[A-Za-z0-9_.-]`. Retrying cannot help.
    #[error("{kind} may only contain letters, digits, '_', '.' and '-'")]
    Charset {
        /// Which kind of ID was being built.
        kind: &'static str,
    },
}

fn validate(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() || value.len() > 64 {
        return Err(IdError::Length { kind });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(IdError::Charset { kind });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(value))
            }

            /// The ID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// One participant's session in a room, assigned by the room server.
    ParticipantId,
    "participant id"
);
id_type!(
    /// A participant's stable identity: the same across reconnects and devices, unlike
    /// [`ParticipantId`], which names one session. Private conversations are bound to these.
    IdentityId,
    "identity"
);
id_type!(
    /// One published media track, unique within its publisher.
    TrackId,
    "track id"
);
id_type!(
    /// One chat message, chosen by its sender; unique per sender identity across sessions.
    MessageId,
    "message id"
);
id_type!(
    /// A room's name, as it appears in a join link.
    RoomName,
    "room name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_url_safe_ids_and_rejects_the_rest() {
        assert!(ParticipantId::new("p-1_a.b").is_ok());
        assert_eq!(RoomName::new(""), Err(IdError::Length { kind: "room name" }));
        assert_eq!(TrackId::new("a b"), Err(IdError::Charset { kind: "track id" }));
        assert!(MessageId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn deserializing_validates() {
        let ok: Result<ParticipantId, _> = serde_json::from_str("\"p1\"");
        assert!(ok.is_ok());
        let bad: Result<ParticipantId, _> = serde_json::from_str("\"p/1\"");
        assert!(bad.is_err());
    }
}
