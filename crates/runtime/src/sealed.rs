//! Secrets at rest: every secret shinrai stores (today the key that signs acknowledge and
//! resolve links) is sealed with a key from settings, so a copy of the store (a backup, a
//! dump) does not give away what it protects.
//!
//! The key is 32 random bytes, written as 64 hex digits in a file or the environment
//! (the binary reads it; nothing else here touches files or settings). Sealing is
//! ChaCha20-Poly1305 (aws-lc-rs) with a random 96-bit nonce per value and the secret's
//! name as associated data, so a sealed value moved to another name does not open. A
//! sealed value reads `sealed:v1:` followed by base64 of the nonce and the ciphertext.
//!
//! The store records the key's fingerprint ([`SecretKey::fingerprint`]); [`prepare`],
//! run by every node before it serves, refuses a key whose fingerprint differs and seals
//! any value still in plain text. [`rotate`] reseals everything with a new key in one
//! transaction. Later capabilities that store secrets (repository secrets for deploys,
//! webhook secrets, SLI push tokens) seal them through [`SecretKey::seal`] and
//! [`SecretKey::open`] too.

use std::fmt;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use domain::Timestamp;
use sha2::Digest;
use store::{Store, StoreError};

/// What marks a sealed value, and its format's version.
const PREFIX: &str = "sealed:v1:";

/// The key that seals stored secrets. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(fingerprint {})", self.fingerprint())
    }
}

/// Why a key or a sealed value cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("a secret key is 64 hex digits (32 bytes); {0}")]
    BadKey(String),
    #[error(
        "the sealed secret {0} does not open with this key (another key sealed it, or it was altered)"
    )]
    DoesNotOpen(String),
    #[error(
        "this node's secret key (fingerprint {given}) is not the one the store's secrets are sealed with (fingerprint {stored}); start it with the store's key, or rotate the store to this key with `shinrai secrets rotate-key`"
    )]
    WrongKey { stored: String, given: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        key.copy_from_slice(&crate::entropy::random_bytes(32));
        SecretKey(key)
    }

    /// Reads a key as written by [`SecretKey::to_text`]: 64 hex digits, surrounding white
    /// space ignored.
    pub fn from_text(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes =
            hex::decode(text).map_err(|e| SealError::BadKey(format!("this is not: {e}")))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SealError::BadKey(format!("this is {} bytes", b.len())))?;
        Ok(SecretKey(key))
    }

    /// The key as 64 hex digits and a newline, for a key file.
    pub fn to_text(&self) -> String {
        format!("{}\n", hex::encode(self.0))
    }

    /// A short, public name for the key (16 hex digits of a hash of it): the store keeps
    /// it to tell keys apart, and messages show it.
    pub fn fingerprint(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"shinrai secret key fingerprint\0");
        h.update(self.0);
        hex::encode(&h.finalize()[..8])
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.0).expect("a 32-byte ChaCha20 key"),
        )
    }

    /// Seals `plain`, bound to `name` (the same name opens it).
    pub fn seal(&self, name: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&crate::entropy::random_bytes(NONCE_LEN));
        let mut data = plain.as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .expect("sealing a value in memory");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// Opens a value [`seal`](Self::seal) made under `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Result<String, SealError> {
        let fail = || SealError::DoesNotOpen(name.to_owned());
        let body = sealed.strip_prefix(PREFIX).ok_or_else(fail)?;
        let mut data = STANDARD_NO_PAD.decode(body).map_err(|_| fail())?;
        if data.len() < NONCE_LEN {
            return Err(fail());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&data[..NONCE_LEN]);
        let plain = self
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data[NONCE_LEN..],
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }
}

/// Whether a stored value is sealed (rather than plain text from before sealing).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Makes the store's secrets this key's, before a node serves: refuses a key other than
/// the one the store records, and seals every secret still in plain text (a store from
/// before secrets were sealed). Returns how many it sealed.
pub async fn prepare(store: &dyn Store, key: &SecretKey, now: Timestamp) -> Result<u64, SealError> {
    let given = key.fingerprint();
    let stored = store.secret_key_fingerprint().await?;
    if let Some(stored) = &stored
        && *stored != given
    {
        return Err(SealError::WrongKey {
            stored: stored.clone(),
            given,
        });
    }
    let reseal = |name: &str, value: &str| -> Result<String, String> {
        if is_sealed(value) {
            key.open(name, value).map_err(|e| e.to_string())?;
            Ok(value.to_owned())
        } else {
            Ok(key.seal(name, value))
        }
    };
    Ok(store
        .reseal_secrets(stored.as_deref(), &given, &reseal, now)
        .await?)
}

/// Reseals every stored secret from `old` to `new` in one transaction, and records `new`
/// as the store's key. Every node must then start with `new`.
pub async fn rotate(
    store: &dyn Store,
    old: &SecretKey,
    new: &SecretKey,
    now: Timestamp,
) -> Result<u64, SealError> {
    let stored = store.secret_key_fingerprint().await?;
    let expected = old.fingerprint();
    if let Some(stored) = &stored
        && *stored != expected
    {
        return Err(SealError::WrongKey {
            stored: stored.clone(),
            given: expected,
        });
    }
    let reseal = |name: &str, value: &str| -> Result<String, String> {
        let plain = if is_sealed(value) {
            old.open(name, value).map_err(|e| e.to_string())?
        } else {
            value.to_owned()
        };
        Ok(new.seal(name, &plain))
    };
    Ok(store
        .reseal_secrets(stored.as_deref(), &new.fingerprint(), &reseal, now)
        .await?)
}

/// The server secret `name`, opened: a new random one, sealed, when the store has none
/// (the first node to ask stores it; every node gets the same).
pub async fn server_secret(
    store: &dyn Store,
    key: &SecretKey,
    name: &str,
    now: Timestamp,
) -> Result<String, SealError> {
    let candidate = key.seal(name, &crate::entropy::secret(""));
    let stored = store.server_secret(name, &candidate, now).await?;
    key.open(name, &stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_name() {
        let key = SecretKey::generate();
        let sealed = key.seal("links", "the signing key");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("the signing key"));
        assert_ne!(sealed, key.seal("links", "the signing key"), "fresh nonce");
        assert_eq!(key.open("links", &sealed).unwrap(), "the signing key");
        assert!(matches!(
            key.open("webhooks", &sealed),
            Err(SealError::DoesNotOpen(_))
        ));
        assert!(matches!(
            SecretKey::generate().open("links", &sealed),
            Err(SealError::DoesNotOpen(_))
        ));
        let mut altered = sealed.clone();
        altered.pop();
        assert!(key.open("links", &altered).is_err());
    }

    #[test]
    fn keys_read_back_and_never_print() {
        let key = SecretKey::generate();
        let again = SecretKey::from_text(&key.to_text()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(key.fingerprint().len(), 16);
        assert!(!format!("{key:?}").contains(key.to_text().trim()));
        assert!(matches!(
            SecretKey::from_text("abcd"),
            Err(SealError::BadKey(_))
        ));
        assert!(matches!(
            SecretKey::from_text("not hex at all"),
            Err(SealError::BadKey(_))
        ));
    }
}
