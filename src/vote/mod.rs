//! The write path (DESIGN §6). One writer thread owns every proposal that is open for voting:
//! it drains its queue into one redb write transaction, commits durably, and only then answers
//! each request and publishes the new counts. Lifecycle changes of voting proposals go through
//! the same queue, so no ballot can slip in after a close.

mod registry;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};
use tokio::sync::{mpsc, oneshot};

use self::registry::{Cast as StoredCast, Counted, ElectionCount, OpenProposal, Staged};
use crate::clock;
use crate::domain::election::{Election, ElectionTally};
use crate::domain::ledger::{
    Channel, ElectionOpening, Entry, OpeningRecord, electorate_hash, pseudonym, text_hash,
};
use crate::domain::lifecycle::{ProposalState, Transition, transition};
use crate::domain::rule::{Kind, Rule};
use crate::domain::tally::{Choice, Tally, evaluate};
use crate::live::Hub;
use crate::store::records::{
    BallotRecord, CommunityRecord, ExtensionRecord, ProposalRecord, RollRecord, Secrecy,
};
use crate::store::tables::*;
use crate::store::{Fault, Reads, Store, StoreError, audit, decode, encode, get_any, get_w, put};

/// A ballot handed to the writer, already authenticated and authorised by the caller.
#[derive(Debug, Clone)]
pub struct CastRequest {
    pub proposal: String,
    pub voter: String,
    /// The choice as the ledger writes it: `yes`/`no`/`abstain` for a motion, or an
    /// election's approved candidate ids joined by `;` (or `invalid`), checked by the writer
    /// against the proposal's kind and candidates.
    pub choice: String,
    pub channel: Channel,
    pub idempotency_key: String,
    /// The account casting: the voter, the proxy holder, or the officer entering it.
    pub cast_by: String,
    pub note: Option<String>,
    /// A paper ballot entered by an officer: an election ballot with more marks than seats is
    /// recorded as `invalid` (participation only) instead of being refused.
    pub paper: bool,
}

/// What a voter gets back for an accepted ballot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The ledger entry's hash: look it up in the published ledger.
    pub receipt: String,
    pub seq: u64,
    /// The choice as recorded in the ledger.
    pub choice: String,
    pub channel: Channel,
    pub at: String,
    /// True when this answers a retry of a ballot already recorded.
    pub replayed: bool,
}

/// Why a ballot or a lifecycle change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteError {
    #[error("this proposal is not open for voting")]
    NotOpen,
    #[error("voting on this proposal has closed")]
    Closed,
    #[error("voter `{0}` is not in this proposal's electorate")]
    NotInElectorate(String),
    #[error(
        "this voter has already voted ({channel}, at {at}); one voter has one ballot across all channels"
    )]
    AlreadyVoted { channel: &'static str, at: String },
    #[error("this voter's ballot was cast {channel}; a change must come through the same channel")]
    OtherChannel { channel: &'static str },
    #[error("this idempotency key was already used for a different ballot")]
    KeyReused,
    #[error("{0}")]
    Lifecycle(String),
    #[error("{0}")]
    Invalid(String),
    /// The ballot does not fit the question (a motion's choice on an election, an unknown
    /// candidate, too many approvals).
    #[error("{message}")]
    Ballot { code: &'static str, message: String },
    #[error("proposal not found")]
    UnknownProposal,
    /// The durable write failed: nothing was recorded; retry with the same idempotency key.
    #[error("the write could not be committed; nothing was recorded")]
    Retry,
    /// The disk is full or the data directory read-only: nothing was recorded.
    #[error("the server cannot record anything now ({0:?}); nothing was recorded")]
    Storage(Fault),
}

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Online => "online",
        Channel::Proxy => "by proxy",
        Channel::Assisted => "assisted by an officer",
    }
}

/// A lifecycle change of a proposal, by an officer or by the clock.
#[derive(Debug, Clone)]
pub enum Change {
    Open,
    Close,
    Extend { to: Timestamp, reason: String },
    Withdraw { reason: String },
}

enum Command {
    Cast(CastRequest, oneshot::Sender<Result<Receipt, VoteError>>),
    Change {
        proposal: String,
        change: Change,
        actor: String,
        reply: oneshot::Sender<Result<ProposalRecord, VoteError>>,
    },
    /// A proposal in deliberation that opens by itself at a time.
    Schedule {
        proposal: String,
        opens_at: Timestamp,
    },
    Tick,
}

