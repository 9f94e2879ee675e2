//! A hash that names things on other people's servers (Janus feed ids, PeerJS ids): the same
//! text gives the same number on every build and platform, unlike the standard library's
//! hasher. Not for secrets.

/// FNV-1a, 64 bits, of `text`.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
