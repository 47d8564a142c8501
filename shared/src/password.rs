//! argon2id password hashing at OWASP's parameters (m = 19 MiB, t = 2, p = 1),
//! PHC strings with a per-user random salt. Hashing is CPU-bound, so it runs
//! on the blocking pool, off the async executor.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(ApiError::internal)?
}

pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2 hash: {e}")))
}

/// Checks a password against a PHC string. `None` (unknown account) still
/// costs one full verification against a dummy hash, so the answer takes
/// about as long either way.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| ApiError::internal(format!("stored hash unreadable: {e}")))?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(ApiError::internal)?
}

/// A hash of a random password, made once per container.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
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
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct-horse-battery"));
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
