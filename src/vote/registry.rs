//! The writer's in-memory state of each proposal open for voting, and the staging area a batch
//! writes into until its commit succeeds (then it is applied; on failure it is dropped).

use std::collections::HashMap;

use jiff::Timestamp;

use crate::domain::election::{Election, ElectionBallot, ElectionTally};
use crate::domain::ledger::Channel;
use crate::domain::roll::Roll;
use crate::domain::rule::Rule;
use crate::domain::tally::{Choice, Tally, evaluate};
use crate::live::{ElectionSnapshot, Snapshot};
use crate::store::StoreError;
use crate::store::records::ProposalRecord;

/// What a ballot counts for: a motion's choice, or an election's approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    Motion(Choice),
    Election(ElectionBallot),
}

/// What the writer remembers of a voter's current ballot (the rest is in the `ballots` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cast {
    pub choice: Counted,
    pub channel: Channel,
    pub seq: u64,
}

/// An election's live count beside the turnout tally.
#[derive(Debug, Clone)]
pub struct ElectionCount {
    pub election: Election,
    pub count: ElectionTally,
}

pub struct OpenProposal {
    pub record: ProposalRecord,
    pub electorate: Roll,
    pub rule: Rule,
    /// For a motion, the count; for an election, turnout (valid ballots as yes, invalid as
    /// abstain), on which the quorum conditions are measured.
    pub tally: Tally,
    /// Elections only: the per-candidate count.
    pub election: Option<ElectionCount>,
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
    pub election: Option<ElectionTally>,
    pub casts: HashMap<usize, Cast>,
}

impl OpenProposal {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        record: ProposalRecord,
        electorate: Roll,
        rule: Rule,
        tally: Tally,
        election: Option<ElectionCount>,
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
            election,
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
            election: self.election.as_ref().map(|e| e.count.clone()),
            casts: HashMap::new(),
        }
    }

    pub fn apply(&mut self, stage: Staged) {
        self.len = stage.len;
        self.head = stage.head;
        self.tally = stage.tally;
        if let (Some(live), Some(count)) = (&mut self.election, stage.election) {
            live.count = count;
        }
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
            election: self.election.as_ref().map(|e| ElectionSnapshot {
                election: e.election.clone(),
                count: e.count.clone(),
            }),
        }
    }
}

impl Staged {
    /// The voter's ballot as of this point in the batch.
    pub fn ballot(&self, open: &OpenProposal, at: usize) -> Option<Cast> {
        self.casts.get(&at).or(open.casts[at].as_ref()).cloned()
    }

    /// Records a new ballot (replacing the voter's earlier one, if any).
    pub fn record(&mut self, open: &OpenProposal, at: usize, cast: Cast, hash: String) {
        let voter = &open.electorate.voters()[at];
        if let Some(previous) = self.ballot(open, at) {
            self.count(voter, &previous.choice, false);
        }
        self.count(voter, &cast.choice, true);
        self.len = cast.seq;
        self.casts.insert(at, cast);
        self.head = hash;
    }

    /// Adds (or takes back) one ballot in the staged counts.
    fn count(&mut self, voter: &crate::domain::roll::Voter, counted: &Counted, add: bool) {
        let choice = match counted {
            Counted::Motion(choice) => *choice,
            Counted::Election(ballot) => {
                if let Some(count) = &mut self.election {
                    if add {
                        count.add(&voter.weights, ballot);
                    } else {
                        count.remove(&voter.weights, ballot);
                    }
                }
                match ballot {
                    ElectionBallot::Approve(_) => Choice::Yes,
                    ElectionBallot::Invalid => Choice::Abstain,
                }
            }
        };
        if add {
            self.tally.add(voter, choice);
        } else {
            self.tally.remove(voter, choice);
        }
    }
}
