//! Property tests: the counting core against a naive reference written here from DESIGN §3–4 —
//! plain loops over ballots in exact big-number arithmetic, sharing no code with the tally — on
//! random rolls, ballots, rules and elections.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use num_bigint::BigInt;
use num_rational::BigRational;
use proptest::prelude::*;

use yishi::domain::election::{
    Candidate, Election, ElectionBallot, ElectionError, ElectionResult, Standing, Tie,
    count_election,
};
use yishi::domain::quantity::{
    Decimal, Fraction, MAX_DENOMINATOR, MAX_WEIGHT_INTEGER, QuantityError,
};
use yishi::domain::roll::Roll;
use yishi::domain::rule::{Base, Comparison, Condition, Kind, Level, Measure, Rule};
use yishi::domain::tally::{self, Certainty, Choice, Outcome, Tally, Totals, evaluate};

// ---------------------------------------------------------------------------------------------
// Random rolls, written as CSV
// ---------------------------------------------------------------------------------------------

/// Weight column names, in roll order; the first is the one elections rank by.
const WEIGHT_NAMES: [&str; 3] = ["area", "share", "parts"];

/// One weight value as written in a CSV cell: `integer.fraction` with `places` decimals.
#[derive(Debug, Clone)]
struct Written {
    integer: u64,
    fraction: u64,
    places: u32,
}

impl Written {
    fn text(&self) -> String {
        if self.places == 0 {
            self.integer.to_string()
        } else {
            format!(
                "{}.{:0width$}",
                self.integer,
                self.fraction,
                width = self.places as usize
            )
        }
    }

    fn value(&self) -> BigRational {
        let denominator = BigInt::from(10).pow(self.places);
        BigRational::new(
            BigInt::from(self.integer) * &denominator + BigInt::from(self.fraction),
            denominator,
        )
    }
}

/// A roll to write: `voters` owners `v0`, `v1`, …, each owning one or more of `units` (listed in
/// CSV order, shuffled, so one owner's units need not be adjacent).
#[derive(Debug, Clone)]
struct RollSpec {
    columns: usize,
    voters: usize,
    /// Owner and one value per weight column.
    units: Vec<(usize, Vec<Written>)>,
}

impl RollSpec {
    fn names(&self) -> Vec<String> {
        WEIGHT_NAMES[..self.columns]
            .iter()
            .map(|n| (*n).to_owned())
            .collect()
    }

    fn csv(&self) -> String {
        let mut csv = String::from("voter,unit");
        for name in self.names() {
            write!(csv, ",{name}").expect("write to a String");
        }
        csv.push('\n');
        for (n, (owner, values)) in self.units.iter().enumerate() {
            write!(csv, "v{owner},u{n}").expect("write to a String");
            for value in values {
                write!(csv, ",{}", value.text()).expect("write to a String");
            }
            csv.push('\n');
        }
        csv
    }

    fn roll(&self) -> Roll {
        Roll::from_csv(&self.csv()).expect("generated rolls are valid")
    }

    /// Each voter's weights: the plain sum over their units.
    fn weights(&self) -> Vec<Vec<BigRational>> {
        let mut weights = vec![vec![zero(); self.columns]; self.voters];
        for (owner, values) in &self.units {
            for (column, value) in values.iter().enumerate() {
                weights[*owner][column] += value.value();
            }
        }
        weights
    }
}

fn zero() -> BigRational {
    BigRational::from_integer(BigInt::from(0))
}

