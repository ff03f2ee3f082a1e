//! Entropy: the only place shinrai draws from the operating system's random source.

use rand::RngCore;

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    #[allow(clippy::disallowed_methods)] // The one blessed source of randomness.
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A fresh secret of 32 random bytes, hex-encoded, with a readable prefix
/// (`shr_…` for API tokens) so that leaked secrets are easy to recognise and scan for.
pub fn secret(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in random_bytes(32) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_prefixed_and_distinct() {
        let a = super::secret("shr_");
        let b = super::secret("shr_");
        assert!(a.starts_with("shr_"));
        assert_eq!(a.len(), 4 + 64);
        assert_ne!(a, b);
    }
}
