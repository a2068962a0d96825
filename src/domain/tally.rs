//! Tallies and outcomes: counting ballots over an electorate, testing each condition of a rule
//! exactly, how much more each needs, and whether the outcome is already certain.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::roll::{Roll, Voter, WeightColumn};
use super::rule::{Base, Comparison, Condition, Kind, Measure, Rule};

/// A motion ballot's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Yes,
    No,
    Abstain,
}

impl Choice {
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim() {
            "yes" => Some(Choice::Yes),
            "no" => Some(Choice::No),
            "abstain" => Some(Choice::Abstain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::Abstain => "abstain",
        }
    }
}

/// Headcount and every weight (in each column's scale) of a group of voters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub headcount: u64,
    pub weights: Vec<u128>,
}

impl Totals {
    pub fn zero(columns: usize) -> Self {
        Self {
            headcount: 0,
            weights: vec![0; columns],
        }
    }

    pub fn add(&mut self, voter_weights: &[u128]) {
        self.headcount += 1;
        for (total, w) in self.weights.iter_mut().zip(voter_weights) {
            *total += w;
        }
    }

    pub fn remove(&mut self, voter_weights: &[u128]) {
        self.headcount -= 1;
        for (total, w) in self.weights.iter_mut().zip(voter_weights) {
            *total -= w;
        }
    }

    pub fn plus(&self, other: &Totals) -> Totals {
        Totals {
            headcount: self.headcount + other.headcount,
            weights: self
                .weights
                .iter()
                .zip(&other.weights)
                .map(|(a, b)| a + b)
                .collect(),
        }
    }

    pub fn minus(&self, other: &Totals) -> Totals {
        Totals {
            headcount: self.headcount - other.headcount,
            weights: self
                .weights
                .iter()
                .zip(&other.weights)
                .map(|(a, b)| a - b)
                .collect(),
        }
    }

    /// The value of a measure: headcount, or a weight column by position.
    pub fn get(&self, measure: Option<usize>) -> u128 {
        match measure {
            None => u128::from(self.headcount),
            Some(i) => self.weights[i],
        }
    }
}

/// The count of a motion: per choice, and the electorate it was counted over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub yes: Totals,
    pub no: Totals,
    pub abstain: Totals,
    pub electorate: Totals,
}

impl Tally {
    /// An empty tally over an electorate.
    pub fn new(electorate: &Roll) -> Self {
        let columns = electorate.columns().len();
        let mut all = Totals::zero(columns);
        for voter in electorate.voters() {
            all.add(&voter.weights);
        }
        Self {
            yes: Totals::zero(columns),
            no: Totals::zero(columns),
            abstain: Totals::zero(columns),
            electorate: all,
        }
    }

    /// Counts ballots given as `(position in the electorate, choice)`, one per voter.
    pub fn count(electorate: &Roll, ballots: impl IntoIterator<Item = (usize, Choice)>) -> Self {
        let mut tally = Self::new(electorate);
        for (at, choice) in ballots {
            tally.add(&electorate.voters()[at], choice);
        }
        tally
    }

    fn choice_mut(&mut self, choice: Choice) -> &mut Totals {
        match choice {
            Choice::Yes => &mut self.yes,
            Choice::No => &mut self.no,
            Choice::Abstain => &mut self.abstain,
        }
    }

    pub fn add(&mut self, voter: &Voter, choice: Choice) {
        self.choice_mut(choice).add(&voter.weights);
    }

    /// Takes back a ballot counted earlier (a voter changing their choice).
    pub fn remove(&mut self, voter: &Voter, choice: Choice) {
        self.choice_mut(choice).remove(&voter.weights);
    }

    /// Everyone who took part: yes + no + abstain.
    pub fn participants(&self) -> Totals {
        self.yes.plus(&self.no).plus(&self.abstain)
    }

    /// Yes + no.
    pub fn cast(&self) -> Totals {
        self.yes.plus(&self.no)
    }

    /// Voters on the electorate who have not taken part.
    pub fn remaining(&self) -> Totals {
        self.electorate.minus(&self.participants())
    }