fn whole(n: u64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

/// `units / 10^scale` exactly.
fn exact(units: u128, scale: u8) -> BigRational {
    BigRational::new(BigInt::from(units), BigInt::from(10).pow(u32::from(scale)))
}

fn key(voter: usize) -> String {
    format!("v{voter}")
}

fn written(max_places: u32, max_integer: u64) -> impl Strategy<Value = Written> {
    (0..=max_places)
        .prop_flat_map(move |places| {
            (
                prop_oneof![1 => Just(0u64), 4 => 0..=max_integer],
                0..10u64.pow(places),
                Just(places),
            )
        })
        .prop_map(|(integer, fraction, places)| Written {
            integer,
            fraction,
            places,
        })
}

/// Rolls of 1..=`max_voters` voters and 1–3 weight columns, each with its own most decimal
/// places (0..=`max_places`); about a quarter of the voters own two or three units.
fn roll_spec(
    max_voters: usize,
    max_integer: u64,
    max_places: u32,
) -> impl Strategy<Value = RollSpec> {
    (1..=3usize, 1..=max_voters)
        .prop_flat_map(move |(columns, voters)| {
            let places = prop::collection::vec(0..=max_places, columns);
            let units = prop::collection::vec(
                prop_oneof![6 => Just(1usize), 1 => Just(2), 1 => Just(3)],
                voters,
            );
            (Just(columns), Just(voters), places, units)
        })
        .prop_flat_map(move |(columns, voters, places, units)| {
            let owners: Vec<usize> = units
                .iter()
                .enumerate()
                .flat_map(|(voter, n)| std::iter::repeat_n(voter, *n))
                .collect();
            let row: Vec<_> = places.iter().map(|p| written(*p, max_integer)).collect();
            let values = prop::collection::vec(row, owners.len());
            (
                Just(columns),
                Just(voters),
                Just(owners).prop_shuffle(),
                values,
            )
        })
        .prop_map(|(columns, voters, owners, values)| RollSpec {
            columns,
            voters,
            units: owners.into_iter().zip(values).collect(),
        })
}

/// A motion ballot, or `None` for a voter who stays away.
fn ballot() -> impl Strategy<Value = Option<Choice>> {
    prop_oneof![
        Just(None),
        Just(Some(Choice::Yes)),
        Just(Some(Choice::No)),
        Just(Some(Choice::Abstain)),
    ]
}

/// A roll and one ballot (or absence) per voter, in voter order.
fn vote(max_voters: usize) -> impl Strategy<Value = (RollSpec, Vec<Option<Choice>>)> {
    roll_spec(max_voters, 2_000, 3).prop_flat_map(|spec| {
        let voters = spec.voters;
        (Just(spec), prop::collection::vec(ballot(), voters))
    })
}

fn real_tally(roll: &Roll, ballots: &[Option<Choice>]) -> Tally {
    Tally::count(
        roll,
        ballots.iter().enumerate().filter_map(|(voter, choice)| {
            let at = roll
                .position(&key(voter))
                .expect("every voter is on the roll");
            choice.map(|c| (at, c))
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Random conditions and rules, in the text spelling
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ConditionSpec {
    quorum: bool,
    /// 0 for headcount, `i` for weight column `i − 1` (taken modulo the roll's columns + 1).
    measure: usize,
    /// Index into roll / participants / cast (a quorum is always over the roll).
    base: usize,
    more_than: bool,
    p: u64,
    q: u64,
}

impl ConditionSpec {
    fn text(&self, names: &[String]) -> String {
        let measure = match self.measure % (names.len() + 1) {
            0 => "headcount",
            i => &names[i - 1],
        };
        let (kind, base) = if self.quorum {
            ("quorum", "roll")
        } else {
            ("approval", ["roll", "participants", "cast"][self.base])
        };
        let comparison = if self.more_than {
            "more_than"
        } else {
            "at_least"
        };
        format!(
            "{kind} {measure} of {base} {comparison} {}/{}",
            self.p, self.q
        )
    }
}

fn condition_spec() -> impl Strategy<Value = ConditionSpec> {
    (
        any::<bool>(),
        0usize..4,
        0usize..3,
        any::<bool>(),
        1u64..=12,
    )
        .prop_flat_map(|(quorum, measure, base, more_than, q)| {
            (Just((quorum, measure, base, more_than, q)), 0..=q)
        })
        .prop_map(|((quorum, measure, base, more_than, q), p)| ConditionSpec {
            quorum,
            measure,
            base,
            more_than,
            p,
            q,
        })
}

/// Approvals that many candidates can meet: at most a third, of any base, by headcount or
/// the first weight.
fn lenient_condition_spec() -> impl Strategy<Value = ConditionSpec> {
    (0usize..2, 0usize..3, any::<bool>(), 1u64..=12)
        .prop_flat_map(|(measure, base, more_than, q)| {
            (Just((measure, base, more_than, q)), 0..=q / 3)
        })
        .prop_map(|((measure, base, more_than, q), p)| ConditionSpec {
            quorum: false,
            measure,
            base,
            more_than,
            p,
            q,
        })
}

/// 1–3 levels of 1–3 conditions.
fn rule_spec() -> impl Strategy<Value = Vec<Vec<ConditionSpec>>> {
    prop::collection::vec(prop::collection::vec(condition_spec(), 1..=3), 1..=3)
}

fn build_rule(levels: &[Vec<ConditionSpec>], names: &[String]) -> Rule {
    let levels = levels
        .iter()
        .enumerate()
        .map(|(i, conditions)| Level {
            label: format!("level-{}", i + 1),
            conditions: conditions
                .iter()
                .map(|c| {
                    let text = c.text(names);
                    let condition = Condition::parse(&text).expect("generated conditions parse");
                    assert_eq!(condition.to_string(), text, "text spelling round trip");
                    condition
                })
                .collect(),
        })
        .collect();
    Rule::new(levels).expect("generated rules are valid")
}

// ---------------------------------------------------------------------------------------------
// The reference count (DESIGN §3), in plain loops over ballots
// ---------------------------------------------------------------------------------------------

/// A group of voters: how many, and the exact sum of each weight.
#[derive(Debug, Clone, PartialEq)]
struct Group {
    headcount: u64,
    weights: Vec<BigRational>,
}

impl Group {
    fn empty(columns: usize) -> Self {
        Self {
            headcount: 0,
            weights: vec![zero(); columns],
        }
    }

    fn join(&mut self, weights: &[BigRational]) {
        self.headcount += 1;
        for (total, w) in self.weights.iter_mut().zip(weights) {
            *total += w;
        }
    }

    /// The groups' voters together.
    fn union(groups: &[&Group]) -> Self {
        let mut all = Group::empty(groups[0].weights.len());
        for group in groups {
            all.headcount += group.headcount;
            for (total, w) in all.weights.iter_mut().zip(&group.weights) {
                *total += w;
            }
        }
        all
    }

    fn amount(&self, column: Option<usize>) -> BigRational {
        match column {
            None => whole(self.headcount),
            Some(i) => self.weights[i].clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Reference {
    yes: Group,
    no: Group,
    abstain: Group,
    roll: Group,
}

impl Reference {
    fn count(weights: &[Vec<BigRational>], ballots: &[Option<Choice>]) -> Self {
        let columns = weights[0].len();
        let mut reference = Self {
            yes: Group::empty(columns),
            no: Group::empty(columns),
            abstain: Group::empty(columns),
            roll: Group::empty(columns),
        };
        for (voter, ballot) in weights.iter().zip(ballots) {
            reference.roll.join(voter);
            if let Some(choice) = ballot {
                reference.vote(voter, *choice);
            }
        }
        reference
    }

    fn vote(&mut self, weights: &[BigRational], choice: Choice) {
        match choice {
            Choice::Yes => self.yes.join(weights),
            Choice::No => self.no.join(weights),
            Choice::Abstain => self.abstain.join(weights),
        }
    }

    fn participants(&self) -> Group {
        Group::union(&[&self.yes, &self.no, &self.abstain])
    }

    fn cast(&self) -> Group {
        Group::union(&[&self.yes, &self.no])
    }

    fn sums(&self) -> Sums {
        Sums {
            yes: self.yes.clone(),
            participants: self.participants(),
            cast: self.cast(),
            roll: self.roll.clone(),
        }
    }
}

/// The groups a condition can count, each summed once.
struct Sums {
    yes: Group,
    participants: Group,
    cast: Group,
    roll: Group,
}

fn column_of(condition: &Condition, names: &[String]) -> Option<usize> {
    match &condition.measure {
        Measure::Headcount => None,
        Measure::Weight(name) => Some(
            names
                .iter()
                .position(|n| n == name)
                .expect("generated conditions measure the roll's columns"),
        ),
    }
}

/// `numerator × q` against `base × p`; an approval over nobody fails.
fn reference_holds(condition: &Condition, names: &[String], sums: &Sums) -> bool {
    let column = column_of(condition, names);
    let numerator = match condition.kind {
        Kind::Quorum => &sums.participants,
        Kind::Approval => &sums.yes,
    };
    let base = match condition.of {
        Base::Roll => &sums.roll,
        Base::Participants => &sums.participants,
        Base::Cast => &sums.cast,
    };
    if condition.kind == Kind::Approval && base.headcount == 0 {
        return false;
    }
    let lhs = numerator.amount(column) * whole(condition.fraction.denominator());
    let rhs = base.amount(column) * whole(condition.fraction.numerator());
    match condition.comparison {
        Comparison::AtLeast => lhs >= rhs,
        Comparison::MoreThan => lhs > rhs,
    }
}

fn reference_level_holds(level: &Level, names: &[String], sums: &Sums) -> bool {
    level
        .conditions
        .iter()
        .all(|c| reference_holds(c, names, sums))
}

/// The first level that holds; else no quorum if any quorum anywhere fails; else rejected.
fn reference_outcome(rule: &Rule, names: &[String], r: &Reference) -> Outcome {
    let sums = r.sums();
    for level in rule.levels() {
        if reference_level_holds(level, names, &sums) {
            return Outcome::Passed(level.label.clone());
        }
    }
    for level in rule.levels() {
        for condition in &level.conditions {
            if condition.kind == Kind::Quorum && !reference_holds(condition, names, &sums) {
                return Outcome::NoQuorum;
            }
        }
    }
    Outcome::Rejected
}

/// Whether a real total equals a reference group exactly, each weight at its column's scale.
fn same_totals(real: &Totals, reference: &Group, roll: &Roll) -> bool {
    real.headcount == reference.headcount
        && real.weights.len() == reference.weights.len()
        && roll
            .columns()
            .iter()
            .zip(&real.weights)
            .zip(&reference.weights)
            .all(|((column, units), value)| exact(*units, column.scale) == *value)
}

// ---------------------------------------------------------------------------------------------
// Needed and certainty helpers
// ---------------------------------------------------------------------------------------------

/// Whether `condition` holds once `amount` more comes from new yes voters: `amount` voters of
/// no weight for headcount, or one voter carrying `amount` of the measured weight. The yes votes
/// grow participants and cast (so a quorum's numerator), never the roll.
fn holds_with_more_yes(
    tally: &Tally,
    condition: &Condition,
    column: Option<usize>,
    amount: u128,
) -> bool {
    let mut more = tally.clone();
    match column {
        None => more.yes.headcount += u64::try_from(amount).expect("small headcounts"),
        Some(i) => {
            more.yes.headcount += 1;
            more.yes.weights[i] += amount;
        }
    }
    let numerator = match condition.kind {
        Kind::Quorum => more.participants(),
        Kind::Approval => more.yes.clone(),
    };
    let base = match condition.of {
        Base::Roll => more.electorate.clone(),
        Base::Participants => more.participants(),
        Base::Cast => more.cast(),
    };
    let (numerator, base, occupied) = (numerator.get(column), base.get(column), base.headcount > 0);
    let real = tally::holds(condition, numerator, base, occupied);
    let expected = (condition.kind == Kind::Quorum || occupied)
        && match condition.comparison {
            Comparison::AtLeast => {
                BigInt::from(numerator) * condition.fraction.denominator()
                    >= BigInt::from(base) * condition.fraction.numerator()
            }
            Comparison::MoreThan => {
                BigInt::from(numerator) * condition.fraction.denominator()
                    > BigInt::from(base) * condition.fraction.numerator()
            }
        };
    assert_eq!(real, expected, "tally::holds on {numerator}/{base}");
    real
}

/// Calls `visit` with every way the `remaining` voters could complete the vote: each stays
/// away or votes yes, no or abstain (4^n completions), until `visit` returns false.
fn each_completion(
    so_far: &Reference,
    remaining: &[&Vec<BigRational>],
    visit: &mut impl FnMut(&Reference) -> bool,
) -> bool {
    let Some((next, rest)) = remaining.split_first() else {
        return visit(so_far);
    };
    if !each_completion(so_far, rest, visit) {
        return false;
    }
    for choice in [Choice::Yes, Choice::No, Choice::Abstain] {
        let mut with_next = so_far.clone();
        with_next.vote(next, choice);
        if !each_completion(&with_next, rest, visit) {
            return false;
        }
    }
    true
}

/// Certainty by brute force: already passed when some level holds in every completion; cannot
/// pass when no level holds in any.
fn brute_force_certainty(
    rule: &Rule,
    names: &[String],
    weights: &[Vec<BigRational>],
    ballots: &[Option<Choice>],
) -> Certainty {
    let so_far = Reference::count(weights, ballots);
    let remaining: Vec<&Vec<BigRational>> = weights
        .iter()
        .zip(ballots)
        .filter(|(_, b)| b.is_none())
        .map(|(w, _)| w)
        .collect();
    let mut holds_in_every = vec![true; rule.levels().len()];
    let mut holds_in_some = false;
    each_completion(&so_far, &remaining, &mut |completion| {
        let sums = completion.sums();
        for (i, level) in rule.levels().iter().enumerate() {
            if holds_in_every[i] || !holds_in_some {
                if reference_level_holds(level, names, &sums) {
                    holds_in_some = true;
                } else {
                    holds_in_every[i] = false;
                }
            }
        }
        // Open is settled once some completion passes and every level failed somewhere.
        !(holds_in_some && holds_in_every.iter().all(|h| !h))
    });
    if holds_in_every.iter().any(|h| *h) {
        Certainty::PassedAlready
    } else if !holds_in_some {
        Certainty::CannotPass
    } else {
        Certainty::Open
    }
}

/// Keeps at most `most` voters away (the later ones vote, alternately yes and no), so that
/// brute force stays small.
fn at_most_away(mut ballots: Vec<Option<Choice>>, most: usize) -> Vec<Option<Choice>> {
    let mut away = 0;
    for (i, ballot) in ballots.iter_mut().enumerate() {
        if ballot.is_none() {
            away += 1;
            if away > most {
                *ballot = Some(if i % 2 == 0 { Choice::Yes } else { Choice::No });
            }
        }
    }
    ballots
}

// ---------------------------------------------------------------------------------------------
// Motions
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rolls_and_tallies_match_a_plain_loop_over_ballots((spec, ballots) in vote(40)) {
        // Arrange
        let weights = spec.weights();
        let names = spec.names();

        // Act
        let roll = spec.roll();
        let tally = real_tally(&roll, &ballots);
        let reference = Reference::count(&weights, &ballots);

        // Assert: one voter per owner, units grouped, weights summed at the widest scale.
        prop_assert_eq!(roll.len(), spec.voters);
        for (i, column) in roll.columns().iter().enumerate() {
            prop_assert_eq!(&column.name, &names[i]);
            let widest = spec.units.iter().map(|(_, v)| v[i].places).max().unwrap_or(0);
            prop_assert_eq!(u32::from(column.scale), widest);
        }
        for (voter, expected) in weights.iter().enumerate() {
            let at = roll.position(&key(voter)).expect("every owner is a voter");
            let real = &roll.voters()[at];
            let units = spec.units.iter().filter(|(owner, _)| *owner == voter).count();
            prop_assert_eq!(real.units.len(), units);
            for (i, column) in roll.columns().iter().enumerate() {
                prop_assert_eq!(&exact(real.weights[i], column.scale), &expected[i]);
            }
        }
        prop_assert!(same_totals(&tally.yes, &reference.yes, &roll));
        prop_assert!(same_totals(&tally.no, &reference.no, &roll));
        prop_assert!(same_totals(&tally.abstain, &reference.abstain, &roll));
        prop_assert!(same_totals(&tally.electorate, &reference.roll, &roll));
        prop_assert!(same_totals(&tally.participants(), &reference.participants(), &roll));
        prop_assert!(same_totals(&tally.cast(), &reference.cast(), &roll));
        // Those who stayed away, gathered as the yes group of a count where only they vote.
        let away: Vec<Option<Choice>> = ballots
            .iter()
            .map(|b| if b.is_none() { Some(Choice::Yes) } else { None })
            .collect();
        prop_assert!(same_totals(&tally.remaining(), &Reference::count(&weights, &away).yes, &roll));
    }

    #[test]
    fn conditions_and_outcomes_match_the_reference(
        (spec, ballots) in vote(40),
        levels in rule_spec(),
    ) {
        // Arrange
        let names = spec.names();
        let roll = spec.roll();
        let rule = build_rule(&levels, &names);
        let tally = real_tally(&roll, &ballots);
        let reference = Reference::count(&spec.weights(), &ballots);

        // Act
        let evaluation = evaluate(&rule, roll.columns(), &tally);

        // Assert
        prop_assert_eq!(evaluation.conditions.len(), rule.conditions().count());
        for (report, condition) in evaluation.conditions.iter().zip(rule.conditions()) {
            prop_assert_eq!(&report.condition, condition);
            let column = column_of(condition, &names);
            let scale = column.map_or(0, |i| roll.columns()[i].scale);
            prop_assert_eq!(report.scale, scale);
            let numerator = match condition.kind {
                Kind::Quorum => reference.participants(),
                Kind::Approval => reference.yes.clone(),
            };
            let base = match condition.of {
                Base::Roll => reference.roll.clone(),
                Base::Participants => reference.participants(),
                Base::Cast => reference.cast(),
            };
            prop_assert_eq!(exact(report.numerator, scale), numerator.amount(column));
            prop_assert_eq!(exact(report.base, scale), base.amount(column));
            prop_assert_eq!(
                report.holds,
                reference_holds(condition, &names, &reference.sums()),
                "{}", condition
            );
        }
        prop_assert_eq!(
            evaluation.outcome,
            reference_outcome(&rule, &names, &reference)
        );
    }

    #[test]
    fn needed_is_the_least_extra_yes_that_makes_a_condition_hold(
        (spec, ballots) in vote(40),
        levels in rule_spec(),
    ) {
        // Arrange
        let names = spec.names();
        let roll = spec.roll();
        let rule = build_rule(&levels, &names);
        let tally = real_tally(&roll, &ballots);

        // Act
        let evaluation = evaluate(&rule, roll.columns(), &tally);

        // Assert
        for report in &evaluation.conditions {
            let condition = &report.condition;
            let column = column_of(condition, &names);
            if report.holds {
                prop_assert_eq!(report.needed, Some(0), "{}", condition);
                prop_assert!(report.reachable);
                continue;
            }
            match report.needed {
                Some(n) => {
                    prop_assert!(
                        holds_with_more_yes(&tally, condition, column, n),
                        "{} does not hold with {} more", condition, n
                    );
                    if n > 0 {
                        prop_assert!(
                            !holds_with_more_yes(&tally, condition, column, n - 1),
                            "{} already holds with {} more", condition, n - 1
                        );
                    }
                }
                None => {
                    prop_assert!(condition.kind == Kind::Approval && condition.of != Base::Roll);
                    let huge = if column.is_none() { 1_000_000_000_000 } else { 10u128.pow(30) };
                    prop_assert!(!holds_with_more_yes(&tally, condition, column, huge));
                    prop_assert!(!report.reachable);
                }
            }
        }
    }

    #[test]
    fn certainty_matches_brute_force_over_every_way_the_rest_could_vote(
        (spec, ballots) in roll_spec(7, 300, 3).prop_flat_map(|spec| {
            let voters = spec.voters;
            let ballot = prop_oneof![
                3 => Just(None),
                1 => Just(Some(Choice::Yes)),
                1 => Just(Some(Choice::No)),
                1 => Just(Some(Choice::Abstain)),
            ];
            (Just(spec), prop::collection::vec(ballot, voters))
        }),
        levels in rule_spec(),
    ) {
        // Arrange
        let ballots = at_most_away(ballots, 5);
        let names = spec.names();
        let roll = spec.roll();
        let rule = build_rule(&levels, &names);
        let tally = real_tally(&roll, &ballots);

        // Act
        let evaluation = evaluate(&rule, roll.columns(), &tally);

        // Assert
        let expected = brute_force_certainty(&rule, &names, &spec.weights(), &ballots);
        prop_assert_eq!(evaluation.certainty, expected);
        prop_assert_eq!(tally::certainty(&rule, roll.columns(), &tally), expected);
    }
}

// ---------------------------------------------------------------------------------------------
// Decimals and fractions
// ---------------------------------------------------------------------------------------------

/// The exact value of decimal text by hand: all digits over 10^(digits after the point).
fn reference_decimal(text: &str) -> BigRational {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{integer}{fraction}");
    let places = u32::try_from(fraction.len()).expect("short fractions");
    BigRational::new(
        BigInt::parse_bytes(digits.as_bytes(), 10).expect("digits"),
        BigInt::from(10).pow(places),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decimals_print_and_parse_back_unchanged(
        scale in 0u8..=6,
        integer in prop_oneof![0u128..=1_000, 0u128..=MAX_WEIGHT_INTEGER],
        digits in any::<u64>(),
    ) {
        // Arrange
        let power = 10u128.pow(u32::from(scale));
        let units = integer * power + u128::from(digits) % power;
        let decimal = Decimal::new(units, scale);

        // Act
        let text = decimal.to_string();
        let grouped = decimal.grouped();

        // Assert
        prop_assert_eq!(Decimal::parse(&text), Ok(decimal));
        prop_assert_eq!(reference_decimal(&text), exact(units, scale));
        prop_assert_eq!(grouped.replace(',', ""), text.clone());
        let integer_part = grouped.split('.').next().unwrap_or_default();
        prop_assert!(integer_part.split(',').skip(1).all(|group| group.len() == 3), "{}", grouped);
        prop_assert!(integer_part.split(',').next().is_some_and(|g| (1..=3).contains(&g.len())));
    }

    #[test]
    fn decimal_text_parses_to_its_exact_value_or_says_why_not(
        integer in prop_oneof![
            4 => "[0-9]{1,15}",
            1 => prop::sample::select(vec![
                "999999999999", "1000000000000", "1000000000001", "0001000000000000",
            ]).prop_map(str::to_owned),
        ],
        fraction in "[0-9]{0,7}",
    ) {
        // Arrange
        let text = if fraction.is_empty() { integer.clone() } else { format!("{integer}.{fraction}") };
        let integer_value = BigInt::parse_bytes(integer.as_bytes(), 10).expect("digits");

        // Act
        let parsed = Decimal::parse(&text);

        // Assert
        if fraction.len() > 6 {
            prop_assert!(matches!(parsed, Err(QuantityError::TooManyDecimals(_))), "{:?}", parsed);
        } else if integer_value > BigInt::from(MAX_WEIGHT_INTEGER) {
            prop_assert!(matches!(parsed, Err(QuantityError::TooLarge(_))), "{:?}", parsed);
        } else {
            let decimal = parsed.expect("within limits");
            prop_assert_eq!(usize::from(decimal.scale), fraction.len());
            prop_assert_eq!(exact(decimal.units, decimal.scale), reference_decimal(&text));
        }
    }

    #[test]
    fn fractions_compare_like_rationals(
        (p, q) in (1u64..=MAX_DENOMINATOR).prop_flat_map(|q| (0..=q, Just(q))),
        (part, whole, on_the_line) in prop_oneof![
            (0u128..1 << 96, 1u128..1 << 96, Just(false)),
            (0u128..50, 1u128..50, Just(false)),
            (1u128..1 << 60, Just(0u128), Just(true)),
        ],
    ) {
        // Arrange: `on_the_line` puts part/whole exactly at p/q (k·p / k·q).
        let (part, whole) = if on_the_line {
            (part * u128::from(p), part * u128::from(q))
        } else {
            (part, whole)
        };
        let text = format!("{p}/{q}");
        let fraction = Fraction::parse(&text).expect("p ≤ q ≤ the limit");

        // Act
        let order = fraction.compare(part, whole);

        // Assert
        let expected = BigRational::new(BigInt::from(part), BigInt::from(whole))
            .cmp(&BigRational::new(BigInt::from(p), BigInt::from(q)));
        prop_assert_eq!(order, expected);
        if on_the_line {
            prop_assert_eq!(order, Ordering::Equal);
        }
        prop_assert_eq!(Fraction::new(p, q), Some(fraction));
        prop_assert_eq!(fraction.to_string(), text);
        prop_assert_eq!(Fraction::new(q + 1, q), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Elections (DESIGN §4)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mark {
    Away,
    /// A paper ballot spoiled on purpose.
    Spoiled,
    /// Approves these candidates; more than `seats` of them is refused and counted as spoiled.
    Approve(Vec<usize>),
}

#[derive(Debug, Clone)]
struct ElectionSpec {
    roll: RollSpec,
    candidates: usize,
    seats: usize,
    alternates: usize,
    marks: Vec<Mark>,
    /// A preset name, or `None` for `conditions`.
    preset: Option<&'static str>,
    conditions: Vec<ConditionSpec>,
    tie_break: Vec<usize>,
}

fn election_spec() -> impl Strategy<Value = ElectionSpec> {
    let presets = prop_oneof![
        Just(Some("simple-majority")),
        Just(Some("cn-278")),
        Just(None),
        Just(None),
        Just(None),
    ];
    let conditions = prop_oneof![
        4 => prop::collection::vec(lenient_condition_spec(), 1..=2),
        1 => prop::collection::vec(condition_spec(), 1..=2),
    ];
    (
        // Weights of 0 or 1, or all 0 so that only headcounts rank.
        prop_oneof![roll_spec(20, 1, 0), roll_spec(20, 0, 0)],
        2..=6usize,
        1..=3usize,
        0..=2usize,
        presets,
        conditions,
        any::<bool>(),
    )
        .prop_flat_map(
            |(roll, candidates, seats, alternates, preset, conditions, twins)| {
                let seats = if twins { seats.max(2) } else { seats };
                let everyone: Vec<usize> = (0..candidates).collect();
                // Earlier candidates are more popular, so that some reach a majority. With
                // `twins`, candidates 2k and 2k + 1 have exactly the same approvers (ballots keep
                // whole pairs), so ties are certain.
                let liked: Vec<_> = (0..candidates)
                    .map(|c| prop::bool::weighted(0.8 - 0.1 * c as f64))
                    .collect();
                let approved = liked.prop_map(move |liked| {
                    (0..liked.len())
                        .filter(|c| liked[if twins { c - c % 2 } else { *c }])
                        .collect::<Vec<usize>>()
                });
                let mark = prop_oneof![
                    1 => Just(Mark::Away),
                    1 => Just(Mark::Spoiled),
                    10 => approved.clone().prop_map(move |mut chosen| {
                        // Ascending, so any candidate without a twin comes last.
                        chosen.truncate(if twins { seats - seats % 2 } else { seats });
                        Mark::Approve(chosen)
                    }),
                    1 => approved.prop_map(Mark::Approve),
                ];
                let marks = prop::collection::vec(mark, roll.voters);
                // None, some or (a third of the time) all candidates in a recorded order.
                let tie_break = (
                    Just(everyone).prop_shuffle(),
                    0..=candidates + candidates / 2,
                )
                    .prop_map(|(order, keep)| order.into_iter().take(keep).collect::<Vec<_>>());
                (
                    Just((roll, candidates, seats, alternates, preset, conditions)),
                    marks,
                    tie_break,
                )
            },
        )
        .prop_map(
            |((roll, candidates, seats, alternates, preset, conditions), marks, tie_break)| {
                ElectionSpec {
                    roll,
                    candidates,
                    seats,
                    alternates,
                    marks,
                    preset,
                    conditions,
                    tie_break,
                }
            },
        )
}

/// What the reference expects of one candidate.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    qualifies: bool,
    rank: Option<usize>,
    standing: Standing,
}

/// The election counted by hand: each candidate as a motion (approvals yes, other valid ballots
/// no, spoiled ballots abstain); the qualified ranked by approvals then first weight; a tie the
/// recorded tie-break does not fully name is reported when it decides who sits or the
/// alternates' order.
fn reference_election(
    spec: &ElectionSpec,
    rule: &Rule,
    names: &[String],
    ballots: &[Option<ElectionBallot>],
) -> (Vec<Expected>, Vec<Tie>) {
    let weights = spec.roll.weights();
    let mut references = Vec::new();
    for candidate in 0..spec.candidates {
        let motion: Vec<Option<Choice>> = ballots
            .iter()
            .map(|ballot| match ballot {
                None => None,
                Some(ElectionBallot::Invalid) => Some(Choice::Abstain),
                Some(ElectionBallot::Approve(chosen)) if chosen.contains(&candidate) => {
                    Some(Choice::Yes)
                }
                Some(ElectionBallot::Approve(_)) => Some(Choice::No),
            })
            .collect();
        references.push(Reference::count(&weights, &motion));
    }
    let strength = |c: usize| {
        let yes = &references[c].yes;
        (
            yes.headcount,
            yes.weights.first().cloned().unwrap_or_else(zero),
        )
    };
    let mut expected: Vec<Expected> = (0..spec.candidates)
        .map(|c| Expected {
            qualifies: matches!(
                reference_outcome(rule, names, &references[c]),
                Outcome::Passed(_)
            ),
            rank: None,
            standing: Standing::NotQualified,
        })
        .collect();
    let mut qualified: Vec<usize> = (0..spec.candidates)
        .filter(|c| expected[*c].qualifies)
        .collect();
    qualified.sort_by_key(|c| std::cmp::Reverse(strength(*c)));
    let slot = |position: usize| {
        if position <= spec.seats {
            Standing::Elected
        } else if position <= spec.seats + spec.alternates {
            Standing::Alternate(position - spec.seats)
        } else {
            Standing::NotElected
        }
    };
    let listed = |c: usize| spec.tie_break.iter().position(|t| *t == c);
    let mut ties = Vec::new();
    let mut start = 0;
    while start < qualified.len() {
        let mut group: Vec<usize> = qualified[start..]
            .iter()
            .copied()
            .take_while(|c| strength(*c) == strength(qualified[start]))
            .collect();
        let (first, last) = (start + 1, start + group.len());
        if group.len() == 1 || group.iter().all(|c| listed(*c).is_some()) {
            group.sort_by_key(|c| listed(*c));
            for (offset, c) in group.iter().enumerate() {
                expected[*c].rank = Some(first + offset);
                expected[*c].standing = slot(first + offset);
            }
        } else {
            let slots: Vec<Standing> = (first..=last).map(slot).collect();
            let decides = slots.iter().any(|s| *s != slots[0]);
            for c in &group {
                expected[*c].rank = Some(first);
                expected[*c].standing = if decides { Standing::Tied } else { slots[0] };
            }
            if decides {
                group.sort_unstable();
                ties.push(Tie {
                    candidates: group,
                    first_position: first,
                    last_position: last,
                });
            }
        }
        start = last;
    }
    (expected, ties)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn election_ranking_matches_a_naive_count(spec in election_spec()) {
        // Arrange
        let names = spec.roll.names();
        let roll = spec.roll.roll();
        let candidates: Vec<Candidate> = (0..spec.candidates)
            .map(|c| Candidate { id: format!("c{c}"), name: String::new() })
            .collect();
        let election = Election::new(candidates, spec.seats, spec.alternates)
            .expect("generated elections are valid");
        let rule = match spec.preset {
            Some(name) => Rule::preset(name).expect("known preset"),
            None => build_rule(std::slice::from_ref(&spec.conditions), &names),
        };
        let mut ballots: Vec<Option<ElectionBallot>> = Vec::new();
        for mark in &spec.marks {
            ballots.push(match mark {
                Mark::Away => None,
                Mark::Spoiled => Some(ElectionBallot::Invalid),
                Mark::Approve(chosen) => {
                    let ids: Vec<String> = chosen.iter().map(|c| format!("c{c}")).collect();
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    match election.ballot(&ids) {
                        Ok(ballot) => {
                            prop_assert!(chosen.len() <= spec.seats);
                            let expected: BTreeSet<usize> = chosen.iter().copied().collect();
                            prop_assert_eq!(&ballot, &ElectionBallot::Approve(expected));
                            Some(ballot)
                        }
                        Err(refused) => {
                            prop_assert_eq!(
                                refused,
                                ElectionError::OverVoted { approved: chosen.len(), seats: spec.seats }
                            );
                            Some(ElectionBallot::Invalid)
                        }
                    }
                }
            });
        }
        let positions: Vec<usize> = (0..spec.roll.voters)
            .map(|v| roll.position(&key(v)).expect("every voter is on the roll"))
            .collect();

        // Act
        let result: ElectionResult = count_election(
            &election,
            &rule,
            &roll,
            ballots
                .iter()
                .zip(&positions)
                .filter_map(|(b, at)| b.as_ref().map(|b| (*at, b))),
            &spec.tie_break,
        );

        // Assert
        let (expected, ties) = reference_election(&spec, &rule, &names, &ballots);
        prop_assert_eq!(result.candidates.len(), spec.candidates);
        for r in &result.candidates {
            let got = Expected { qualifies: r.qualifies, rank: r.rank, standing: r.standing };
            prop_assert_eq!(&got, &expected[r.candidate], "candidate c{}", r.candidate);
        }
        prop_assert_eq!(&result.ties, &ties);
        let mut elected = result.elected();
        elected.sort_unstable();
        let expected_elected: Vec<usize> = (0..spec.candidates)
            .filter(|c| expected[*c].standing == Standing::Elected)
            .collect();
        prop_assert_eq!(elected, expected_elected);
        let mut alternates: Vec<(usize, usize)> = expected
            .iter()
            .enumerate()
            .filter_map(|(c, e)| match e.standing {
                Standing::Alternate(order) => Some((order, c)),
                _ => None,
            })
            .collect();
        alternates.sort_unstable();
        let alternates: Vec<usize> = alternates.into_iter().map(|(_, c)| c).collect();
        prop_assert_eq!(result.alternates(), alternates);
        prop_assert!(result.elected().len() <= spec.seats);
    }
}
