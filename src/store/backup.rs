//! Backups: a consistent copy of the whole database taken in ONE read transaction (redb's MVCC
//! keeps that snapshot fixed while votes keep being committed), written as a fresh redb file
//! that `yishi serve` can run on directly; and the check a copy must pass before a restore.

use std::path::Path;

use redb::{
    Database, Durability, Key, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::tables::*;
use super::{SCHEMA_VERSION, Store, StoreError, StoreResult, decode};
use crate::domain::ledger::{Entry, verify_chain};
use crate::store::records::ProposalRecord;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub tables: usize,
    pub records: u64,
    pub proposals: u64,
    /// Ledger entries, every chain verified.
    pub ledger_entries: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records in {} tables; {} proposals; {} ledger entries, every chain verified",
            self.records, self.tables, self.proposals, self.ledger_entries
        )
    }
}

/// Writes a consistent copy of `store` to `to`, which must not exist yet. `pause` runs inside
/// the snapshot before copying (tests use it to hold the snapshot open while votes go on).
pub fn snapshot(store: &Store, to: &Path, pause: impl FnOnce()) -> StoreResult<Summary> {
    if to.exists() {
        return Err(StoreError::Database(
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} already exists", to.display()),
            )
            .into(),
        ));
    }
    store.read(|src| {
        pause();
        let copy = Database::builder().create(to)?;
        let mut dst = copy.begin_write()?;
        dst.set_durability(Durability::Immediate)?;
        let records = copy_all(src, &dst)?;
        dst.commit()?;
        drop(copy);
        let summary = check(to)?;
        debug_assert_eq!(summary.records, records);
        Ok(summary)
    })
}

/// Copies every table; refuses (rather than silently leaving out) a table it does not know.
fn copy_all(src: &ReadTransaction, dst: &WriteTransaction) -> StoreResult<u64> {
    let mut copied = Vec::new();
    let mut records = 0;
    macro_rules! copy {
        ($($table:ident),* $(,)?) => {$(
            records += copy_table(src, dst, $table)?;
            copied.push($table.name());
        )*};
    }
    copy!(
        META,
        ACCOUNTS,
        LOGINS,
        SESSIONS,
        COMMUNITIES,
        MEMBERS,
        MEMBERSHIPS,
        VOTER_ACCOUNTS,
        ROLLS,
        ACTIVATIONS,
        PROPOSALS,
        COMMUNITY_PROPOSALS,
        ELECTORATES,
        LEDGER,
        BALLOTS,
        RECEIPTS,
        PROXIES,
        AUDIT,
        COMMUNITY_KEYS,
        CERTIFICATES,
        // elections (issue 8)
        COMMITTEES,
        // deliberation (issue 7)
        COMMENTS,
        SUBJECT_COMMENTS,
        ACCOUNT_COMMENTS,
        REVISIONS,
        PETITIONS,
        COMMUNITY_PETITIONS,
        COSIGNATURES,
        PETITION_SETTINGS,
        MEETINGS,
        COMMUNITY_MEETINGS,
        OUTREACH,
        LAST_SEEN,
    );
    let unknown: Vec<String> = src
        .list_tables()?
        .map(|t| t.name().to_owned())
        .filter(|name| !copied.contains(&name.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Corrupt {
            table: unknown.join(", "),
            message: "this build's backup does not know these tables; add them to store::backup"
                .into(),
        });
    }
    Ok(records)
}

fn copy_table<K: Key + 'static, V: Value + 'static>(
    src: &ReadTransaction,
    dst: &WriteTransaction,
    definition: TableDefinition<K, V>,
) -> StoreResult<u64> {
    let from = match src.open_table(definition) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut to = dst.open_table(definition)?;
    let mut n = 0;
    for item in from.iter()? {
        let (key, value) = item?;
        to.insert(key.value(), value.value())?;
        n += 1;
    }
    Ok(n)
}

/// Checks a backup file without changing it: a Yishi database of a format this build reads,
/// every proposal's ledger chain intact.
pub fn check(path: &Path) -> StoreResult<Summary> {
    let db: ReadOnlyDatabase = Database::builder().open_read_only(path)?;
    let tx = db.begin_read()?;
    let version = tx.open_table(META)?.get("schema_version")?.map(|v| {
        String::from_utf8_lossy(v.value())
            .parse::<u32>()
            .unwrap_or(0)
    });
    match version {
        Some(v) if v > SCHEMA_VERSION => return Err(StoreError::Newer { found: v }),
        Some(_) => {}
        None => {
            return Err(StoreError::Corrupt {
                table: "meta".into(),
                message: "not a Yishi database (no schema version)".into(),
            });
        }
    }
    let mut summary = Summary {
        tables: tx.list_tables()?.count(),
        records: 0,
        proposals: 0,
        ledger_entries: 0,
    };
    let ledger = tx.open_table(LEDGER)?;
    for item in tx.open_table(PROPOSALS)?.iter()? {
        let (_, value) = item?;
        let record: ProposalRecord = decode("proposals", value.value())?;
        summary.proposals += 1;
        let Some(opening) = &record.opening_hash else {
            continue;
        };
        let mut entries = Vec::new();
        for item in ledger.range((record.id.as_str(), 1)..=(record.id.as_str(), u64::MAX))? {
            entries.push(decode::<Entry>("ledger", item?.1.value())?);
        }
        verify_chain(&record.id, opening, &entries).map_err(|e| StoreError::Corrupt {
            table: "ledger".into(),
            message: format!("proposal {}: {e}", record.id),
        })?;
        summary.ledger_entries += entries.len() as u64;
    }
    for table in tx.list_tables()? {
        summary.records += tx.open_untyped_table(table)?.len()?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_copies_every_table_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("yishi.redb"), 1 << 20).unwrap();
        store
            .write(|tx| {
                tx.open_table(LOGINS)?.insert("wang", "account-1")?;
                Ok(())
            })
            .unwrap();
        let to = dir.path().join("copy.redb");
        let summary = snapshot(&store, &to, || {}).unwrap();
        // META's schema version and the login; every table of the schema exists in the copy.
        assert_eq!(summary.records, 2);
        let copy = Database::builder().open_read_only(&to).unwrap();
        let tx = copy.begin_read().unwrap();
        assert_eq!(
            tx.open_table(LOGINS)
                .unwrap()
                .get("wang")
                .unwrap()
                .unwrap()
                .value(),
            "account-1"
        );
        let original = store.read(|tx| Ok(tx.list_tables()?.count())).unwrap();
        assert_eq!(tx.list_tables().unwrap().count(), original);
        // A second backup never overwrites the first.
        assert!(snapshot(&store, &to, || {}).is_err());
    }
}
