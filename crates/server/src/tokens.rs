//! Join tokens: `HMAC-SHA256(server secret, room name)`, hex, truncated to 128 bits.
//!
//! A token admits to exactly one room on exactly one server run; comparing is constant-time.

use confab_core::RoomName;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The server's random secret, fresh on every start.
pub struct ServerSecret([u8; 32]);

impl ServerSecret {
    /// A fresh random secret.
    pub fn random() -> Self {
        Self(rand::random())
    }

    fn mac(&self, room: &RoomName) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(room.as_str().as_bytes());
        mac
    }

    /// The token for `room`.
    pub fn token_for(&self, room: &RoomName) -> String {
        hex::encode(&self.mac(room).finalize().into_bytes()[..16])
    }

    /// Whether `token` admits to `room`.
    pub fn admits(&self, room: &RoomName, token: &str) -> bool {
        let Ok(bytes) = hex::decode(token) else {
            return false;
        };
        bytes.len() == 16 && self.mac(room).verify_truncated_left(&bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_admits_to_its_room_only() {
        let secret = ServerSecret::random();
        let a = RoomName::new("a").unwrap();
        let b = RoomName::new("b").unwrap();
        let token = secret.token_for(&a);
        assert!(secret.admits(&a, &token));
        assert!(!secret.admits(&b, &token));
        assert!(!secret.admits(&a, "zz"));
        assert!(!ServerSecret::random().admits(&a, &token));
    }
}
