//! The ballot ledger (DESIGN §5): hash-chained entries, `hash = SHA-256(JCS(entry))`, the
//! opening record that heads each chain, the electorate hash, and secret-ballot pseudonyms.

use std::collections::BTreeMap;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::quantity::Decimal;
use super::roll::Roll;

/// A SHA-256 digest, written as 64 lowercase hex digits.
pub type Hash = String;

/// SHA-256 over the RFC 8785 canonical JSON of a value.
pub fn canonical_hash<T: Serialize>(value: &T) -> Hash {
    let bytes = serde_json_canonicalizer::to_vec(value).expect("ledger values serialise");
    hex::encode(Sha256::digest(&bytes))
}

/// SHA-256 of raw text (a proposal's frozen body).
pub fn text_hash(text: &str) -> Hash {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One voter in the electorate hash: roll key and weights as decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElectorateEntry {
    pub voter: String,
    pub weights: BTreeMap<String, String>,
}

/// The weights of one voter as `{name: decimal string}`.
pub fn voter_weights(roll: &Roll, at: usize) -> BTreeMap<String, String> {
    roll.columns()
        .iter()
        .zip(&roll.voters()[at].weights)
        .map(|(c, w)| (c.name.clone(), Decimal::new(*w, c.scale).to_string()))
        .collect()
}

/// The canonical form of an electorate: voters in roll order with their weights.
pub fn electorate_entries(roll: &Roll) -> Vec<ElectorateEntry> {
    (0..roll.len())
        .map(|at| ElectorateEntry {
            voter: roll.voters()[at].key.clone(),
            weights: voter_weights(roll, at),
        })
        .collect()
}

/// The hash that names a frozen electorate.
pub fn electorate_hash(roll: &Roll) -> Hash {
    canonical_hash(&electorate_entries(roll))
}

/// The record that heads a proposal's chain: what was put to the vote, under which rule, before
/// whom. Its hash is the `prev` of the first ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningRecord {
    pub proposal: String,
    pub title: String,
    pub text_hash: Hash,
    /// The rule in its JSON spelling.
    pub rule: serde_json::Value,
    pub electorate_hash: Hash,
    pub electorate_size: u64,
    pub opened_at: String,
    /// For an election: what is elected and who stands, frozen with the rest. Absent for a
    /// motion, so that motions' opening hashes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election: Option<ElectionOpening>,
}

/// The election's shape as its opening record freezes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionOpening {
    pub seats: usize,
    pub alternates: usize,
    pub candidates: Vec<super::election::Candidate>,
}

/// How a ballot reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Online,
    Proxy,
    Assisted,
}

/// One accepted ballot. `choice` is `yes`/`no`/`abstain` for a motion, or for an election the
/// approved candidate ids joined by `;` (or `invalid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    pub proposal: String,
    /// The roll key (open ballot) or the per-proposal pseudonym (secret ballot).
    pub voter: String,
    pub choice: String,
    pub weights: BTreeMap<String, String>,
    pub channel: Channel,
    pub at: String,
    pub prev: Hash,
}

impl Entry {
    pub fn hash(&self) -> Hash {
        canonical_hash(self)
    }
}

/// The pseudonym under which a voter's secret ballot is recorded: HMAC-SHA-256 of the proposal
/// and voter key under the community's secret. Stable within a proposal, unlinkable across.
pub fn pseudonym(secret: &[u8], proposal: &str, voter: &str) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(proposal.as_bytes());
    mac.update(&[0]);
    mac.update(voter.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("entry {seq}: expected sequence number {expected}")]
    Sequence { seq: u64, expected: u64 },
    #[error("entry {seq}: its `prev` does not match the hash of the entry before it")]
    Link { seq: u64 },
    #[error("entry {seq}: belongs to proposal {found}, not {expected}")]
    Proposal {
        seq: u64,
        found: String,
        expected: String,
    },
}

/// Checks that entries form one chain from `opening_hash`; returns the head hash.
pub fn verify_chain<'a>(
    proposal: &str,
    opening_hash: &str,
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<Hash, ChainError> {
    let mut head = opening_hash.to_owned();
    for (i, entry) in entries.into_iter().enumerate() {
        let expected = i as u64 + 1;
        if entry.seq != expected {
            return Err(ChainError::Sequence {
                seq: entry.seq,
                expected,
            });
        }
        if entry.proposal != proposal {
            return Err(ChainError::Proposal {
                seq: entry.seq,
                found: entry.proposal.clone(),
                expected: proposal.to_owned(),
            });
        }
        if entry.prev != head {
            return Err(ChainError::Link { seq: entry.seq });
        }
        head = entry.hash();
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, prev: &str) -> Entry {
        Entry {
            seq,
            proposal: "p".into(),
            voter: format!("v{seq}"),
            choice: "yes".into(),
            weights: BTreeMap::from([("area".into(), "89.57".into())]),
            channel: Channel::Online,
            at: "2026-11-28T10:00:00Z".into(),
            prev: prev.into(),
        }
    }

    #[test]
    fn a_chain_verifies_and_a_changed_entry_breaks_the_next_link() {
        let first = entry(1, "open");
        let second = entry(2, &first.hash());
        assert_eq!(
            verify_chain("p", "open", [&first, &second]).unwrap(),
            second.hash()
        );
        let mut tampered = first.clone();
        tampered.choice = "no".into();
        assert_eq!(
            verify_chain("p", "open", [&tampered, &second]),
            Err(ChainError::Link { seq: 2 })
        );
    }

    #[test]
    fn hashes_are_over_canonical_json() {
        // JCS sorts keys and removes whitespace: the hash does not depend on field order.
        let e = entry(1, "x");
        let canonical = serde_json_canonicalizer::to_string(&e).unwrap();
        assert!(canonical.starts_with(r#"{"at":"2026-11-28T10:00:00Z","channel":"online""#));
        assert_eq!(e.hash(), hex::encode(Sha256::digest(canonical.as_bytes())));
    }

    #[test]
    fn pseudonyms_differ_by_proposal_and_are_stable() {
        let a = pseudonym(b"secret", "p1", "wang");
        assert_eq!(a, pseudonym(b"secret", "p1", "wang"));
        assert_ne!(a, pseudonym(b"secret", "p2", "wang"));
        assert_ne!(a, pseudonym(b"other", "p1", "wang"));
    }
}
