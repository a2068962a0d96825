//! Worked cases of the counting core, each checked against a hand calculation written beside it:
//! the compound's road repair, every threshold boundary, the presets' levels, empty and abstaining
//! votes, `needed`, certainty, and committee elections with ties, alternates and succession.

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use yishi::domain::election::{
    Candidate, Committee, Election, ElectionBallot, ElectionError, ElectionResult, NotAMember,
    Standing, Tie, count_election,
};
use yishi::domain::report;
use yishi::domain::roll::Roll;
use yishi::domain::rule::{Condition, Level, Rule, RuleError};
use yishi::domain::tally::{
    Certainty, Choice, ConditionReport, Evaluation, Outcome, Tally, evaluate,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------------------------
// Rolls, ballots and lookups
// ---------------------------------------------------------------------------------------------

/// The compound of 105 households in four buildings:
///
/// | households | flats          | area each | area        |
/// |------------|----------------|-----------|-------------|
/// | a01–a30    | 30 in building 1 | 42.00 m² | 1,260.00 m² |
/// | b01–b45    | 45 in building 2 | 48.50 m² | 2,182.50 m² |
/// | c01–c20    | 20 in building 3 | 55.25 m² | 1,105.00 m² |
/// | d01–d10    | 10 in building 4 | 66.25 m² |   662.50 m² |
/// | 105        |                |           | 5,210.00 m² |
fn compound() -> Roll {
    let mut csv = String::from("voter,unit,name,area,tags\n");
    for (group, count, area, building) in [
        ('a', 30, "42.00", 1),
        ('b', 45, "48.50", 2),
        ('c', 20, "55.25", 3),
        ('d', 10, "66.25", 4),
    ] {
        for n in 1..=count {
            writeln!(
                csv,
                "{group}{n:02},{building}-{n:02},,{area},building-{building}"
            )
            .expect("write to a String");
        }
    }
    Roll::from_csv(&csv).expect("the compound's roll is valid")
}

/// `count` households `h001`, `h002`, … each with the same area.
fn uniform_roll(count: usize, area: &str) -> Roll {
    let mut csv = String::from("voter,unit,area\n");
    for n in 1..=count {
        writeln!(csv, "h{n:03},unit-{n:03},{area}").expect("write to a String");
    }
    Roll::from_csv(&csv).expect("a uniform roll is valid")
}

/// Household keys `a01`…: `households('b', 1..=45)` is the whole of building 2.
fn households(group: char, numbers: RangeInclusive<u32>) -> Vec<String> {
    numbers.map(|n| format!("{group}{n:02}")).collect()
}

/// Keys of [`uniform_roll`] households.
fn numbered(numbers: RangeInclusive<u32>) -> Vec<String> {
    numbers.map(|n| format!("h{n:03}")).collect()
}

/// Motion ballots by roll key, counted over a roll.
#[derive(Default)]
struct Ballots(Vec<(String, Choice)>);

impl Ballots {
    fn new() -> Self {
        Self::default()
    }

    fn cast<S: Into<String>>(mut self, choice: Choice, keys: impl IntoIterator<Item = S>) -> Self {
        for key in keys {
            let key = key.into();
            assert!(
                self.0.iter().all(|(k, _)| *k != key),
                "{key} votes twice in the test"
            );
            self.0.push((key, choice));
        }
        self
    }

    fn yes<S: Into<String>>(self, keys: impl IntoIterator<Item = S>) -> Self {
        self.cast(Choice::Yes, keys)
    }

    fn no<S: Into<String>>(self, keys: impl IntoIterator<Item = S>) -> Self {
        self.cast(Choice::No, keys)
    }

    fn abstain<S: Into<String>>(self, keys: impl IntoIterator<Item = S>) -> Self {
        self.cast(Choice::Abstain, keys)
    }

    fn count(&self, roll: &Roll) -> Tally {
        Tally::count(
            roll,
            self.0.iter().map(|(key, choice)| {
                let at = roll
                    .position(key)
                    .unwrap_or_else(|| panic!("{key} is not on the roll"));
                (at, *choice)
            }),
        )
    }
}

/// The road repair: `cn-278-major` plus "more than half of all households approve".
fn road_repair() -> Result<Rule, RuleError> {
    Rule::preset("cn-278-major")?.with_also(vec![Condition::parse(
        "approval headcount of roll more_than 1/2",
    )?])
}

/// A one-level rule from conditions in the text spelling.
fn rule_of(conditions: &[&str]) -> Result<Rule, RuleError> {
    Rule::new(vec![Level {
        label: "passed".to_owned(),
        conditions: conditions
            .iter()
            .map(|c| Condition::parse(c))
            .collect::<Result<_, _>>()?,
    }])
}

fn evaluate_on(rule: &Rule, roll: &Roll, tally: &Tally) -> Result<Evaluation, RuleError> {
    rule.check_against(roll.columns())?;
    Ok(evaluate(rule, roll.columns(), tally))
}

/// The report of the first condition spelled `text`.
fn condition<'a>(evaluation: &'a Evaluation, text: &str) -> &'a ConditionReport {
    evaluation
        .conditions
        .iter()
        .find(|c| c.condition.to_string() == text)
        .unwrap_or_else(|| panic!("no condition `{text}` in the rule"))
}

fn passed() -> Outcome {
    Outcome::Passed("passed".to_owned())
}

const QUORUM_AREA: &str = "quorum area of roll at_least 2/3";
const QUORUM_HEADCOUNT: &str = "quorum headcount of roll at_least 2/3";
const MAJOR_AREA: &str = "approval area of participants at_least 3/4";
const MAJOR_HEADCOUNT: &str = "approval headcount of participants at_least 3/4";
const ORDINARY_AREA: &str = "approval area of participants more_than 1/2";
const ORDINARY_HEADCOUNT: &str = "approval headcount of participants more_than 1/2";
const HALF_OF_ALL: &str = "approval headcount of roll more_than 1/2";

// ---------------------------------------------------------------------------------------------
// The compound's road repair (DESIGN §1)
// ---------------------------------------------------------------------------------------------

