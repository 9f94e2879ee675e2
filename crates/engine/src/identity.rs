//! Who we are across sessions and devices: a stable [`IdentityId`] and the secret that proves
//! it. Joining with the same identity and proof takes over an older session of ours (another
//! window, another device, or our own session from before a network drop).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use confab_core::{IdentityId, Secret};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A stable identity and its proof.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The identity others see.
    pub id: IdentityId,
    /// The secret that proves it (base64 of 32 random bytes).
    pub proof: Secret,
}

/// An identity file could not be read or written. Fixing the file or its folder helps.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading or writing failed.
    #[error("could not use the identity file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not an identity file (delete it to start a fresh identity).
    #[error("{path} is not a Confab identity file; delete it to make a fresh identity")]
    Corrupt {
        /// The file.
        path: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    id: IdentityId,
    proof: String,
}

impl Identity {
    /// A fresh random identity.
    pub fn generate() -> Self {
        let id = IdentityId::new(format!("id-{:016x}", rand::random::<u64>()))
            .unwrap_or_else(|_| unreachable!("a hex string is a valid identity"));
        let proof = Secret::new(STANDARD.encode(rand::random::<[u8; 32]>()));
        Self { id, proof }
    }

    /// The identity stored at `path`, or a fresh one stored there (readable by the owner only).
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        let io = |e: std::io::Error| IdentityError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let corrupt = || IdentityError::Corrupt {
                    path: path.to_owned(),
                };
                let file: IdentityFile = serde_json::from_str(&text).map_err(|_| corrupt())?;
                let proof_ok = STANDARD.decode(&file.proof).is_ok_and(|bytes| bytes.len() == 32);
                if !proof_ok {
                    return Err(corrupt());
                }
                Ok(Self {
                    id: file.id,
                    proof: Secret::new(file.proof),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = Self::generate();
                let file = IdentityFile {
                    id: identity.id.clone(),
                    proof: identity.proof.expose().to_owned(),
                };
                let text = serde_json::to_string(&file).unwrap_or_else(|_| unreachable!("plain strings"));
                write_private(path, &text).map_err(io)?;
                Ok(identity)
            }
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_file_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("confab-identity-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("identity.json");
        let first = Identity::load_or_create(&path).unwrap();
        let again = Identity::load_or_create(&path).unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.proof.expose(), again.proof.expose());
        std::fs::write(&path, "{\"id\":\"x\",\"proof\":\"short\"}").unwrap();
        assert!(matches!(
            Identity::load_or_create(&path),
            Err(IdentityError::Corrupt { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
