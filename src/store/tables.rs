//! Every redb table, in one place. Keys are strings or (string, number) pairs; values are JSON
//! records (`store::records`), self-describing so that fields can be added without a migration.

use redb::TableDefinition;

/// `"schema_version"` → the format version as decimal text.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// account id → `AccountRecord`.
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// login name → account id (logins are unique).
pub const LOGINS: TableDefinition<&str, &str> = TableDefinition::new("logins");
/// SHA-256 of the session token (hex) → `SessionRecord`. Tokens themselves are never stored.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");

/// community id → `CommunityRecord`.
pub const COMMUNITIES: TableDefinition<&str, &[u8]> = TableDefinition::new("communities");
/// (community id, account id) → `MembershipRecord`.
pub const MEMBERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("members");
/// (account id, community id) → role name: the reverse index of `MEMBERS`.
pub const MEMBERSHIPS: TableDefinition<(&str, &str), &str> = TableDefinition::new("memberships");
/// (community id, voter key) → account id: which account holds a voter's right.
pub const VOTER_ACCOUNTS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("voter_accounts");
/// community id → `RollRecord`: the current roll.
pub const ROLLS: TableDefinition<&str, &[u8]> = TableDefinition::new("rolls");
/// SHA-256 of the activation code (hex) → `ActivationRecord`.
pub const ACTIVATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("activations");

/// proposal id → `ProposalRecord`.
pub const PROPOSALS: TableDefinition<&str, &[u8]> = TableDefinition::new("proposals");
/// (community id, proposal id) → created-at timestamp: proposals of a community.
pub const COMMUNITY_PROPOSALS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("community_proposals");
/// proposal id → `RollRecord`: the electorate frozen when voting opened.
pub const ELECTORATES: TableDefinition<&str, &[u8]> = TableDefinition::new("electorates");
/// (proposal id, seq) → ledger `Entry` (seq counts from 1).
pub const LEDGER: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("ledger");
/// (proposal id, voter key) → `BallotRecord`: the voter's current ballot.
pub const BALLOTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("ballots");
/// receipt (entry hash) → (proposal id, seq): receipt look-up.
pub const RECEIPTS: TableDefinition<&str, (&str, u64)> = TableDefinition::new("receipts");
/// (proposal id, voter key) → `ProxyRecord`: a recorded text-form authorisation.
pub const PROXIES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("proxies");

/// (community id, seq) → `AuditRecord`, hash-chained per community.
pub const AUDIT: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("audit");

/// (community id, key fingerprint) → `KeyRecord`: the community's Ed25519 signing keys, the
/// newest unretired one active. Retired keys stay so old certificates remain checkable.
pub const COMMUNITY_KEYS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("community_keys");
/// proposal id → the signed `Certificate`.
pub const CERTIFICATES: TableDefinition<&str, &[u8]> = TableDefinition::new("certificates");

// ---- The committee (issue 8: elections) ----

/// community id → `CommitteeRecord`: the sitting committee, its alternates and its history.
pub const COMMITTEES: TableDefinition<&str, &[u8]> = TableDefinition::new("committees");
// --- deliberation: comments, revisions, petitions, meetings, outreach, notices ----------------

/// comment id → `CommentRecord`.
pub const COMMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("comments");
/// (subject, comment id) → created-at: the comments of a proposal (`proposal:ID`) or a
/// petition (`petition:ID`).
pub const SUBJECT_COMMENTS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("subject_comments");
/// (account id, milliseconds since the epoch) → comment id: for the per-account comment rate.
pub const ACCOUNT_COMMENTS: TableDefinition<(&str, i64), &str> =
    TableDefinition::new("account_comments");
/// (proposal id, revision number from 1) → `RevisionRecord`.
pub const REVISIONS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("revisions");
/// petition id → `PetitionRecord`.
pub const PETITIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("petitions");
/// (community id, petition id) → created-at: petitions of a community.
pub const COMMUNITY_PETITIONS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("community_petitions");
/// (petition id, voter key) → `CosignRecord`: one signature per voting right.
pub const COSIGNATURES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("cosignatures");
/// community id → `PetitionSettingsRecord`.
pub const PETITION_SETTINGS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("petition_settings");
/// meeting id → `MeetingRecord`.
pub const MEETINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("meetings");
/// (community id, meeting id) → scheduled date: meetings of a community.
pub const COMMUNITY_MEETINGS: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("community_meetings");
/// (proposal id, seq from 1) → `OutreachRecord`: contact attempts with voters yet to vote.
pub const OUTREACH: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("outreach");
/// (account id, community id) → the time the account last marked its notices seen.
pub const LAST_SEEN: TableDefinition<(&str, &str), &str> = TableDefinition::new("last_seen");
