//! Reports of a count: the JSON shape shared by the CLI and the API, and the plain-language text
//! in which every figure names its base ("58 of all 105 households (55.2%)").

use serde_json::{Map, Value, json};

use super::election::{Election, ElectionResult, Standing};
use super::quantity::{Decimal, grouped, percent};
use super::roll::WeightColumn;
use super::rule::{Base, Comparison, Kind, Measure};
use super::tally::{Certainty, ConditionReport, Evaluation, Tally, Totals};

/// `{"headcount": n, "weights": {"area": "5210.00"}}`.
pub fn totals_json(columns: &[WeightColumn], totals: &Totals) -> Value {
    let weights: Map<String, Value> = columns
        .iter()
        .zip(&totals.weights)
        .map(|(c, w)| {
            (
                c.name.clone(),
                Value::String(Decimal::new(*w, c.scale).to_string()),
            )
        })
        .collect();
    json!({ "headcount": totals.headcount, "weights": weights })
}

/// A measured amount in JSON: an integer for headcount, a decimal string for a weight.
fn amount_json(report: &ConditionReport, value: u128) -> Value {
    match report.condition.measure {
        Measure::Headcount => json!(value),
        Measure::Weight(_) => Value::String(Decimal::new(value, report.scale).to_string()),
    }
}

/// One condition with its numbers, in rule order.
pub fn condition_json(report: &ConditionReport) -> Value {
    let c = &report.condition;
    json!({
        "level": report.level,
        "kind": c.kind,
        "measure": c.measure.to_string(),
        "of": c.of,
        "comparison": c.comparison,
        "fraction": c.fraction.to_string(),
        "text": c.to_string(),
        "numerator": amount_json(report, report.numerator),
        "base": amount_json(report, report.base),
        "holds": report.holds,
        "needed": report.needed.map(|n| amount_json(report, n)),
        "reachable": report.reachable,
    })
}

/// The whole count of a motion as one JSON object.
pub fn motion_json(columns: &[WeightColumn], tally: &Tally, evaluation: &Evaluation) -> Value {
    json!({
        "outcome": evaluation.outcome.as_str(),
        "level": evaluation.outcome.level(),
        "certainty": evaluation.certainty,
        "electorate": totals_json(columns, &tally.electorate),
        "tally": {
            "yes": totals_json(columns, &tally.yes),
            "no": totals_json(columns, &tally.no),
            "abstain": totals_json(columns, &tally.abstain),
            "participants": totals_json(columns, &tally.participants()),
        },
        "conditions": evaluation.conditions.iter().map(condition_json).collect::<Vec<_>>(),
    })
}

