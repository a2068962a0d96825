//! Configuration: `config/default.toml` (embedded, every key), overridden by a `--config` file,
//! then by `YISHI_SECTION_KEY` environment variables, then by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The embedded defaults; every key documented there.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub vote: VoteConfig,
    pub live: LiveConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub ops: OpsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_origin: String,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    pub trusted_proxies: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub data_dir: PathBuf,
    pub cache_mib: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteConfig {
    pub max_batch: usize,
    pub max_wait_micros: u64,
    pub deadline_tick_millis: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    pub updates_per_second: u32,
    pub ping_interval_millis: u64,
    pub max_missed_pongs: u32,
    pub write_timeout_millis: u64,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub max_client_messages_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub max_concurrent_hashes: usize,
    pub session_hours: u64,
    pub cookie_secure: bool,
    pub login_attempts_per_minute_per_account: u32,
    pub login_attempts_per_minute_per_address: u32,
    pub activation_days: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_roll_voters: usize,
    pub max_proposals_per_community: usize,
    pub max_title_chars: usize,
    pub max_body_chars: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: String,
    pub filter: String,
}

/// Operations: who may read `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    pub metrics: String,
    pub metrics_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULT_TOML).expect("the embedded default configuration is valid")
    }
}

impl Config {
    /// Defaults, then `file`, then `YISHI_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = DEFAULT_TOML.parse().expect("embedded default parses");
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let overrides: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Invalid {
                        origin: path.display().to_string(),
                        message: e.to_string(),
                    })?;
            merge(&mut table, overrides, &path.display().to_string())?;
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("YISHI_") else {
                continue;
            };
            let rest = rest.to_ascii_lowercase();
            let Some((section, key)) = rest.split_once('_') else {
                continue;
            };
            let invalid = |message: String| ConfigError::Invalid {
                origin: name.clone(),
                message,
            };
            let Some(toml::Value::Table(section_table)) = table.get_mut(section) else {
                return Err(invalid(format!("no configuration section `{section}`")));
            };
            let Some(old) = section_table.get(key) else {
                return Err(invalid(format!("no key `{key}` in section `{section}`")));
            };
            let parsed = match old {
                toml::Value::String(_) => toml::Value::String(value.clone()),
                toml::Value::Integer(_) => toml::Value::Integer(
                    value
                        .parse()
                        .map_err(|_| invalid(format!("`{value}` is not a whole number")))?,
                ),
                toml::Value::Boolean(_) => toml::Value::Boolean(
                    value
                        .parse()
                        .map_err(|_| invalid(format!("`{value}` is not true or false")))?,
                ),
                _ => {
                    return Err(invalid(
                        "this key cannot be set from the environment".into(),
                    ));
                }
            };
            section_table.insert(key.to_owned(), parsed);
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    origin: "configuration".into(),
                    message: e.to_string(),
                })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| ConfigError::Invalid {
            origin: "configuration".into(),
            message: message.to_owned(),
        };
        if self.vote.max_batch == 0 {
            return Err(invalid("vote.max_batch must be at least 1"));
        }
        if self.live.updates_per_second == 0 || self.live.ping_interval_millis == 0 {
            return Err(invalid(
                "live.updates_per_second and live.ping_interval_millis must be positive",
            ));
        }
        if self.auth.max_concurrent_hashes == 0 {
            return Err(invalid("auth.max_concurrent_hashes must be at least 1"));
        }
        let auth = &self.auth;
        if let Err(e) = argon2::Params::new(
            auth.argon2_memory_kib,
            auth.argon2_iterations,
            auth.argon2_parallelism,
            None,
        ) {
            return Err(invalid(&format!("auth.argon2_*: {e}")));
        }
        if !["text", "json"].contains(&self.log.format.as_str()) {
            return Err(invalid("log.format must be \"text\" or \"json\""));
        }
        if let Err(e) = crate::http::ops::TrustedProxies::parse(&self.server.trusted_proxies) {
            return Err(invalid(&format!("server.trusted_proxies: {e}")));
        }
        if self.server.header_timeout_secs == 0 || self.server.max_connections == 0 {
            return Err(invalid(
                "server.header_timeout_secs and server.max_connections must be positive",
            ));
        }
        match self.ops.metrics.as_str() {
            "loopback" | "public" => {}
            "token" if self.ops.metrics_token.chars().count() >= 16 => {}
            "token" => {
                return Err(invalid(
                    "ops.metrics = \"token\" needs an ops.metrics_token of at least 16 characters",
                ));
            }
            _ => {
                return Err(invalid(
                    "ops.metrics must be \"loopback\", \"token\" or \"public\"",
                ));
            }
        }
        Ok(())
    }

    /// The database file inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.store.data_dir.join("yishi.redb")
    }
}

/// Overlays `overrides` on `base`, refusing keys the defaults do not have.
fn merge(base: &mut toml::Table, overrides: toml::Table, origin: &str) -> Result<(), ConfigError> {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => {
                merge(inner, value, origin)?;
            }
            (Some(slot), value) if !slot.is_table() => *slot = value,
            _ => {
                return Err(ConfigError::Invalid {
                    origin: origin.to_owned(),
                    message: format!("unknown configuration key `{key}`"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_environment_overrides_them() {
        let config = Config::load(
            None,
            [
                ("YISHI_SERVER_LISTEN".to_owned(), "0.0.0.0:9000".to_owned()),
                ("YISHI_STORE_CACHE_MIB".to_owned(), "16".to_owned()),
                ("PATH".to_owned(), "/bin".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen.port(), 9000);
        assert_eq!(config.store.cache_mib, 16);
        assert_eq!(config.auth.argon2_memory_kib, 19456);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err =
            Config::load(None, [("YISHI_STORE_CACHE".to_owned(), "1".to_owned())]).unwrap_err();
        assert!(err.to_string().contains("no key `cache`"), "{err}");
        let err =
            Config::load(None, [("YISHI_STORE_CACHE_MIB".to_owned(), "x".to_owned())]).unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
    }
}
