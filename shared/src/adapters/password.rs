//! argon2id password hashing at OWASP's minimum parameters (see the
//! constants below),
//! PHC strings with a per-user random salt. Hashing is CPU-bound, so it runs
//! on the blocking pool, off the async executor.

use std::sync::OnceLock;

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
/// costs one full verification against a dummy hash, so the answer takes
/// about as long either way.
pub async fn verify(password: String, phc: Option<PasswordHash>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash().clone());
        let parsed = Phc::new(phc.expose())
            .map_err(|e| PasswordError(format!("stored hash unreadable: {e}")))?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(|e| PasswordError(e.to_string()))?
}

/// A hash of a random password, made once per container.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        hash_blocking(&random).expect("argon2id with fixed, valid parameters always hashes")
    })
}

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
}
