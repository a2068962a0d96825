//! `yishi admin create-admin`: the first platform admin is made on the server's own machine,
//! straight in the database (with the server stopped: the database file is locked while it
//! runs); everyone else is then created or joins through the API.

use std::io::{BufRead, IsTerminal, Write};

use crate::auth::password::{hash_blocking, params};
use crate::auth::{Login, Password, insert_account};
use crate::clock;
use crate::config::Config;
use crate::store::{Store, StoreError};

/// Creates a platform admin account `login` with `password` in the configured database.
pub fn create_admin(config: &Config, login: &str, password: &str) -> Result<(), String> {
    let login = Login::parse(login).map_err(|e| format!("login: {e}"))?;
    let password = Password::parse(password).map_err(|e| format!("password: {e}"))?;
    let path = config.database_path();
    let store = Store::open(&path, config.store.cache_mib << 20).map_err(|e| match e {
        StoreError::Database(redb::Error::DatabaseAlreadyOpen) => format!(
            "the database {} is in use (is `yishi serve` running?); stop the server first",
            path.display()
        ),
        e => format!("cannot open the database {}: {e}", path.display()),
    })?;
    let hash = hash_blocking(&params(&config.auth)?, &password)?;
    let now = clock::now().to_string();
    let created = store
        .write(|tx| insert_account(tx, &login, hash, true, &now))
        .map_err(|e| format!("cannot write the database: {e}"))?;
    match created {
        Some(_) => Ok(()),
        None => Err(format!("the login `{login}` is already taken")),
    }
}

/// Reads the password: the first line of `input`, without its line ending.
pub fn read_password(input: &mut impl BufRead) -> Result<String, String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("no password given: type it, or pipe it on standard input".into());
    }
    Ok(password.to_owned())
}

/// `yishi admin create-admin --login NAME`: reads the password as one line from standard input
/// (at a terminal it asks first; the typing is shown) and creates the admin.
pub fn create_admin_from_stdin(config: &Config, login: &str) -> Result<(), String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!(
            "Password for `{login}` (8 to 128 characters; it is shown as you type, so mind who is watching): "
        );
        std::io::stderr().flush().ok();
    }
    let password = read_password(&mut stdin.lock())?;
    create_admin(config, login, &password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> Config {
        let mut config = Config::default();
        config.store.data_dir = dir.to_owned();
        config.store.cache_mib = 1;
        config.auth.argon2_memory_kib = 64;
        config.auth.argon2_iterations = 1;
        config
    }

    #[test]
    fn an_admin_is_created_once_per_login() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        create_admin(&config, "Root", "a long password").unwrap();
        let err = create_admin(&config, "root", "another password").unwrap_err();
        assert_eq!(err, "the login `root` is already taken");
        let err = create_admin(&config, "r", "a long password").unwrap_err();
        assert!(err.starts_with("login: a login name has 3 to 32"), "{err}");
        let err = create_admin(&config, "other", "short").unwrap_err();
        assert!(err.starts_with("password: "), "{err}");
    }

    #[test]
    fn the_password_is_one_line() {
        let mut input = std::io::Cursor::new("secret words\r\nnext line\n");
        assert_eq!(read_password(&mut input).unwrap(), "secret words");
        assert!(read_password(&mut std::io::Cursor::new("")).is_err());
    }
}
