//! Phone numbers at rest. A number is stored encrypted (AES-256-GCM, with the
//! owner's user id as associated data so a ciphertext cannot be moved to
//! another account) beside its masked form for display, so a dump of the
//! table holds no full number. Limits and the accounts-per-number counter
//! name a number by its keyed hash ([`PhoneIndex`]).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::types::hex;
use crate::types::{Phone, PhoneIndex, UserId};

const NONCE_BYTES: usize = 12;

/// A phone number as stored: ciphertext (base64 of nonce ‖ sealed number)
/// and the masked form the API shows.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPhone {
    pub ciphertext: String,
    pub masked: String,
}

impl std::fmt::Debug for SealedPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedPhone({})", self.masked)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored phone number could not be opened")]
pub struct VaultError;

pub struct PhoneVault {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
}

impl PhoneVault {
    pub fn new(cipher_key: [u8; 32], index_key: [u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(&cipher_key.into()),
            index_key,
        }
    }

    pub fn seal(&self, owner: &UserId, phone: &Phone) -> SealedPhone {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: phone.expose().as_bytes(),
                    aad: owner.as_str().as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message under 64 GiB");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        SealedPhone {
            ciphertext: base64::engine::general_purpose::STANDARD.encode(blob),
            masked: phone.masked(),
        }
    }

    pub fn open(&self, owner: &UserId, sealed: &SealedPhone) -> Result<Phone, VaultError> {
        let blob = base64::engine::general_purpose::STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| VaultError)?;
        if blob.len() <= NONCE_BYTES {
            return Err(VaultError);
        }
        let (nonce, body) = blob.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| VaultError)?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: owner.as_str().as_bytes(),
                },
            )
            .map_err(|_| VaultError)?;
        let text = String::from_utf8(plain).map_err(|_| VaultError)?;
        Phone::parse(&text).map_err(|_| VaultError)
    }

    /// The number's keyed hash: equal numbers, equal indexes; nothing learned
    /// about the number without the key.
    pub fn index(&self, phone: &Phone) -> PhoneIndex {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key)
            .expect("HMAC takes any key length");
        mac.update(phone.expose().as_bytes());
        PhoneIndex::from_hex(hex(&mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> PhoneVault {
        PhoneVault::new([7; 32], [9; 32])
    }

    #[test]
    fn seals_opens_and_binds_to_the_owner() {
        let v = vault();
        let phone = Phone::parse("+15555550100").unwrap();
        let john = UserId::parse("u001").unwrap();
        let sealed = v.seal(&john, &phone);
        assert!(!sealed.ciphertext.contains("5555550100"));
        assert_eq!(sealed.masked, "+1******0100");
        assert_eq!(v.open(&john, &sealed).unwrap(), phone);
        // Same number, fresh nonce.
        assert_ne!(v.seal(&john, &phone).ciphertext, sealed.ciphertext);
        // Another account cannot open it, nor can another key.
        assert!(v.open(&UserId::parse("u002").unwrap(), &sealed).is_err());
        assert!(PhoneVault::new([8; 32], [9; 32])
            .open(&john, &sealed)
            .is_err());
    }

    #[test]
    fn index_is_keyed_and_stable() {
        let phone = Phone::parse("+15555550100").unwrap();
        assert_eq!(vault().index(&phone), vault().index(&phone));
        assert_ne!(
            vault().index(&phone),
            PhoneVault::new([7; 32], [1; 32]).index(&phone)
        );
        assert!(!vault().index(&phone).as_str().contains("5555550100"));
    }
}
