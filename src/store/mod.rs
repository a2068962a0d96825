//! Persistence: one redb file, every write durable (`Durability::Immediate`) before it is
//! acknowledged. The rest of the server sees only this module's narrow interface: typed record
//! helpers inside read and write transactions, run off the async runtime.

pub mod backup;
pub mod deliberation;
#[cfg(feature = "faults")]
pub mod faults;
mod overlay;
pub mod records;
pub mod tables;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, Key, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::records::AuditRecord;
use self::tables::*;
use crate::domain::ledger::canonical_hash;

/// The on-disk format this build writes. Older files are migrated at open; newer are refused.
pub const SCHEMA_VERSION: u32 = 1;

/// How long a reopen after a storage failure waits for the reads still using the old handle.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

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
    /// The database is open read-only (its data directory is not writable): reads only.
    #[error("the data directory is read-only: nothing can be recorded")]
    ReadOnly,
    /// A storage failure (a full disk, a file system turned read-only) left the database
    /// readable only, until the disk takes writes again.
    #[error("the disk refuses writes ({0:?}): nothing can be recorded until it does")]
    Degraded(Fault),
    /// The database is being reopened after a storage failure, or could not be reopened.
    #[error("the database is unavailable after a storage failure")]
    Unavailable,
}

/// A storage failure the server survives, as clients are told of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The disk is full (ENOSPC, EDQUOT).
    Full,
    /// The data directory or its file system is read-only.
    ReadOnly,
    /// Any other I/O failure; the database is reopened and the request may be retried.
    Failed,
}

impl StoreError {
    /// Whether this is a storage failure (rather than a bug or bad data), and which.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::ReadOnly => Some(Fault::ReadOnly),
            StoreError::Degraded(fault) => Some(*fault),
            StoreError::Unavailable => Some(Fault::Failed),
            StoreError::Database(redb::Error::Io(e)) => Some(io_fault(e)),
            StoreError::Database(redb::Error::PreviousIo | redb::Error::DatabaseClosed) => {
                Some(Fault::Failed)
            }
            _ => None,
        }
    }
}

fn io_fault(e: &std::io::Error) -> Fault {
    use std::io::ErrorKind;
    match (e.kind(), e.raw_os_error()) {
        (ErrorKind::StorageFull | ErrorKind::QuotaExceeded, _) | (_, Some(28 | 122)) => Fault::Full,
        (ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied, _) | (_, Some(30)) => {
            Fault::ReadOnly
        }
        _ => Fault::Failed,
    }
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

/// A handle on the database; cheap to clone. After a storage failure the vote writer reopens
/// the file (`reopen`), which redb requires: a failed write poisons the handle that saw it.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` while a reopen is under way or after it failed.
    handle: RwLock<Option<Arc<Handle>>>,
    path: PathBuf,
    cache_bytes: usize,
    /// Set when a reopen after a failure could only open the file read-only.
    degraded: std::sync::Mutex<Option<Fault>>,
    #[cfg(feature = "faults")]
    faults: Arc<faults::Faults>,
}

enum Handle {
    Writable(Database),
    /// The data directory is not writable: the server serves reads only.
    ReadOnly(ReadOnlyDatabase),
    /// Opened over `overlay::Overlay` because the file needed a repair that the disk would not
    /// take: reads only, never a write transaction.
    Overlaid(Database),
}

