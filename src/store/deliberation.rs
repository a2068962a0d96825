//! The records of deliberation, stored as JSON like the rest: comments, proposal revisions,
//! petitions with their co-signatures, council meetings and outreach logs.

use serde::{Deserialize, Serialize};

use super::StoreResult;
use super::records::{CostRecord, Role};
use super::tables::*;
use crate::domain::rule::RuleSpec;

pub(super) fn create_tables(tx: &redb::WriteTransaction) -> StoreResult<()> {
    tx.open_table(COMMENTS)?;
    tx.open_table(SUBJECT_COMMENTS)?;
    tx.open_table(ACCOUNT_COMMENTS)?;
    tx.open_table(REVISIONS)?;
    tx.open_table(PETITIONS)?;
    tx.open_table(COMMUNITY_PETITIONS)?;
    tx.open_table(COSIGNATURES)?;
    tx.open_table(PETITION_SETTINGS)?;
    tx.open_table(MEETINGS)?;
    tx.open_table(COMMUNITY_MEETINGS)?;
    tx.open_table(OUTREACH)?;
    tx.open_table(LAST_SEEN)?;
    Ok(())
}

/// Who did something and when, with the reason they gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReasonedAct {
    pub by: String,
    pub at: String,
    #[serde(default)]
    pub reason: String,
}

/// One comment in a thread. Never deleted: hiding keeps it, with who hid it and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentRecord {
    pub id: String,
    pub community: String,
    /// `proposal:ID` or `petition:ID`.
    pub subject: String,
    /// The comment this one replies to (in the same subject).
    #[serde(default)]
    pub parent: Option<String>,
    /// 0 for a top-level comment, parent's depth + 1 for a reply.
    #[serde(default)]
    pub depth: u8,
    pub author: String,
    pub author_login: String,
    /// The author's role when writing: an officer's comment is the council's answer.
    pub author_role: Role,
    /// Markdown subset, rendered by the client as text nodes only.
    pub body: String,
    pub created_at: String,
    #[serde(default)]
    pub hidden: Option<ReasonedAct>,
    #[serde(default)]
    pub reports: Vec<ReasonedAct>,
}

/// One version of a proposal's text, cost and rule. Revision 1 is the proposal as created;
/// the last revision before opening is the text put to the vote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionRecord {
    pub number: u64,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub cost: Option<CostRecord>,
    pub rule: RuleSpec,
    /// SHA-256 of the body, as the opening record names it.
    pub text_hash: String,
    pub author: String,
    pub author_login: String,
    pub at: String,
    #[serde(default)]
    pub note: String,
}

/// The council's response to a petition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PetitionResponseRecord {
    /// The public answer (required when no proposal is linked, optional with one).
    #[serde(default)]
    pub answer: String,
    /// The draft proposal the petition was turned into.
    #[serde(default)]
    pub proposal: Option<String>,
    pub by: String,
    pub at: String,
}

/// A residents' need (需求) raised by a voter and co-signed by others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PetitionRecord {
    pub id: String,
    pub community: String,
    pub title: String,
    pub body: String,
    pub raised_by: String,
    pub raised_by_login: String,
    pub raised_at: String,
    /// Co-signing closes at this time (RFC 3339).
    pub signing_closes: String,
    /// The threshold in force when it was raised, as `p/q` of the headcount.
    pub threshold: String,
    /// The roll's headcount when it was raised.
    pub headcount: u64,
    /// Signatures so far (the raiser's included).
    pub signatures: u64,
    /// When the threshold was reached (the petition became due).
    #[serde(default)]
    pub reached_at: Option<String>,
    #[serde(default)]
    pub response: Option<PetitionResponseRecord>,
}

/// A voter's co-signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CosignRecord {
    pub account: String,
    pub at: String,
}

/// A community's petition setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PetitionSettingsRecord {
    /// Share of the headcount, `p/q`.
    pub threshold: String,
    pub updated_by: String,
    pub updated_at: String,
}

/// An item on a meeting's agenda.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgendaItem {
    /// `proposal` or `petition`.
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub title: String,
}

