//! Keyed message authentication: the one place an HMAC is keyed.
//!
//! Signed links, outgoing webhook signatures, Slack's, Twilio's and Sentry's signatures and
//! the constant-time comparison of presented secrets all start from [`hmac`]. HMAC takes a
//! key of any length (a long key is hashed, a short one padded), so keying cannot fail and
//! callers need no error path for it.

use hmac::digest::block_buffer::Eager;
use hmac::digest::core_api::{
    BlockSizeUser, BufferKindUser, CoreProxy, FixedOutputCore, UpdateCore,
};
use hmac::digest::typenum::{IsLess, Le, NonZero, U256};
use hmac::digest::{HashMarker, KeyInit};

pub use hmac::{Hmac, Mac};

/// An HMAC over the hash `D` (`sha2::Sha256`, `sha1::Sha1`, …) keyed with `key`.
pub fn hmac<D>(key: &[u8]) -> Hmac<D>
where
    // The bounds `hmac::Hmac` itself puts on its hash.
    D: CoreProxy,
    D::Core: HashMarker
        + UpdateCore
        + FixedOutputCore
        + BufferKindUser<BufferKind = Eager>
        + Default
        + Clone,
    <D::Core as BlockSizeUser>::BlockSize: IsLess<U256>,
    Le<<D::Core as BlockSizeUser>::BlockSize, U256>: NonZero,
{
    <Hmac<D> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2: a key shorter than the block.
    #[test]
    fn keys_hmac_sha256_as_rfc_4231_says() {
        let mut mac = hmac::<sha2::Sha256>(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// RFC 4231, test case 6: a key longer than the block is hashed first.
    #[test]
    fn takes_a_key_longer_than_the_block() {
        let mut mac = hmac::<sha2::Sha256>(&[0xaa; 131]);
        mac.update(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// RFC 2202, test case 2, for the SHA-1 that Twilio signs with; an empty key works too.
    #[test]
    fn keys_hmac_sha1_and_takes_an_empty_key() {
        let mut mac = hmac::<sha1::Sha1>(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        let mut empty = hmac::<sha1::Sha1>(b"");
        empty.update(b"");
        assert_eq!(
            hex(&empty.finalize().into_bytes()),
            "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