impl Store {
    /// Opens (or creates) the database at `path` with a page cache of `cache_bytes`, checks the
    /// schema version and creates every table. When the file exists but cannot be opened for
    /// writing (a read-only data directory), it is opened read-only: see `is_read_only`.
    pub fn open(path: &Path, cache_bytes: usize) -> StoreResult<Self> {
        if let Some(dir) = path.parent()
            && !dir.is_dir()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.into()))?;
        }
        let inner = Inner {
            handle: RwLock::new(None),
            path: path.to_owned(),
            cache_bytes,
            degraded: Default::default(),
            #[cfg(feature = "faults")]
            faults: Arc::default(),
        };
        let handle = inner.open_handle()?;
        *inner.handle.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handle));
        let store = Self {
            inner: Arc::new(inner),
        };
        if store.is_read_only() {
            let found = store.read(|tx| match tx.open_table(META) {
                Ok(meta) => Ok(meta.get("schema_version")?.map(|v| {
                    String::from_utf8_lossy(v.value())
                        .parse::<u32>()
                        .unwrap_or(0)
                })),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(e.into()),
            })?;
            match found {
                Some(v) if v > SCHEMA_VERSION => return Err(StoreError::Newer { found: v }),
                Some(v) if v == SCHEMA_VERSION => {}
                _ => return Err(StoreError::ReadOnly),
            }
            return Ok(store);
        }
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

    /// True when the database was opened read-only (its data directory is not writable).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self.handle().as_deref(),
            Ok(Handle::ReadOnly(_) | Handle::Overlaid(_))
        )
    }

    /// The failure that left the database readable only (until a reopen succeeds), if any.
    pub fn degraded(&self) -> Option<Fault> {
        *self
            .inner
            .degraded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The test-only fault switches of this store's storage.
    #[cfg(feature = "faults")]
    pub fn faults(&self) -> Arc<faults::Faults> {
        self.inner.faults.clone()
    }

    fn handle(&self) -> StoreResult<Arc<Handle>> {
        self.inner
            .handle
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(StoreError::Unavailable)
    }

    /// Closes the database and opens it again, as redb requires after a failed write (the old
    /// handle answers every call with `PreviousIo`); opening repairs what the failure left.
    /// Reads still using the old handle are waited for (at most `REOPEN_WAIT`). When the file
    /// can no longer be opened for writing it is opened read-only; when it cannot be opened at
    /// all the store stays unavailable until a later `reopen` succeeds.
    pub fn reopen(&self) -> StoreResult<()> {
        let mut slot = self.inner.handle.write().unwrap_or_else(|e| e.into_inner());
        if let Some(mut old) = slot.take() {
            let deadline = Instant::now() + REOPEN_WAIT;
            loop {
                match Arc::try_unwrap(old) {
                    Ok(handle) => {
                        drop(handle);
                        break;
                    }
                    Err(shared) if Instant::now() < deadline => {
                        old = shared;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(shared) => {
                        *slot = Some(shared);
                        return Err(StoreError::Unavailable);
                    }
                }
            }
        }
        let handle = match self.inner.open_handle() {
            Ok(handle) => handle,
            // A full disk or a file system turned read-only: the file as last committed can
            // still be read.
            Err(e) if matches!(e.fault(), Some(Fault::Full | Fault::ReadOnly)) => {
                let fault = e.fault();
                let handle = self.inner.open_read_only().map_err(|_| e)?;
                *self
                    .inner
                    .degraded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = fault;
                *slot = Some(Arc::new(handle));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        *self
            .inner
            .degraded
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        *slot = Some(Arc::new(handle));
        Ok(())
    }

    /// Runs `f` in a read transaction (a consistent snapshot; many may run at once).
    pub fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let handle = self.handle()?;
        let tx = match &*handle {
            Handle::Writable(db) | Handle::Overlaid(db) => db.begin_read()?,
            Handle::ReadOnly(db) => db.begin_read()?,
        };
        f(&tx)
    }

    /// Runs `f` in a write transaction and commits durably. Only one write runs at a time; the
    /// transaction is aborted if `f` fails.
    pub fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let tx = self.begin_write()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Begins a durable write transaction for a caller that commits it itself (the vote writer).
    pub fn begin_write(&self) -> StoreResult<WriteTransaction> {
        let handle = self.handle()?;
        let Handle::Writable(db) = &*handle else {
            let degraded = *self
                .inner
                .degraded
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            return Err(degraded.map_or(StoreError::ReadOnly, StoreError::Degraded));
        };
        let mut tx = db.begin_write()?;
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

impl Inner {
    fn builder(&self) -> redb::Builder {
        let mut builder = Database::builder();
        builder.set_cache_size(self.cache_bytes);
        builder
    }

    /// Opens the file for reading only. A file that needs a repair first (its last writer
    /// stopped on a failed write, or was killed) is repaired in memory over the untouched file.
    fn open_read_only(&self) -> StoreResult<Handle> {
        let open = || -> StoreResult<redb::backends::FileBackend> {
            let file =
                std::fs::File::open(&self.path).map_err(|e| StoreError::Database(e.into()))?;
            Ok(redb::backends::FileBackend::new(file)?)
        };
        match self.builder().open_read_only_with_backend(open()?) {
            Ok(db) => Ok(Handle::ReadOnly(db)),
            Err(error) => {
                tracing::warn!(%error, "the database needs a repair this disk will not take: repaired in memory, for reading only");
                let overlay =
                    overlay::Overlay::new(open()?).map_err(|e| StoreError::Database(e.into()))?;
                Ok(Handle::Overlaid(
                    self.builder().create_with_backend(overlay)?,
                ))
            }
        }
    }

    /// Opens the file for writing, or read-only when it exists and writing is refused.
    fn open_handle(&self) -> StoreResult<Handle> {
        let builder = self.builder();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path);
        let file = match file {
            Ok(file) => file,
            Err(e) if io_fault(&e) == Fault::ReadOnly && self.path.is_file() => {
                return self.open_read_only();
            }
            Err(e) => return Err(StoreError::Database(e.into())),
        };
        let backend = redb::backends::FileBackend::new(file)?;
        #[cfg(feature = "faults")]
        let backend = faults::FaultyDisk::new(backend, self.faults.clone());
        Ok(Handle::Writable(builder.create_with_backend(backend)?))
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

/// Read access that read and write transactions share, for code that runs in either.
pub trait Reads {
    fn table<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> StoreResult<impl ReadableTable<K, V> + '_>;
}

impl Reads for ReadTransaction {
    fn table<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> StoreResult<impl ReadableTable<K, V> + '_> {
        Ok(self.open_table(definition)?)
    }
}

impl Reads for WriteTransaction {
    fn table<K: Key + 'static, V: redb::Value + 'static>(
        &self,
        definition: TableDefinition<K, V>,
    ) -> StoreResult<impl ReadableTable<K, V> + '_> {
        Ok(self.open_table(definition)?)
    }
}

/// Reads one JSON record by key in either kind of transaction.
pub fn get_any<'k, K: Key + 'static, T: DeserializeOwned>(
    tx: &impl Reads,
    table: TableDefinition<K, &'static [u8]>,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
) -> StoreResult<Option<T>> {
    read_record(&tx.table(table)?, table.name(), key)
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
