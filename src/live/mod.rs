//! Live tallies: one `watch` channel per proposal carrying its latest count. The vote writer
//! publishes after each durable commit; HTTP readers and WebSocket watchers subscribe. Latest
//! value wins, so a slow reader never holds the writer back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::{broadcast, watch};

use crate::domain::lifecycle::ProposalState;
use crate::domain::roll::WeightColumn;
use crate::domain::rule::Rule;
use crate::domain::tally::{Evaluation, Tally};

/// A proposal's count at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub proposal: String,
    pub state: ProposalState,
    pub closes_at: String,
    pub columns: Vec<WeightColumn>,
    pub rule: Rule,
    pub tally: Tally,
    pub evaluation: Evaluation,
    /// Ballots in the ledger so far; grows with every accepted ballot.
    pub ledger_len: u64,
    /// Whether a voter may still change a ballot (then nothing is certain before close).
    pub allow_change: bool,
    /// Elections only: the per-candidate count (`tally` then holds turnout).
    pub election: Option<ElectionSnapshot>,
}

/// An election's count at one moment.
#[derive(Debug, Clone)]
pub struct ElectionSnapshot {
    pub election: crate::domain::election::Election,
    pub count: crate::domain::election::ElectionTally,
}

impl Snapshot {
    /// The count as the API serves it: `report::motion_json` for a motion, or
    /// `report::election_count_json` (no tie-break while voting) for an election.
    pub fn count_json(&self) -> serde_json::Value {
        match &self.election {
            None => {
                crate::domain::report::motion_json(&self.columns, &self.tally, &self.evaluation)
            }
            Some(e) => crate::domain::report::election_count_json(
                &e.election,
                &self.rule,
                &self.columns,
                &e.count,
                &[],
            ),
        }
    }
}

/// Events a community feed carries: proposals opened, closed, published, withdrawn.
pub type Event = Arc<serde_json::Value>;

/// How many feed events a slow subscriber may fall behind before it is told to resync.
const FEED_CAPACITY: usize = 64;

/// The registry of live channels.
#[derive(Clone, Default)]
pub struct Hub {
    // std RwLocks: held only to look up or insert a channel, never across an await.
    channels: Arc<RwLock<HashMap<String, watch::Sender<Arc<Snapshot>>>>>,
    feeds: Arc<RwLock<HashMap<String, broadcast::Sender<Event>>>>,
}

impl Hub {
    /// Publishes a new count; creates the channel on first use.
    pub fn publish(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        let existing = {
            let channels = self.channels.read().expect("hub lock");
            channels.get(&snapshot.proposal).cloned()
        };
        match existing {
            Some(sender) => {
                sender.send_replace(snapshot);
            }
            None => {
                let id = snapshot.proposal.clone();
                let (sender, _) = watch::channel(snapshot);
                self.channels.write().expect("hub lock").insert(id, sender);
            }
        }
    }

    /// The latest count of a proposal, if it has one.
    pub fn latest(&self, proposal: &str) -> Option<Arc<Snapshot>> {
        let channels = self.channels.read().expect("hub lock");
        channels.get(proposal).map(|s| s.borrow().clone())
    }

    /// Subscribes to a proposal's counts.
    pub fn subscribe(&self, proposal: &str) -> Option<watch::Receiver<Arc<Snapshot>>> {
        let channels = self.channels.read().expect("hub lock");
        channels.get(proposal).map(|s| s.subscribe())
    }

    /// Announces an event on a community's feed (dropped when nobody listens).
    pub fn announce(&self, community: &str, event: serde_json::Value) {
        let feeds = self.feeds.read().expect("hub lock");
        if let Some(sender) = feeds.get(community) {
            let _ = sender.send(Arc::new(event));
        }
    }

    /// Subscribes to a community's feed.
    pub fn feed(&self, community: &str) -> broadcast::Receiver<Event> {
        if let Some(sender) = self.feeds.read().expect("hub lock").get(community) {
            return sender.subscribe();
        }
        let mut feeds = self.feeds.write().expect("hub lock");
        feeds
            .entry(community.to_owned())
            .or_insert_with(|| broadcast::channel(FEED_CAPACITY).0)
            .subscribe()
    }
}
