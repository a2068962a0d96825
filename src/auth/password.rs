//! argon2id password hashes, computed off the async runtime and at most a few at a time. A hash
//! that finds no free slot fails at once with [`HashError::Busy`] instead of queueing, so a
//! flood of logins is answered 429 and never stalls voting.

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use super::Password;
use crate::clock;
use crate::config::AuthConfig;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot is taken; try again in a moment.
    #[error("the server is busy checking other passwords; try again in a moment")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The argon2id parameters of `config`, or why they are unusable.
pub fn params(config: &AuthConfig) -> Result<Params, String> {
    Params::new(
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
        None,
    )
    .map_err(|e| format!("invalid argon2 parameters in [auth]: {e}"))
}

/// Hashes `password` with `params` on the calling thread (the command line uses this directly).
pub fn hash_blocking(params: &Params, password: &Password) -> Result<String, String> {
    let salt = clock::random_bytes::<16>();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_with_salt(password.as_str().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored PHC string. The hash's own parameters are used, so
/// raising the configured cost does not lock out older accounts.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// The bounded hasher shared by every request.
pub struct Passwords {
    params: Params,
    /// One permit per hash allowed to run at once. Permits are taken with `try_acquire`, never
    /// awaited, and travel into the blocking task so a cancelled request still holds its slot
    /// until the hash really ends.
    slots: Arc<Semaphore>,
    /// A hash of a random password, checked when the login does not exist, so that an unknown
    /// login costs the same time as a wrong password.
    decoy: Arc<OnceLock<String>>,
}

impl Passwords {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            // `Config::check` has already refused unusable parameters.
            params: params(config).unwrap_or_default(),
            slots: Arc::new(Semaphore::new(config.max_concurrent_hashes.max(1))),
            decoy: Arc::new(OnceLock::new()),
        }
    }

    /// Hashes a new password for storage.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_blocking(&params, &password)
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
        .map_err(HashError::Failed)
    }

    /// Checks a password against an account's stored hash; with `None` (no such account) it
    /// checks a decoy hash instead and answers `false`.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let params = self.params.clone();
        let decoy = self.decoy.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match stored {
                Some(phc) => verify_blocking(&password, &phc),
                None => {
                    let decoy = decoy.get_or_init(|| {
                        let random = hex::encode(clock::random_bytes::<16>());
                        Password::parse(&random)
                            .ok()
                            .and_then(|p| hash_blocking(&params, &p).ok())
                            .unwrap_or_default()
                    });
                    verify_blocking(&password, decoy);
                    false
                }
            }
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> AuthConfig {
        let mut config = crate::config::Config::default().auth;
        config.argon2_memory_kib = 64;
        config.argon2_iterations = 1;
        config.max_concurrent_hashes = 1;
        config
    }

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let passwords = Passwords::new(&cheap());
        let hash = passwords
            .hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(
            passwords
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct horse".into(), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_hash_finding_no_free_slot_is_refused_at_once() {
        let passwords = Passwords::new(&cheap());
        let held = passwords.slots.clone().try_acquire_owned().unwrap();
        let refused = passwords.verify("x".into(), None).await;
        assert!(matches!(refused, Err(HashError::Busy)));
        drop(held);
        assert!(passwords.verify("x".into(), None).await.is_ok());
    }
}