#[test]
fn road_repair_passes_with_three_quarters_of_participants_and_more_than_half_of_all_households()
-> TestResult {
    // Arrange
    let roll = compound();
    let rule = road_repair()?;
    // yes:     b01–b45 (45 × 48.50 = 2,182.50) + a01–a20 (20 × 42.00 = 840.00)
    //          + c01–c10 (10 × 55.25 = 552.50)            = 75 households, 3,575.00 m²
    // no:      a21–a25 (5 × 42.00 = 210.00) + c11–c13 (3 × 55.25 = 165.75)
    //                                                      =  8 households,   375.75 m²
    // abstain: d01–d02 (2 × 66.25)                         =  2 households,   132.50 m²
    // took part                                            = 85 households, 4,083.25 m²
    let ballots = Ballots::new()
        .yes(households('b', 1..=45))
        .yes(households('a', 1..=20))
        .yes(households('c', 1..=10))
        .no(households('a', 21..=25))
        .no(households('c', 11..=13))
        .abstain(households('d', 1..=2));

    // Act
    let tally = ballots.count(&roll);
    let evaluation = evaluate_on(&rule, &roll, &tally)?;

    // Assert
    assert_eq!(tally.electorate.headcount, 105);
    assert_eq!(tally.electorate.weights, vec![521_000]);
    assert_eq!(tally.yes.headcount, 75);
    assert_eq!(tally.yes.weights, vec![357_500]);
    assert_eq!(tally.participants().headcount, 85);
    assert_eq!(tally.participants().weights, vec![408_325]);
    // quorum area:      4,083.25 × 3 = 12,249.75 ≥ 5,210.00 × 2 = 10,420.00
    // quorum headcount: 85 × 3 = 255 ≥ 105 × 2 = 210
    // approval area:    3,575.00 × 4 = 14,300.00 ≥ 4,083.25 × 3 = 12,249.75
    // approval heads:   75 × 4 = 300 ≥ 85 × 3 = 255
    // half of all:      75 × 2 = 150 > 105 × 1 = 105
    for text in [
        QUORUM_AREA,
        QUORUM_HEADCOUNT,
        MAJOR_AREA,
        MAJOR_HEADCOUNT,
        HALF_OF_ALL,
    ] {
        let report = condition(&evaluation, text);
        assert!(report.holds, "{text}");
        assert_eq!(report.needed, Some(0), "{text}");
    }
    assert_eq!(evaluation.outcome, passed());
    // If the 20 who have not voted all said no: 75 × 4 = 300 < 105 × 3 = 315, so it is not
    // certain yet; if they all said yes it would pass.
    assert_eq!(evaluation.certainty, Certainty::Open);
    let text = report::motion_text(roll.columns(), &tally, &evaluation);
    assert!(text.contains("Outcome: PASSED"), "{text}");
    assert!(text.contains("75 of all 105 households (71.4%)"), "{text}");
    assert!(
        text.contains("75 of the 85 households that took part (88.2%)"),
        "{text}"
    );
    Ok(())
}

#[test]
fn road_repair_majority_of_all_households_follows_from_quorum_and_three_quarters_at_105()
-> TestResult {
    // With 105 households the extra condition can never be the only one that fails:
    // quorum: took part P ≥ 2/3 × 105 = 70; approval: yes Y ≥ 3/4 × P ≥ 52.5, so Y ≥ 53, and
    // 53 × 2 = 106 > 105. Checked here for every P and Y with the real count.
    // Arrange
    let roll = compound();
    let rule = road_repair()?;
    let mut both_headcount_tests_held = 0;
    for took_part in 0..=105 {
        for yes in 0..=took_part {
            let ballots = (0..took_part).map(|at| {
                let choice = if at < yes { Choice::Yes } else { Choice::No };
                (at, choice)
            });

            // Act
            let evaluation = evaluate_on(&rule, &roll, &Tally::count(&roll, ballots))?;

            // Assert
            if condition(&evaluation, QUORUM_HEADCOUNT).holds
                && condition(&evaluation, MAJOR_HEADCOUNT).holds
            {
                both_headcount_tests_held += 1;
                assert!(
                    condition(&evaluation, HALF_OF_ALL).holds,
                    "{took_part} {yes}"
                );
            }
        }
    }
    assert!(both_headcount_tests_held > 0);
    Ok(())
}

#[test]
fn road_repair_on_102_households_fails_only_on_more_than_half_of_all_households() -> TestResult {
    // Where the number of households is a multiple of 6 every test can sit exactly on its
    // boundary: 102 households of 50.00 m² (5,100.00 m²); 68 take part, 51 say yes, 17 say no.
    // Arrange
    let roll = uniform_roll(102, "50.00");
    let rule = road_repair()?;
    let ballots = Ballots::new().yes(numbered(1..=51)).no(numbered(52..=68));

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // quorum area:      3,400.00 × 3 = 10,200.00 ≥ 5,100.00 × 2 = 10,200.00  (exactly)
    // quorum headcount: 68 × 3 = 204 ≥ 102 × 2 = 204                         (exactly)
    // approval area:    2,550.00 × 4 = 10,200.00 ≥ 3,400.00 × 3 = 10,200.00  (exactly)
    // approval heads:   51 × 4 = 204 ≥ 68 × 3 = 204                         (exactly)
    // half of all:      51 × 2 = 102, not > 102                              fails
    for text in [QUORUM_AREA, QUORUM_HEADCOUNT, MAJOR_AREA, MAJOR_HEADCOUNT] {
        assert!(condition(&evaluation, text).holds, "{text}");
    }
    let half = condition(&evaluation, HALF_OF_ALL);
    assert!(!half.holds);
    assert_eq!((half.numerator, half.base), (51, 102));
    assert_eq!(half.needed, Some(1));
    assert_eq!(evaluation.outcome, Outcome::Rejected);

    // Act: one more household says yes (52 of 69 took part).
    let evaluation = evaluate_on(&rule, &roll, &ballots.yes(["h069"]).count(&roll))?;

    // Assert: 52 × 2 = 104 > 102; 52 × 4 = 208 ≥ 69 × 3 = 207; 2,600 × 4 ≥ 3,450 × 3.
    assert_eq!(evaluation.outcome, passed());
    Ok(())
}

