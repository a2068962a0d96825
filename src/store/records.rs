//! The records stored in the tables, as JSON. New fields get `#[serde(default)]` so that older
//! files read without a migration; a removed or changed field bumps the schema version.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domain::ledger::Channel;
pub use crate::domain::lifecycle::ProposalState;
use crate::domain::roll::{Roll, Voter, WeightColumn};
use crate::domain::rule::RuleSpec;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub login: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    #[serde(default)]
    pub is_admin: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub account: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommunityRecord {
    pub id: String,
    pub name: String,
    /// IANA timezone name, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// Key for secret-ballot pseudonyms (hex). Never leaves the server.
    pub secret: String,
    pub created_at: String,
}

/// A member's role in one community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Voter,
    Observer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Voter => "voter",
            Role::Observer => "observer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "officer" => Some(Role::Officer),
            "voter" => Some(Role::Voter),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembershipRecord {
    pub community: String,
    pub account: String,
    pub role: Role,
    /// The roll key this account votes as (voters only).
    #[serde(default)]
    pub voter: Option<String>,
    pub since: String,
}

/// A roll as stored: columns with their scales and voters with exact integer weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollRecord {
    pub columns: Vec<ColumnRecord>,
    pub voters: Vec<VoterRecord>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnRecord {
    pub name: String,
    pub scale: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoterRecord {
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    pub units: Vec<String>,
    /// One per column, in the column's scale.
    pub weights: Vec<u128>,
}

impl RollRecord {
    pub fn from_roll(roll: &Roll, updated_at: String) -> Self {
        Self {
            columns: roll
                .columns()
                .iter()
                .map(|c| ColumnRecord {
                    name: c.name.clone(),
                    scale: c.scale,
                })
                .collect(),
            voters: roll
                .voters()
                .iter()
                .map(|v| VoterRecord {
                    key: v.key.clone(),
                    name: v.name.clone(),
                    phone: v.phone.clone(),
                    tags: v.tags.clone(),
                    units: v.units.clone(),
                    weights: v.weights.clone(),
                })
                .collect(),
            updated_at,
        }
    }

    pub fn to_roll(&self) -> Roll {
        Roll::from_voters(
            self.columns
                .iter()
                .map(|c| WeightColumn {
                    name: c.name.clone(),
                    scale: c.scale,
                })
                .collect(),
            self.voters
                .iter()
                .map(|v| Voter {
                    key: v.key.clone(),
                    name: v.name.clone(),
                    phone: v.phone.clone(),
                    tags: v.tags.clone(),
                    units: v.units.clone(),
                    weights: v.weights.clone(),
                })
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivationRecord {
    pub community: String,
    pub voter: String,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default)]
    pub used_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Secrecy {
    Open,
    Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone with access sees the choices as they come in.
    Live,
    /// A voter sees the choices once they have voted; others after close.
    AfterVote,
    /// Nobody sees the choices before voting closes.
    AfterClose,
}

/// How the cost is shared among the voters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CostSplit {
    /// Every voter pays `amount`.
    PerVoter,
    /// `amount` is the total, split equally.
    Equally,
    /// `amount` is the total, split by a weight column (`weight`).
    ByWeight,
}

/// The money a proposal moves, in fen (hundredths of the currency unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CostRecord {
    /// Decimal amount as written, e.g. "1000.00".
    pub amount: String,
    pub currency: String,
    pub split: CostSplit,
    #[serde(default)]
    pub weight: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtensionRecord {
    pub at: String,
    pub by: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProposalRecord {
    pub id: String,
    pub community: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub cost: Option<CostRecord>,
    /// `motion` for now.
    pub question: String,
    pub rule: RuleSpec,
    #[serde(default)]
    pub scope: Vec<String>,
    pub secrecy: Secrecy,
    pub visibility: Visibility,
    pub allow_change: bool,
    pub state: ProposalState,
    pub created_by: String,
    pub created_at: String,
    /// When voting opens by itself (from deliberation), if scheduled.
    #[serde(default)]
    pub opens_at: Option<String>,
    /// When voting closes by itself.
    pub closes_at: String,
    #[serde(default)]
    pub opened_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub extensions: Vec<ExtensionRecord>,
    #[serde(default)]
    pub withdrawn_reason: Option<String>,
    #[serde(default)]
    pub text_hash: Option<String>,
    #[serde(default)]
    pub electorate_hash: Option<String>,
    /// Hash of the opening record: the `prev` of the first ledger entry.
    #[serde(default)]
    pub opening_hash: Option<String>,
    /// The opening record as stored (JSON), so anyone can recompute its hash.
    #[serde(default)]
    pub opening: Option<serde_json::Value>,
    /// The final count, set at close: the tally report JSON.
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub ledger_len: u64,
    #[serde(default)]
    pub ledger_head: Option<String>,
    /// Who checked the count, added after close and before publishing.
    #[serde(default)]
    pub attestations: Vec<crate::domain::certificate::Attestation>,
    /// For `question: "election"`: seats, candidates, nominations and any tie-break.
    #[serde(default)]
    pub election: Option<ElectionRecord>,
}

/// A voter's current ballot on a proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BallotRecord {
    pub seq: u64,
    pub choice: String,
    pub channel: Channel,
    pub idempotency_key: String,
    pub receipt: String,
    pub at: String,
    /// The account that cast it (the voter, the proxy holder or the officer).
    pub cast_by: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProxyRecord {
    pub holder: String,
    pub holder_login: String,
    /// The text of the written authorisation, as recorded by the officer.
    pub authorisation: String,
    pub expires_at: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub community: String,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
    pub at: String,
    pub prev: String,
}

/// A community signing key. The secret never leaves the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub fingerprint: String,
    pub public_key: String,
    pub secret_key: String,
    pub created_at: String,
    #[serde(default)]
    pub retired_at: Option<String>,
}

// ---- Elections and the committee (issue 8) -------------------------------------------------

/// An election proposal's own part: what is elected, who stands, and how ties were broken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElectionRecord {
    pub seats: usize,
    pub alternates: usize,
    pub term_years: u32,
    /// In ballot order; frozen when voting opens.
    pub candidates: Vec<CandidateRecord>,
    #[serde(default)]
    pub nominations: Vec<NominationRecord>,
    /// Numbers the next candidate id (`c1`, `c2`, …).
    #[serde(default)]
    pub next_candidate: u32,
    /// The seed published for a lot, before any draw.
    #[serde(default)]
    pub lot_seed: Option<LotSeedRecord>,
    #[serde(default)]
    pub tie_break: Option<crate::domain::certificate::TieBreak>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateRecord {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub statement: String,
    /// The roll key of a self-nominated candidate.
    #[serde(default)]
    pub voter: Option<String>,
    pub added_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NominationStatus {
    Pending,
    Accepted,
    Declined,
}

/// A voter standing for election, waiting for an officer to accept or decline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NominationRecord {
    pub id: String,
    pub voter: String,
    pub name: String,
    pub statement: String,
    pub status: NominationStatus,
    pub at: String,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The candidate id given on acceptance.
    #[serde(default)]
    pub candidate: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LotSeedRecord {
    pub seed: String,
    pub published_at: String,
    pub published_by: String,
}

/// A community's committee: who sits, who waits, and every change since the election.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitteeRecord {
    pub community: String,
    /// The certified election it came from.
    pub election: String,
    pub title: String,
    pub seats: usize,
    pub term_years: u32,
    pub term_start: String,
    pub term_end: String,
    pub members: Vec<CommitteePerson>,
    pub alternates: Vec<CommitteePerson>,
    pub reelection_due: bool,
    pub history: Vec<CommitteeChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitteePerson {
    pub candidate: String,
    pub name: String,
    /// Since when they hold the seat (members) or the place (alternates).
    pub since: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitteeChange {
    pub seq: u64,
    /// `constituted` or `vacancy`.
    pub kind: String,
    /// The date the change took effect (a vacancy's date as recorded).
    pub date: String,
    pub recorded_at: String,
    pub recorded_by: String,
    #[serde(default)]
    pub left: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub moved_up: Option<String>,
    pub reelection_due: bool,
    /// The names of who left and who moved up, as they stood for election.
    #[serde(default)]
    pub left_name: Option<String>,
    #[serde(default)]
    pub moved_up_name: Option<String>,
}

impl ElectionRecord {
    /// The election's shape for counting: the candidates in ballot order.
    pub fn election(
        &self,
    ) -> Result<crate::domain::election::Election, crate::domain::election::ElectionError> {
        crate::domain::election::Election::new(
            self.candidates
                .iter()
                .map(|c| crate::domain::election::Candidate {
                    id: c.id.clone(),
                    name: c.name.clone(),
                })
                .collect(),
            self.seats,
            self.alternates,
        )
    }
}
