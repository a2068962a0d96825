//! Certified results (DESIGN §5): the signed certificate, its plain-language summary in both
//! languages, and the offline check that `yishi verify` runs — signature, chain, head and
//! length, recount and rule — with the first failure said in words.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::election::{Candidate, Election, ElectionBallot, ElectionTally, draw_lot};
use super::ledger::{ChainError, Entry, OpeningRecord, canonical_hash, verify_chain};
use super::quantity::{Decimal, grouped, percent};
use super::roll::WeightColumn;
use super::rule::{PRESETS, Rule, RuleSpec};
use super::tally::{Choice, Tally, Totals, evaluate};

/// The format name every certificate carries.
pub const FORMAT: &str = "yishi-certificate/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityPart {
    pub id: String,
    pub name: String,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalPart {
    pub id: String,
    pub title: String,
    /// SHA-256 of the body text frozen when voting opened.
    pub text_hash: String,
    pub question: String,
    pub secrecy: String,
    /// Whether a voter could change a ballot (then the latest entry per voter counts).
    pub allow_change: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectoratePart {
    pub hash: String,
    pub headcount: u64,
    /// Weight totals as decimal strings; their decimals fix each weight's scale.
    pub weights: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerPart {
    pub opening: OpeningRecord,
    pub opening_hash: String,
    pub head: String,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    pub at: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Times {
    pub opened_at: String,
    pub extensions: Vec<Extension>,
    pub closed_at: String,
    pub published_at: String,
}

/// Someone who checked the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    pub name: String,
    pub role: String,
    pub statement: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub en: String,
    pub zh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPart {
    pub algorithm: String,
    /// The community's Ed25519 public key, hex.
    pub public_key: String,
    /// First 16 hex digits of SHA-256 of the public key.
    pub fingerprint: String,
}

/// The signed result of a vote. Unknown members are refused (here and in every part): the
/// signature is checked over the certificate as read, so a member this type would drop must not
/// pass unnoticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub format: String,
    pub community: CommunityPart,
    pub proposal: ProposalPart,
    /// The rule in full (JSON `levels` form).
    pub rule: Value,
    pub electorate: ElectoratePart,
    /// `yes`, `no`, `abstain`, `participants`: each `{headcount, weights}`.
    pub tally: Value,
    /// Every condition in rule order with its numbers.
    pub conditions: Value,
    pub outcome: String,
    pub level: Option<String>,
    /// Elections only (`proposal.question` = `election`): seats, candidates, the ranking and
    /// any tie-break. Absent from motion certificates, whose bytes are therefore unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election: Option<ElectionPart>,
    pub ledger: LedgerPart,
    pub times: Times,
    pub attestations: Vec<Attestation>,
    pub outcome_statement: String,
    pub summary: Summary,
    pub key: KeyPart,
    /// Ed25519 signature (hex) over the RFC 8785 canonical JSON of every other field.
    #[serde(default)]
    pub signature: String,
}

/// A tie the ranking could not break, broken by a recorded decision or a drawn lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TieBreak {
    /// `decision` (the committee's decision, entered by an officer) or `lot`.
    pub method: String,
    /// Candidate ids in the order the decision or the lot put them. For a lot: every
    /// candidate, ordered by [`draw_lot`](super::election::draw_lot) over `seed`.
    pub order: Vec<String>,
    pub note: String,
    /// The lot's seed, published before the draw.
    pub seed: Option<String>,
    pub seed_published_at: Option<String>,
    pub recorded_at: String,
}

/// What an election certificate adds: the election's shape, its ranking and any tie-break.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionPart {
    pub seats: usize,
    pub alternates: usize,
    pub term_years: u32,
    pub candidates: Vec<Candidate>,
    pub tie_break: Option<TieBreak>,
    /// Per candidate: approvals, conditions, whether the rule holds, rank and standing; the
    /// elected and the alternates in order (`report::election_json`).
    pub result: Value,
}

/// The fingerprint of a public key.
pub fn fingerprint(public_key: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(public_key))[..16].to_owned()
}