    /// The numerator and base of a condition, and whether the base holds anyone at all.
    fn numbers(&self, condition: &Condition, measure: Option<usize>) -> (u128, u128, bool) {
        let numerator = match condition.kind {
            Kind::Quorum => self.participants().get(measure),
            Kind::Approval => self.yes.get(measure),
        };
        let base = match condition.of {
            Base::Roll => &self.electorate,
            Base::Participants => &self.participants(),
            Base::Cast => &self.cast(),
        };
        (numerator, base.get(measure), base.headcount > 0)
    }
}

/// How a vote ended (or would end if closed now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "level")]
pub enum Outcome {
    /// Every condition of the named level holds.
    Passed(String),
    /// Quorums met, but no level's approvals hold.
    Rejected,
    /// A quorum condition fails.
    NoQuorum,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Passed(_) => "passed",
            Outcome::Rejected => "rejected",
            Outcome::NoQuorum => "no_quorum",
        }
    }

    pub fn level(&self) -> Option<&str> {
        match self {
            Outcome::Passed(level) => Some(level),
            _ => None,
        }
    }
}

/// With the ballots cast so far final, whether the remaining voters could still change things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// One level holds however the remaining voters vote (or stay away).
    PassedAlready,
    /// No level can hold however the remaining voters vote.
    CannotPass,
    /// Either could still happen.
    Open,
}

/// One condition tested against a tally, with its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionReport {
    /// The label of the level this condition belongs to.
    pub level: String,
    pub condition: Condition,
    /// The scale of the measured quantity: 0 for headcount, the weight column's otherwise.
    pub scale: u8,
    pub numerator: u128,
    pub base: u128,
    pub holds: bool,
    /// The least extra amount (voters for headcount, weight otherwise) that would make the
    /// condition hold if it came from voters who have not yet voted, voting yes (taking part, for
    /// a quorum). Under base `participants` or `cast` each such yes also grows the base. `None`
    /// when no amount of further yes votes can make it hold. 0 when it holds.
    pub needed: Option<u128>,
    /// Whether the voters who have not yet voted hold at least `needed`.
    pub reachable: bool,
}

/// A rule tested against a tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub certainty: Certainty,
    /// Every condition in rule order (level by level).
    pub conditions: Vec<ConditionReport>,
}

/// Tests whether a condition holds for given numbers: `numerator / base` against the fraction,
/// with an empty base failing every approval.
pub fn holds(condition: &Condition, numerator: u128, base: u128, base_has_voters: bool) -> bool {
    if condition.kind == Kind::Approval && !base_has_voters {
        return false;
    }
    let order = condition.fraction.compare(numerator, base);
    match condition.comparison {
        Comparison::AtLeast => order != Ordering::Less,
        Comparison::MoreThan => order == Ordering::Greater,
    }
}

/// Position of a condition's measure among the weight columns (`None` for headcount).
///
/// # Panics
/// When the rule names a weight the columns lack; `Rule::check_against` refuses such rules first.
pub fn measure_index(measure: &Measure, columns: &[WeightColumn]) -> Option<usize> {
    match measure {
        Measure::Headcount => None,
        Measure::Weight(name) => Some(
            columns
                .iter()
                .position(|c| &c.name == name)
                .expect("rule checked against the roll"),
        ),
    }
}

fn condition_holds(condition: &Condition, columns: &[WeightColumn], tally: &Tally) -> bool {
    let measure = measure_index(&condition.measure, columns);
    let (numerator, base, occupied) = tally.numbers(condition, measure);
    holds(condition, numerator, base, occupied)
}

fn level_holds(conditions: &[Condition], columns: &[WeightColumn], tally: &Tally) -> bool {
    conditions
        .iter()
        .all(|c| condition_holds(c, columns, tally))
}

/// The outcome of a rule on a tally: the first level whose conditions all hold; `no_quorum` if
/// any quorum condition fails; otherwise `rejected`.
pub fn outcome(rule: &Rule, columns: &[WeightColumn], tally: &Tally) -> Outcome {
    for level in rule.levels() {
        if level_holds(&level.conditions, columns, tally) {
            return Outcome::Passed(level.label.clone());
        }
    }
    let quorum_fails = rule
        .conditions()
        .any(|c| c.kind == Kind::Quorum && !condition_holds(c, columns, tally));
    if quorum_fails {
        Outcome::NoQuorum
    } else {
        Outcome::Rejected
    }
}