/// Counters the writer keeps for `/metrics` and the benchmark.
#[derive(Debug)]
pub struct WriterStats {
    pub ballots_committed: AtomicU64,
    pub batches_committed: AtomicU64,
    pub commit_failures: AtomicU64,
    pub commit_micros_total: AtomicU64,
    /// Ballots per committed batch.
    pub batch_sizes: prometheus_client::metrics::histogram::Histogram,
    /// Seconds from a batch's first staged command to its durable commit.
    pub commit_seconds: prometheus_client::metrics::histogram::Histogram,
}

impl Default for WriterStats {
    fn default() -> Self {
        use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
        Self {
            ballots_committed: AtomicU64::new(0),
            batches_committed: AtomicU64::new(0),
            commit_failures: AtomicU64::new(0),
            commit_micros_total: AtomicU64::new(0),
            // 1, 2, 4, … 2048 ballots (`vote.max_batch` is 1024 by default).
            batch_sizes: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            // 0.25 ms … about 4 s.
            commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 15)),
        }
    }
}

/// The handle handlers use to reach the writer. Cheap to clone.
#[derive(Clone)]
pub struct Votes {
    queue: mpsc::Sender<Command>,
    pub stats: Arc<WriterStats>,
}

impl Votes {
    /// Starts the writer thread: rebuilds every voting proposal's count from the ledger
    /// (verifying each chain), publishes them, and starts the deadline ticker.
    pub fn start(
        store: Store,
        hub: Hub,
        max_batch: usize,
        tick: Duration,
    ) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::channel(max_batch * 8);
        let stats = Arc::new(WriterStats::default());
        let mut writer = Writer {
            store,
            hub,
            open: HashMap::new(),
            scheduled: BTreeMap::new(),
            max_batch,
            stats: stats.clone(),
            last_reopen: std::time::Instant::now(),
        };
        writer.recover()?;
        std::thread::Builder::new()
            .name("yishi-vote-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Database(e.into()))?;
        let votes = Self { queue, stats };
        let ticker = votes.queue.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                if ticker.send(Command::Tick).await.is_err() {
                    break;
                }
            }
        });
        Ok(votes)
    }

    /// Whether the writer thread is still taking commands (for `/readyz`).
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Casts a ballot; answers only once it is durable (or refused).
    pub async fn cast(&self, request: CastRequest) -> Result<Receipt, VoteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Command::Cast(request, reply))
            .await
            .map_err(|_| VoteError::Retry)?;
        answer.await.map_err(|_| VoteError::Retry)?
    }

    /// Applies a lifecycle change through the writer.
    pub async fn change(
        &self,
        proposal: &str,
        change: Change,
        actor: &str,
    ) -> Result<ProposalRecord, VoteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Command::Change {
                proposal: proposal.to_owned(),
                change,
                actor: actor.to_owned(),
                reply,
            })
            .await
            .map_err(|_| VoteError::Retry)?;
        answer.await.map_err(|_| VoteError::Retry)?
    }

    /// Tells the writer that a proposal in deliberation opens by itself at `opens_at`.
    pub async fn schedule(&self, proposal: &str, opens_at: Timestamp) {
        let _ = self
            .queue
            .send(Command::Schedule {
                proposal: proposal.to_owned(),
                opens_at,
            })
            .await;
    }
}

struct Writer {
    store: Store,
    hub: Hub,
    open: HashMap<String, OpenProposal>,
    scheduled: BTreeMap<(Timestamp, String), ()>,
    max_batch: usize,
    stats: Arc<WriterStats>,
    /// When the database was last reopened after a storage failure.
    last_reopen: std::time::Instant,
}

/// How often a database that fell back to read-only after a storage failure (a full disk) is
/// tried for writing again.
const REOPEN_RETRY: Duration = Duration::from_secs(5);

/// The tables every ballot writes, opened once per batch rather than three times per ballot
/// (each opening looks the table up and each closing writes its root back). Closed before a
/// lifecycle change, which may open them itself.
struct BallotTables<'tx> {
    ledger: redb::Table<'tx, (&'static str, u64), &'static [u8]>,
    ballots: redb::Table<'tx, (&'static str, &'static str), &'static [u8]>,
    receipts: redb::Table<'tx, &'static str, (&'static str, u64)>,
}

impl<'tx> BallotTables<'tx> {
    fn open(tx: &'tx WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            ledger: tx.open_table(LEDGER)?,
            ballots: tx.open_table(BALLOTS)?,
            receipts: tx.open_table(RECEIPTS)?,
        })
    }
}