/// The key part naming a signing key.
pub fn key_part(key: &SigningKey) -> KeyPart {
    let public = key.verifying_key().to_bytes();
    KeyPart {
        algorithm: "ed25519".into(),
        public_key: hex::encode(public),
        fingerprint: fingerprint(&public),
    }
}

impl Certificate {
    /// The bytes the signature covers: JCS of the certificate without `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).expect("certificates serialise");
        if let Value::Object(map) = &mut value {
            map.remove("signature");
        }
        serde_json_canonicalizer::to_vec(&value).expect("canonical JSON")
    }

    /// Fills `key` and `signature` with the community key.
    pub fn sign(&mut self, key: &SigningKey) {
        self.key = key_part(key);
        self.signature = hex::encode(key.sign(&self.signed_bytes()).to_bytes());
    }
}

/// Weight columns as the certificate's electorate totals write them.
fn columns_of(electorate: &ElectoratePart) -> Vec<WeightColumn> {
    electorate
        .weights
        .iter()
        .map(|(name, total)| WeightColumn {
            name: name.clone(),
            scale: total.split_once('.').map_or(0, |(_, f)| f.len() as u8),
        })
        .collect()
}

fn parse_totals(
    columns: &[WeightColumn],
    headcount: u64,
    weights: &BTreeMap<String, String>,
) -> Option<Totals> {
    let mut totals = Totals::zero(columns.len());
    totals.headcount = headcount;
    for (i, column) in columns.iter().enumerate() {
        let value = Decimal::parse(weights.get(&column.name)?).ok()?;
        totals.weights[i] = value.rescale(column.scale)?.units;
    }
    Some(totals)
}

/// Why a certificate does not verify, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("certificate: not a {FORMAT} document ({0})")]
    Format(String),
    #[error("signature: the public key in the certificate is not a valid Ed25519 key")]
    BadKey,
    #[error(
        "signature: the certificate was signed by key {found}, not the expected key {expected}"
    )]
    WrongKey { found: String, expected: String },
    #[error(
        "signature: does not match the certificate's content (the certificate was altered or signed by another key)"
    )]
    BadSignature,
    #[error("ledger: the opening record does not match its hash in the certificate")]
    Opening,
    #[error(
        "ledger: the certificate's {0} differs from the opening record's, which heads the chain"
    )]
    OpeningMismatch(&'static str),
    #[error("{0}")]
    Chain(String),
    #[error("ledger: {found} entries, but the certificate says {expected}")]
    Length { found: u64, expected: u64 },
    #[error("ledger: the last entry's hash does not match the certificate's ledger head")]
    Head,
    #[error("entry {seq}: {message}")]
    Entry { seq: u64, message: String },
    #[error("recount: {0}")]
    Recount(String),
}

