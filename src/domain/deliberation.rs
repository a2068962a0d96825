//! Deliberation before a vote: the co-sign threshold of residents' petitions (需求), their
//! status, readable diffs between proposal revisions, and the per-account comment rate. Pure:
//! time comes in as an argument.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde::Serialize;

use super::quantity::Fraction;

/// The share of the roll's headcount whose co-signatures oblige the council to respond, unless
/// the community sets another: 1/5, as owners may call a meeting under the property management
/// regulations.
pub const DEFAULT_PETITION_THRESHOLD: (u64, u64) = (1, 5);

/// Whether `signatures` of a roll of `headcount` voters reach `threshold` (at least p/q):
/// `signatures × q ≥ headcount × p`, exact integers. An empty roll obliges nothing.
pub fn threshold_reached(signatures: u64, headcount: u64, threshold: Fraction) -> bool {
    headcount > 0 && threshold.compare(signatures.into(), headcount.into()) != Ordering::Less
}

/// The fewest signatures that reach `threshold` on a roll of `headcount` (never fewer than one):
/// ⌈headcount × p / q⌉.
pub fn signatures_needed(headcount: u64, threshold: Fraction) -> u64 {
    let (p, q) = (
        u128::from(threshold.numerator()),
        u128::from(threshold.denominator()),
    );
    let needed = (u128::from(headcount) * p).div_ceil(q);
    u64::try_from(needed).unwrap_or(u64::MAX).max(1)
}

/// Where a petition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PetitionStatus {
    /// Open for co-signing; the threshold is not reached yet.
    Collecting,
    /// Co-signing closed before the threshold was reached; the council is not obliged.
    Lapsed,
    /// The threshold was reached: the council owes a public answer or a proposal.
    Due,
    /// The council answered publicly.
    Answered,
    /// The council turned it into a draft proposal.
    Proposed,
}

/// How the council responded to a petition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Answered,
    Proposed,
}

/// A petition's status from what is recorded: whether the threshold was reached, the council's
/// response, and whether co-signing has closed at `now`.
pub fn petition_status(
    reached: bool,
    response: Option<Response>,
    signing_closes: Timestamp,
    now: Timestamp,
) -> PetitionStatus {
    match response {
        Some(Response::Answered) => PetitionStatus::Answered,
        Some(Response::Proposed) => PetitionStatus::Proposed,
        None if reached => PetitionStatus::Due,
        None if now >= signing_closes => PetitionStatus::Lapsed,
        None => PetitionStatus::Collecting,
    }
}

/// Whether co-signing is still possible at `now`.
pub fn signing_open(signing_closes: Timestamp, now: Timestamp) -> bool {
    now < signing_closes
}

/// One line of a readable diff between two texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// `equal`, `insert` (only in the newer text) or `delete` (only in the older).
    pub op: &'static str,
    /// The line, without its line break.
    pub text: String,
}

/// The line-by-line difference from `old` to `new` (Patience diff, as `git diff --patience`).
/// A missing final line break does not count as a change.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let terminated = |text: &str| {
        let mut text = text.replace("\r\n", "\n");
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text
    };
    let (old, new) = (terminated(old), terminated(new));
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(&old, &new);
    diff.iter_all_changes()
        .map(|change| DiffLine {
            op: match change.tag() {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Insert => "insert",
                similar::ChangeTag::Delete => "delete",
            },
            text: change
                .value()
                .trim_end_matches('\n')
                .trim_end_matches('\r')
                .to_owned(),
        })
        .collect()
}

/// Whether one more comment is allowed when the account's `recent` comments (any order) fall
/// within `window_secs` before `now` at most `max - 1` times.
pub fn comment_allowed(recent: &[Timestamp], now: Timestamp, window_secs: i64, max: usize) -> bool {
    let since = now - jiff::SignedDuration::from_secs(window_secs);
    recent.iter().filter(|t| **t > since).count() < max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifth() -> Fraction {
        Fraction::new(1, 5).unwrap()
    }

    #[test]
    fn threshold_is_reached_exactly_at_the_boundary() {
        // 1/5 of 10 households is 2: one short, then exactly there.
        assert!(!threshold_reached(1, 10, fifth()));
        assert!(threshold_reached(2, 10, fifth()));
        // 1/5 of 11 is 2.2: 2 is short, 3 reaches.
        assert!(!threshold_reached(2, 11, fifth()));
        assert!(threshold_reached(3, 11, fifth()));
        assert!(!threshold_reached(5, 0, fifth()));
    }

    #[test]
    fn signatures_needed_agrees_with_the_threshold_test() {
        for headcount in 1..200u64 {
            for (p, q) in [(1, 5), (1, 2), (2, 3), (1, 1), (1, 100)] {
                let t = Fraction::new(p, q).unwrap();
                let n = signatures_needed(headcount, t);
                assert!(threshold_reached(n, headcount, t), "{headcount} {t}");
                assert!(n == 1 || !threshold_reached(n - 1, headcount, t));
            }
        }
    }

    #[test]
    fn status_follows_response_then_threshold_then_date() {
        let closes: Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
        let before: Timestamp = "2026-01-09T00:00:00Z".parse().unwrap();
        let after: Timestamp = "2026-01-11T00:00:00Z".parse().unwrap();
        use PetitionStatus::*;
        assert_eq!(petition_status(false, None, closes, before), Collecting);
        assert_eq!(petition_status(false, None, closes, after), Lapsed);
        assert_eq!(petition_status(true, None, closes, after), Due);
        assert_eq!(
            petition_status(true, Some(Response::Answered), closes, after),
            Answered
        );
        assert_eq!(
            petition_status(true, Some(Response::Proposed), closes, before),
            Proposed
        );
    }

    #[test]
    fn line_diff_marks_changed_lines() {
        let diff = line_diff("a\nb\nc\n", "a\nB\nc\n");
        let ops: Vec<_> = diff.iter().map(|d| (d.op, d.text.as_str())).collect();
        assert_eq!(
            ops,
            [
                ("equal", "a"),
                ("delete", "b"),
                ("insert", "B"),
                ("equal", "c")
            ]
        );
    }

    #[test]
    fn a_missing_final_line_break_is_no_change() {
        let diff = line_diff("a\nb", "a\nb\nc\n");
        let ops: Vec<_> = diff.iter().map(|d| (d.op, d.text.as_str())).collect();
        assert_eq!(ops, [("equal", "a"), ("equal", "b"), ("insert", "c")]);
    }

    #[test]
    fn comment_rate_counts_only_the_window() {
        let now: Timestamp = "2026-01-10T00:01:00Z".parse().unwrap();
        let old: Timestamp = "2026-01-10T00:00:00Z".parse().unwrap();
        let fresh: Timestamp = "2026-01-10T00:00:30Z".parse().unwrap();
        assert!(comment_allowed(&[old, old, fresh], now, 60, 2));
        assert!(!comment_allowed(&[fresh, fresh], now, 60, 2));
    }
}