/// A reply waiting for the commit.
enum Pending {
    Cast(
        oneshot::Sender<Result<Receipt, VoteError>>,
        Result<Receipt, VoteError>,
    ),
    Change(
        oneshot::Sender<Result<ProposalRecord, VoteError>>,
        Box<Result<ProposalRecord, VoteError>>,
    ),
}

/// What a committed lifecycle change does to the in-memory state.
enum Effect {
    Register(Box<OpenProposal>),
    Unregister(String, Box<ProposalRecord>),
    Update(Box<ProposalRecord>),
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
    }

    fn process(&mut self, batch: Vec<Command>) {
        let now = clock::now();
        let started = std::time::Instant::now();
        let mut staged: HashMap<String, Staged> = HashMap::new();
        let mut effects = Vec::new();
        let mut pending = Vec::with_capacity(batch.len());
        let mut ticks = false;
        // Proposals closed or withdrawn by an earlier command of this batch.
        let mut ended: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Commands not yet staged when a storage failure stops the batch are answered with it.
        let mut queue: std::collections::VecDeque<Command> = batch.into();
        let outcome: Result<(), StoreError> = (|| {
            let tx = self.store.begin_write()?;
            // Every entry of a batch carries the batch's time.
            let stamp = now.to_string();
            let mut tables: Option<BallotTables<'_>> = None;
            while let Some(command) = queue.pop_front() {
                match command {
                    Command::Cast(request, reply) if ended.contains(&request.proposal) => {
                        // Closed or withdrawn earlier in this batch: its count is final.
                        pending.push(Pending::Cast(reply, Err(VoteError::Closed)));
                    }
                    Command::Cast(request, reply) => {
                        // Answered with the batch's failure if staging fails.
                        pending.push(Pending::Cast(reply, Err(VoteError::Retry)));
                        let open = match &mut tables {
                            Some(open) => open,
                            None => tables.insert(BallotTables::open(&tx)?),
                        };
                        let result = self.cast(open, &mut staged, request, now, &stamp)?;
                        if let Some(Pending::Cast(_, slot)) = pending.last_mut() {
                            *slot = result;
                        }
                    }
                    Command::Change {
                        proposal,
                        change,
                        actor,
                        reply,
                    } => {
                        // A change may open these tables itself (reopening a closed vote).
                        tables = None;
                        pending.push(Pending::Change(reply, Box::new(Err(VoteError::Retry))));
                        let result = self.change(&tx, &staged, &proposal, change, &actor, now)?;
                        let result = result.map(|(record, effect)| {
                            if matches!(effect, Effect::Unregister(..)) {
                                ended.insert(record.id.clone());
                            }
                            effects.push(effect);
                            record
                        });
                        if let Some(Pending::Change(_, slot)) = pending.last_mut() {
                            **slot = result;
                        }
                    }
                    Command::Schedule { proposal, opens_at } => {
                        self.scheduled.insert((opens_at, proposal), ());
                    }
                    Command::Tick => ticks = true,
                }
            }
            drop(tables);
            if ticks {
                self.tick(&tx, &staged, now, &mut effects)?;
            }
            if pending.is_empty() && effects.is_empty() {
                // Only a clock tick with nothing due: no durable write needed.
                tx.abort()?;
                return Ok(());
            }
            tx.commit()?;
            Ok(())
        })();
        match outcome {
            Ok(()) => {
                let mut touched: Vec<String> = Vec::new();
                let mut committed = 0u64;
                for (id, stage) in staged {
                    if let Some(open) = self.open.get_mut(&id) {
                        committed += stage.casts.len() as u64;
                        open.apply(stage);
                        touched.push(id);
                    }
                }
                for effect in effects {
                    match effect {
                        Effect::Register(open) => {
                            self.hub.announce(
                                &open.record.community,
                                serde_json::json!({"type": "opened", "proposal": open.record.id, "title": open.record.title, "closes_at": open.record.closes_at}),
                            );
                            touched.push(open.record.id.clone());
                            self.open.insert(open.record.id.clone(), *open);
                        }
                        Effect::Unregister(id, record) => {
                            self.hub.announce(
                                &record.community,
                                serde_json::json!({"type": record.state.as_str(), "proposal": record.id, "title": record.title}),
                            );
                            if let Some(open) = self.open.remove(&id) {
                                self.hub.publish(open.snapshot_with(&record));
                            }
                        }
                        Effect::Update(record) => {
                            if let Some(open) = self.open.get_mut(&record.id) {
                                open.record = *record;
                                touched.push(open.record.id.clone());
                            }
                        }
                    }
                }
                for id in touched {
                    if let Some(open) = self.open.get(&id) {
                        self.hub.publish(open.snapshot());
                    }
                }
                self.stats
                    .ballots_committed
                    .fetch_add(committed, Ordering::Relaxed);
                self.stats.batches_committed.fetch_add(1, Ordering::Relaxed);
                let took = started.elapsed();
                self.stats
                    .commit_micros_total
                    .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
                self.stats.batch_sizes.observe(committed as f64);
                self.stats.commit_seconds.observe(took.as_secs_f64());
                for p in pending {
                    match p {
                        Pending::Cast(reply, result) => {
                            let _ = reply.send(result);
                        }
                        Pending::Change(reply, result) => {
                            let _ = reply.send(*result);
                        }
                    }
                }
            }
            Err(error) => {
                let logged = !matches!(error, StoreError::ReadOnly | StoreError::Degraded(_));
                if logged {
                    tracing::error!(%error, "vote batch could not be committed; nothing acknowledged");
                    self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                }
                // A handle that saw an I/O error must be reopened; one that fell back to
                // read-only after a failure is retried now and then (the disk may have room).
                let retry_writable = matches!(error, StoreError::Degraded(_))
                    && self.last_reopen.elapsed() >= REOPEN_RETRY;
                if error.fault().is_some() && (logged || retry_writable) {
                    self.last_reopen = std::time::Instant::now();
                    self.restore_after_failure();
                }
                // The reopen tells a full disk from a passing failure when the error itself
                // only said that an earlier write had failed.
                let refusal = match self.store.degraded().or(error.fault()) {
                    Some(fault @ (Fault::Full | Fault::ReadOnly)) => VoteError::Storage(fault),
                    _ => VoteError::Retry,
                };
                // Refusals of their own (already voted, …) stand; everything else gets the
                // failure: nothing of this batch is acknowledged.
                let answer = |own: Option<VoteError>| match own {
                    Some(VoteError::Retry) | None => refusal.clone(),
                    Some(own) => own,
                };
                for p in pending {
                    match p {
                        Pending::Cast(reply, result) => {
                            let _ = reply.send(Err(answer(result.err())));
                        }
                        Pending::Change(reply, result) => {
                            let _ = reply.send(Err(answer(result.err())));
                        }
                    }
                }
                for command in queue {
                    match command {
                        Command::Cast(_, reply) => {
                            let _ = reply.send(Err(refusal.clone()));
                        }
                        Command::Change { reply, .. } => {
                            let _ = reply.send(Err(refusal.clone()));
                        }
                        Command::Schedule { proposal, opens_at } => {
                            self.scheduled.insert((opens_at, proposal), ());
                        }
                        Command::Tick => {}
                    }
                }
            }
        }
    }

    /// After a failed write: reopens the database (redb refuses every call on a handle that saw
    /// an I/O error) and reloads the open proposals from what is on disk, so the in-memory
    /// counts equal the file even if the failed commit reached it after all (its voters' retries
    /// are then replayed, never counted twice). If the file cannot be reopened yet, the next
    /// batch or clock tick tries again.
    fn restore_after_failure(&mut self) {
        match self.store.reopen().and_then(|()| self.recover()) {
            Ok(()) => tracing::warn!("database reopened after a storage failure"),
            Err(error) => tracing::error!(%error, "the database cannot be reopened yet"),
        }
    }

    /// Stages one ballot. The outer `Err` is a storage fault that fails the whole batch.
    fn cast(
        &self,
        tables: &mut BallotTables<'_>,
        staged: &mut HashMap<String, Staged>,
        request: CastRequest,
        now: Timestamp,
        stamp: &str,
    ) -> Result<Result<Receipt, VoteError>, StoreError> {
        let Some(open) = self.open.get(&request.proposal) else {
            return Ok(Err(VoteError::NotOpen));
        };
        if !crate::domain::lifecycle::accepts_ballots(open.record.state, now, open.closes_at) {
            return Ok(Err(VoteError::Closed));
        }
        let Some(at) = open.electorate.position(&request.voter) else {
            return Ok(Err(VoteError::NotInElectorate(request.voter)));
        };
        let counted = match read_choice(open, &request.choice, request.paper) {
            Ok(counted) => counted,
            Err(e) => return Ok(Err(e)),
        };
        // The ledger spells a choice one way only (an election's ids in ballot order).
        let choice_text = match (&counted, &open.election) {
            (Counted::Election(ballot), Some(live)) => live.election.choice_text(ballot),
            _ => request.choice.clone(),
        };
        let stage = staged
            .entry(request.proposal.clone())
            .or_insert_with(|| open.stage());
        let previous = stage.ballot(open, at);
        if let Some(previous) = previous {
            let stored: BallotRecord = tables
                .ballots
                .get((request.proposal.as_str(), request.voter.as_str()))?
                .map(|v| decode::<BallotRecord>("ballots", v.value()))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt {
                    table: "ballots".into(),
                    message: format!("ballot of {} missing", request.voter),
                })?;
            if stored.idempotency_key == request.idempotency_key {
                let same = previous.choice == counted && previous.channel == request.channel;
                return Ok(if same {
                    Ok(Receipt {
                        receipt: stored.receipt,
                        seq: stored.seq,
                        choice: stored.choice,
                        channel: previous.channel,
                        at: stored.at,
                        replayed: true,
                    })
                } else {
                    Err(VoteError::KeyReused)
                });
            }
            if previous.channel != request.channel {
                return Ok(Err(VoteError::OtherChannel {
                    channel: channel_name(previous.channel),
                }));
            }
            if !open.record.allow_change {
                return Ok(Err(VoteError::AlreadyVoted {
                    channel: channel_name(previous.channel),
                    at: stored.at,
                }));
            }
        }
        let voter_name = match open.record.secrecy {
            Secrecy::Open => request.voter.clone(),
            Secrecy::Secret => pseudonym(&open.secret, &open.record.id, &request.voter),
        };
        let entry = Entry {
            seq: stage.len + 1,
            proposal: open.record.id.clone(),
            voter: voter_name,
            choice: choice_text,
            weights: crate::domain::ledger::voter_weights(&open.electorate, at),
            channel: request.channel,
            at: stamp.to_owned(),
            prev: stage.head.clone(),
        };
        let receipt = entry.hash();
        tables.ledger.insert(
            (entry.proposal.as_str(), entry.seq),
            encode(&entry).as_slice(),
        )?;
        let record = BallotRecord {
            seq: entry.seq,
            choice: entry.choice.clone(),
            channel: request.channel,
            idempotency_key: request.idempotency_key,
            receipt: receipt.clone(),
            at: entry.at.clone(),
            cast_by: request.cast_by,
            note: request.note,
        };
        tables.ballots.insert(
            (request.proposal.as_str(), request.voter.as_str()),
            encode(&record).as_slice(),
        )?;
        tables
            .receipts
            .insert(receipt.as_str(), (entry.proposal.as_str(), entry.seq))?;
        stage.record(
            open,
            at,
            StoredCast {
                choice: counted,
                channel: request.channel,
                seq: entry.seq,
            },
            receipt.clone(),
        );
        Ok(Ok(Receipt {
            receipt,
            seq: entry.seq,
            choice: entry.choice.clone(),
            channel: request.channel,
            at: entry.at,
            replayed: false,
        }))
    }

    /// Applies a lifecycle change inside the batch. The outer `Err` fails the whole batch.
    fn change(
        &self,
        tx: &WriteTransaction,
        staged: &HashMap<String, Staged>,
        id: &str,
        change: Change,
        actor: &str,
        now: Timestamp,
    ) -> Result<Result<(ProposalRecord, Effect), VoteError>, StoreError> {
        let Some(mut record) = get_w::<&str, ProposalRecord>(tx, PROPOSALS, id)? else {
            return Ok(Err(VoteError::UnknownProposal));
        };
        let closes_at: Timestamp = record.closes_at.parse().map_err(|_| StoreError::Corrupt {
            table: "proposals".into(),
            message: "bad closes_at".into(),
        })?;
        let rule = Rule::try_from(record.rule.clone()).map_err(|e| StoreError::Corrupt {
            table: "proposals".into(),
            message: e.to_string(),
        })?;
        // The live tally decides whether the quorum is met (for extensions).
        let quorum_met = match self.open.get(id) {
            Some(open) => {
                let tally = staged.get(id).map_or(&open.tally, |s| &s.tally);
                quorum_holds(&rule, open, tally)
            }
            None => record
                .result
                .as_ref()
                .is_some_and(|r| r["outcome"] != "no_quorum"),
        };
        let step = match &change {
            Change::Open => Transition::Open,
            Change::Close => Transition::Close,
            Change::Extend { to, .. } => Transition::Extend { to: *to },
            Change::Withdraw { .. } => Transition::Withdraw,
        };
        let next = match transition(record.state, step, now, closes_at, quorum_met) {
            Ok(next) => next,
            Err(e) => return Ok(Err(VoteError::Lifecycle(e.to_string()))),
        };
        let at = now.to_string();
        let effect = match change {
            Change::Open => {
                let Some(roll) = get_w::<&str, RollRecord>(tx, ROLLS, record.community.as_str())?
                else {
                    return Ok(Err(VoteError::Invalid(
                        "the community has no roll yet; upload one before opening a vote".into(),
                    )));
                };
                let roll = roll.to_roll();
                let Some(electorate) = roll.scoped(&record.scope) else {
                    return Ok(Err(VoteError::Invalid(
                        "no voter on the roll carries the proposal's scope tags".into(),
                    )));
                };
                if let Err(e) = rule.check_against(electorate.columns()) {
                    return Ok(Err(VoteError::Invalid(e.to_string())));
                }
                let election = match election_of(&record) {
                    Ok(election) => election,
                    Err(e) => return Ok(Err(e)),
                };
                let community: CommunityRecord = get_w(tx, COMMUNITIES, record.community.as_str())?
                    .ok_or_else(|| StoreError::Corrupt {
                        table: "communities".into(),
                        message: "proposal's community missing".into(),
                    })?;
                let opening = OpeningRecord {
                    proposal: record.id.clone(),
                    title: record.title.clone(),
                    text_hash: text_hash(&record.body),
                    rule: serde_json::to_value(rule.to_spec()).expect("rule serialises"),
                    electorate_hash: electorate_hash(&electorate),
                    electorate_size: electorate.len() as u64,
                    opened_at: at.clone(),
                    election: election.as_ref().map(|e| ElectionOpening {
                        seats: e.seats(),
                        alternates: e.alternates(),
                        candidates: e.candidates().to_vec(),
                    }),
                };
                let opening_hash = crate::domain::ledger::canonical_hash(&opening);
                record.state = next;
                record.opened_at = Some(at.clone());
                record.text_hash = Some(opening.text_hash.clone());
                record.electorate_hash = Some(opening.electorate_hash.clone());
                record.opening_hash = Some(opening_hash.clone());
                record.opening = Some(serde_json::to_value(&opening).expect("serialises"));
                put(
                    tx,
                    ELECTORATES,
                    record.id.as_str(),
                    &RollRecord::from_roll(&electorate, at.clone()),
                )?;
                let tally = Tally::new(&electorate);
                let election = election.map(|election| ElectionCount {
                    count: ElectionTally::new(
                        election.candidates().len(),
                        tally.electorate.clone(),
                    ),
                    election,
                });
                Effect::Register(Box::new(OpenProposal::new(
                    record.clone(),
                    electorate,
                    rule,
                    tally,
                    election,
                    hex::decode(&community.secret).unwrap_or_default(),
                    opening_hash,
                    0,
                    Vec::new(),
                )?))
            }
            Change::Close => {
                let Some(open) = self.open.get(id) else {
                    return Ok(Err(VoteError::NotOpen));
                };
                let stage = staged.get(id);
                let tally = stage.map_or(&open.tally, |s| &s.tally);
                let evaluation = evaluate(&rule, open.electorate.columns(), tally);
                record.state = next;
                record.closed_at = Some(at.clone());
                record.result = Some(match &open.election {
                    None => crate::domain::report::motion_json(
                        open.electorate.columns(),
                        tally,
                        &evaluation,
                    ),
                    Some(live) => crate::domain::report::election_count_json(
                        &live.election,
                        &rule,
                        open.electorate.columns(),
                        stage
                            .and_then(|s| s.election.as_ref())
                            .unwrap_or(&live.count),
                        &[],
                    ),
                });
                record.ledger_len = stage.map_or(open.len, |s| s.len);
                record.ledger_head = Some(stage.map_or(open.head.clone(), |s| s.head.clone()));
                Effect::Unregister(id.to_owned(), Box::new(record.clone()))
            }
            Change::Extend { to, reason } => {
                record.extensions.push(ExtensionRecord {
                    at: at.clone(),
                    by: actor.to_owned(),
                    from: record.closes_at.clone(),
                    to: to.to_string(),
                    reason,
                });
                record.closes_at = to.to_string();
                let was_closed = record.state == ProposalState::Closed;
                record.state = next;
                if was_closed {
                    record.closed_at = None;
                    record.result = None;
                    Effect::Register(Box::new(self.load_open(tx, &record)?))
                } else {
                    Effect::Update(Box::new(record.clone()))
                }
            }
            Change::Withdraw { reason } => {
                record.state = next;
                record.withdrawn_reason = Some(reason);
                Effect::Unregister(id.to_owned(), Box::new(record.clone()))
            }
        };
        put(tx, PROPOSALS, record.id.as_str(), &record)?;
        let action = match next {
            ProposalState::Voting if record.extensions.last().is_some_and(|e| e.at == at) => {
                "extend"
            }
            ProposalState::Voting => "open",
            ProposalState::Closed => "close",
            ProposalState::Withdrawn => "withdraw",
            other => other.as_str(),
        };
        audit(
            tx,
            &record.community,
            actor,
            action,
            serde_json::json!({"proposal": record.id, "closes_at": record.closes_at, "withdrawn_reason": record.withdrawn_reason, "extensions": record.extensions.len()}),
            &at,
        )?;
        Ok(Ok((record, effect)))
    }

    /// Closes proposals whose deadline passed and opens scheduled ones.
    fn tick(
        &mut self,
        tx: &WriteTransaction,
        staged: &HashMap<String, Staged>,
        now: Timestamp,
        effects: &mut Vec<Effect>,
    ) -> Result<(), StoreError> {
        let due: Vec<String> = self
            .open
            .values()
            .filter(|o| o.closes_at <= now)
            .map(|o| o.record.id.clone())
            .collect();
        for id in due {
            if let Ok((_, effect)) = self.change(tx, staged, &id, Change::Close, "clock", now)? {
                effects.push(effect);
            }
        }
        let ready: Vec<(Timestamp, String)> = self
            .scheduled
            .range(..=(now, String::from("\u{10ffff}")))
            .map(|(k, _)| k.clone())
            .collect();
        for key in ready {
            self.scheduled.remove(&key);
            let id = key.1;
            let Some(record) = get_w::<&str, ProposalRecord>(tx, PROPOSALS, id.as_str())? else {
                continue;
            };
            let still_scheduled = record.state == ProposalState::Deliberation
                && record.opens_at.as_deref() == Some(key.0.to_string().as_str());
            if still_scheduled
                && let Ok((_, effect)) = self.change(tx, staged, &id, Change::Open, "clock", now)?
            {
                effects.push(effect);
            }
        }
        Ok(())
    }

    /// Loads a voting proposal from the database: electorate, ballots, chain (verified).
    fn load_open(
        &self,
        tx: &impl Reads,
        record: &ProposalRecord,
    ) -> Result<OpenProposal, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            table: "ledger".into(),
            message,
        };
        let electorate = get_any::<&str, RollRecord>(tx, ELECTORATES, record.id.as_str())?
            .ok_or_else(|| corrupt(format!("electorate of {} missing", record.id)))?
            .to_roll();
        let rule = Rule::try_from(record.rule.clone()).map_err(|e| corrupt(e.to_string()))?;
        let community: CommunityRecord = get_any(tx, COMMUNITIES, record.community.as_str())?
            .ok_or_else(|| corrupt("community missing".into()))?;
        let opening_hash = record
            .opening_hash
            .clone()
            .ok_or_else(|| corrupt(format!("opening of {} missing", record.id)))?;
        let election = election_of(record).map_err(|e| corrupt(e.to_string()))?;
        let ledger = tx.table(LEDGER)?;
        let mut entries = Vec::new();
        for item in ledger.range((record.id.as_str(), 1)..=(record.id.as_str(), u64::MAX))? {
            let (_, value) = item?;
            entries.push(decode::<Entry>("ledger", value.value())?);
        }
        let head = crate::domain::ledger::verify_chain(&record.id, &opening_hash, &entries)
            .map_err(|e| corrupt(format!("proposal {}: {e}", record.id)))?;
        let ballots = tx.table(BALLOTS)?;
        let mut casts = Vec::new();
        for item in ballots.range((record.id.as_str(), "")..=(record.id.as_str(), "\u{10ffff}"))? {
            let (key, value) = item?;
            let stored: BallotRecord = decode("ballots", value.value())?;
            let voter = key.value().1.to_owned();
            let at = electorate
                .position(&voter)
                .ok_or_else(|| corrupt(format!("ballot of unknown voter {voter}")))?;
            let choice = match &election {
                None => Choice::parse(&stored.choice).map(Counted::Motion),
                Some(e) => e.parse_choice(&stored.choice).ok().map(Counted::Election),
            }
            .ok_or_else(|| corrupt(format!("ballot choice {}", stored.choice)))?;
            casts.push((
                at,
                StoredCast {
                    choice,
                    channel: stored.channel,
                    seq: stored.seq,
                },
            ));
        }
        let mut tally = Tally::new(&electorate);
        let mut count = election
            .as_ref()
            .map(|e| ElectionTally::new(e.candidates().len(), tally.electorate.clone()));
        for (at, cast) in &casts {
            let voter = &electorate.voters()[*at];
            match &cast.choice {
                Counted::Motion(choice) => tally.add(voter, *choice),
                Counted::Election(ballot) => {
                    let turnout = match ballot {
                        crate::domain::election::ElectionBallot::Approve(_) => Choice::Yes,
                        crate::domain::election::ElectionBallot::Invalid => Choice::Abstain,
                    };
                    tally.add(voter, turnout);
                    if let Some(count) = &mut count {
                        count.add(&voter.weights, ballot);
                    }
                }
            }
        }
        let election = election
            .zip(count)
            .map(|(election, count)| ElectionCount { election, count });
        OpenProposal::new(
            record.clone(),
            electorate,
            rule,
            tally,
            election,
            hex::decode(&community.secret).unwrap_or_default(),
            head,
            entries.len() as u64,
            casts,
        )
    }

    /// At start (and after a storage failure, from what the reopened file holds): loads every
    /// voting proposal and every scheduled opening.
    fn recover(&mut self) -> Result<(), StoreError> {
        let store = self.store.clone();
        // Loaded whole before anything is replaced: a failed reload keeps the current state.
        let (open, scheduled) = store.read(|tx| self.load_all(tx))?;
        for proposal in open.values() {
            self.hub.publish(proposal.snapshot());
        }
        self.open = open;
        self.scheduled
            .extend(scheduled.into_iter().map(|key| (key, ())));
        Ok(())
    }

    /// Every voting proposal (its chain verified) and every scheduled opening.
    #[allow(clippy::type_complexity)]
    fn load_all(
        &self,
        tx: &redb::ReadTransaction,
    ) -> Result<(HashMap<String, OpenProposal>, Vec<(Timestamp, String)>), StoreError> {
        let mut records = Vec::new();
        for item in tx.open_table(PROPOSALS)?.iter()? {
            let (_, value) = item?;
            records.push(decode::<ProposalRecord>("proposals", value.value())?);
        }
        let (mut open, mut scheduled) = (HashMap::new(), Vec::new());
        for record in records {
            match record.state {
                ProposalState::Voting => {
                    open.insert(record.id.clone(), self.load_open(tx, &record)?);
                }
                ProposalState::Deliberation => {
                    if let Some(opens_at) = record.opens_at.as_deref().and_then(|t| t.parse().ok())
                    {
                        scheduled.push((opens_at, record.id.clone()));
                    }
                }
                _ => {}
            }
        }
        Ok((open, scheduled))
    }
}