/// The least extra yes amount `w` making the condition hold, from `numerator` and `base`; the base
/// grows by `w` too when `grows`. `None` when no `w` does.
fn least_needed(
    condition: &Condition,
    numerator: u128,
    base: u128,
    base_has_voters: bool,
    grows: bool,
) -> Option<u128> {
    if holds(condition, numerator, base, base_has_voters) {
        return Some(0);
    }
    let p = u128::from(condition.fraction.numerator());
    let q = u128::from(condition.fraction.denominator());
    let strict = condition.comparison == Comparison::MoreThan;
    let least = if !grows {
        // numerator' × q ≥ base × p (or >): numerator' = ⌈base p / q⌉ (or ⌊base p / q⌋ + 1).
        let target = if strict {
            base * p / q + 1
        } else {
            (base * p).div_ceil(q)
        };
        target.saturating_sub(numerator)
    } else {
        // (numerator + w) q ≥ (base + w) p  ⇔  w (q − p) ≥ base p − numerator q (or >).
        let gap = (base * p).checked_sub(numerator * q);
        let slack = q - p;
        match gap {
            None => 0, // already ahead: only the empty base kept it from holding
            Some(gap) if slack == 0 => {
                if gap == 0 && !strict {
                    0
                } else {
                    return None;
                }
            }
            Some(gap) if strict => gap / slack + 1,
            Some(gap) => gap.div_ceil(slack),
        }
    };
    Some(least)
}

/// Tests every condition of a rule against a tally, with the outcome and its certainty.
pub fn evaluate(rule: &Rule, columns: &[WeightColumn], tally: &Tally) -> Evaluation {
    let remaining = tally.remaining();
    let mut conditions = Vec::new();
    for level in rule.levels() {
        for condition in &level.conditions {
            let measure = measure_index(&condition.measure, columns);
            let (numerator, base, occupied) = tally.numbers(condition, measure);
            let holds_now = holds(condition, numerator, base, occupied);
            let grows = condition.kind == Kind::Approval && condition.of != Base::Roll;
            let mut needed = least_needed(condition, numerator, base, occupied, grows);
            if !holds_now && measure.is_none() && grows && !occupied {
                // An empty base needs at least one voter before anything can hold.
                needed = needed.map(|n| n.max(1));
            }
            let reachable = holds_now
                || (needed.is_some_and(|n| n <= remaining.get(measure)) && remaining.headcount > 0);
            conditions.push(ConditionReport {
                level: level.label.clone(),
                condition: condition.clone(),
                scale: measure.map_or(0, |i| columns[i].scale),
                numerator,
                base,
                holds: holds_now,
                needed,
                reachable,
            });
        }
    }
    Evaluation {
        outcome: outcome(rule, columns, tally),
        certainty: certainty(rule, columns, tally),
        conditions,
    }
}

/// Whether the outcome can still change, treating the ballots counted so far as final.
///
/// A condition's worst case is one of two completions: nobody else votes (worst for quorums and
/// for an approval whose base is still empty), or every remaining voter votes no (worst for an
/// approval over participants or cast). A level is certain when each of its conditions holds in
/// its own worst case. All remaining voters voting yes is the best case for every condition at
/// once, so nothing can pass when no level holds then.
pub fn certainty(rule: &Rule, columns: &[WeightColumn], tally: &Tally) -> Certainty {
    let remaining = tally.remaining();
    let all_no = Tally {
        no: tally.no.plus(&remaining),
        ..tally.clone()
    };
    let all_yes = Tally {
        yes: tally.yes.plus(&remaining),
        ..tally.clone()
    };
    let certain_level = rule.levels().iter().any(|level| {
        level.conditions.iter().all(|c| {
            let now = condition_holds(c, columns, tally);
            match (c.kind, c.of) {
                (Kind::Quorum, _) | (Kind::Approval, Base::Roll) => now,
                (Kind::Approval, _) => now && condition_holds(c, columns, &all_no),
            }
        })
    });
    if certain_level {
        Certainty::PassedAlready
    } else if !rule
        .levels()
        .iter()
        .any(|l| level_holds(&l.conditions, columns, &all_yes))
    {
        Certainty::CannotPass
    } else {
        Certainty::Open
    }
}
