//! Property tests of the election logic the server and the verifier share (issue 8): the vote
//! writer's running count against a fresh count, the ledger spelling of a ballot, the lot drawn
//! from a seed against a plain re-implementation, and the verifier's recount from ledger entries
//! against the count from the roll.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use yishi::domain::certificate::{ElectoratePart, recount_election};
use yishi::domain::election::{
    Candidate, Election, ElectionBallot, ElectionTally, Standing, count_election, draw_lot, rank,
};
use yishi::domain::ledger::{Channel, Entry, voter_weights};
use yishi::domain::report;
use yishi::domain::roll::Roll;
use yishi::domain::rule::Rule;
use yishi::domain::tally::Tally;

/// A roll of `areas.len()` households `h0`, `h1`, … with whole-number areas.
fn roll(areas: &[u32]) -> Roll {
    let mut csv = String::from("voter,unit,area\n");
    for (i, a) in areas.iter().enumerate() {
        csv.push_str(&format!("h{i},u{i},{a}\n"));
    }
    Roll::from_csv(&csv).expect("a valid roll")
}

fn election(candidates: usize, seats: usize, alternates: usize) -> Election {
    Election::new(
        (0..candidates)
            .map(|i| Candidate {
                id: format!("c{}", i + 1),
                name: format!("Candidate {i}"),
            })
            .collect(),
        seats,
        alternates,
    )
    .expect("a valid election")
}

/// A ballot from random marks: the first `seats` distinct candidates marked, or spoiled.
fn ballot(marks: &[usize], candidates: usize, seats: usize, spoiled: bool) -> ElectionBallot {
    if spoiled {
        return ElectionBallot::Invalid;
    }
    let chosen: BTreeSet<usize> = marks.iter().map(|m| m % candidates).collect();
    ElectionBallot::Approve(chosen.into_iter().take(seats).collect())
}

#[derive(Debug, Clone)]
struct Case {
    areas: Vec<u32>,
    candidates: usize,
    seats: usize,
    alternates: usize,
    /// Per household: (votes at all, spoiled, marks); then a second round of changed ballots.
    first: Vec<(bool, bool, Vec<usize>)>,
    second: Vec<(bool, bool, Vec<usize>)>,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..14, 1usize..6, 1usize..4, 0usize..3).prop_flat_map(|(n, candidates, seats, alt)| {
        let round = || {
            prop::collection::vec(
                (
                    any::<bool>(),
                    prop::bool::weighted(0.1),
                    prop::collection::vec(0usize..8, 0..5),
                ),
                n,
            )
        };
        (prop::collection::vec(1u32..6, n), round(), round()).prop_map(
            move |(areas, first, second)| Case {
                // Few distinct areas and few candidates make ties common.
                areas: areas.into_iter().map(|a| a * 10).collect(),
                candidates,
                seats: seats.min(candidates),
                alternates: alt,
                first,
                second,
            },
        )
    })
}