/// The whole count of an election as one JSON object.
pub fn election_json(
    election: &Election,
    columns: &[WeightColumn],
    result: &ElectionResult,
) -> Value {
    let id = |c: usize| election.candidates()[c].id.clone();
    let candidates: Vec<Value> = result
        .candidates
        .iter()
        .map(|r| {
            let (standing, order) = match r.standing {
                Standing::Elected => ("elected", None),
                Standing::Alternate(n) => ("alternate", Some(n)),
                Standing::NotElected => ("not_elected", None),
                Standing::NotQualified => ("not_qualified", None),
                Standing::Tied => ("tied", None),
            };
            json!({
                "id": id(r.candidate),
                "name": election.candidates()[r.candidate].name,
                "rank": r.rank,
                "standing": standing,
                "alternate_order": order,
                "qualifies": r.qualifies,
                "approvals": totals_json(columns, &r.tally.yes),
                "conditions": r.evaluation.conditions.iter().map(condition_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "seats": election.seats(),
        "alternates": election.alternates(),
        "electorate": totals_json(columns, &result.electorate),
        "participants": totals_json(columns, &result.participants),
        "invalid": totals_json(columns, &result.invalid),
        "elected": result.elected().into_iter().map(id).collect::<Vec<_>>(),
        "alternates_in_order": result.alternates().into_iter().map(id).collect::<Vec<_>>(),
        "ties": result.ties.iter().map(|t| json!({
            "candidates": t.candidates.iter().map(|c| id(*c)).collect::<Vec<_>>(),
            "first_position": t.first_position,
            "last_position": t.last_position,
        })).collect::<Vec<_>>(),
        "candidates": candidates,
    })
}

/// The count of an election as the server stores and serves it and the certificate carries
/// it: turnout (`participants`, `valid`, `invalid`), the rule's quorum conditions measured on
/// turnout, an `outcome` (`no_quorum` when a quorum condition fails, else `elected`, `tied`
/// while a tie waits for its tie-break, or `none_elected`) and the per-candidate ranking under
/// `election`.
pub fn election_count_json(
    election: &Election,
    rule: &crate::domain::rule::Rule,
    columns: &[WeightColumn],
    count: &crate::domain::election::ElectionTally,
    tie_break: &[usize],
) -> Value {
    let result = crate::domain::election::rank(election, rule, columns, count, tie_break);
    let turnout = crate::domain::tally::evaluate(rule, columns, &count.participation());
    let quorum_fails = turnout
        .conditions
        .iter()
        .any(|c| c.condition.kind == Kind::Quorum && !c.holds);
    let outcome = if quorum_fails {
        "no_quorum"
    } else if !result.ties.is_empty() {
        "tied"
    } else if result.elected().is_empty() {
        "none_elected"
    } else {
        "elected"
    };
    json!({
        "question": "election",
        "outcome": outcome,
        "level": Value::Null,
        "electorate": totals_json(columns, &count.electorate),
        "tally": {
            "participants": totals_json(columns, &count.participants()),
            "valid": totals_json(columns, &count.valid),
            "invalid": totals_json(columns, &count.invalid),
        },
        "conditions": turnout.conditions.iter()
            .filter(|c| c.condition.kind == Kind::Quorum)
            .map(condition_json)
            .collect::<Vec<_>>(),
        "election": election_json(election, columns, &result),
    })
}

/// How a measure's amounts read: "58 households", "4,012.50 m²", "1,200 share".
fn amount(columns: &[WeightColumn], measure: Option<usize>, value: u128) -> String {
    match measure {
        None => grouped(value),
        Some(i) => {
            let column = &columns[i];
            let number = Decimal::new(value, column.scale).grouped();
            if column.name == "area" {
                format!("{number} m²")
            } else {
                format!("{number} {}", column.name)
            }
        }
    }
}

/// "58 of all 105 households (55.2%)", "4,012.50 m² of the 5,210.00 m² that took part (77.0%)".
fn share_of(
    columns: &[WeightColumn],
    measure: Option<usize>,
    part: u128,
    whole: u128,
    base: Base,
) -> String {
    let whole_text = amount(columns, measure, whole);
    let noun = if measure.is_none() { " households" } else { "" };
    let base_text = match base {
        Base::Roll => format!("of all {whole_text}{noun}"),
        Base::Participants => format!("of the {whole_text}{noun} that took part"),
        Base::Cast => format!("of the {whole_text}{noun} that voted yes or no"),
    };
    format!(
        "{} {base_text} ({}%)",
        amount(columns, measure, part),
        percent(part, whole)
    )
}

fn measure_position(columns: &[WeightColumn], measure: &Measure) -> Option<usize> {
    match measure {
        Measure::Headcount => None,
        Measure::Weight(name) => columns.iter().position(|c| &c.name == name),
    }
}

/// One condition in words, e.g. "✓ approval area at least 3/4 of participants: …".
pub fn condition_text(columns: &[WeightColumn], report: &ConditionReport) -> String {
    let c = &report.condition;
    let measure = measure_position(columns, &c.measure);
    let what = match c.kind {
        Kind::Quorum => "took part",
        Kind::Approval => "said yes",
    };
    let comparison = match c.comparison {
        Comparison::AtLeast => "at least",
        Comparison::MoreThan => "more than",
    };
    let base_words = match c.of {
        Base::Roll => "of the whole roll",
        Base::Participants => "of those who took part",
        Base::Cast => "of those who voted yes or no",
    };
    let mark = if report.holds { "✓" } else { "✗" };
    let mut line = format!(
        "{mark} {} by {}, {comparison} {} {base_words}: {} {what}",
        c.kind,
        c.measure,
        c.fraction,
        share_of(columns, measure, report.numerator, report.base, c.of)
    );
    if !report.holds {
        let to_go = match (report.needed, c.kind) {
            (None, _) => " — more yes votes alone cannot make this hold".to_owned(),
            (Some(0), _) => " — needs at least one more voter to take part".to_owned(),
            (Some(n), Kind::Quorum) => {
                format!(" — {} more must take part", amount(columns, measure, n))
            }
            (Some(n), Kind::Approval) => {
                format!(" — {} more yes needed", amount(columns, measure, n))
            }
        };
        line.push_str(&to_go);
        if report.needed.is_some() && !report.reachable {
            line.push_str(", more than those who have not voted hold");
        }
    }
    line
}

/// The plain-language report of a motion.
pub fn motion_text(columns: &[WeightColumn], tally: &Tally, evaluation: &Evaluation) -> String {
    let mut out = String::new();
    let outcome = match &evaluation.outcome {
        super::tally::Outcome::Passed(level) if level == "passed" => "PASSED".to_owned(),
        super::tally::Outcome::Passed(level) => format!("PASSED at level `{level}`"),
        super::tally::Outcome::Rejected => "REJECTED".to_owned(),
        super::tally::Outcome::NoQuorum => "NO QUORUM".to_owned(),
    };
    out.push_str(&format!("Outcome: {outcome}\n"));
    let electorate = &tally.electorate;
    let mut roll_line = format!(
        "Electorate: {} households",
        grouped(u128::from(electorate.headcount))
    );
    for (i, w) in electorate.weights.iter().enumerate() {
        roll_line.push_str(&format!(", {}", amount(columns, Some(i), *w)));
    }
    out.push_str(&roll_line);
    out.push('\n');
    let participants = tally.participants();
    let rows = [
        ("Took part", &participants, Base::Roll),
        ("Yes", &tally.yes, Base::Participants),
        ("No", &tally.no, Base::Participants),
        ("Abstained", &tally.abstain, Base::Participants),
    ];
    for (label, totals, base) in rows {
        let whole = match base {
            Base::Roll => electorate,
            _ => &participants,
        };
        let mut parts = vec![share_of(
            columns,
            None,
            u128::from(totals.headcount),
            u128::from(whole.headcount),
            base,
        )];
        for i in 0..columns.len() {
            parts.push(share_of(
                columns,
                Some(i),
                totals.weights[i],
                whole.weights[i],
                base,
            ));
        }
        out.push_str(&format!("{label}: {}\n", parts.join("; ")));
    }
    out.push_str("Conditions:\n");
    let mut level = None;
    let several_levels = evaluation
        .conditions
        .iter()
        .any(|c| c.level != evaluation.conditions[0].level);
    for report in &evaluation.conditions {
        if several_levels && level != Some(&report.level) {
            out.push_str(&format!(" Level `{}`:\n", report.level));
            level = Some(&report.level);
        }
        out.push_str(&format!("  {}\n", condition_text(columns, report)));
    }
    if participants.headcount < electorate.headcount {
        let certainty = match evaluation.certainty {
            Certainty::PassedAlready => {
                "already passed: it passes however the remaining voters vote"
            }
            Certainty::CannotPass => "can no longer pass, however the remaining voters vote",
            Certainty::Open => "open: the remaining voters can still decide it",
        };
        out.push_str(&format!(
            "If voting is still open: with {} households yet to vote, the result is {certainty}.\n",
            grouped(u128::from(electorate.headcount - participants.headcount))
        ));
    }
    out
}

/// The plain-language report of an election.
pub fn election_text(
    election: &Election,
    columns: &[WeightColumn],
    result: &ElectionResult,
) -> String {
    let mut out = String::new();
    let name = |c: usize| {
        let candidate = &election.candidates()[c];
        if candidate.name.is_empty() {
            candidate.id.clone()
        } else {
            format!("{} ({})", candidate.name, candidate.id)
        }
    };
    out.push_str(&format!(
        "Election of {} seats and {} alternates\n",
        election.seats(),
        election.alternates()
    ));
    out.push_str(&format!(
        "Took part: {}\n",
        share_of(
            columns,
            None,
            u128::from(result.participants.headcount),
            u128::from(result.electorate.headcount),
            Base::Roll
        )
    ));
    if result.invalid.headcount > 0 {
        out.push_str(&format!(
            "Invalid ballots (counted as taking part only): {}\n",
            grouped(u128::from(result.invalid.headcount))
        ));
    }
    for r in &result.candidates {
        let standing = match r.standing {
            Standing::Elected => "ELECTED".to_owned(),
            Standing::Alternate(n) => format!("ALTERNATE no. {n}"),
            Standing::NotElected => "not elected".to_owned(),
            Standing::NotQualified => "not qualified (the rule does not hold)".to_owned(),
            Standing::Tied => "TIED — awaits a recorded tie-break".to_owned(),
        };
        let rank = r.rank.map_or("-".to_owned(), |n| n.to_string());
        out.push_str(&format!(
            "{rank:>3}. {}: {}; {standing}\n",
            name(r.candidate),
            share_of(
                columns,
                None,
                u128::from(r.tally.yes.headcount),
                u128::from(r.tally.participants().headcount),
                Base::Participants
            )
        ));
        for report in r.evaluation.conditions.iter().filter(|c| !c.holds) {
            out.push_str(&format!("       {}\n", condition_text(columns, report)));
        }
    }
    for tie in &result.ties {
        let names: Vec<String> = tie.candidates.iter().map(|c| name(*c)).collect();
        out.push_str(&format!(
            "Unbroken tie for positions {}–{}: {}. Record the committee's decision or a drawn lot.\n",
            tie.first_position,
            tie.last_position,
            names.join(", ")
        ));
    }
    out
}
