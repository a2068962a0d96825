//! Elections (DESIGN §4): approval ballots of at most `seats` candidates, per-candidate
//! qualification under the rule, ranking with a recorded tie-break, ordered alternates, and
//! succession when a seat falls vacant. Ties the ranking cannot break are reported, never broken.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::roll::Roll;
use super::rule::Rule;
use super::tally::{Evaluation, Tally, Totals, evaluate};

/// Most candidates in one election.
pub const MAX_CANDIDATES: usize = 200;

/// Someone standing for a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub name: String,
}

/// An election's shape: who stands, how many seats and alternates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    candidates: Vec<Candidate>,
    seats: usize,
    alternates: usize,
}

/// An election ballot: the candidates approved (positions in the candidate list), or a paper
/// ballot that was spoiled (e.g. too many marks), counted as participation only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionBallot {
    Approve(BTreeSet<usize>),
    Invalid,
}

/// Why an election or a ballot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElectionError {
    #[error("an election needs at least one seat")]
    NoSeats,
    #[error("an election needs at least one candidate")]
    NoCandidates,
    #[error("at most {MAX_CANDIDATES} candidates may stand")]
    TooManyCandidates,
    #[error("candidate `{0}` is listed twice")]
    DuplicateCandidate(String),
    #[error("candidate id must be 1 to 64 characters without `;`")]
    BadCandidateId,
    #[error("the ballot approves {approved} candidates; at most {seats} may be chosen")]
    OverVoted { approved: usize, seats: usize },
    #[error("unknown candidate `{0}`")]
    UnknownCandidate(String),
    #[error("candidate `{0}` is approved twice on one ballot")]
    RepeatedApproval(String),
}

/// The stable API code of a ballot refusal.
pub fn error_code(error: &ElectionError) -> &'static str {
    match error {
        ElectionError::OverVoted { .. } => "over_voted",
        ElectionError::UnknownCandidate(_) => "unknown_candidate",
        ElectionError::RepeatedApproval(_) => "repeated_candidate",
        _ => "bad_election",
    }
}

impl Election {
    pub fn new(
        candidates: Vec<Candidate>,
        seats: usize,
        alternates: usize,
    ) -> Result<Self, ElectionError> {
        if seats == 0 {
            return Err(ElectionError::NoSeats);
        }
        if candidates.is_empty() {
            return Err(ElectionError::NoCandidates);
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(ElectionError::TooManyCandidates);
        }
        for (i, c) in candidates.iter().enumerate() {
            if c.id.is_empty() || c.id.chars().count() > 64 || c.id.contains(';') {
                return Err(ElectionError::BadCandidateId);
            }
            if candidates[..i].iter().any(|o| o.id == c.id) {
                return Err(ElectionError::DuplicateCandidate(c.id.clone()));
            }
        }
        Ok(Self {
            candidates,
            seats,
            alternates,
        })
    }

    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    pub fn seats(&self) -> usize {
        self.seats
    }

    pub fn alternates(&self) -> usize {
        self.alternates
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.candidates.iter().position(|c| c.id == id)
    }

    /// Reads the candidate ids a voter approved; refuses unknown, repeated or too many.
    pub fn ballot(&self, ids: &[&str]) -> Result<ElectionBallot, ElectionError> {
        let mut approved = BTreeSet::new();
        for id in ids {
            let at = self
                .position(id)
                .ok_or_else(|| ElectionError::UnknownCandidate((*id).to_owned()))?;
            if !approved.insert(at) {
                return Err(ElectionError::RepeatedApproval((*id).to_owned()));
            }
        }
        if approved.len() > self.seats {
            return Err(ElectionError::OverVoted {
                approved: approved.len(),
                seats: self.seats,
            });
        }
        Ok(ElectionBallot::Approve(approved))
    }
}

/// Where a candidate finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "standing", content = "order")]
pub enum Standing {
    Elected,
    /// An alternate, with their order (1 = first to move up).
    Alternate(usize),
    /// Qualified, but ranked below the seats and alternates.
    NotElected,
    /// The rule does not hold for this candidate.
    NotQualified,
    /// In a tie the ranking cannot break, across a boundary or in the alternates' order; waits for
    /// a recorded tie-break.
    Tied,
}

