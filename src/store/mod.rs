//! Persistence: one redb file, every write durable (`Durability::Immediate`) before it is
//! acknowledged. The rest of the server sees only this module's narrow interface: typed record
//! helpers inside read and write transactions, run off the async runtime.

pub mod deliberation;
pub mod records;
pub mod tables;

use std::path::Path;
use std::sync::Arc;

use redb::{
    Database, Durability, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    TableHandle, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::records::AuditRecord;
use self::tables::*;
use crate::domain::ledger::canonical_hash;

/// The on-disk format this build writes. Older files are migrated at open; newer are refused.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] redb::Error),
    #[error(
        "the database was written by a newer Yishi (format {found}; this build reads up to {SCHEMA_VERSION}); upgrade Yishi"
    )]
    Newer { found: u32 },
    #[error("stored record in `{table}` cannot be read: {message}")]
    Corrupt { table: String, message: String },
    #[error("the storage task stopped unexpectedly")]
    TaskFailed,
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

impl Store {
    /// Opens (or creates) the database at `path` with a page cache of `cache_bytes`, checks the
    /// schema version and creates every table.
    pub fn open(path: &Path, cache_bytes: usize) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.into()))?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)?;
        let store = Self { db: Arc::new(db) };
        store.write(|tx| {
            let mut meta = tx.open_table(META)?;
            let found = meta.get("schema_version")?.map(|v| {
                String::from_utf8_lossy(v.value())
                    .parse::<u32>()
                    .unwrap_or(0)
            });
            match found {
                Some(v) if v > SCHEMA_VERSION => return Err(StoreError::Newer { found: v }),
                // Version 1 is the first format: nothing older to migrate yet.
                _ => {
                    meta.insert("schema_version", SCHEMA_VERSION.to_string().as_bytes())?;
                }
            }
            drop(meta);
            create_tables(tx)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `f` in a read transaction (a consistent snapshot; many may run at once).
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let tx = self.db.begin_read()?;
        f(&tx)
    }

    /// Runs `f` in a write transaction and commits durably. Only one write runs at a time; the
    /// transaction is aborted if `f` fails.
    pub fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Begins a durable write transaction for a caller that commits it itself (the vote writer).
    pub fn begin_write(&self) -> StoreResult<WriteTransaction> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    /// Runs blocking store work on the blocking thread pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|_| StoreError::TaskFailed)?
    }
}

fn create_tables(tx: &WriteTransaction) -> StoreResult<()> {
    tx.open_table(ACCOUNTS)?;
    tx.open_table(LOGINS)?;
    tx.open_table(SESSIONS)?;
    tx.open_table(COMMUNITIES)?;
    tx.open_table(MEMBERS)?;
    tx.open_table(MEMBERSHIPS)?;
    tx.open_table(VOTER_ACCOUNTS)?;
    tx.open_table(ROLLS)?;
    tx.open_table(ACTIVATIONS)?;
    tx.open_table(PROPOSALS)?;
    tx.open_table(COMMUNITY_PROPOSALS)?;
    tx.open_table(ELECTORATES)?;
    tx.open_table(LEDGER)?;
    tx.open_table(BALLOTS)?;
    tx.open_table(RECEIPTS)?;
    tx.open_table(PROXIES)?;
    tx.open_table(AUDIT)?;
    tx.open_table(COMMUNITY_KEYS)?;
    tx.open_table(CERTIFICATES)?;
    tx.open_table(COMMITTEES)?;
    deliberation::create_tables(tx)?;
    Ok(())
}

/// Encodes a record.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise")
}

/// Decodes a record, naming the table when it cannot.
pub fn decode<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table: table.to_owned(),
        message: e.to_string(),
    })
}

/// Reads one JSON record by key from a table of a read transaction.
pub fn get<'k, K: Key + 'static, T: DeserializeOwned>(
    tx: &ReadTransaction,
    table: TableDefinition<K, &'static [u8]>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
) -> StoreResult<Option<T>> {
    read_record(&tx.open_table(table)?, table.name(), key)
}

/// Reads one JSON record by key inside a write transaction.
pub fn get_w<'k, K: Key + 'static, T: DeserializeOwned>(
    tx: &WriteTransaction,
    table: TableDefinition<K, &'static [u8]>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
) -> StoreResult<Option<T>> {
    read_record(&tx.open_table(table)?, table.name(), key)
}

/// Reads and decodes one JSON record from an open table of either kind of transaction.
fn read_record<'k, K: Key + 'static, T: DeserializeOwned>(
    table: &impl ReadableTable<K, &'static [u8]>,
    name: &str,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
) -> StoreResult<Option<T>> {
    let value = table.get(key)?;
    value.map(|v| decode(name, v.value())).transpose()
}

/// Writes one JSON record.
pub fn put<'k, K: Key + 'static, T: Serialize>(
    tx: &WriteTransaction,
    table: TableDefinition<K, &'static [u8]>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
    value: &T,
) -> StoreResult<()> {
    let mut t = tx.open_table(table)?;
    t.insert(key, encode(value).as_slice())?;
    Ok(())
}

/// Appends an officer action to the community's hash-chained audit log.
pub fn audit(
    tx: &WriteTransaction,
    community: &str,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
    at: &str,
) -> StoreResult<AuditRecord> {
    let mut t = tx.open_table(AUDIT)?;
    let last = t
        .range((community, 0)..=(community, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(_, v)| decode::<AuditRecord>("audit", v.value()))
        .transpose()?;
    let (seq, prev) = match last {
        Some(last) => (last.seq + 1, canonical_hash(&last)),
        None => (1, canonical_hash(&community)),
    };
    let record = AuditRecord {
        seq,
        community: community.to_owned(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        detail,
        at: at.to_owned(),
        prev,
    };
    t.insert((community, seq), encode(&record).as_slice())?;
    Ok(record)
}