/// Checks a certificate against its ledger, offline. `expected_key` (hex), when given, must be
/// the key that signed.
pub fn verify(
    certificate: &Certificate,
    entries: &[Entry],
    expected_key: Option<&str>,
) -> Result<(), VerifyError> {
    if certificate.format != FORMAT {
        return Err(VerifyError::Format(format!(
            "format is `{}`",
            certificate.format
        )));
    }
    // 1. Signature.
    let public: [u8; 32] = hex::decode(&certificate.key.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::BadKey)?;
    if let Some(expected) = expected_key
        && !expected.eq_ignore_ascii_case(&certificate.key.public_key)
    {
        return Err(VerifyError::WrongKey {
            found: fingerprint(&public),
            expected: hex::decode(expected)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map_or_else(|| expected.to_owned(), |k| fingerprint(&k)),
        });
    }
    let key = VerifyingKey::from_bytes(&public).map_err(|_| VerifyError::BadKey)?;
    let signature: [u8; 64] = hex::decode(&certificate.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VerifyError::BadSignature)?;
    key.verify(
        &certificate.signed_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| VerifyError::BadSignature)?;

    // 2. Chain, head and length.
    let ledger = &certificate.ledger;
    if canonical_hash(&ledger.opening) != ledger.opening_hash
        || ledger.opening.proposal != certificate.proposal.id
    {
        return Err(VerifyError::Opening);
    }
    // What was put to the vote is frozen in the opening record, which the chain (and every
    // voter's receipt) hangs from: the certificate must restate it, not a different rule.
    let opening = &ledger.opening;
    let restated = [
        ("title", opening.title == certificate.proposal.title),
        (
            "text hash",
            opening.text_hash == certificate.proposal.text_hash,
        ),
        ("rule", opening.rule == certificate.rule),
        (
            "electorate hash",
            opening.electorate_hash == certificate.electorate.hash,
        ),
        (
            "electorate headcount",
            opening.electorate_size == certificate.electorate.headcount,
        ),
        (
            "opening time",
            opening.opened_at == certificate.times.opened_at,
        ),
        (
            "election (seats, alternates or candidates)",
            opening.election
                == certificate
                    .election
                    .as_ref()
                    .map(|e| super::ledger::ElectionOpening {
                        seats: e.seats,
                        alternates: e.alternates,
                        candidates: e.candidates.clone(),
                    }),
        ),
    ];
    if let Some((what, _)) = restated.iter().find(|(_, same)| !same) {
        return Err(VerifyError::OpeningMismatch(what));
    }
    let head = verify_chain(&certificate.proposal.id, &ledger.opening_hash, entries).map_err(
        |e| match e {
            ChainError::Link { seq: 1 } => VerifyError::Chain(
                "entry 1: its `prev` does not match the certificate's opening hash — the ledger does not start from this proposal's opening record".into(),
            ),
            ChainError::Link { seq } => VerifyError::Chain(format!(
                "entry {seq}: its `prev` does not match the hash of entry {} — entry {} (or one before it) was changed, removed or reordered",
                seq - 1,
                seq - 1
            )),
            ChainError::Sequence { seq, expected } => VerifyError::Chain(format!(
                "entry at position {expected}: has sequence number {seq} — an entry was added, removed or reordered"
            )),
            other => VerifyError::Chain(other.to_string()),
        },
    )?;
    if entries.len() as u64 != ledger.length {
        return Err(VerifyError::Length {
            found: entries.len() as u64,
            expected: ledger.length,
        });
    }
    if head != ledger.head {
        return Err(VerifyError::Head);
    }

    // 3. Recount from the ledger.
    if certificate.proposal.question == "election" {
        return verify_election(certificate, entries);
    }
    if certificate.election.is_some() {
        return Err(VerifyError::Format(
            "a motion's certificate carries an `election` part".into(),
        ));
    }
    let (columns, tally) = recount(
        &certificate.electorate,
        certificate.proposal.allow_change,
        entries,
    )?;
    let spec: RuleSpec = serde_json::from_value(certificate.rule.clone())
        .map_err(|e| VerifyError::Recount(format!("the rule cannot be read: {e}")))?;
    let rule = Rule::try_from(spec).map_err(|e| VerifyError::Recount(format!("the rule: {e}")))?;
    rule.check_against(&columns)
        .map_err(|e| VerifyError::Recount(format!("the rule: {e}")))?;
    let evaluation = evaluate(&rule, &columns, &tally);
    let recount = super::report::motion_json(&columns, &tally, &evaluation);
    if recount["tally"] != certificate.tally {
        return Err(VerifyError::Recount(format!(
            "the ledger counts {}, but the certificate says {}",
            recount["tally"], certificate.tally
        )));
    }
    if recount["conditions"] != certificate.conditions {
        return Err(VerifyError::Recount(
            "the conditions' numbers in the certificate differ from the recount".into(),
        ));
    }
    if recount["outcome"] != json!(certificate.outcome)
        || recount["level"] != json!(certificate.level)
    {
        return Err(VerifyError::Recount(format!(
            "the rule gives `{}`, but the certificate says `{}`",
            recount["outcome"].as_str().unwrap_or("?"),
            certificate.outcome
        )));
    }
    Ok(())
}