/// One candidate's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateResult {
    /// Position in the election's candidate list.
    pub candidate: usize,
    /// The candidate's approvals counted as a motion: yes = approvals, no = valid ballots without
    /// this candidate, abstain = invalid ballots.
    pub tally: Tally,
    pub evaluation: Evaluation,
    pub qualifies: bool,
    /// 1-based rank among qualified candidates; tied candidates share the first rank of their tie.
    pub rank: Option<usize>,
    pub standing: Standing,
}

/// Candidates the ranking cannot order where order matters, and the positions they contest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tie {
    pub candidates: Vec<usize>,
    /// 1-based positions in the ranking that the tied candidates occupy together.
    pub first_position: usize,
    pub last_position: usize,
}

/// The count of an election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionResult {
    pub participants: Totals,
    pub invalid: Totals,
    pub electorate: Totals,
    /// Qualified candidates in rank order, then the others by approvals.
    pub candidates: Vec<CandidateResult>,
    pub ties: Vec<Tie>,
}

impl ElectionResult {
    pub fn elected(&self) -> Vec<usize> {
        self.with_standing(|s| s == Standing::Elected)
    }

    /// Alternates in the order they move up.
    pub fn alternates(&self) -> Vec<usize> {
        let mut alternates: Vec<(usize, usize)> = self
            .candidates
            .iter()
            .filter_map(|c| match c.standing {
                Standing::Alternate(order) => Some((order, c.candidate)),
                _ => None,
            })
            .collect();
        alternates.sort_unstable();
        alternates.into_iter().map(|(_, c)| c).collect()
    }

    fn with_standing(&self, keep: impl Fn(Standing) -> bool) -> Vec<usize> {
        self.candidates
            .iter()
            .filter(|c| keep(c.standing))
            .map(|c| c.candidate)
            .collect()
    }
}

/// The running count of an election: approvals per candidate and the valid and invalid
/// ballots, over an electorate. Kept by the vote writer as ballots arrive and rebuilt by the
/// verifier from a ledger; [`rank`] turns it into a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionTally {
    /// Per candidate (by position in the candidate list): the voters who approved them.
    pub approvals: Vec<Totals>,
    /// Ballots approving any number of candidates, none included.
    pub valid: Totals,
    /// Spoiled (paper) ballots: participation only.
    pub invalid: Totals,
    pub electorate: Totals,
}

impl ElectionTally {
    /// An empty count for `candidates` candidates over an electorate with these totals.
    pub fn new(candidates: usize, electorate: Totals) -> Self {
        let zero = Totals::zero(electorate.weights.len());
        Self {
            approvals: vec![zero.clone(); candidates],
            valid: zero.clone(),
            invalid: zero,
            electorate,
        }
    }

    pub fn add(&mut self, weights: &[u128], ballot: &ElectionBallot) {
        match ballot {
            ElectionBallot::Approve(chosen) => {
                self.valid.add(weights);
                for c in chosen {
                    self.approvals[*c].add(weights);
                }
            }
            ElectionBallot::Invalid => self.invalid.add(weights),
        }
    }

    /// Takes back a ballot counted earlier (a voter changing their ballot).
    pub fn remove(&mut self, weights: &[u128], ballot: &ElectionBallot) {
        match ballot {
            ElectionBallot::Approve(chosen) => {
                self.valid.remove(weights);
                for c in chosen {
                    self.approvals[*c].remove(weights);
                }
            }
            ElectionBallot::Invalid => self.invalid.remove(weights),
        }
    }

    /// Everyone who took part, invalid ballots included.
    pub fn participants(&self) -> Totals {
        self.valid.plus(&self.invalid)
    }

    /// Turnout as a motion tally (valid ballots as yes, invalid as abstain): what the rule's
    /// quorum conditions are measured on.
    pub fn participation(&self) -> Tally {
        Tally {
            yes: self.valid.clone(),
            no: Totals::zero(self.valid.weights.len()),
            abstain: self.invalid.clone(),
            electorate: self.electorate.clone(),
        }
    }
}