/// The election a proposal puts to the vote (`None` for a motion).
fn election_of(record: &ProposalRecord) -> Result<Option<Election>, VoteError> {
    match (&record.election, record.question.as_str()) {
        (Some(part), _) => part.election().map(Some).map_err(|e| {
            VoteError::Invalid(format!("this election cannot be put to the vote: {e}"))
        }),
        (None, "election") => Err(VoteError::Invalid(
            "this election has no seats or candidates".into(),
        )),
        (None, _) => Ok(None),
    }
}

/// Reads a ballot's choice for the proposal's question.
fn read_choice(open: &OpenProposal, choice: &str, paper: bool) -> Result<Counted, VoteError> {
    match &open.election {
        None => Choice::parse(choice)
            .map(Counted::Motion)
            .ok_or_else(|| VoteError::Ballot {
                code: "wrong_ballot",
                message: "this proposal is a motion: the choice is yes, no or abstain".into(),
            }),
        // Candidate ids are the server's own (`c1`, `c2`, …), never a motion's words.
        Some(_) if Choice::parse(choice).is_some() => Err(VoteError::Ballot {
            code: "wrong_ballot",
            message: "this proposal is an election: approve candidates (`approve`), not yes or no"
                .into(),
        }),
        Some(live) => match live.election.parse_choice(choice) {
            Err(crate::domain::election::ElectionError::OverVoted { .. }) if paper => {
                Ok(crate::domain::election::ElectionBallot::Invalid)
            }
            other => other,
        }
        .map(Counted::Election)
        .map_err(|e| VoteError::Ballot {
            code: crate::domain::election::error_code(&e),
            message: e.to_string(),
        }),
    }
}

fn quorum_holds(rule: &Rule, open: &OpenProposal, tally: &Tally) -> bool {
    // A rule without a quorum condition never counts as "quorum met": extending is then left to
    // the officers' judgement.
    let evaluation = evaluate(rule, open.electorate.columns(), tally);
    let mut quorums = evaluation
        .conditions
        .iter()
        .filter(|c| c.condition.kind == Kind::Quorum)
        .peekable();
    quorums.peek().is_some() && quorums.all(|c| c.holds)
}