/// Counts a ledger: the latest entry per voter (a voter appearing twice is an error unless
/// changing was allowed), weights read at the electorate totals' scales.
pub fn recount(
    electorate_part: &ElectoratePart,
    allow_change: bool,
    entries: &[Entry],
) -> Result<(Vec<WeightColumn>, Tally), VerifyError> {
    let columns = columns_of(electorate_part);
    let electorate = parse_totals(
        &columns,
        electorate_part.headcount,
        &electorate_part.weights,
    )
    .ok_or_else(|| VerifyError::Recount("the electorate totals cannot be read".into()))?;
    let mut latest: HashMap<&str, (Choice, Vec<u128>)> = HashMap::new();
    for entry in entries {
        let bad = |message: String| VerifyError::Entry {
            seq: entry.seq,
            message,
        };
        let choice = Choice::parse(&entry.choice)
            .ok_or_else(|| bad(format!("unknown choice `{}`", entry.choice)))?;
        let mut weights = Vec::with_capacity(columns.len());
        for column in &columns {
            let value = entry
                .weights
                .get(&column.name)
                .and_then(|w| Decimal::parse(w).ok())
                .and_then(|d| d.rescale(column.scale))
                .ok_or_else(|| bad(format!("weight `{}` missing or unreadable", column.name)))?;
            weights.push(value.units);
        }
        if let Some((_, earlier)) = latest.get(entry.voter.as_str()) {
            if !allow_change {
                return Err(bad(format!(
                    "voter `{}` appears a second time, though changing a ballot was not allowed",
                    entry.voter
                )));
            }
            if earlier != &weights {
                return Err(bad(format!(
                    "voter `{}` carries different weights than before",
                    entry.voter
                )));
            }
        }
        latest.insert(&entry.voter, (choice, weights));
    }
    let mut tally = Tally {
        yes: Totals::zero(columns.len()),
        no: Totals::zero(columns.len()),
        abstain: Totals::zero(columns.len()),
        electorate,
    };
    for (choice, weights) in latest.values() {
        let totals = match choice {
            Choice::Yes => &mut tally.yes,
            Choice::No => &mut tally.no,
            Choice::Abstain => &mut tally.abstain,
        };
        totals.add(weights);
    }
    let participants = tally.participants();
    if participants.headcount > tally.electorate.headcount
        || participants
            .weights
            .iter()
            .zip(&tally.electorate.weights)
            .any(|(p, e)| p > e)
    {
        return Err(VerifyError::Recount(
            "more took part than the electorate holds".into(),
        ));
    }
    Ok((columns, tally))
}

/// Rechecks an election certificate against its (already chained) ledger: recounts every
/// candidate, redraws a lot from its published seed, reranks, and compares.
fn verify_election(certificate: &Certificate, entries: &[Entry]) -> Result<(), VerifyError> {
    let part = certificate.election.as_ref().ok_or_else(|| {
        VerifyError::Format("an election's certificate without its `election` part".into())
    })?;
    let election = Election::new(part.candidates.clone(), part.seats, part.alternates)
        .map_err(|e| VerifyError::Recount(format!("the election: {e}")))?;
    let (columns, count) = recount_election(
        &certificate.electorate,
        certificate.proposal.allow_change,
        entries,
        &election,
    )?;
    let spec: RuleSpec = serde_json::from_value(certificate.rule.clone())
        .map_err(|e| VerifyError::Recount(format!("the rule cannot be read: {e}")))?;
    let rule = Rule::try_from(spec).map_err(|e| VerifyError::Recount(format!("the rule: {e}")))?;
    rule.check_against(&columns)
        .map_err(|e| VerifyError::Recount(format!("the rule: {e}")))?;
    let tie_break = match &part.tie_break {
        None => Vec::new(),
        Some(tb) => tie_break_positions(&election, tb)?,
    };
    let recount =
        super::report::election_count_json(&election, &rule, &columns, &count, &tie_break);
    if recount["tally"] != certificate.tally {
        return Err(VerifyError::Recount(format!(
            "the ledger counts {}, but the certificate says {}",
            recount["tally"], certificate.tally
        )));
    }
    if recount["conditions"] != certificate.conditions {
        return Err(VerifyError::Recount(
            "the quorum conditions' numbers in the certificate differ from the recount".into(),
        ));
    }
    if recount["election"] != part.result {
        return Err(VerifyError::Recount(ranking_difference(
            &recount["election"],
            &part.result,
        )));
    }
    if recount["outcome"] != json!(certificate.outcome) || certificate.level.is_some() {
        return Err(VerifyError::Recount(format!(
            "the election gives `{}`, but the certificate says `{}`",
            recount["outcome"].as_str().unwrap_or("?"),
            certificate.outcome
        )));
    }
    if !recount["election"]["ties"]
        .as_array()
        .is_none_or(|t| t.is_empty())
    {
        return Err(VerifyError::Recount(
            "the ranking leaves a tie unbroken, so the certificate cannot name who is elected"
                .into(),
        ));
    }
    Ok(())
}