/// Counts an election. `ballots` are `(position in the electorate, ballot)`, one per voter;
/// `tie_break` lists candidate positions in the order a recorded decision or lot put them, and
/// resolves a tie only when it names every candidate in it.
pub fn count_election<'a>(
    election: &Election,
    rule: &Rule,
    electorate: &Roll,
    ballots: impl IntoIterator<Item = (usize, &'a ElectionBallot)>,
    tie_break: &[usize],
) -> ElectionResult {
    let mut tally =
        ElectionTally::new(election.candidates.len(), Tally::new(electorate).electorate);
    for (at, ballot) in ballots {
        tally.add(&electorate.voters()[at].weights, ballot);
    }
    rank(election, rule, electorate.columns(), &tally, tie_break)
}

/// Ranks a counted election: each candidate tallied as a motion under `rule`, qualified ones
/// ordered by approving headcount, then the first weight, then `tie_break`.
pub fn rank(
    election: &Election,
    rule: &Rule,
    columns: &[super::roll::WeightColumn],
    count: &ElectionTally,
    tie_break: &[usize],
) -> ElectionResult {
    let mut results: Vec<CandidateResult> = count
        .approvals
        .iter()
        .cloned()
        .enumerate()
        .map(|(candidate, yes)| {
            let tally = Tally {
                no: count.valid.minus(&yes),
                yes,
                abstain: count.invalid.clone(),
                electorate: count.electorate.clone(),
            };
            let evaluation = evaluate(rule, columns, &tally);
            CandidateResult {
                candidate,
                qualifies: matches!(evaluation.outcome, super::tally::Outcome::Passed(_)),
                tally,
                evaluation,
                rank: None,
                standing: Standing::NotQualified,
            }
        })
        .collect();

    // Rank: approving headcount, then the first weight, both descending.
    let strength = |r: &CandidateResult| {
        (
            r.tally.yes.headcount,
            r.tally.yes.weights.first().copied().unwrap_or(0),
        )
    };
    let break_at = |c: usize| tie_break.iter().position(|t| *t == c);
    results.sort_by(|a, b| {
        b.qualifies
            .cmp(&a.qualifies)
            .then(strength(b).cmp(&strength(a)))
            .then(
                break_at(a.candidate)
                    .unwrap_or(usize::MAX)
                    .cmp(&break_at(b.candidate).unwrap_or(usize::MAX)),
            )
            .then(a.candidate.cmp(&b.candidate))
    });
    let qualified = results.iter().take_while(|r| r.qualifies).count();
    let (seats, alternates) = (election.seats, election.alternates);
    let standing_at = |position: usize| {
        if position <= seats {
            Standing::Elected
        } else if position <= seats + alternates {
            Standing::Alternate(position - seats)
        } else {
            Standing::NotElected
        }
    };
    let mut ties = Vec::new();
    let mut start = 0;
    while start < qualified {
        let mut end = start + 1;
        while end < qualified && strength(&results[end]) == strength(&results[start]) {
            end += 1;
        }
        let group = start..end;
        let resolved = group.len() == 1
            || results[group.clone()]
                .iter()
                .all(|r| break_at(r.candidate).is_some());
        let (first, last) = (start + 1, end);
        let matters = !(last <= seats || first > seats + alternates);
        for (offset, r) in results[group.clone()].iter_mut().enumerate() {
            if resolved {
                r.rank = Some(first + offset);
                r.standing = standing_at(first + offset);
            } else {
                r.rank = Some(first);
                r.standing = if matters {
                    Standing::Tied
                } else {
                    standing_at(first)
                };
            }
        }
        if !resolved && matters {
            let mut candidates: Vec<usize> = results[group].iter().map(|r| r.candidate).collect();
            candidates.sort_unstable();
            ties.push(Tie {
                candidates,
                first_position: first,
                last_position: last,
            });
        }
        start = end;
    }
    ElectionResult {
        participants: count.participants(),
        invalid: count.invalid.clone(),
        electorate: count.electorate.clone(),
        candidates: results,
        ties,
    }
}

