//! Server-side sessions: a random 256-bit token goes to the client (cookie or bearer header);
//! only its SHA-256 is stored, so a copy of the database cannot be used to sign in.

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::clock;
use crate::store::records::{AccountRecord, SessionRecord};
use crate::store::tables::{ACCOUNTS, SESSIONS};
use crate::store::{Store, StoreResult, get, put};

/// The session cookie's name.
pub const COOKIE: &str = "yishi_session";

/// The stored key of a token.
pub fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for an account; returns the token to hand to the client.
pub fn create(store: &Store, account: &str, now: Timestamp, hours: u64) -> StoreResult<String> {
    let token = hex::encode(clock::random_bytes::<32>());
    let expires = now
        .checked_add(SignedDuration::from_hours(hours as i64))
        .unwrap_or(Timestamp::MAX);
    let record = SessionRecord {
        account: account.to_owned(),
        created_at: now.to_string(),
        expires_at: expires.to_string(),
    };
    store.write(|tx| put(tx, SESSIONS, token_key(&token).as_str(), &record))?;
    Ok(token)
}

/// The account behind a live session token, if any.
pub fn lookup(store: &Store, token: &str, now: Timestamp) -> StoreResult<Option<AccountRecord>> {
    store.read(|tx| {
        let Some(session) = get::<&str, SessionRecord>(tx, SESSIONS, token_key(token).as_str())?
        else {
            return Ok(None);
        };
        let live = session
            .expires_at
            .parse::<Timestamp>()
            .is_ok_and(|expires| now < expires);
        if !live {
            return Ok(None);
        }
        get(tx, ACCOUNTS, session.account.as_str())
    })
}

/// Ends a session.
pub fn end(store: &Store, token: &str) -> StoreResult<()> {
    store.write(|tx| {
        let mut t = tx.open_table(SESSIONS)?;
        t.remove(token_key(token).as_str())?;
        Ok(())
    })
}

/// Deletes every session that has expired by `now`; returns how many. Sessions are checked for
/// expiry on every use, so this only reclaims space: run it now and then (e.g. daily).
pub fn prune_expired(store: &Store, now: Timestamp) -> StoreResult<usize> {
    use redb::ReadableTable;
    store.write(|tx| {
        let mut t = tx.open_table(SESSIONS)?;
        let mut dead = Vec::new();
        for item in t.iter()? {
            let (key, value) = item?;
            let session: SessionRecord = crate::store::decode("sessions", value.value())?;
            let live = session
                .expires_at
                .parse::<Timestamp>()
                .is_ok_and(|expires| now < expires);
            if !live {
                dead.push(key.value().to_owned());
            }
        }
        for key in &dead {
            t.remove(key.as_str())?;
        }
        Ok(dead.len())
    })
}