/// The candidate positions a recorded tie-break orders; a lot is redrawn from its seed.
pub fn tie_break_positions(election: &Election, tb: &TieBreak) -> Result<Vec<usize>, VerifyError> {
    match tb.method.as_str() {
        "decision" => {}
        "lot" => {
            let seed = tb.seed.as_deref().ok_or_else(|| {
                VerifyError::Recount("tie-break: a lot without its published seed".into())
            })?;
            let ids: Vec<&str> = election
                .candidates()
                .iter()
                .map(|c| c.id.as_str())
                .collect();
            let drawn = draw_lot(seed, &ids);
            if drawn != tb.order {
                return Err(VerifyError::Recount(format!(
                    "tie-break: the lot drawn from seed `{seed}` orders the candidates {}, but the certificate records {}",
                    drawn.join(", "),
                    tb.order.join(", ")
                )));
            }
        }
        other => {
            return Err(VerifyError::Recount(format!(
                "tie-break: unknown method `{other}` (expected `decision` or `lot`)"
            )));
        }
    }
    tb.order
        .iter()
        .map(|id| {
            election
                .position(id)
                .ok_or_else(|| VerifyError::Recount(format!("tie-break: unknown candidate `{id}`")))
        })
        .collect()
}

/// Says where a certificate's ranking departs from the recount.
fn ranking_difference(recounted: &Value, certified: &Value) -> String {
    let describe = |c: &Value| {
        let standing = match (c["standing"].as_str(), &c["alternate_order"]) {
            (Some("alternate"), Value::Number(n)) => format!("alternate {n}"),
            (Some(s), _) => s.replace('_', " "),
            (None, _) => "?".to_owned(),
        };
        format!(
            "`{}` rank {} ({standing}, {} approvals)",
            c["id"].as_str().unwrap_or("?"),
            c["rank"],
            c["approvals"]["headcount"]
        )
    };
    let empty = Vec::new();
    let ours = recounted["candidates"].as_array().unwrap_or(&empty);
    let theirs = certified["candidates"].as_array().unwrap_or(&empty);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            return format!(
                "the ranking differs at place {}: the ledger gives {}, but the certificate says {}",
                i + 1,
                describe(a),
                describe(b)
            );
        }
    }
    for key in ["elected", "alternates_in_order", "ties"] {
        if recounted[key] != certified[key] {
            return format!(
                "`{key}` is {} by the ledger, but the certificate says {}",
                recounted[key], certified[key]
            );
        }
    }
    "the election's numbers in the certificate differ from the recount".into()
}