/// The ledger's spelling of an invalid (spoiled) election ballot.
pub const INVALID_CHOICE: &str = "invalid";

impl Election {
    /// A ballot as the ledger writes it: the approved candidate ids in candidate-list order
    /// joined by `;` (empty when none is approved), or `invalid`.
    pub fn choice_text(&self, ballot: &ElectionBallot) -> String {
        match ballot {
            ElectionBallot::Invalid => INVALID_CHOICE.to_owned(),
            ElectionBallot::Approve(chosen) => chosen
                .iter()
                .map(|c| self.candidates[*c].id.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        }
    }

    /// Reads a ledger choice back: the inverse of [`Election::choice_text`]. Over-voted,
    /// unknown or repeated approvals are refused as [`Election::ballot`] refuses them.
    pub fn parse_choice(&self, text: &str) -> Result<ElectionBallot, ElectionError> {
        if text == INVALID_CHOICE {
            return Ok(ElectionBallot::Invalid);
        }
        let ids: Vec<&str> = if text.is_empty() {
            Vec::new()
        } else {
            text.split(';').collect()
        };
        self.ballot(&ids)
    }

    /// A paper ballot entered by an officer: marks beyond the seats make it invalid (counted as
    /// taking part only); unknown or repeated marks are still refused.
    pub fn paper_ballot(&self, ids: &[&str]) -> Result<ElectionBallot, ElectionError> {
        match self.ballot(ids) {
            Err(ElectionError::OverVoted { .. }) => Ok(ElectionBallot::Invalid),
            other => other,
        }
    }
}

/// The order a lot drawn from a published `seed` gives the candidates: ascending by
/// SHA-256(seed bytes, one zero byte, candidate id bytes), as lowercase hex; equal digests (never
/// seen in practice) fall back to the id. Pure, so that anyone can redraw it from the seed.
pub fn draw_lot(seed: &str, candidate_ids: &[&str]) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut keyed: Vec<(String, &str)> = candidate_ids
        .iter()
        .map(|id| {
            let mut hasher = Sha256::new();
            hasher.update(seed.as_bytes());
            hasher.update([0u8]);
            hasher.update(id.as_bytes());
            (hex::encode(hasher.finalize()), *id)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id.to_owned()).collect()
}

/// A sitting committee: members in their seats and alternates in the order they move up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committee {
    pub seats: usize,
    pub members: Vec<String>,
    pub alternates: Vec<String>,
}

/// What happened when a seat fell vacant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Succession {
    pub left: String,
    /// The first alternate, who now holds the seat.
    pub moved_up: Option<String>,
    /// Fewer than half the seats are filled and no alternate is left: a new election is due.
    pub reelection_due: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` does not hold a seat on the committee")]
pub struct NotAMember(pub String);

impl Committee {
    /// The committee an election produced.
    pub fn from_result(election: &Election, result: &ElectionResult) -> Self {
        let id = |c: usize| election.candidates[c].id.clone();
        Self {
            seats: election.seats,
            members: result.elected().into_iter().map(id).collect(),
            alternates: result.alternates().into_iter().map(id).collect(),
        }
    }

    /// A member leaves: the first alternate moves up into the seat.
    pub fn vacate(&mut self, member: &str) -> Result<Succession, NotAMember> {
        let at = self
            .members
            .iter()
            .position(|m| m == member)
            .ok_or_else(|| NotAMember(member.to_owned()))?;
        let left = self.members.remove(at);
        let moved_up = (!self.alternates.is_empty()).then(|| self.alternates.remove(0));
        if let Some(next) = &moved_up {
            self.members.insert(at, next.clone());
        }
        Ok(Succession {
            left,
            moved_up,
            reelection_due: self.reelection_due(),
        })
    }

    /// Fewer than half the seats filled and no alternate left.
    pub fn reelection_due(&self) -> bool {
        self.members.len() * 2 < self.seats && self.alternates.is_empty()
    }
}