/// The ballots each household holds after both rounds (a later ballot replaces an earlier one).
fn latest(case: &Case) -> BTreeMap<usize, ElectionBallot> {
    let mut held = BTreeMap::new();
    for round in [&case.first, &case.second] {
        for (at, (votes, spoiled, marks)) in round.iter().enumerate() {
            if *votes {
                held.insert(at, ballot(marks, case.candidates, case.seats, *spoiled));
            }
        }
    }
    held
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The writer adds each ballot and takes back the one it replaces; the result must equal a
    /// count of the final ballots from scratch.
    #[test]
    fn a_running_count_with_changed_ballots_equals_a_fresh_count(case in case()) {
        let roll = roll(&case.areas);
        let election = election(case.candidates, case.seats, case.alternates);
        let rule = Rule::preset("cn-278").unwrap();
        let mut running = ElectionTally::new(case.candidates, Tally::new(&roll).electorate);
        let mut held: BTreeMap<usize, ElectionBallot> = BTreeMap::new();
        for round in [&case.first, &case.second] {
            for (at, (votes, spoiled, marks)) in round.iter().enumerate() {
                if !*votes { continue; }
                let weights = &roll.voters()[at].weights;
                if let Some(old) = held.get(&at) {
                    running.remove(weights, old);
                }
                let new = ballot(marks, case.candidates, case.seats, *spoiled);
                running.add(weights, &new);
                held.insert(at, new);
            }
        }
        let fresh = count_election(&election, &rule, &roll, held.iter().map(|(at, b)| (*at, b)), &[]);
        let ranked = rank(&election, &rule, roll.columns(), &running, &[]);
        prop_assert_eq!(ranked, fresh);
        prop_assert_eq!(held, latest(&case));
    }

    /// What the ledger writes reads back as the same ballot; a paper ballot with too many marks
    /// is spoiled, online it is refused.
    #[test]
    fn ledger_choices_read_back_and_over_voting_spoils_only_paper(
        candidates in 1usize..8, seats in 1usize..4, marks in prop::collection::btree_set(0usize..8, 0..8),
    ) {
        let seats = seats.min(candidates);
        let election = election(candidates, seats, 0);
        let marks: BTreeSet<usize> = marks.into_iter().filter(|m| *m < candidates).collect();
        let ids: Vec<String> = marks.iter().map(|m| format!("c{}", m + 1)).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        match election.ballot(&ids) {
            Ok(b) => {
                prop_assert!(marks.len() <= seats);
                let text = election.choice_text(&b);
                prop_assert_eq!(election.parse_choice(&text).unwrap(), b.clone());
                prop_assert_eq!(election.paper_ballot(&ids).unwrap(), b);
            }
            Err(_) => {
                prop_assert!(marks.len() > seats);
                prop_assert_eq!(election.paper_ballot(&ids).unwrap(), ElectionBallot::Invalid);
                prop_assert_eq!(election.parse_choice("invalid").unwrap(), ElectionBallot::Invalid);
            }
        }
    }

    /// The lot against a plain re-implementation: a permutation, the same whatever order the
    /// ids come in, and ordered by SHA-256 of seed, zero byte, id.
    #[test]
    fn a_lot_is_a_permutation_anyone_can_redraw(
        seed in "[ -~]{0,40}", ids in prop::collection::btree_set("[a-z0-9]{1,8}", 1..12),
    ) {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let drawn = draw_lot(&seed, &ids);
        let mut reversed = ids.clone();
        reversed.reverse();
        prop_assert_eq!(&drawn, &draw_lot(&seed, &reversed));
        let key = |id: &str| {
            let mut bytes = seed.as_bytes().to_vec();
            bytes.push(0);
            bytes.extend_from_slice(id.as_bytes());
            hex::encode(Sha256::digest(&bytes))
        };
        for pair in drawn.windows(2) {
            prop_assert!(key(&pair[0]) < key(&pair[1]));
        }
        let mut sorted = drawn.clone();
        sorted.sort();
        let mut expected: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        prop_assert_eq!(sorted, expected);
    }

    /// A lot over every candidate leaves no tie, keeps the count's order where the count
    /// decides, and orders each tie as drawn.
    #[test]
    fn a_lot_breaks_every_tie_and_only_ties(case in case(), seed in "[a-z]{1,12}") {
        let roll = roll(&case.areas);
        let election = election(case.candidates, case.seats, case.alternates);
        let rule = Rule::preset("simple-majority").unwrap();
        let held = latest(&case);
        let ids: Vec<&str> = election.candidates().iter().map(|c| c.id.as_str()).collect();
        let order: Vec<usize> = draw_lot(&seed, &ids).iter().map(|id| election.position(id).unwrap()).collect();
        let result = count_election(&election, &rule, &roll, held.iter().map(|(at, b)| (*at, b)), &order);
        prop_assert!(result.ties.is_empty());
        let qualified: Vec<_> = result.candidates.iter().filter(|c| c.qualifies).collect();
        for (i, pair) in qualified.windows(2).enumerate() {
            let strength = |c: &yishi::domain::election::CandidateResult| (c.tally.yes.headcount, c.tally.yes.weights[0]);
            let (a, b) = (strength(pair[0]), strength(pair[1]));
            prop_assert!(a >= b);
            if a == b {
                let at = |c: usize| order.iter().position(|o| *o == c).unwrap();
                prop_assert!(at(pair[0].candidate) < at(pair[1].candidate));
            }
            prop_assert_eq!(pair[0].rank, Some(i + 1));
            prop_assert!(pair[0].standing != Standing::Tied);
        }
    }

    /// The verifier's recount from ledger entries (weights as decimal strings, the latest entry
    /// per voter) gives the same ranking as the server's count from the roll.
    #[test]
    fn the_verifiers_recount_from_the_ledger_equals_the_count_from_the_roll(case in case()) {
        let roll = roll(&case.areas);
        let election = election(case.candidates, case.seats, case.alternates);
        let rule = Rule::preset("cn-278").unwrap();
        let mut entries = Vec::new();
        for round in [&case.first, &case.second] {
            for (at, (votes, spoiled, marks)) in round.iter().enumerate() {
                if !*votes { continue; }
                let b = ballot(marks, case.candidates, case.seats, *spoiled);
                entries.push(Entry {
                    seq: entries.len() as u64 + 1,
                    proposal: "p".into(),
                    voter: roll.voters()[at].key.clone(),
                    choice: election.choice_text(&b),
                    weights: voter_weights(&roll, at),
                    channel: Channel::Assisted,
                    at: "2026-11-28T10:00:00Z".into(),
                    prev: String::new(),
                });
            }
        }
        let total = Tally::new(&roll).electorate;
        let electorate = ElectoratePart {
            hash: String::new(),
            headcount: total.headcount,
            weights: BTreeMap::from([("area".to_owned(), total.weights[0].to_string())]),
        };
        let (columns, recounted) = recount_election(&electorate, true, &entries, &election).unwrap();
        let held = latest(&case);
        let fresh = count_election(&election, &rule, &roll, held.iter().map(|(at, b)| (*at, b)), &[]);
        let from_ledger = rank(&election, &rule, &columns, &recounted, &[]);
        prop_assert_eq!(
            report::election_json(&election, &columns, &from_ledger),
            report::election_json(&election, roll.columns(), &fresh)
        );
    }
}
