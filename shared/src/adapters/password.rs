//! argon2id password hashing at OWASP's minimum parameters (see the
//! constants below),
//! PHC strings with a per-user random salt. Hashing is CPU-bound, so it runs
//! on the blocking pool, off the async executor.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::types::PasswordHash;

/// Why a password could not be hashed or checked (never the password).
#[derive(Debug, thiserror::Error)]
#[error("argon2id: {0}")]
pub struct PasswordError(String);

/// OWASP's first recommended argon2id configuration: memory in KiB, passes, lanes.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<PasswordHash, PasswordError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| PasswordError(e.to_string()))?
}

pub fn hash_blocking(password: &str) -> Result<PasswordHash, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| PasswordHash::from_phc(h.to_string()))
        .map_err(|e| PasswordError(format!("hash: {e}")))
}

/// Checks a password against a PHC string. `None` (unknown account) still
/// costs one full verification, against [`UNKNOWN_ACCOUNT_HASH`], so the
/// answer takes about as long either way.
pub async fn verify(password: String, phc: Option<PasswordHash>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let stored = phc
            .as_ref()
            .map_or(UNKNOWN_ACCOUNT_HASH, PasswordHash::expose);
        let parsed =
            Phc::new(stored).map_err(|e| PasswordError(format!("stored hash unreadable: {e}")))?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(|e| PasswordError(e.to_string()))?
}

/// What an unknown account's password is checked against: a hash of a
/// random password nobody kept, at the same parameters as every real hash
/// (a test holds it to the constants above), so an unknown email costs one
/// verification like a known one. A constant rather than made on first use:
/// making it costs a hash, so the first unknown email of every container
/// took two argon2id runs where a known email takes one, a difference a
/// caller could time. Nothing is learnt from it: nobody knows the password,
/// and a match would still not sign anyone in.
const UNKNOWN_ACCOUNT_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YaWNB/hZt2YBYIuwZYRIeg$adUjKorMrt9R1yR3GiwwLJcrTSyMb2XUpHHLNq/ZF80";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_owasp_and_verifies() {
        let phc = hash("correct-horse-battery".into()).await.unwrap();
        assert!(phc.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!phc.expose().contains("correct-horse-battery"));
        assert!(verify("correct-horse-battery".into(), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!verify("correct-horse-batterY".into(), Some(phc.clone()))
            .await
            .unwrap());
        // Same password, different salt.
        assert_ne!(phc, hash("correct-horse-battery".into()).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    /// An unknown email must cost what a known one does: the same algorithm,
    /// version and parameters as the hashes `hash` makes.
    #[test]
    fn the_unknown_account_hash_has_the_parameters_of_real_ones() {
        let dummy = Phc::new(UNKNOWN_ACCOUNT_HASH).unwrap();
        let real_phc = hash_blocking("correct-horse-battery").unwrap();
        let real = Phc::new(real_phc.expose()).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        let params = Params::try_from(&dummy).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
        assert_eq!(dummy.hash.unwrap().len(), real.hash.unwrap().len());
    }
}