#[test]
fn ordinary_matter_on_the_compound_fails_only_on_more_than_half_of_all_households() -> TestResult {
    // Arrange: `cn-278` (ordinary matters) plus the same extra condition.
    let roll = compound();
    let rule = Rule::preset("cn-278")?.with_also(vec![Condition::parse(HALF_OF_ALL)?])?;
    // yes:     b01–b45 (2,182.50) + d01–d05 (5 × 66.25 = 331.25) = 50 households, 2,513.75 m²
    // no:      a01–a25 (25 × 42.00)                             = 25 households, 1,050.00 m²
    // abstain: a26–a30 (5 × 42.00)                              =  5 households,   210.00 m²
    // took part                                                 = 80 households, 3,773.75 m²
    let ballots = Ballots::new()
        .yes(households('b', 1..=45))
        .yes(households('d', 1..=5))
        .no(households('a', 1..=25))
        .abstain(households('a', 26..=30));

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // quorum area:      3,773.75 × 3 = 11,321.25 ≥ 10,420.00
    // quorum headcount: 80 × 3 = 240 ≥ 210
    // approval area:    2,513.75 × 2 = 5,027.50 > 3,773.75
    // approval heads:   50 × 2 = 100 > 80
    // half of all:      50 × 2 = 100, not > 105: 53 − 50 = 3 more yes needed
    for text in [
        QUORUM_AREA,
        QUORUM_HEADCOUNT,
        ORDINARY_AREA,
        ORDINARY_HEADCOUNT,
    ] {
        assert!(condition(&evaluation, text).holds, "{text}");
    }
    let half = condition(&evaluation, HALF_OF_ALL);
    assert!(!half.holds);
    assert_eq!(half.needed, Some(3));
    assert!(half.reachable);
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Headcount and area disagree
// ---------------------------------------------------------------------------------------------

/// Five owners: one penthouse of 180.00 m² and four flats, 420.00 m² in all.
fn five_owners() -> Roll {
    Roll::from_csv(
        "voter,unit,name,area\n\
         zhao,1-1,Zhao,180.00\n\
         qian,1-2,Qian,60.00\n\
         sun,1-3,Sun,60.00\n\
         zhou,1-4,Zhou,62.50\n\
         wu,1-5,Wu,57.50\n",
    )
    .expect("valid roll")
}

#[test]
fn headcount_majority_without_area_majority_is_rejected() -> TestResult {
    // Arrange: under cn-278, the three small flats say yes, the penthouse and Wu say no.
    let roll = five_owners();
    let rule = Rule::preset("cn-278")?;
    let ballots = Ballots::new()
        .yes(["qian", "sun", "zhou"])
        .no(["zhao", "wu"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // heads: 3 × 2 = 6 > 5 holds; area: 60.00 + 60.00 + 62.50 = 182.50, × 2 = 365.00 ≤ 420.00.
    assert!(condition(&evaluation, ORDINARY_HEADCOUNT).holds);
    let area = condition(&evaluation, ORDINARY_AREA);
    assert!(!area.holds);
    assert_eq!((area.numerator, area.base), (18_250, 42_000));
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    assert_eq!(evaluation.certainty, Certainty::CannotPass);
    Ok(())
}

#[test]
fn area_majority_without_headcount_majority_is_rejected() -> TestResult {
    // Arrange: the penthouse and Wu say yes, the other three say no.
    let roll = five_owners();
    let rule = Rule::preset("cn-278")?;
    let ballots = Ballots::new()
        .yes(["zhao", "wu"])
        .no(["qian", "sun", "zhou"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // area: 180.00 + 57.50 = 237.50, × 2 = 475.00 > 420.00 holds; heads: 2 × 2 = 4 ≤ 5.
    assert!(condition(&evaluation, ORDINARY_AREA).holds);
    let heads = condition(&evaluation, ORDINARY_HEADCOUNT);
    assert!(!heads.holds);
    assert_eq!((heads.numerator, heads.base), (2, 5));
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Boundaries: exactly p/q satisfies "at least" but not "more than"
// ---------------------------------------------------------------------------------------------

const BOUNDARIES: [(u32, u32); 3] = [(1, 2), (2, 3), (3, 4)];

#[test]
fn exactly_p_of_q_cast_is_at_least_but_not_more_than_until_one_more_yes() -> TestResult {
    for (p, q) in BOUNDARIES {
        // Arrange: q + 1 households; p say yes and q − p say no, so yes/cast = p/q exactly
        // (1 of 2, 2 of 3, 3 of 4): p × q = q × p.
        let roll = uniform_roll(q as usize + 1, "50.00");
        let at_least = format!("approval headcount of cast at_least {p}/{q}");
        let more_than = format!("approval headcount of cast more_than {p}/{q}");
        let rule = rule_of(&[&at_least, &more_than])?;
        let ballots = Ballots::new().yes(numbered(1..=p)).no(numbered(p + 1..=q));

        // Act
        let on_the_line = evaluate_on(&rule, &roll, &ballots.count(&roll))?;
        // The last household says yes: (p + 1) × q > (q + 1) × p because q > p.
        let one_more = ballots.yes(numbered(q + 1..=q + 1));
        let past_it = evaluate_on(&rule, &roll, &one_more.count(&roll))?;

        // Assert
        assert!(condition(&on_the_line, &at_least).holds, "{p}/{q}");
        assert!(!condition(&on_the_line, &more_than).holds, "{p}/{q}");
        assert_eq!(condition(&on_the_line, &more_than).needed, Some(1));
        assert!(condition(&past_it, &at_least).holds, "{p}/{q}");
        assert!(condition(&past_it, &more_than).holds, "{p}/{q}");
    }
    Ok(())
}

#[test]
fn exactly_p_of_q_of_the_roll_is_at_least_but_not_more_than_until_one_more_yes() -> TestResult {
    for (p, q) in BOUNDARIES {
        // Arrange: 2q households, 2p say yes, the rest stay away: 2p × q = 2q × p
        // (2 of 4, 4 of 6, 6 of 8).
        let roll = uniform_roll(2 * q as usize, "50.00");
        let at_least = format!("approval headcount of roll at_least {p}/{q}");
        let more_than = format!("approval headcount of roll more_than {p}/{q}");
        let rule = rule_of(&[&at_least, &more_than])?;
        let ballots = Ballots::new().yes(numbered(1..=2 * p));

        // Act
        let on_the_line = evaluate_on(&rule, &roll, &ballots.count(&roll))?;
        // One more yes: (2p + 1) × q > 2q × p.
        let one_more = ballots.yes(numbered(2 * p + 1..=2 * p + 1));
        let past_it = evaluate_on(&rule, &roll, &one_more.count(&roll))?;

        // Assert
        assert!(condition(&on_the_line, &at_least).holds, "{p}/{q}");
        assert!(!condition(&on_the_line, &more_than).holds, "{p}/{q}");
        assert!(condition(&past_it, &more_than).holds, "{p}/{q}");
    }
    Ok(())
}

#[test]
fn exactly_p_of_q_of_the_participating_area_is_at_least_but_not_more_than() -> TestResult {
    for (p, q) in BOUNDARIES {
        // Arrange: the yes owner holds p × 25.00 m², the no owner (q − p) × 25.00 m², so the
        // yes area is exactly p/q of the q × 25.00 m² that took part. A third owner of 0.01 m²
        // has not voted.
        let roll = Roll::from_csv(&format!(
            "voter,unit,area\nyes,1,{}.00\nno,2,{}.00\nlate,3,0.01\n",
            25 * p,
            25 * (q - p)
        ))?;
        let at_least = format!("approval area of participants at_least {p}/{q}");
        let more_than = format!("approval area of participants more_than {p}/{q}");
        let rule = rule_of(&[&at_least, &more_than])?;
        let ballots = Ballots::new().yes(["yes"]).no(["no"]);

        // Act
        let on_the_line = evaluate_on(&rule, &roll, &ballots.count(&roll))?;
        // The 0.01 m² owner says yes: (2500p + 1) × q > (2500q + 1) × p because q > p.
        let past_it = evaluate_on(&rule, &roll, &ballots.yes(["late"]).count(&roll))?;

        // Assert
        assert!(condition(&on_the_line, &at_least).holds, "{p}/{q}");
        let strict = condition(&on_the_line, &more_than);
        assert!(!strict.holds, "{p}/{q}");
        assert_eq!(strict.needed, Some(1), "one hundredth of a m² more");
        assert!(condition(&past_it, &more_than).holds, "{p}/{q}");
    }
    Ok(())
}

#[test]
fn a_quorum_of_exactly_70_of_105_is_at_least_two_thirds_but_not_more() -> TestResult {
    // Arrange: 70 × 3 = 210 = 105 × 2.
    let roll = compound();
    let more_than = "quorum headcount of roll more_than 2/3";
    let rule = rule_of(&[QUORUM_HEADCOUNT, more_than])?;
    let ballots = Ballots::new()
        .abstain(households('a', 1..=30))
        .no(households('b', 1..=40));

    // Act
    let seventy = evaluate_on(&rule, &roll, &ballots.count(&roll))?;
    let seventy_one = evaluate_on(&rule, &roll, &ballots.yes(["d01"]).count(&roll))?;

    // Assert
    assert!(condition(&seventy, QUORUM_HEADCOUNT).holds);
    assert!(!condition(&seventy, more_than).holds);
    assert_eq!(condition(&seventy, more_than).needed, Some(1));
    assert!(condition(&seventy_one, more_than).holds);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// WEG § 21(2): two levels
// ---------------------------------------------------------------------------------------------

/// Six owners of 1,000 co-ownership shares.
fn weg_owners() -> Roll {
    Roll::from_csv(
        "voter,unit,name,share\n\
         mueller,W1,Müller,250\n\
         schmidt,W2,Schmidt,200\n\
         fischer,W3,Fischer,150\n\
         weber,W4,Weber,150\n\
         wagner,W5,Wagner,125\n\
         becker,W6,Becker,125\n",
    )
    .expect("valid roll")
}

fn all_owners_pay() -> Outcome {
    Outcome::Passed("all-owners-pay".to_owned())
}

fn yes_voters_pay() -> Outcome {
    Outcome::Passed("yes-voters-pay".to_owned())
}

#[test]
fn weg_21_with_two_thirds_of_votes_and_half_the_shares_makes_all_owners_pay() -> TestResult {
    // Arrange: five say yes (250 + 200 + 150 + 150 + 125 = 875 shares), Becker says no.
    let roll = weg_owners();
    let rule = Rule::preset("de-weg-21")?;
    let ballots = Ballots::new()
        .yes(["mueller", "schmidt", "fischer", "weber", "wagner"])
        .no(["becker"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert: 5 × 3 = 15 > 6 × 2 = 12; 875 × 2 = 1,750 > 1,000.
    assert_eq!(evaluation.outcome, all_owners_pay());
    assert_eq!(evaluation.certainty, Certainty::PassedAlready);
    Ok(())
}

#[test]
fn weg_21_with_two_thirds_of_votes_but_too_few_shares_makes_only_yes_voters_pay() -> TestResult {
    // Arrange: Fischer, Wagner and Becker say yes (150 + 125 + 125 = 400 shares), Müller says
    // no, Schmidt and Weber stay away: 4 cast.
    let roll = weg_owners();
    let rule = Rule::preset("de-weg-21")?;
    let ballots = Ballots::new()
        .yes(["fischer", "wagner", "becker"])
        .no(["mueller"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // level all-owners-pay: 3 × 3 = 9 > 4 × 2 = 8 holds, but 400 × 2 = 800 ≤ 1,000 fails;
    // level yes-voters-pay: 3 × 2 = 6 > 4 holds.
    let share = condition(&evaluation, "approval share of roll more_than 1/2");
    assert!(!share.holds);
    assert_eq!(share.needed, Some(101), "501 − 400 shares");
    assert_eq!(evaluation.outcome, yes_voters_pay());
    Ok(())
}

#[test]
fn weg_21_with_a_simple_majority_of_votes_makes_only_yes_voters_pay() -> TestResult {
    // Arrange: Müller, Schmidt and Fischer say yes (600 shares), Weber and Wagner say no.
    let roll = weg_owners();
    let rule = Rule::preset("de-weg-21")?;
    let ballots = Ballots::new()
        .yes(["mueller", "schmidt", "fischer"])
        .no(["weber", "wagner"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert: shares 600 × 2 > 1,000 hold, but 3 × 3 = 9 ≤ 5 × 2 = 10; 3 × 2 = 6 > 5.
    assert_eq!(evaluation.outcome, yes_voters_pay());
    Ok(())
}

#[test]
fn weg_21_with_a_tied_vote_is_rejected() -> TestResult {
    // Arrange: three say yes, three say no.
    let roll = weg_owners();
    let rule = Rule::preset("de-weg-21")?;
    let ballots = Ballots::new()
        .yes(["mueller", "schmidt", "fischer"])
        .no(["weber", "wagner", "becker"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert: 3 × 2 = 6, not > 6; there is no quorum condition, so the outcome is rejected.
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    assert_eq!(evaluation.certainty, Certainty::CannotPass);
    Ok(())
}

#[test]
fn weg_21_is_refused_on_a_roll_without_shares() -> TestResult {
    // Arrange
    let rule = Rule::preset("de-weg-21")?;

    // Act
    let refused = rule.check_against(compound().columns());

    // Assert
    assert_eq!(
        refused,
        Err(RuleError::UnknownWeight("share".into(), "area".into()))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One owner, several units
// ---------------------------------------------------------------------------------------------

const ZHANG: &str = "voter,unit,name,area\n\
                     zhang,3-101,Zhang Wei,89.57\n\
                     zhang,3-102,Zhang Wei,90.10\n\
                     zhang,G-12,Zhang Wei,12.00\n";

#[test]
fn one_owner_of_three_units_is_one_voter_with_the_areas_added() -> TestResult {
    // Arrange
    let roll = Roll::from_csv(ZHANG)?;

    // Act
    let tally = Ballots::new().yes(["zhang"]).count(&roll);
    let evaluation = evaluate_on(&Rule::preset("unanimous")?, &roll, &tally)?;

    // Assert: headcount 1; 89.57 + 90.10 + 12.00 = 191.67 m².
    assert_eq!(roll.len(), 1);
    assert_eq!(roll.voters()[0].units, vec!["3-101", "3-102", "G-12"]);
    assert_eq!(tally.electorate.headcount, 1);
    assert_eq!(tally.electorate.weights, vec![19_167]);
    assert_eq!(tally.yes.headcount, 1);
    assert_eq!(evaluation.outcome, passed());
    Ok(())
}

#[test]
fn one_owner_of_three_units_is_outvoted_by_headcount_not_by_area() -> TestResult {
    // Arrange: Zhang (three units, 191.67 m²) and Li (one flat, 60.00 m²).
    let roll = Roll::from_csv(&format!("{ZHANG}li,3-201,Li Na,60.00\n"))?;
    let ballots = Ballots::new().yes(["zhang"]).no(["li"]);

    // Act
    let evaluation = evaluate_on(&Rule::preset("cn-278")?, &roll, &ballots.count(&roll))?;

    // Assert: heads 1 × 2 = 2, not > 2; area 191.67 × 2 = 383.34 > 251.67.
    assert_eq!(roll.len(), 2);
    assert!(!condition(&evaluation, ORDINARY_HEADCOUNT).holds);
    assert!(condition(&evaluation, ORDINARY_AREA).holds);
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Nobody votes; everyone abstains
// ---------------------------------------------------------------------------------------------

#[test]
fn when_nobody_votes_every_approval_and_quorum_fails() -> TestResult {
    // Arrange
    let roll = compound();
    let tally = Tally::new(&roll);

    // Act
    let evaluation = evaluate_on(&road_repair()?, &roll, &tally)?;

    // Assert
    assert!(evaluation.conditions.iter().all(|c| !c.holds));
    assert_eq!(evaluation.outcome, Outcome::NoQuorum);
    assert_eq!(evaluation.certainty, Certainty::Open);
    // quorum: ⌈105 × 2 / 3⌉ = 70 households; ⌈5,210.00 × 2 / 3⌉ = ⌈3,473.333…⌉ = 3,473.34 m².
    assert_eq!(condition(&evaluation, QUORUM_HEADCOUNT).needed, Some(70));
    assert_eq!(condition(&evaluation, QUORUM_AREA).needed, Some(347_334));
    // An empty base needs one household to say yes: 1 of 1 ≥ 3/4.
    assert_eq!(condition(&evaluation, MAJOR_HEADCOUNT).needed, Some(1));
    // ⌊105 / 2⌋ + 1 = 53.
    assert_eq!(condition(&evaluation, HALF_OF_ALL).needed, Some(53));
    Ok(())
}

#[test]
fn when_nobody_votes_even_a_zero_threshold_fails_over_participants_but_not_over_the_roll()
-> TestResult {
    // Arrange
    let roll = compound();
    let over_cast = "approval headcount of cast at_least 0/1";
    let over_participants = "approval area of participants at_least 0/1";
    let over_roll = "approval headcount of roll at_least 0/1";
    let rule = rule_of(&[over_cast, over_participants, over_roll])?;

    // Act
    let evaluation = evaluate_on(&rule, &roll, &Tally::new(&roll))?;
    let simple = evaluate_on(&Rule::preset("simple-majority")?, &roll, &Tally::new(&roll))?;

    // Assert: an empty base fails every approval; 0 of all 105 is at least 0/1.
    assert!(!condition(&evaluation, over_cast).holds);
    assert!(!condition(&evaluation, over_participants).holds);
    assert!(condition(&evaluation, over_roll).holds);
    assert_eq!(simple.outcome, Outcome::Rejected);
    assert_eq!(simple.certainty, Certainty::Open);
    Ok(())
}

#[test]
fn when_everyone_abstains_the_quorum_is_met_and_the_motion_cannot_pass() -> TestResult {
    // Arrange
    let roll = compound();
    let everyone: Vec<String> = roll.voters().iter().map(|v| v.key.clone()).collect();
    let tally = Ballots::new().abstain(everyone).count(&roll);

    // Act
    let road = evaluate_on(&road_repair()?, &roll, &tally)?;
    let simple = evaluate_on(&Rule::preset("simple-majority")?, &roll, &tally)?;

    // Assert
    // quorums: 105 of 105 and 5,210.00 of 5,210.00 took part; approvals: 0 of 105 said yes.
    assert!(condition(&road, QUORUM_HEADCOUNT).holds);
    assert!(condition(&road, QUORUM_AREA).holds);
    assert!(!condition(&road, MAJOR_HEADCOUNT).holds);
    assert!(!condition(&road, MAJOR_AREA).holds);
    assert_eq!(road.outcome, Outcome::Rejected);
    assert_eq!(road.certainty, Certainty::CannotPass);
    // Nobody voted yes or no: the cast base is empty, so simple majority fails; one yes would
    // do, but nobody is left to give it.
    let cast = condition(&simple, "approval headcount of cast more_than 1/2");
    assert!(!cast.holds);
    assert_eq!((cast.numerator, cast.base), (0, 0));
    assert_eq!(cast.needed, Some(1));
    assert!(!cast.reachable);
    assert_eq!(simple.outcome, Outcome::Rejected);
    assert_eq!(simple.certainty, Certainty::CannotPass);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// How much more is needed
// ---------------------------------------------------------------------------------------------

#[test]
fn needed_under_participants_counts_each_new_yes_in_the_base_too() -> TestResult {
    // Arrange: b01–b40 say yes (40 × 48.50 = 1,940.00 m²), a01–a30 say no (1,260.00 m²):
    // 70 households and 3,200.00 m² took part; 35 households and 2,010.00 m² have not voted.
    let roll = compound();
    let ballots = Ballots::new()
        .yes(households('b', 1..=40))
        .no(households('a', 1..=30));

    // Act
    let evaluation = evaluate_on(&road_repair()?, &roll, &ballots.count(&roll))?;

    // Assert
    // heads: (40 + w) × 4 ≥ (70 + w) × 3 ⇔ w ≥ 70 × 3 − 40 × 4 = 50 (90 of 120 is 3/4);
    // only 35 have not voted.
    let heads = condition(&evaluation, MAJOR_HEADCOUNT);
    assert_eq!(heads.needed, Some(50));
    assert!(!heads.reachable);
    // area: w ≥ 3,200.00 × 3 − 1,940.00 × 4 = 9,600.00 − 7,760.00 = 1,840.00 m² ≤ 2,010.00.
    let area = condition(&evaluation, MAJOR_AREA);
    assert_eq!(area.needed, Some(184_000));
    assert!(area.reachable);
    // roll: the base does not grow: 53 − 40 = 13.
    assert_eq!(condition(&evaluation, HALF_OF_ALL).needed, Some(13));
    // quorums: 70 households hold; 3,473.34 − 3,200.00 = 273.34 m² more must take part.
    assert_eq!(condition(&evaluation, QUORUM_HEADCOUNT).needed, Some(0));
    assert_eq!(condition(&evaluation, QUORUM_AREA).needed, Some(27_334));
    let text = report::condition_text(roll.columns(), condition(&evaluation, MAJOR_AREA));
    assert!(text.contains("1,840.00 m² more yes needed"), "{text}");
    Ok(())
}

#[test]
fn needed_under_cast_for_a_strict_majority_and_two_thirds() -> TestResult {
    // Arrange: b01–b10 say yes, a01–a12 say no, c01–c05 abstain (not in the cast base).
    let roll = compound();
    let majority = "approval headcount of cast more_than 1/2";
    let two_thirds = "approval headcount of cast at_least 2/3";
    let rule = rule_of(&[majority, two_thirds])?;
    let ballots = Ballots::new()
        .yes(households('b', 1..=10))
        .no(households('a', 1..=12))
        .abstain(households('c', 1..=5));

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert
    // more than half: (10 + w) × 2 > 22 + w ⇔ w > 2, so 3 (13 of 25; 12 of 24 is only half).
    assert_eq!(condition(&evaluation, majority).needed, Some(3));
    // two thirds: (10 + w) × 3 ≥ (22 + w) × 2 ⇔ w ≥ 14 (24 of 36).
    assert_eq!(condition(&evaluation, two_thirds).needed, Some(14));
    Ok(())
}

#[test]
fn needed_divides_the_gap_by_what_each_new_yes_gains() -> TestResult {
    // Arrange: one yes, nine no; the condition asks for a third of the participants.
    let roll = compound();
    let third = "approval headcount of participants at_least 1/3";
    let rule = rule_of(&[third])?;
    let ballots = Ballots::new().yes(["a01"]).no(households('a', 2..=10));

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert: (1 + w) × 3 ≥ 10 + w ⇔ 2w ≥ 7 ⇔ w ≥ 4 (5 of 14 ≥ 1/3; 4 of 13 is not).
    assert_eq!(condition(&evaluation, third).needed, Some(4));
    Ok(())
}

#[test]
fn after_one_no_no_number_of_yes_votes_makes_participants_unanimous() -> TestResult {
    // Arrange
    let roll = compound();
    let everyone = "approval headcount of participants at_least 1/1";
    let rule = rule_of(&[everyone])?;
    let ballots = Ballots::new().yes(households('b', 1..=45)).no(["a01"]);

    // Act
    let evaluation = evaluate_on(&rule, &roll, &ballots.count(&roll))?;

    // Assert: (45 + w) ≥ (46 + w) never holds.
    let report = condition(&evaluation, everyone);
    assert_eq!(report.needed, None);
    assert!(!report.reachable);
    assert_eq!(evaluation.certainty, Certainty::CannotPass);
    let text = report::condition_text(roll.columns(), report);
    assert!(
        text.contains("more yes votes alone cannot make this hold"),
        "{text}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Certainty while voting
// ---------------------------------------------------------------------------------------------

#[test]
fn fifty_three_yes_of_105_have_already_passed_an_absolute_majority() -> TestResult {
    // Arrange: 53 × 2 = 106 > 105, and yes votes cannot be taken back.
    let roll = compound();
    let ballots = Ballots::new()
        .yes(households('b', 1..=45))
        .yes(households('a', 1..=8));

    // Act
    let evaluation = evaluate_on(
        &Rule::preset("absolute-majority")?,
        &roll,
        &ballots.count(&roll),
    )?;

    // Assert
    assert_eq!(evaluation.outcome, passed());
    assert_eq!(evaluation.certainty, Certainty::PassedAlready);
    Ok(())
}

#[test]
fn fifty_three_no_of_105_mean_an_absolute_majority_can_no_longer_pass() -> TestResult {
    // Arrange: at most 105 − 53 = 52 can still say yes; 52 × 2 = 104 ≤ 105.
    let roll = compound();
    let ballots = Ballots::new()
        .no(households('b', 1..=45))
        .no(households('a', 1..=8));

    // Act
    let evaluation = evaluate_on(
        &Rule::preset("absolute-majority")?,
        &roll,
        &ballots.count(&roll),
    )?;

    // Assert
    assert_eq!(evaluation.outcome, Outcome::Rejected);
    assert_eq!(evaluation.certainty, Certainty::CannotPass);
    Ok(())
}

#[test]
fn road_repair_is_already_passed_when_even_all_remaining_no_votes_cannot_stop_it() -> TestResult {
    // Arrange
    // yes: a01–a30 (1,260.00) + b01–b45 (2,182.50) + c01–c10 (552.50) = 85, 3,995.00 m²
    // no:  c11–c15 (5 × 55.25 = 276.25)                              =  5
    // not yet voted: c16–c20 and d01–d10                              = 15
    let roll = compound();
    let ballots = Ballots::new()
        .yes(households('a', 1..=30))
        .yes(households('b', 1..=45))
        .yes(households('c', 1..=10))
        .no(households('c', 11..=15));

    // Act
    let evaluation = evaluate_on(&road_repair()?, &roll, &ballots.count(&roll))?;

    // Assert
    // If all 15 say no: heads 85 × 4 = 340 ≥ 105 × 3 = 315; area 3,995.00 × 4 = 15,980.00 ≥
    // 5,210.00 × 3 = 15,630.00; quorums and 85 of all 105 already hold.
    assert_eq!(evaluation.outcome, passed());
    assert_eq!(evaluation.certainty, Certainty::PassedAlready);
    Ok(())
}

#[test]
fn twenty_seven_no_votes_block_three_quarters_of_the_compound() -> TestResult {
    // Arrange: a01–a27 say no. The best case is everyone else saying yes: 78 of 105, and
    // 78 × 4 = 312 < 105 × 3 = 315. Staying away does not help: Y / (Y + 27) grows with Y.
    let roll = compound();
    let ballots = Ballots::new().no(households('a', 1..=27));

    // Act
    let evaluation = evaluate_on(&road_repair()?, &roll, &ballots.count(&roll))?;

    // Assert
    assert_eq!(evaluation.outcome, Outcome::NoQuorum);
    assert_eq!(evaluation.certainty, Certainty::CannotPass);
    Ok(())
}

#[test]
fn twenty_six_no_votes_leave_the_road_repair_open() -> TestResult {
    // Arrange: with 26 no, 79 yes would give 79 × 4 = 316 ≥ 315.
    let roll = compound();
    let ballots = Ballots::new()
        .no(households('a', 1..=26))
        .yes(households('b', 1..=10));

    // Act
    let evaluation = evaluate_on(&road_repair()?, &roll, &ballots.count(&roll))?;

    // Assert
    assert_eq!(evaluation.certainty, Certainty::Open);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Elections
// ---------------------------------------------------------------------------------------------

fn candidates(ids: &[&str]) -> Vec<Candidate> {
    ids.iter()
        .map(|id| Candidate {
            id: (*id).to_owned(),
            name: format!("Candidate {id}"),
        })
        .collect()
}

/// Approval ballots by roll key and candidate ids, refused as `Election::ballot` refuses them.
fn election_ballots(
    election: &Election,
    roll: &Roll,
    marks: &[(&str, &[&str])],
) -> Result<Vec<Ballot>, ElectionError> {
    marks
        .iter()
        .map(|(voter, ids)| {
            let at = roll
                .position(voter)
                .unwrap_or_else(|| panic!("{voter} is not on the roll"));
            Ok((at, election.ballot(ids)?))
        })
        .collect()
}

fn standing_of(result: &ElectionResult, candidate: usize) -> Standing {
    result
        .candidates
        .iter()
        .find(|r| r.candidate == candidate)
        .map(|r| r.standing)
        .expect("every candidate has a result")
}

/// Ten households of 80.00 m², two seats and one alternate, four candidates; everyone votes for
/// two. Chen is approved by h001–h008 (8), Lin by h001–h004, h009, h010 (6), Huang by
/// h005–h010 (6), Zhou by nobody.
/// Election ballots with each voter's position in the roll.
type Ballot = (usize, ElectionBallot);

fn tied_election() -> Result<(Election, Roll, Vec<Ballot>), ElectionError> {
    let election = Election::new(candidates(&["chen", "lin", "huang", "zhou"]), 2, 1)?;
    let roll = uniform_roll(10, "80.00");
    let mut marks: Vec<(String, Vec<&str>)> = Vec::new();
    for n in 1..=10 {
        let approved = match n {
            1..=4 => vec!["chen", "lin"],
            5..=8 => vec!["chen", "huang"],
            _ => vec!["lin", "huang"],
        };
        marks.push((format!("h{n:03}"), approved));
    }
    let marks: Vec<(&str, &[&str])> = marks
        .iter()
        .map(|(voter, ids)| (voter.as_str(), ids.as_slice()))
        .collect();
    let ballots = election_ballots(&election, &roll, &marks)?;
    Ok((election, roll, ballots))
}

#[test]
fn a_tie_across_the_last_seat_is_reported_not_broken() -> TestResult {
    // Arrange: under cn-278 all ten take part; Chen 8/10, Lin and Huang 6/10 (> 1/2, and the
    // same 480.00 m² each), Zhou 0/10. Lin and Huang tie for positions 2–3: one seat, one
    // alternate.
    let (election, roll, ballots) = tied_election()?;
    let rule = Rule::preset("cn-278")?;
    let count = |tie_break: &[usize]| {
        count_election(
            &election,
            &rule,
            &roll,
            ballots.iter().map(|(at, b)| (*at, b)),
            tie_break,
        )
    };

    // Act
    let untied = count(&[]);
    let half_recorded = count(&[1]);

    // Assert
    for result in [&untied, &half_recorded] {
        assert_eq!(result.elected(), vec![0]);
        assert_eq!(standing_of(result, 1), Standing::Tied);
        assert_eq!(standing_of(result, 2), Standing::Tied);
        assert_eq!(standing_of(result, 3), Standing::NotQualified);
        assert_eq!(
            result.ties,
            vec![Tie {
                candidates: vec![1, 2],
                first_position: 2,
                last_position: 3,
            }]
        );
        assert!(result.alternates().is_empty());
    }
    let ranks: Vec<Option<usize>> = (0..4)
        .map(|c| {
            untied
                .candidates
                .iter()
                .find(|r| r.candidate == c)
                .and_then(|r| r.rank)
        })
        .collect();
    assert_eq!(ranks, vec![Some(1), Some(2), Some(2), None]);
    let text = report::election_text(&election, roll.columns(), &untied);
    assert!(text.contains("Unbroken tie for positions 2–3"), "{text}");
    Ok(())
}

#[test]
fn a_recorded_tie_break_naming_every_tied_candidate_resolves_the_tie() -> TestResult {
    // Arrange: the committee drew lots: Huang before Lin.
    let (election, roll, ballots) = tied_election()?;
    let rule = Rule::preset("cn-278")?;

    // Act
    let result = count_election(
        &election,
        &rule,
        &roll,
        ballots.iter().map(|(at, b)| (*at, b)),
        &[2, 1],
    );

    // Assert
    assert!(result.ties.is_empty());
    assert_eq!(result.elected(), vec![0, 2]);
    assert_eq!(result.alternates(), vec![1]);
    assert_eq!(standing_of(&result, 1), Standing::Alternate(1));
    Ok(())
}

/// Twelve households: h003–h006 hold 90.00 m², h007–h010 70.00 m², the rest 60.00 m².
fn twelve_households() -> Roll {
    let mut csv = String::from("voter,unit,area\n");
    for n in 1..=12 {
        let area = match n {
            3..=6 => "90.00",
            7..=10 => "70.00",
            _ => "60.00",
        };
        writeln!(csv, "h{n:03},unit-{n:03},{area}").expect("write to a String");
    }
    Roll::from_csv(&csv).expect("valid roll")
}

#[test]
fn alternates_follow_approvals_then_approving_area() -> TestResult {
    // Arrange: two seats, two alternates; a candidate needs a quarter of the participants.
    //   Pan   h001–h008                   8 approvals
    //   Qiu   h009–h012, h001, h002        6
    //   Ren   h003–h006                   4, 4 × 90.00 = 360.00 m²
    //   Shi   h007–h010                   4, 4 × 70.00 = 280.00 m²
    //   Tang  h011, h012                  2: 2 × 4 = 8 < 12 × 1, not qualified
    let roll = twelve_households();
    let election = Election::new(candidates(&["pan", "qiu", "ren", "shi", "tang"]), 2, 2)?;
    let rule = rule_of(&["approval headcount of participants at_least 1/4"])?;
    let marks: [(&str, &[&str]); 12] = [
        ("h001", &["pan", "qiu"]),
        ("h002", &["pan", "qiu"]),
        ("h003", &["pan", "ren"]),
        ("h004", &["pan", "ren"]),
        ("h005", &["pan", "ren"]),
        ("h006", &["pan", "ren"]),
        ("h007", &["pan", "shi"]),
        ("h008", &["pan", "shi"]),
        ("h009", &["qiu", "shi"]),
        ("h010", &["qiu", "shi"]),
        ("h011", &["qiu", "tang"]),
        ("h012", &["qiu", "tang"]),
    ];
    let ballots = election_ballots(&election, &roll, &marks)?;

    // Act
    let result = count_election(
        &election,
        &rule,
        &roll,
        ballots.iter().map(|(at, b)| (*at, b)),
        &[],
    );

    // Assert: Ren and Shi have the same headcount; Ren's approving area is larger.
    assert!(result.ties.is_empty());
    assert_eq!(result.elected(), vec![0, 1]);
    assert_eq!(result.alternates(), vec![2, 3]);
    assert_eq!(standing_of(&result, 2), Standing::Alternate(1));
    assert_eq!(standing_of(&result, 3), Standing::Alternate(2));
    assert_eq!(standing_of(&result, 4), Standing::NotQualified);
    Ok(())
}

#[test]
fn a_candidate_with_most_approvals_but_too_little_area_does_not_qualify_under_cn_278() -> TestResult
{
    // Arrange: three villas of 200.00 m² (big1–big3), six flats of 40.00 m² (s1–s6):
    // 840.00 m²; two seats.
    //   Xu:  s1–s6                6 of 9 (6 × 2 > 9), but 240.00 × 2 = 480.00 ≤ 840.00
    //   Yan: big1–big3, s1, s2    5 of 9 (10 > 9), 680.00 × 2 = 1,360.00 > 840.00
    //   Zou: big1–big3, s3        4 of 9 (8 ≤ 9)
    let roll = Roll::from_csv(
        "voter,unit,area\n\
         big1,V1,200.00\nbig2,V2,200.00\nbig3,V3,200.00\n\
         s1,F1,40.00\ns2,F2,40.00\ns3,F3,40.00\ns4,F4,40.00\ns5,F5,40.00\ns6,F6,40.00\n",
    )?;
    let election = Election::new(candidates(&["xu", "yan", "zou"]), 2, 0)?;
    let marks: [(&str, &[&str]); 9] = [
        ("s1", &["xu", "yan"]),
        ("s2", &["xu", "yan"]),
        ("s3", &["xu", "zou"]),
        ("s4", &["xu"]),
        ("s5", &["xu"]),
        ("s6", &["xu"]),
        ("big1", &["yan", "zou"]),
        ("big2", &["yan", "zou"]),
        ("big3", &["yan", "zou"]),
    ];
    let ballots = election_ballots(&election, &roll, &marks)?;

    // Act
    let result = count_election(
        &election,
        &Rule::preset("cn-278")?,
        &roll,
        ballots.iter().map(|(at, b)| (*at, b)),
        &[],
    );

    // Assert
    assert_eq!(result.elected(), vec![1]);
    assert_eq!(standing_of(&result, 0), Standing::NotQualified);
    assert_eq!(standing_of(&result, 2), Standing::NotQualified);
    let xu = result
        .candidates
        .iter()
        .find(|r| r.candidate == 0)
        .expect("Xu is counted");
    assert_eq!(xu.tally.yes.headcount, 6);
    assert!(!condition(&xu.evaluation, ORDINARY_AREA).holds);
    assert!(condition(&xu.evaluation, ORDINARY_HEADCOUNT).holds);
    Ok(())
}

#[test]
fn a_ballot_approving_more_candidates_than_seats_is_refused() -> TestResult {
    // Arrange
    let election = Election::new(candidates(&["chen", "lin", "huang"]), 2, 1)?;

    // Act
    let over_voted = election.ballot(&["chen", "lin", "huang"]);
    let unknown = election.ballot(&["chen", "wang"]);
    let repeated = election.ballot(&["lin", "lin"]);
    let empty = election.ballot(&[]);

    // Assert
    assert_eq!(
        over_voted,
        Err(ElectionError::OverVoted {
            approved: 3,
            seats: 2
        })
    );
    assert_eq!(
        over_voted.unwrap_err().to_string(),
        "the ballot approves 3 candidates; at most 2 may be chosen"
    );
    assert_eq!(
        unknown,
        Err(ElectionError::UnknownCandidate("wang".to_owned()))
    );
    assert_eq!(
        repeated,
        Err(ElectionError::RepeatedApproval("lin".to_owned()))
    );
    assert_eq!(empty, Ok(ElectionBallot::Approve(Default::default())));
    Ok(())
}

#[test]
fn alternates_move_up_in_order_and_an_empty_committee_is_due_for_reelection() -> TestResult {
    // Arrange: two seats, two alternates; eight of the twelve households vote.
    let roll = twelve_households();
    let election = Election::new(candidates(&["pan", "qiu", "ren", "shi", "tang"]), 2, 2)?;
    let marks: [(&str, &[&str]); 8] = [
        ("h001", &["pan", "qiu"]),
        ("h002", &["pan", "qiu"]),
        ("h003", &["pan", "ren"]),
        ("h004", &["pan", "ren"]),
        ("h005", &["qiu", "ren"]),
        ("h007", &["shi"]),
        ("h008", &["pan", "shi"]),
        ("h009", &["tang"]),
    ];
    // Pan 5; Ren 3 with 3 × 90.00 = 270.00 m²; Qiu 3 with 60.00 + 60.00 + 90.00 = 210.00 m²;
    // Shi 2; Tang 1. With one eighth of the 8 participants needed, everyone qualifies:
    // Pan and Ren sit, Qiu then Shi wait.
    let ballots = election_ballots(&election, &roll, &marks)?;
    let rule = rule_of(&["approval headcount of participants at_least 1/8"])?;
    let result = count_election(
        &election,
        &rule,
        &roll,
        ballots.iter().map(|(at, b)| (*at, b)),
        &[],
    );
    let mut committee = Committee::from_result(&election, &result);
    assert_eq!(committee.members, vec!["pan", "ren"]);
    assert_eq!(committee.alternates, vec!["qiu", "shi"]);

    // Act and Assert: Ren leaves; Qiu, the first alternate, takes Ren's seat.
    let first = committee.vacate("ren")?;
    assert_eq!(first.moved_up.as_deref(), Some("qiu"));
    assert!(!first.reelection_due);
    assert_eq!(committee.members, vec!["pan", "qiu"]);
    assert_eq!(committee.alternates, vec!["shi"]);

    // Pan leaves; Shi moves up.
    let second = committee.vacate("pan")?;
    assert_eq!(second.moved_up.as_deref(), Some("shi"));
    assert!(!second.reelection_due);
    assert_eq!(committee.members, vec!["shi", "qiu"]);
    assert!(committee.alternates.is_empty());

    // Qiu leaves: nobody moves up; one of two seats is filled, exactly half, not below it.
    let third = committee.vacate("qiu")?;
    assert_eq!(third.moved_up, None);
    assert!(!third.reelection_due);

    // Shi leaves: no seat is filled and no alternate remains.
    let fourth = committee.vacate("shi")?;
    assert!(fourth.reelection_due);
    assert!(committee.reelection_due());
    assert_eq!(committee.vacate("shi"), Err(NotAMember("shi".to_owned())));
    Ok(())
}
