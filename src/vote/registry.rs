//! The writer's in-memory state of each proposal open for voting, and the staging area a batch
//! writes into until its commit succeeds (then it is applied; on failure it is dropped).

use std::collections::HashMap;

use jiff::Timestamp;

use crate::domain::ledger::Channel;
use crate::domain::roll::Roll;
use crate::domain::rule::Rule;
use crate::domain::tally::{Choice, Tally, evaluate};
use crate::live::Snapshot;
use crate::store::StoreError;
use crate::store::records::ProposalRecord;

/// What the writer remembers of a voter's current ballot (the rest is in the `ballots` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cast {
    pub choice: Choice,
    pub channel: Channel,
    pub seq: u64,
}

pub struct OpenProposal {
    pub record: ProposalRecord,
    pub electorate: Roll,
    pub rule: Rule,
    pub tally: Tally,
    /// Community key for secret-ballot pseudonyms.
    pub secret: Vec<u8>,
    /// Hash of the last ledger entry (the opening record's while there is none).
    pub head: String,
    pub len: u64,
    pub closes_at: Timestamp,
    /// Current ballot per electorate position.
    casts: Vec<Option<Cast>>,
}

/// A batch's changes to one proposal, applied only after the commit.
pub struct Staged {
    pub len: u64,
    pub head: String,
    pub tally: Tally,
    pub casts: HashMap<usize, Cast>,
}

impl OpenProposal {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        record: ProposalRecord,
        electorate: Roll,
        rule: Rule,
        tally: Tally,
        secret: Vec<u8>,
        head: String,
        len: u64,
        stored: Vec<(usize, Cast)>,
    ) -> Result<Self, StoreError> {
        let closes_at = record.closes_at.parse().map_err(|_| StoreError::Corrupt {
            table: "proposals".into(),
            message: format!("closes_at of {}", record.id),
        })?;
        let mut casts = vec![None; electorate.len()];
        for (at, cast) in stored {
            casts[at] = Some(cast);
        }
        Ok(Self {
            record,
            electorate,
            rule,
            tally,
            secret,
            head,
            len,
            closes_at,
            casts,
        })
    }

    pub fn stage(&self) -> Staged {
        Staged {
            len: self.len,
            head: self.head.clone(),
            tally: self.tally.clone(),
            casts: HashMap::new(),
        }
    }

    pub fn apply(&mut self, stage: Staged) {
        self.len = stage.len;
        self.head = stage.head;
        self.tally = stage.tally;
        for (at, cast) in stage.casts {
            self.casts[at] = Some(cast);
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_with(&self.record)
    }

    /// The count, labelled with `record`'s state (e.g. the closed record at close).
    pub fn snapshot_with(&self, record: &ProposalRecord) -> Snapshot {
        Snapshot {
            proposal: record.id.clone(),
            state: record.state,
            closes_at: record.closes_at.clone(),
            columns: self.electorate.columns().to_vec(),
            rule: self.rule.clone(),
            evaluation: evaluate(&self.rule, self.electorate.columns(), &self.tally),
            tally: self.tally.clone(),
            ledger_len: self.len,
            allow_change: record.allow_change,
        }
    }
}

impl Staged {
    /// The voter's ballot as of this point in the batch.
    pub fn ballot(&self, open: &OpenProposal, at: usize) -> Option<Cast> {
        self.casts.get(&at).copied().or(open.casts[at])
    }

    /// Records a new ballot (replacing the voter's earlier one, if any).
    pub fn record(&mut self, open: &OpenProposal, at: usize, cast: Cast, hash: String) {
        let voter = &open.electorate.voters()[at];
        if let Some(previous) = self.ballot(open, at) {
            self.tally.remove(voter, previous.choice);
        }
        self.tally.add(voter, cast.choice);
        self.casts.insert(at, cast);
        self.len = cast.seq;
        self.head = hash;
    }
}
