//! A proposal's life: `draft → deliberation → voting → closed → certified`, or `withdrawn`.
//! Every transition is checked here against the time it happens, which the caller passes in.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a proposal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Being written; only officers see it.
    Draft,
    /// Published for discussion; voting has not opened.
    Deliberation,
    /// Ballots accepted until `closes_at`.
    Voting,
    /// Voting over; the outcome is computed.
    Closed,
    /// The signed result is published.
    Certified,
    /// Taken off the agenda.
    Withdrawn,
}

impl ProposalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Draft => "draft",
            ProposalState::Deliberation => "deliberation",
            ProposalState::Voting => "voting",
            ProposalState::Closed => "closed",
            ProposalState::Certified => "certified",
            ProposalState::Withdrawn => "withdrawn",
        }
    }
}

/// A requested change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Publish a draft for discussion.
    Deliberate,
    /// Open voting now.
    Open,
    /// Close voting now.
    Close,
    /// Move the deadline to `to` because the quorum is not met (also reopens a proposal that
    /// closed without quorum).
    Extend {
        to: Timestamp,
    },
    Withdraw,
    Certify,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("a proposal in state `{from}` cannot {action}")]
    NotAllowed {
        from: &'static str,
        action: &'static str,
    },
    #[error("the voting deadline {closes_at} has already passed; set a later one first")]
    DeadlinePassed { closes_at: Timestamp },
    #[error("the new deadline must be later than both now and the current deadline")]
    ExtensionNotLater,
    #[error("the quorum is met; voting can only be extended while it is not")]
    QuorumMet,
}

impl Transition {
    fn action(self) -> &'static str {
        match self {
            Transition::Deliberate => "be published for deliberation",
            Transition::Open => "open for voting",
            Transition::Close => "close",
            Transition::Extend { .. } => "be extended",
            Transition::Withdraw => "be withdrawn",
            Transition::Certify => "be certified",
        }
    }
}

/// Checks a transition at `now` and returns the new state. `quorum_met` is whether every quorum
/// condition of the rule holds on the current tally (it matters only for extensions).
pub fn transition(
    from: ProposalState,
    change: Transition,
    now: Timestamp,
    closes_at: Timestamp,
    quorum_met: bool,
) -> Result<ProposalState, LifecycleError> {
    use ProposalState::*;
    let refuse = || LifecycleError::NotAllowed {
        from: from.as_str(),
        action: change.action(),
    };
    match (from, change) {
        (Draft, Transition::Deliberate) => Ok(Deliberation),
        (Draft | Deliberation, Transition::Open) => {
            if now >= closes_at {
                Err(LifecycleError::DeadlinePassed { closes_at })
            } else {
                Ok(Voting)
            }
        }
        (Voting, Transition::Close) => Ok(Closed),
        (Voting | Closed, Transition::Extend { to }) => {
            if quorum_met {
                Err(LifecycleError::QuorumMet)
            } else if to <= now || to <= closes_at {
                Err(LifecycleError::ExtensionNotLater)
            } else {
                Ok(Voting)
            }
        }
        (Draft | Deliberation | Voting, Transition::Withdraw) => Ok(Withdrawn),
        (Closed, Transition::Certify) => Ok(Certified),
        _ => Err(refuse()),
    }
}

/// Whether a ballot may be accepted at `now`.
pub fn accepts_ballots(state: ProposalState, now: Timestamp, closes_at: Timestamp) -> bool {
    state == ProposalState::Voting && now < closes_at
}

#[cfg(test)]
mod tests {
    use super::ProposalState::*;
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn the_happy_path_runs_in_order() {
        let deadline = t(100);
        assert_eq!(
            transition(Draft, Transition::Deliberate, t(0), deadline, false),
            Ok(Deliberation)
        );
        assert_eq!(
            transition(Deliberation, Transition::Open, t(1), deadline, false),
            Ok(Voting)
        );
        assert_eq!(
            transition(Voting, Transition::Close, t(2), deadline, false),
            Ok(Closed)
        );
        assert_eq!(
            transition(Closed, Transition::Certify, t(3), deadline, false),
            Ok(Certified)
        );
    }

    #[test]
    fn refusals_say_why() {
        let deadline = t(100);
        assert_eq!(
            transition(Closed, Transition::Open, t(0), deadline, false),
            Err(LifecycleError::NotAllowed {
                from: "closed",
                action: "open for voting"
            })
        );
        assert!(matches!(
            transition(Draft, Transition::Open, t(100), deadline, false),
            Err(LifecycleError::DeadlinePassed { .. })
        ));
        assert_eq!(
            transition(
                Voting,
                Transition::Extend { to: t(200) },
                t(50),
                deadline,
                true
            ),
            Err(LifecycleError::QuorumMet)
        );
        assert_eq!(
            transition(
                Voting,
                Transition::Extend { to: t(90) },
                t(50),
                deadline,
                false
            ),
            Err(LifecycleError::ExtensionNotLater)
        );
        assert_eq!(
            transition(
                Closed,
                Transition::Extend { to: t(300) },
                t(150),
                deadline,
                false
            ),
            Ok(Voting)
        );
        assert!(transition(Certified, Transition::Withdraw, t(0), deadline, false).is_err());
        assert!(!accepts_ballots(Voting, t(100), deadline));
        assert!(accepts_ballots(Voting, t(99), deadline));
    }
}
