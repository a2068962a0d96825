//! The counting core: pure, exact and deterministic. No I/O, no clock, no randomness: time,
//! ids and seeds come in as arguments, and every quantity is an integer (never a float).
//!
//! - [`quantity`]: exact decimals and fractions.
//! - [`roll`]: the register of voters and its CSV form.
//! - [`rule`]: threshold rules, presets, and their text and JSON spellings.
//! - [`tally`]: counting motions, testing conditions, `needed` and certainty.
//! - [`election`]: approval elections, ranking, alternates and succession.
//! - [`report`]: the plain-language and JSON reports of a count.

pub mod election;
pub mod quantity;
pub mod report;
pub mod roll;
pub mod rule;
pub mod tally;
