//! Who is asking: sessions, passwords, roles per community, activation codes and login limits.
//! Login names and passwords are parsed here once ([`Login`], [`Password`]); the HTTP layer and
//! the command line only ever hand validated values on.

pub mod activation;
pub mod limit;
pub mod password;
pub mod session;

use std::fmt;

use redb::{ReadableTable, WriteTransaction};

use self::limit::LoginLimiter;
use self::password::Passwords;
use crate::clock;
use crate::config::AuthConfig;
use crate::store::records::AccountRecord;
use crate::store::tables::{ACCOUNTS, LOGINS};
use crate::store::{StoreResult, put};

/// Shortest and longest login name, in characters.
pub const LOGIN_CHARS: (usize, usize) = (3, 32);
/// Shortest and longest password, in characters.
pub const PASSWORD_CHARS: (usize, usize) = (8, 128);

/// The server's authentication state: the bounded password hasher and the login limiter.
pub struct Auth {
    pub passwords: Passwords,
    pub limiter: LoginLimiter,
}

impl Auth {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            passwords: Passwords::new(config),
            limiter: LoginLimiter::new(
                config.login_attempts_per_minute_per_account,
                config.login_attempts_per_minute_per_address,
            ),
        }
    }
}

/// Why a login name or password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "a login name has {min} to {max} characters: letters a–z, digits, `_`, `-` or `.`",
        min = LOGIN_CHARS.0,
        max = LOGIN_CHARS.1
    )]
    BadLogin,
    #[error(
        "a password has {min} to {max} characters",
        min = PASSWORD_CHARS.0,
        max = PASSWORD_CHARS.1
    )]
    BadPassword,
}

/// A valid login name, lower-cased: logins are unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Login(String);

impl Login {
    /// ASCII letters (any case, stored lower-case), digits, `_`, `-`, `.`; 3–32 characters.
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        let len = text.chars().count();
        let valid = (LOGIN_CHARS.0..=LOGIN_CHARS.1).contains(&len)
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if valid {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(CredentialError::BadLogin)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password of acceptable length (8–128 characters). Never logged or displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Self, CredentialError> {
        let len = text.chars().count();
        if (PASSWORD_CHARS.0..=PASSWORD_CHARS.1).contains(&len) {
            Ok(Self(text.to_owned()))
        } else {
            Err(CredentialError::BadPassword)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Creates an account inside `tx`. `None` when the login is already taken (nothing written).
pub fn insert_account(
    tx: &WriteTransaction,
    login: &Login,
    password_hash: String,
    is_admin: bool,
    now: &str,
) -> StoreResult<Option<AccountRecord>> {
    let mut logins = tx.open_table(LOGINS)?;
    if logins.get(login.as_str())?.is_some() {
        return Ok(None);
    }
    let record = AccountRecord {
        id: clock::new_id(),
        login: login.as_str().to_owned(),
        password_hash,
        is_admin,
        created_at: now.to_owned(),
    };
    logins.insert(login.as_str(), record.id.as_str())?;
    drop(logins);
    put(tx, ACCOUNTS, record.id.as_str(), &record)?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_short_plain_and_case_insensitive() {
        assert_eq!(Login::parse("Wang.Li-3").unwrap().as_str(), "wang.li-3");
        for bad in ["ab", "a b c", "王伟伟", "x@y.z", &"a".repeat(33), ""] {
            assert_eq!(Login::parse(bad), Err(CredentialError::BadLogin), "{bad}");
        }
        assert!(Login::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"密".repeat(128)).is_ok());
        assert!(Password::parse(&"密".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pw").unwrap()),
            "Password(…)"
        );
    }
}
