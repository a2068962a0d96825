//! Login attempt limits per account and per client address, in fixed one-minute windows. The
//! table is pruned of finished windows and capped, so a flood of made-up logins or addresses
//! cannot grow it without bound: when it is full of live windows, further attempts are refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The length of one counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most accounts and addresses tracked at once.
pub const MAX_TRACKED: usize = 100_000;

/// Why an attempt was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("too many sign-in attempts for this account; wait a minute and try again")]
    Account,
    #[error("too many sign-in attempts from your network; wait a minute and try again")]
    Address,
    #[error("the server is handling too many sign-in attempts; wait a minute and try again")]
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    attempts: u32,
}

struct Windows {
    open: HashMap<Key, Window>,
    pruned_at: Instant,
}

pub struct LoginLimiter {
    per_account: u32,
    per_address: u32,
    /// A std mutex: held only to count, never across an `.await`.
    windows: Mutex<Windows>,
}

impl LoginLimiter {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account,
            per_address,
            windows: Mutex::new(Windows {
                open: HashMap::new(),
                pruned_at: Instant::now(),
            }),
        }
    }

    /// Counts one attempt for `address` and, when given, the account `login`; refuses it when
    /// either has used up its attempts in the current window. A refused attempt is not counted.
    pub fn attempt(
        &self,
        login: Option<&str>,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), Refused> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if now.saturating_duration_since(windows.pruned_at) >= WINDOW
            || windows.open.len() >= MAX_TRACKED
        {
            windows
                .open
                .retain(|_, w| now.saturating_duration_since(w.started) < WINDOW);
            windows.pruned_at = now;
        }
        let mut keys = vec![(Key::Address(address), self.per_address, Refused::Address)];
        if let Some(login) = login {
            keys.push((
                Key::Account(login.to_owned()),
                self.per_account,
                Refused::Account,
            ));
        }
        let new_keys = keys
            .iter()
            .filter(|(key, _, _)| !windows.open.contains_key(key))
            .count();
        if windows.open.len() + new_keys > MAX_TRACKED {
            return Err(Refused::Full);
        }
        for (key, limit, refusal) in &keys {
            if let Some(w) = windows.open.get(key)
                && now.saturating_duration_since(w.started) < WINDOW
                && w.attempts >= *limit
            {
                return Err(*refusal);
            }
        }
        for (key, _, _) in keys {
            let window = windows.open.entry(key).or_insert(Window {
                started: now,
                attempts: 0,
            });
            if now.saturating_duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    attempts: 0,
                };
            }
            window.attempts += 1;
        }
        Ok(())
    }

    /// How many accounts and addresses are being tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .open
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn an_account_gets_its_attempts_per_minute_from_anywhere() {
        let limiter = LoginLimiter::new(3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.attempt(Some("wang"), HOME, t0).unwrap();
        }
        assert_eq!(
            limiter.attempt(Some("wang"), AWAY, t0),
            Err(Refused::Account)
        );
        assert_eq!(limiter.attempt(Some("li"), HOME, t0), Ok(()));
        let later = t0 + WINDOW;
        assert_eq!(limiter.attempt(Some("wang"), HOME, later), Ok(()));
    }

    #[test]
    fn an_address_gets_its_attempts_per_minute_whatever_the_account() {
        let limiter = LoginLimiter::new(100, 2);
        let t0 = Instant::now();
        limiter.attempt(Some("a"), HOME, t0).unwrap();
        limiter.attempt(None, HOME, t0).unwrap();
        assert_eq!(limiter.attempt(Some("b"), HOME, t0), Err(Refused::Address));
        // The refused attempt did not count against account `b`.
        assert_eq!(limiter.attempt(Some("b"), AWAY, t0), Ok(()));
    }

    #[test]
    fn finished_windows_are_pruned_and_the_table_is_capped() {
        let limiter = LoginLimiter::new(10, u32::MAX);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED - 1) {
            limiter.attempt(Some(&format!("u{i}")), HOME, t0).unwrap();
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        assert_eq!(
            limiter.attempt(Some("one-more"), AWAY, t0),
            Err(Refused::Full)
        );
        let later = t0 + WINDOW + Duration::from_secs(1);
        assert_eq!(limiter.attempt(Some("one-more"), AWAY, later), Ok(()));
        assert_eq!(limiter.tracked(), 2);
    }
}