/// Counts an election's ledger: the latest entry per voter, each choice read against the
/// candidate list, weights at the electorate totals' scales.
pub fn recount_election(
    electorate_part: &ElectoratePart,
    allow_change: bool,
    entries: &[Entry],
    election: &Election,
) -> Result<(Vec<WeightColumn>, ElectionTally), VerifyError> {
    let columns = columns_of(electorate_part);
    let electorate = parse_totals(
        &columns,
        electorate_part.headcount,
        &electorate_part.weights,
    )
    .ok_or_else(|| VerifyError::Recount("the electorate totals cannot be read".into()))?;
    let mut latest: HashMap<&str, (ElectionBallot, Vec<u128>)> = HashMap::new();
    for entry in entries {
        let bad = |message: String| VerifyError::Entry {
            seq: entry.seq,
            message,
        };
        let ballot = election
            .parse_choice(&entry.choice)
            .map_err(|e| bad(format!("choice `{}`: {e}", entry.choice)))?;
        let mut weights = Vec::with_capacity(columns.len());
        for column in &columns {
            let value = entry
                .weights
                .get(&column.name)
                .and_then(|w| Decimal::parse(w).ok())
                .and_then(|d| d.rescale(column.scale))
                .ok_or_else(|| bad(format!("weight `{}` missing or unreadable", column.name)))?;
            weights.push(value.units);
        }
        if let Some((_, earlier)) = latest.get(entry.voter.as_str()) {
            if !allow_change {
                return Err(bad(format!(
                    "voter `{}` appears a second time, though changing a ballot was not allowed",
                    entry.voter
                )));
            }
            if earlier != &weights {
                return Err(bad(format!(
                    "voter `{}` carries different weights than before",
                    entry.voter
                )));
            }
        }
        latest.insert(&entry.voter, (ballot, weights));
    }
    let mut count = ElectionTally::new(election.candidates().len(), electorate);
    for (ballot, weights) in latest.values() {
        count.add(weights, ballot);
    }
    let participants = count.participants();
    if participants.headcount > count.electorate.headcount
        || participants
            .weights
            .iter()
            .zip(&count.electorate.weights)
            .any(|(p, e)| p > e)
    {
        return Err(VerifyError::Recount(
            "more took part than the electorate holds".into(),
        ));
    }
    Ok((columns, count))
}

