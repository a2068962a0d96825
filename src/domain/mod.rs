//! The counting core: pure, exact and deterministic. No I/O, no clock, no randomness: time,
//! ids and seeds come in as arguments, and every quantity is an integer (never a float).
//!
//! - [`quantity`]: exact decimals and fractions.
//! - [`roll`]: the register of voters and its CSV form.
//! - [`rule`]: threshold rules, presets, and their text and JSON spellings.
//! - [`tally`]: counting motions, testing conditions, `needed` and certainty.
//! - [`certificate`]: signed results, their summary, and offline verification.
//! - [`cost`]: each voter's own share of a proposal's cost.
//! - [`election`]: approval elections, ranking, alternates and succession.
//! - [`lifecycle`]: proposal states and the transitions between them.
//! - [`ledger`]: hash-chained ballot entries, opening records, pseudonyms.
//! - [`report`]: the plain-language and JSON reports of a count.
//! - [`deliberation`]: petition thresholds and status, revision diffs, comment rates.

pub mod certificate;
pub mod cost;
pub mod deliberation;
pub mod election;
pub mod ledger;
pub mod lifecycle;
pub mod quantity;
pub mod report;
pub mod roll;
pub mod rule;
pub mod tally;