/// Someone recorded as present at a meeting.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttendeeRecord {
    /// Roll key, when the attendee is a voter.
    #[serde(default)]
    pub voter: Option<String>,
    pub name: String,
}

/// A show of hands entered as assisted ballots of the attendees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShowOfHandsRecord {
    pub proposal: String,
    /// Ballots recorded, by choice.
    pub yes: u64,
    pub no: u64,
    pub abstain: u64,
    pub at: String,
}

/// A council meeting: scheduled, then closed with minutes and the attendee count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeetingRecord {
    pub id: String,
    pub community: String,
    pub title: String,
    /// RFC 3339.
    pub starts_at: String,
    pub place: String,
    #[serde(default)]
    pub agenda: Vec<AgendaItem>,
    #[serde(default)]
    pub attendees: Vec<AttendeeRecord>,
    /// Set at close; may exceed the named attendees (people not on the roll).
    #[serde(default)]
    pub attendee_count: Option<u64>,
    #[serde(default)]
    pub minutes: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub show_of_hands: Vec<ShowOfHandsRecord>,
    pub created_by: String,
    pub created_at: String,
}

/// One contact attempt with a voter who had not voted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutreachRecord {
    pub seq: u64,
    pub voter: String,
    /// `phone`, `visit` or `note`.
    pub method: String,
    /// `will_vote`, `not_home`, `needs_paper_ballot`, `refused` or `other`.
    pub outcome: String,
    #[serde(default)]
    pub note: String,
    pub by: String,
    pub by_login: String,
    pub at: String,
}

/// Most revisions one proposal keeps (each holds a whole text; all are served together).
pub const MAX_REVISIONS: u64 = 200;

/// Whether recording `proposal` as a new revision would go past [`MAX_REVISIONS`] (a change
/// equal to the last revision records nothing and is always allowed).
pub fn revisions_full(
    tx: &redb::WriteTransaction,
    proposal: &super::records::ProposalRecord,
) -> StoreResult<bool> {
    use redb::ReadableTable;
    let table = tx.open_table(REVISIONS)?;
    let id = proposal.id.as_str();
    let Some(row) = table.range((id, 0)..=(id, u64::MAX))?.next_back() else {
        return Ok(false);
    };
    let (_, v) = row?;
    let last: RevisionRecord = super::decode("revisions", v.value())?;
    let unchanged = last.title == proposal.title
        && last.body == proposal.body
        && last.cost == proposal.cost
        && last.rule == proposal.rule;
    Ok(!unchanged && last.number >= MAX_REVISIONS)
}

/// Records the proposal's current title, body, cost and rule as its next revision, unless they
/// equal the last revision's. Returns the revision number now current.
pub fn record_revision(
    tx: &redb::WriteTransaction,
    proposal: &super::records::ProposalRecord,
    author: &str,
    author_login: &str,
    at: &str,
) -> StoreResult<u64> {
    use redb::ReadableTable;
    let mut table = tx.open_table(REVISIONS)?;
    let id = proposal.id.as_str();
    let last = table
        .range((id, 0)..=(id, u64::MAX))?
        .next_back()
        .transpose()?
        .map(|(_, v)| super::decode::<RevisionRecord>("revisions", v.value()))
        .transpose()?;
    if let Some(last) = &last
        && last.title == proposal.title
        && last.body == proposal.body
        && last.cost == proposal.cost
        && last.rule == proposal.rule
    {
        return Ok(last.number);
    }
    let number = last.map_or(1, |l| l.number + 1);
    let revision = RevisionRecord {
        number,
        title: proposal.title.clone(),
        body: proposal.body.clone(),
        cost: proposal.cost.clone(),
        rule: proposal.rule.clone(),
        text_hash: crate::domain::ledger::text_hash(&proposal.body),
        author: author.to_owned(),
        author_login: author_login.to_owned(),
        at: at.to_owned(),
        note: String::new(),
    };
    table.insert((id, number), super::encode(&revision).as_slice())?;
    Ok(number)
}
