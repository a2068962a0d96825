//! Test-only fault injection (cargo feature `faults`, enabled for `cargo test` only): a redb
//! storage backend around the database file that, on demand, fails commits with EIO, acts as a
//! full disk (ENOSPC) or as a file system that turned read-only (EROFS).

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// The switches a test flips; shared by the store and every backend it opens.
#[derive(Debug, Default)]
pub struct Faults {
    /// The next this-many `fsync`s fail with EIO (each durable commit makes at least one).
    failing_syncs: AtomicU64,
    /// The next this-many writes fail with EIO (a commit writes its pages, then its header).
    failing_writes: AtomicU64,
    /// `HEALTHY`, `FULL` or `READ_ONLY`.
    disk: AtomicU8,
}

const HEALTHY: u8 = 0;
const FULL: u8 = 1;
const READ_ONLY: u8 = 2;

impl Faults {
    /// Makes the next `n` commits fail at their `fsync` (EIO).
    pub fn fail_next_commits(&self, n: u64) {
        self.failing_syncs.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` page writes fail with EIO: the commit that makes them fails before
    /// anything of it reaches the file.
    pub fn fail_next_writes(&self, n: u64) {
        self.failing_writes.store(n, Ordering::SeqCst);
    }

    /// From now on every write and every growth of the file fails with ENOSPC (`true`), or the
    /// disk has room again (`false`).
    pub fn fill_disk(&self, full: bool) {
        self.disk
            .store(if full { FULL } else { HEALTHY }, Ordering::SeqCst);
    }

    /// From now on every write fails with EROFS (`true`), or writes work again (`false`).
    pub fn make_read_only(&self, read_only: bool) {
        self.disk.store(
            if read_only { READ_ONLY } else { HEALTHY },
            Ordering::SeqCst,
        );
    }

    fn refuse_write(&self) -> std::io::Result<()> {
        match self.disk.load(Ordering::SeqCst) {
            FULL => Err(std::io::Error::from_raw_os_error(28)), // ENOSPC
            READ_ONLY => Err(std::io::Error::from_raw_os_error(30)), // EROFS
            _ => Ok(()),
        }
    }
}

/// The database file, with `Faults` applied to its writes.
#[derive(Debug)]
pub struct FaultyDisk {
    file: FileBackend,
    faults: Arc<Faults>,
}

impl FaultyDisk {
    pub fn new(file: FileBackend, faults: Arc<Faults>) -> Self {
        Self { file, faults }
    }
}

impl StorageBackend for FaultyDisk {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        if len > self.file.len()? {
            self.faults.refuse_write()?;
        }
        self.file.set_len(len)
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.faults.refuse_write()?;
        let failing =
            self.faults
                .failing_syncs
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.faults.refuse_write()?;
        let failing =
            self.faults
                .failing_writes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.file.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