/// The result notice of an election in both languages: turnout as a share of all households,
/// then the elected and the alternates in order, each with their approvals.
pub fn election_summary(
    rule: &Rule,
    election: &Election,
    columns: &[WeightColumn],
    count: &ElectionTally,
    result: &Value,
) -> Summary {
    let (rule_en, rule_zh) = rule_names(rule);
    let participants = count.participants();
    let e = &count.electorate;
    let name_of = |id: &str| {
        election
            .position(id)
            .map(|p| election.candidates()[p].name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_owned())
    };
    let approvals = |id: &str| {
        result["candidates"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == id))
            .map_or(0, |c| c["approvals"]["headcount"].as_u64().unwrap_or(0))
    };
    let ids = |key: &str| -> Vec<String> {
        result[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (elected, alternates) = (ids("elected"), ids("alternates_in_order"));
    let mut en = format!(
        "Of all {} households, {} took part ({}% of all households",
        grouped(u128::from(e.headcount)),
        grouped(u128::from(participants.headcount)),
        percent(u128::from(participants.headcount), u128::from(e.headcount))
    );
    let mut zh = format!(
        "共{}户，参与投票{}户，占总户数的{}%",
        grouped(u128::from(e.headcount)),
        grouped(u128::from(participants.headcount)),
        percent(u128::from(participants.headcount), u128::from(e.headcount))
    );
    for (i, c) in columns.iter().enumerate() {
        let amount = |v: u128| Decimal::new(v, c.scale).grouped();
        en.push_str(&format!(
            "; {} of {} {}",
            amount(participants.weights[i]),
            amount(e.weights[i]),
            c.name
        ));
        zh.push_str(&format!(
            "；{}{}，共{}",
            if c.name == "area" { "面积" } else { &c.name },
            amount(participants.weights[i]),
            amount(e.weights[i])
        ));
    }
    en.push_str(&format!(
        "). {} seats, {} alternates; each candidate measured under {rule_en}.",
        election.seats(),
        election.alternates()
    ));
    zh.push_str(&format!(
        "。应选委员{}名、候补{}名，每位候选人依据{rule_zh}分别计算。",
        election.seats(),
        election.alternates()
    ));
    if elected.is_empty() {
        en.push_str(" Nobody was elected.");
        zh.push_str("无人当选。");
    } else {
        let list = |ids: &[String], zh: bool| {
            ids.iter()
                .map(|id| {
                    if zh {
                        format!("{}（{}票）", name_of(id), approvals(id))
                    } else {
                        format!("{} ({} approvals)", name_of(id), approvals(id))
                    }
                })
                .collect::<Vec<_>>()
        };
        en.push_str(&format!(" Elected: {}.", list(&elected, false).join(", ")));
        zh.push_str(&format!("当选：{}。", list(&elected, true).join("、")));
        if !alternates.is_empty() {
            en.push_str(&format!(
                " Alternates, in the order they move up: {}.",
                list(&alternates, false).join(", ")
            ));
            zh.push_str(&format!(
                "候补（按递补顺序）：{}。",
                list(&alternates, true).join("、")
            ));
        }
    }
    Summary { en, zh }
}

/// The names a rule goes by in the result notice, when it starts with a preset.
fn rule_names(rule: &Rule) -> (String, String) {
    let first = &rule.levels()[0].conditions;
    for (name, _) in PRESETS {
        let preset = Rule::preset(name).expect("presets parse");
        let same_levels = preset.levels().len() == rule.levels().len()
            && preset
                .levels()
                .iter()
                .zip(rule.levels())
                .all(|(p, r)| r.conditions.starts_with(&p.conditions));
        if !same_levels || first.is_empty() {
            continue;
        }
        let extra = first.len() > preset.levels()[0].conditions.len();
        let (en, zh) = match name {
            "cn-278" => (
                "Civil Code Art. 278".to_owned(),
                "《民法典》第二百七十八条".to_owned(),
            ),
            "cn-278-major" => (
                "Civil Code Art. 278 (items 6 to 8)".to_owned(),
                "《民法典》第二百七十八条（第六项至第八项）".to_owned(),
            ),
            "de-weg-25" => (
                "WEG § 25".to_owned(),
                "德国《住宅所有权法》第25条".to_owned(),
            ),
            "de-weg-21" => (
                "WEG § 21(2)".to_owned(),
                "德国《住宅所有权法》第21条第2款".to_owned(),
            ),
            "absolute-majority" => ("an absolute majority".to_owned(), "全体过半数".to_owned()),
            "simple-majority" => ("a simple majority".to_owned(), "简单多数".to_owned()),
            "two-thirds" => (
                "a two-thirds majority".to_owned(),
                "三分之二多数".to_owned(),
            ),
            "three-quarters" => (
                "a three-quarters majority".to_owned(),
                "四分之三多数".to_owned(),
            ),
            "unanimous" => ("unanimity".to_owned(), "全体一致".to_owned()),
            other => (other.to_owned(), other.to_owned()),
        };
        return if extra {
            (
                format!("{en} with the community's additional conditions"),
                format!("{zh}及本社区附加条件"),
            )
        } else {
            (en, zh)
        };
    }
    (
        "the community's rule".to_owned(),
        "本社区议事规则".to_owned(),
    )
}

/// The result notice in both languages: totals, participation and approval by every measure,
/// each as a share of its base, and the rule.
pub fn summary(rule: &Rule, columns: &[WeightColumn], tally: &Tally, outcome: &str) -> Summary {
    let participants = tally.participants();
    let area_unit = |c: &WeightColumn, zh: bool| match (c.name.as_str(), zh) {
        ("area", false) => " m²".to_owned(),
        ("area", true) => "平方米".to_owned(),
        (name, _) => format!(" {name}"),
    };
    let zh_name = |c: &WeightColumn| {
        if c.name == "area" {
            "面积".to_owned()
        } else {
            c.name.clone()
        }
    };
    let amount = |i: usize, value: u128| Decimal::new(value, columns[i].scale).grouped();
    let (rule_en, rule_zh) = rule_names(rule);
    let e = &tally.electorate;
    let mut en = format!("Of all {} households", grouped(u128::from(e.headcount)));
    let mut zh = format!("共{}户", grouped(u128::from(e.headcount)));
    for (i, c) in columns.iter().enumerate() {
        en.push_str(&format!(
            " ({}{} in all)",
            amount(i, e.weights[i]),
            area_unit(c, false)
        ));
        zh.push_str(&format!(
            "，总{}{}{}",
            zh_name(c),
            amount(i, e.weights[i]),
            area_unit(c, true)
        ));
    }
    en.push_str(&format!(
        ", {} took part ({}% of all households",
        grouped(u128::from(participants.headcount)),
        percent(u128::from(participants.headcount), u128::from(e.headcount))
    ));
    zh.push_str(&format!(
        "。参与表决{}户，占总户数的{}%",
        grouped(u128::from(participants.headcount)),
        percent(u128::from(participants.headcount), u128::from(e.headcount))
    ));
    for (i, c) in columns.iter().enumerate() {
        en.push_str(&format!(
            "; {}{}, {}% of all {}",
            amount(i, participants.weights[i]),
            area_unit(c, false),
            percent(participants.weights[i], e.weights[i]),
            c.name
        ));
        zh.push_str(&format!(
            "；参与表决{}{}{}，占总{}的{}%",
            zh_name(c),
            amount(i, participants.weights[i]),
            area_unit(c, true),
            zh_name(c),
            percent(participants.weights[i], e.weights[i])
        ));
    }
    en.push_str(&format!(
        "). {} approved ({}% of the households that took part",
        grouped(u128::from(tally.yes.headcount)),
        percent(
            u128::from(tally.yes.headcount),
            u128::from(participants.headcount)
        )
    ));
    zh.push_str(&format!(
        "。同意{}户，占参与表决户数的{}%",
        grouped(u128::from(tally.yes.headcount)),
        percent(
            u128::from(tally.yes.headcount),
            u128::from(participants.headcount)
        )
    ));
    for (i, c) in columns.iter().enumerate() {
        en.push_str(&format!(
            "; {}{}, {}% of the {} that took part",
            amount(i, tally.yes.weights[i]),
            area_unit(c, false),
            percent(tally.yes.weights[i], participants.weights[i]),
            c.name
        ));
        zh.push_str(&format!(
            "；同意{}{}{}，占参与表决{}的{}%",
            zh_name(c),
            amount(i, tally.yes.weights[i]),
            area_unit(c, true),
            zh_name(c),
            percent(tally.yes.weights[i], participants.weights[i])
        ));
    }
    let (verdict_en, verdict_zh) = match outcome {
        "passed" => ("PASSED", "表决通过"),
        "no_quorum" => ("FAILED for lack of quorum", "因参与人数或面积不足未通过"),
        _ => ("was REJECTED", "表决未通过"),
    };
    en.push_str(&format!("). Under {rule_en}, the proposal {verdict_en}."));
    zh.push_str(&format!("。依据{rule_zh}，{verdict_zh}。"));
    Summary { en, zh }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roll::Roll;

    #[test]
    fn the_summary_states_every_base_in_both_languages() {
        let roll = Roll::from_csv("voter,unit,area\na,1,100.00\nb,2,50.00\nc,3,50.00\n").unwrap();
        let rule = Rule::preset("cn-278").unwrap();
        let tally = Tally::count(&roll, [(0, Choice::Yes), (1, Choice::Yes), (2, Choice::No)]);
        let s = summary(&rule, roll.columns(), &tally, "passed");
        assert!(
            s.en.starts_with(
                "Of all 3 households (200.00 m² in all), 3 took part (100.0% of all households"
            ),
            "{}",
            s.en
        );
        assert!(s.en.contains("2 approved (66.7% of the households that took part; 150.00 m², 75.0% of the area that took part)"), "{}", s.en);
        assert!(
            s.en.ends_with("Under Civil Code Art. 278, the proposal PASSED."),
            "{}",
            s.en
        );
        assert!(
            s.zh.starts_with("共3户，总面积200.00平方米。参与表决3户，占总户数的100.0%"),
            "{}",
            s.zh
        );
        assert!(
            s.zh.ends_with("依据《民法典》第二百七十八条，表决通过。"),
            "{}",
            s.zh
        );
    }
}
