//! Certified results (issue #6): the publish flow end to end through the API; tampering with the
//! published certificate or ledger, each caught by the real `yishi verify` binary with the right
//! words; key rotation; and a second verifier written only from docs/certificates.md.
//!
//! Every tamper case starts from the files a resident would download: the certificate and the
//! ledger fetched anonymously over HTTP after a real publish.

use std::collections::HashMap;
use std::process::Command;

use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::proposals::{Compound, compound, create, open, road_repair, vote};
use crate::support::{TestApp, error, spawn_app};

/// Three yes and one no: passes the road repair on both measures (see `proposals.rs`).
const PASSING: [(&str, &str); 4] = [
    ("wang", "yes"),
    ("li", "yes"),
    ("zhao", "yes"),
    ("sun", "no"),
];

/// Everyone takes part, one yes: quorums hold, approvals fail → rejected.
const REJECTING: [(&str, &str); 4] = [
    ("wang", "yes"),
    ("li", "no"),
    ("zhao", "no"),
    ("sun", "abstain"),
];

// ---------------------------------------------------------------------------------------------
// The publish flow
// ---------------------------------------------------------------------------------------------

/// A vote taken through the API, closed, attested and published.
struct Published {
    proposal: String,
    /// The certificate JSON as served to an anonymous visitor.
    certificate: String,
    /// The ledger JSON Lines as served to an anonymous visitor.
    ledger: String,
}

impl Published {
    fn certificate_value(&self) -> Value {
        serde_json::from_str(&self.certificate).expect("the certificate is JSON")
    }
}

async fn anonymous_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.api().get(app.url(path)).send().await.unwrap()
}

async fn anonymous_page(app: &TestApp, path: &str) -> reqwest::Response {
    app.api()
        .get(format!("{}{path}", app.base_url))
        .send()
        .await
        .unwrap()
}

async fn close(app: &TestApp, c: &Compound, p: &str) {
    let response = app
        .post_json(&format!("/proposals/{p}/close"), &c.officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "close");
}

async fn attest(app: &TestApp, token: &str, p: &str, name: &str) -> reqwest::Response {
    app.post_json(
        &format!("/proposals/{p}/attestations"),
        token,
        json!({"name": name, "role": "resident representative",
               "statement": "I watched the count and checked the ledger."}),
    )
    .await
}

async fn publish(app: &TestApp, token: &str, p: &str) -> reqwest::Response {
    app.post_json(
        &format!("/proposals/{p}/publish"),
        token,
        json!({"outcome_statement": "The road will be repaired in spring; each owner pays 1,000 yuan."}),
    )
    .await
}

/// Creates, opens, votes, closes, attests and publishes a road-repair vote titled `title`, then
/// downloads its certificate and ledger without an account.
async fn publish_vote(
    app: &TestApp,
    c: &Compound,
    title: &str,
    votes: &[(&str, &str)],
) -> Published {
    let proposal = create(app, c, road_repair(json!({"title": title}))).await;
    open(app, c, &proposal).await;
    let mut receipts = HashMap::new();
    for (voter, choice) in votes {
        let response = vote(
            app,
            &c.voters[*voter],
            &proposal,
            choice,
            &format!("k-{voter}"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{voter} votes");
        let receipt: Value = response.json().await.unwrap();
        receipts.insert(
            (*voter).to_owned(),
            receipt["receipt"].as_str().unwrap().to_owned(),
        );
    }
    close(app, c, &proposal).await;
    let response = attest(app, &c.officer, &proposal, "李娟").await;
    assert_eq!(response.status(), StatusCode::CREATED, "attest");
    let response = publish(app, &c.officer, &proposal).await;
    assert_eq!(response.status(), StatusCode::OK, "publish");

    let response = anonymous_get(app, &format!("/proposals/{proposal}/certificate")).await;
    assert_eq!(response.status(), StatusCode::OK, "anonymous certificate");
    let certificate = response.text().await.unwrap();
    let response = anonymous_get(app, &format!("/proposals/{proposal}/ledger")).await;
    assert_eq!(response.status(), StatusCode::OK, "anonymous ledger");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/jsonl"),
        "the ledger is JSON Lines"
    );
    let ledger = response.text().await.unwrap();
    let hashes: Vec<String> = entries(&ledger).iter().map(entry_hash).collect();
    for (voter, receipt) in &receipts {
        assert!(
            hashes.contains(receipt),
            "{voter}'s receipt is in the ledger"
        );
    }
    Published {
        proposal,
        certificate,
        ledger,
    }
}

// ---------------------------------------------------------------------------------------------
// Running the real verifier, and forging files for it
// ---------------------------------------------------------------------------------------------

/// Runs `yishi verify cert.json ledger.jsonl [--key KEY]` on files in a fresh directory; returns
/// the exit code and what it printed.
fn yishi_verify(certificate: &str, ledger: &str, key: Option<&str>) -> (i32, String) {
    let dir = TempDir::new().expect("temporary directory");
    let certificate_path = dir.path().join("cert.json");
    let ledger_path = dir.path().join("ledger.jsonl");
    std::fs::write(&certificate_path, certificate).unwrap();
    std::fs::write(&ledger_path, ledger).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_yishi"));
    command
        .arg("verify")
        .arg(&certificate_path)
        .arg(&ledger_path);
    if let Some(key) = key {
        command.args(["--key", key]);
    }
    let output = command.output().expect("the yishi binary runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    (
        output.status.code().expect("an exit code"),
        stdout.trim_end().to_owned(),
    )
}

fn assert_valid(case: &str, certificate: &str, ledger: &str, key: Option<&str>) {
    assert_eq!(
        yishi_verify(certificate, ledger, key),
        (0, "VALID".to_owned()),
        "{case}"
    );
    if let Err(e) = by_the_book::verify(&serde_json::from_str(certificate).unwrap(), ledger, key) {
        panic!("{case}: the independent verifier refuses: {e}");
    }
}

/// `yishi verify` exits 1 saying exactly `INVALID: {expected}`, and the independent verifier
/// refuses too.
fn assert_invalid(case: &str, certificate: &str, ledger: &str, key: Option<&str>, expected: &str) {
    assert_eq!(
        yishi_verify(certificate, ledger, key),
        (1, format!("INVALID: {expected}")),
        "{case}"
    );
    assert_independent_refuses(case, certificate, ledger, key);
}

/// As `assert_invalid`, for messages that quote JSON: only their start is compared.
fn assert_invalid_starting(
    case: &str,
    certificate: &str,
    ledger: &str,
    key: Option<&str>,
    expected: &str,
) {
    let (code, said) = yishi_verify(certificate, ledger, key);
    assert_eq!(code, 1, "{case}: {said}");
    assert!(
        said.starts_with(&format!("INVALID: {expected}")),
        "{case}: {said}"
    );
    assert_independent_refuses(case, certificate, ledger, key);
}

fn assert_independent_refuses(case: &str, certificate: &str, ledger: &str, key: Option<&str>) {
    let verdict = serde_json::from_str(certificate)
        .map_err(|e| e.to_string())
        .and_then(|c: Value| by_the_book::verify(&c, ledger, key));
    assert!(
        verdict.is_err(),
        "{case}: the independent verifier accepts it"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn jcs(value: &Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("canonical JSON")
}

fn entry_hash(entry: &Value) -> String {
    sha256_hex(&jcs(entry))
}

fn lines(ledger: &str) -> Vec<String> {
    ledger.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn entries(ledger: &str) -> Vec<Value> {
    ledger
        .lines()
        .map(|l| serde_json::from_str(l).expect("ledger lines are JSON"))
        .collect()
}

fn ledger_of(entries: &[Value]) -> String {
    entries.iter().map(|e| format!("{e}\n")).collect()
}

/// Re-links every entry to the hash of the one before it (the first keeps its `prev`), as a
/// forger would after editing; returns the new head.
fn relink(entries: &mut [Value]) -> String {
    for i in 1..entries.len() {
        entries[i]["prev"] = json!(entry_hash(&entries[i - 1]));
    }
    entry_hash(entries.last().expect("entries"))
}

/// `line` with one byte changed: the first character of the string value that follows
/// `"{member}":"`, replaced by another letter or digit. The line stays valid JSON.
fn change_byte(line: &str, member: &str) -> String {
    let marker = format!("\"{member}\":\"");
    let at = line.find(&marker).expect("the member is on the line") + marker.len();
    let mut bytes = line.as_bytes().to_vec();
    bytes[at] = match bytes[at] {
        b'9' => b'0',
        b'z' => b'a',
        b if b.is_ascii_alphanumeric() => b + 1,
        other => panic!("unexpected byte {other}"),
    };
    let changed = String::from_utf8(bytes).unwrap();
    assert!(serde_json::from_str::<Value>(&changed).is_ok());
    changed
}

/// A forger's key: not the community's.
fn forger_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn fingerprint_of(public_key_hex: &str) -> String {
    sha256_hex(&hex::decode(public_key_hex).unwrap())[..16].to_owned()
}

/// Signs `certificate` with `key`, naming `key` in its `key` member, as the format says.
fn sign_as(certificate: &mut Value, key: &SigningKey) {
    let public = hex::encode(key.verifying_key().to_bytes());
    certificate["key"] = json!({
        "algorithm": "ed25519",
        "fingerprint": fingerprint_of(&public),
        "public_key": public,
    });
    let mut unsigned = certificate.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    certificate["signature"] = json!(hex::encode(key.sign(&jcs(&unsigned)).to_bytes()));
}

fn text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

fn broken_link(seq: usize) -> String {
    let before = seq - 1;
    format!(
        "entry {seq}: its `prev` does not match the hash of entry {before} — entry {before} (or one before it) was changed, removed or reordered"
    )
}

fn out_of_sequence(position: usize, seq: u64) -> String {
    format!(
        "entry at position {position}: has sequence number {seq} — an entry was added, removed or reordered"
    )
}

fn wrong_length(found: usize, expected: usize) -> String {
    format!("ledger: {found} entries, but the certificate says {expected}")
}

fn wrong_key(found: &str, expected: &str) -> String {
    format!("signature: the certificate was signed by key {found}, not the expected key {expected}")
}

const HEAD: &str = "ledger: the last entry's hash does not match the certificate's ledger head";
const OPENING_LINK: &str = "entry 1: its `prev` does not match the certificate's opening hash — the ledger does not start from this proposal's opening record";
const BAD_SIGNATURE: &str = "signature: does not match the certificate's content (the certificate was altered or signed by another key)";
const RECOUNT_TALLY: &str = "recount: the ledger counts {";

/// One app, one community, one published passing vote: the files every tamper case starts from.
async fn published_road_repair() -> (TestApp, Published) {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let published = publish_vote(&app, &c, "Repair the compound road", &PASSING).await;
    (app, published)
}

// ---------------------------------------------------------------------------------------------
// Tampering, through the real binary
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_published_files_verify_with_and_without_the_right_key_and_not_with_another() {
    let (_app, p) = published_road_repair().await;
    let cert = p.certificate_value();
    let key = cert["key"]["public_key"].as_str().unwrap();
    let fingerprint = cert["key"]["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint, fingerprint_of(key));

    assert_valid("no --key", &p.certificate, &p.ledger, None);
    assert_valid("the right --key", &p.certificate, &p.ledger, Some(key));
    assert_valid(
        "the right --key in capitals",
        &p.certificate,
        &p.ledger,
        Some(&key.to_uppercase()),
    );

    // A wrong key names both fingerprints: the signer's and the one expected.
    let other = hex::encode(forger_key().verifying_key().to_bytes());
    assert_invalid(
        "a wrong --key",
        &p.certificate,
        &p.ledger,
        Some(&other),
        &wrong_key(fingerprint, &fingerprint_of(&other)),
    );
}

#[tokio::test]
async fn one_changed_byte_in_any_ledger_entry_is_detected() {
    let (_app, p) = published_road_repair().await;
    let original = lines(&p.ledger);
    let n = original.len();
    assert_eq!(n, 4);
    for i in 0..n {
        let seq = i + 1;
        for member in ["voter", "choice", "area", "at", "prev"] {
            let mut tampered = original.clone();
            tampered[i] = change_byte(&original[i], member);
            let expected = match (member, seq) {
                // The entry's own link breaks.
                ("prev", 1) => OPENING_LINK.to_owned(),
                ("prev", _) => broken_link(seq),
                // The next entry's link breaks, or for the last entry, the head.
                (_, s) if s == n => HEAD.to_owned(),
                _ => broken_link(seq + 1),
            };
            assert_invalid(
                &format!("entry {seq}, one byte of `{member}`"),
                &p.certificate,
                &join(&tampered),
                None,
                &expected,
            );
        }
    }
}

#[tokio::test]
async fn reordered_dropped_and_added_entries_are_detected() {
    let (_app, p) = published_road_repair().await;
    let original = lines(&p.ledger);
    let cert = &p.certificate;

    // Two entries swapped.
    let mut swapped = original.clone();
    swapped.swap(1, 2);
    assert_invalid(
        "entries 2 and 3 swapped",
        cert,
        &join(&swapped),
        None,
        &out_of_sequence(2, 3),
    );
    // Swapped and renumbered: the link gives it away.
    let mut renumbered = entries(&p.ledger);
    renumbered.swap(1, 2);
    renumbered[1]["seq"] = json!(2);
    renumbered[2]["seq"] = json!(3);
    assert_invalid(
        "entries 2 and 3 swapped and renumbered",
        cert,
        &ledger_of(&renumbered),
        None,
        &broken_link(2),
    );
    // Swapped, renumbered and re-linked: the head gives it away.
    relink(&mut renumbered);
    assert_invalid(
        "entries 2 and 3 swapped, renumbered and re-linked",
        cert,
        &ledger_of(&renumbered),
        None,
        HEAD,
    );

    // An entry dropped: the last, a middle one, the first.
    assert_invalid(
        "the last entry dropped",
        cert,
        &join(&original[..3]),
        None,
        &wrong_length(3, 4),
    );
    let mut middle = original.clone();
    middle.remove(1);
    assert_invalid(
        "entry 2 dropped",
        cert,
        &join(&middle),
        None,
        &out_of_sequence(2, 3),
    );
    assert_invalid(
        "entry 1 dropped",
        cert,
        &join(&original[1..]),
        None,
        &out_of_sequence(1, 2),
    );
    let mut closed_gap = entries(&p.ledger);
    closed_gap.remove(1);
    for (i, entry) in closed_gap.iter_mut().enumerate() {
        entry["seq"] = json!(i + 1);
    }
    relink(&mut closed_gap);
    assert_invalid(
        "entry 2 dropped, the rest renumbered and re-linked",
        cert,
        &ledger_of(&closed_gap),
        None,
        &wrong_length(3, 4),
    );

    // An entry added: properly chained at the end, or slipped into the middle.
    let mut added = entries(&p.ledger);
    let mut forged = added[3].clone();
    forged["seq"] = json!(5);
    forged["voter"] = json!("ghost");
    forged["choice"] = json!("yes");
    forged["prev"] = json!(entry_hash(&added[3]));
    added.push(forged.clone());
    assert_invalid(
        "a chained entry appended",
        cert,
        &ledger_of(&added),
        None,
        &wrong_length(5, 4),
    );
    let mut slipped = original.clone();
    slipped.insert(2, forged.to_string());
    assert_invalid(
        "an entry slipped in as entry 3",
        cert,
        &join(&slipped),
        None,
        &out_of_sequence(3, 5),
    );

    // A second ballot for a voter who could not change theirs, with the certificate's ledger
    // head and length moved to match and re-signed: the recount refuses it.
    let mut twice = entries(&p.ledger);
    let mut again = twice[3].clone();
    again["seq"] = json!(5);
    again["voter"] = json!("wang");
    let wang = twice
        .iter()
        .find(|e| e["voter"] == "wang")
        .expect("wang voted");
    again["weights"] = wang["weights"].clone();
    again["prev"] = json!(entry_hash(&twice[3]));
    twice.push(again);
    let head = relink(&mut twice);
    let mut forged_cert = p.certificate_value();
    forged_cert["ledger"]["head"] = json!(head);
    forged_cert["ledger"]["length"] = json!(5);
    sign_as(&mut forged_cert, &forger_key());
    assert_invalid(
        "wang votes twice, certificate re-signed to match",
        &text(&forged_cert),
        &ledger_of(&twice),
        None,
        "entry 5: voter `wang` appears a second time, though changing a ballot was not allowed",
    );
}

#[tokio::test]
async fn altered_weights_are_detected_however_far_the_forger_goes() {
    let (_app, p) = published_road_repair().await;
    let cert = p.certificate_value();
    let key = cert["key"]["public_key"].as_str().unwrap().to_owned();
    let sun = entries(&p.ledger)
        .iter()
        .position(|e| e["voter"] == "sun")
        .expect("sun voted");
    assert_eq!(entries(&p.ledger)[sun]["weights"], json!({"area": "60.50"}));
    let seq = sun + 1;

    // Sun's no vote weighs 10.50 m² instead of 60.50.
    let mut altered = entries(&p.ledger);
    altered[sun]["weights"]["area"] = json!("10.50");
    let expected = if seq == altered.len() {
        HEAD.to_owned()
    } else {
        broken_link(seq + 1)
    };
    assert_invalid(
        "weights altered",
        &p.certificate,
        &ledger_of(&altered),
        None,
        &expected,
    );

    // … and the chain re-linked: the head no longer matches.
    let head = relink(&mut altered);
    assert_invalid(
        "weights altered, chain re-linked",
        &p.certificate,
        &ledger_of(&altered),
        None,
        HEAD,
    );

    // … and the certificate's head moved to match: the signature no longer matches.
    let mut moved = cert.clone();
    moved["ledger"]["head"] = json!(head);
    assert_invalid(
        "weights altered, chain re-linked, head moved",
        &text(&moved),
        &ledger_of(&altered),
        None,
        BAD_SIGNATURE,
    );

    // … and re-signed with another key: the recount no longer matches the tally; and anyone
    // holding the community's key sees the wrong signer.
    sign_as(&mut moved, &forger_key());
    assert_invalid_starting(
        "weights altered, head moved, re-signed",
        &text(&moved),
        &ledger_of(&altered),
        None,
        RECOUNT_TALLY,
    );
    let forger = moved["key"]["fingerprint"].as_str().unwrap().to_owned();
    assert_invalid(
        "weights altered, head moved, re-signed, checked with the community key",
        &text(&moved),
        &ledger_of(&altered),
        Some(&key),
        &wrong_key(&forger, &fingerprint_of(&key)),
    );

    // More weight than the whole electorate holds.
    let mut inflated = entries(&p.ledger);
    inflated[sun]["weights"]["area"] = json!("960.50");
    let head = relink(&mut inflated);
    let mut moved = cert.clone();
    moved["ledger"]["head"] = json!(head);
    sign_as(&mut moved, &forger_key());
    assert_invalid(
        "weights inflated past the electorate, re-signed",
        &text(&moved),
        &ledger_of(&inflated),
        None,
        "recount: more took part than the electorate holds",
    );
}

#[tokio::test]
async fn an_edited_tally_outcome_condition_or_rule_is_detected() {
    let (_app, p) = published_road_repair().await;
    let cert = p.certificate_value();
    let ledger = &p.ledger;
    assert_eq!(cert["outcome"], "passed");
    assert_eq!(cert["tally"]["yes"]["weights"]["area"], "374.67");

    let mut tally = cert.clone();
    tally["tally"]["yes"]["weights"]["area"] = json!("474.67");
    assert_invalid("tally edited", &text(&tally), ledger, None, BAD_SIGNATURE);
    sign_as(&mut tally, &forger_key());
    assert_invalid_starting(
        "tally edited and re-signed",
        &text(&tally),
        ledger,
        None,
        RECOUNT_TALLY,
    );

    let mut outcome = cert.clone();
    outcome["outcome"] = json!("rejected");
    outcome["level"] = Value::Null;
    assert_invalid(
        "outcome edited",
        &text(&outcome),
        ledger,
        None,
        BAD_SIGNATURE,
    );
    sign_as(&mut outcome, &forger_key());
    assert_invalid(
        "outcome edited and re-signed",
        &text(&outcome),
        ledger,
        None,
        "recount: the rule gives `passed`, but the certificate says `rejected`",
    );

    let mut condition = cert.clone();
    condition["conditions"][4]["holds"] = json!(false);
    sign_as(&mut condition, &forger_key());
    assert_invalid(
        "a condition's verdict edited and re-signed",
        &text(&condition),
        ledger,
        None,
        "recount: the conditions' numbers in the certificate differ from the recount",
    );

    // A laxer rule than the one frozen when voting opened (3/4 of the area → 2/3), restated
    // consistently in the conditions and re-signed: the opening record gives it away.
    let mut rule = cert.clone();
    let approval = rule["rule"]["levels"][0]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["kind"] == "approval" && c["measure"] == "area")
        .unwrap();
    rule["rule"]["levels"][0]["conditions"][approval]["at_least"] = json!("2/3");
    rule["conditions"][approval]["fraction"] = json!("2/3");
    rule["conditions"][approval]["text"] = json!("approval area of participants at_least 2/3");
    sign_as(&mut rule, &forger_key());
    assert_invalid(
        "rule relaxed and re-signed",
        &text(&rule),
        ledger,
        None,
        "ledger: the certificate's rule differs from the opening record's, which heads the chain",
    );

    // A member the format does not have is refused, not silently dropped before the
    // signature check.
    let mut added = cert.clone();
    added["annulled"] = json!(true);
    let (code, said) = yishi_verify(&text(&added), ledger, None);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.starts_with(
            "INVALID: certificate: not a readable certificate (unknown field `annulled`"
        ),
        "{said}"
    );
    assert_independent_refuses("a member added", &text(&added), ledger, None);
}

#[tokio::test]
async fn a_signature_by_another_key_is_detected() {
    let (_app, p) = published_road_repair().await;
    let cert = p.certificate_value();
    let key = cert["key"]["public_key"].as_str().unwrap().to_owned();

    // Another key's signature over the very same content, the key member left alone.
    let mut resigned = cert.clone();
    sign_as(&mut resigned, &forger_key());
    let mut swapped = cert.clone();
    swapped["signature"] = resigned["signature"].clone();
    assert_invalid(
        "another key's signature",
        &text(&swapped),
        &p.ledger,
        None,
        BAD_SIGNATURE,
    );

    // Re-signed and naming the other key: self-consistent, so only the key obtained
    // independently (the notice board) tells — which is why `--key` exists.
    assert_eq!(
        yishi_verify(&text(&resigned), &p.ledger, None),
        (0, "VALID".to_owned()),
        "without --key the verifier can only check that the files agree with each other"
    );
    assert_invalid(
        "re-signed by another key, checked with the community key",
        &text(&resigned),
        &p.ledger,
        Some(&key),
        &wrong_key(
            resigned["key"]["fingerprint"].as_str().unwrap(),
            &fingerprint_of(&key),
        ),
    );

    // A key member that is no Ed25519 key at all.
    let mut garbled = cert.clone();
    garbled["key"]["public_key"] = json!("zz");
    assert_invalid(
        "no key",
        &text(&garbled),
        &p.ledger,
        None,
        "signature: the public key in the certificate is not a valid Ed25519 key",
    );
}

#[tokio::test]
async fn a_certificate_does_not_verify_against_another_proposals_ledger() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let first = publish_vote(&app, &c, "Repair the compound road", &PASSING).await;
    let second = publish_vote(&app, &c, "Paint the railings", &PASSING).await;
    assert_valid("the second", &second.certificate, &second.ledger, None);

    assert_invalid(
        "the first certificate with the second ledger",
        &first.certificate,
        &second.ledger,
        None,
        &format!(
            "entry 1: belongs to proposal {}, not {}",
            second.proposal, first.proposal
        ),
    );
    // Relabelled to the first proposal and re-linked: it still hangs from the second's opening.
    let mut relabelled = entries(&second.ledger);
    for entry in &mut relabelled {
        entry["proposal"] = json!(first.proposal);
    }
    relink(&mut relabelled);
    assert_invalid(
        "the second ledger relabelled",
        &first.certificate,
        &ledger_of(&relabelled),
        None,
        OPENING_LINK,
    );
}

// ---------------------------------------------------------------------------------------------
// The publish flow through the API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn publishing_certifies_the_result_and_makes_it_public() {
    let app = spawn_app().await;
    let c = compound(&app, "阳光花园小区").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    let mut receipts = HashMap::new();
    for (voter, choice) in PASSING {
        let response = vote(&app, &c.voters[voter], &p, choice, &format!("k-{voter}")).await;
        let body: Value = response.json().await.unwrap();
        receipts.insert(voter, body["receipt"].as_str().unwrap().to_owned());
    }

    // Before publishing nothing is public; attestations and publishing wait for the close.
    let (status, code, _) =
        error(anonymous_get(&app, &format!("/proposals/{p}/ledger")).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(
        anonymous_get(&app, &format!("/proposals/{p}/certificate"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anonymous_page(&app, &format!("/r/{p}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, code, _) = error(attest(&app, &c.officer, &p, "李娟").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "wrong_state")
    );
    let (status, code, _) = error(publish(&app, &c.officer, &p).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "wrong_state")
    );

    close(&app, &c, &p).await;
    let response = attest(&app, &c.officer, &p, "李娟").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = attest(&app, &c.officer, &p, "Street office").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["attestations"].as_array().unwrap().len(), 2);
    // A voter may neither attest nor publish.
    let (status, ..) = error(attest(&app, &c.voters["li"], &p, "李娜").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = error(publish(&app, &c.voters["li"], &p).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let response = publish(&app, &c.officer, &p).await;
    assert_eq!(response.status(), StatusCode::OK);
    let published: Value = response.json().await.unwrap();
    assert_eq!(published["format"], "yishi-certificate/1");
    assert_eq!(published["outcome"], "passed");
    assert_eq!(published["level"], "passed");
    assert_eq!(
        published["outcome_statement"],
        "The road will be repaired in spring; each owner pays 1,000 yuan."
    );
    assert_eq!(published["attestations"][0]["name"], "李娟");
    assert_eq!(published["attestations"][1]["name"], "Street office");
    assert_eq!(published["community"]["name"], "阳光花园小区");
    assert_eq!(published["ledger"]["length"], 4);
    assert_eq!(published["electorate"]["headcount"], 4);
    assert_eq!(published["electorate"]["weights"]["area"], "435.17");
    let proposal: Value = app
        .get(&format!("/proposals/{p}"), &c.voters["sun"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(proposal["state"], "certified");
    assert_eq!(
        published["ledger"]["opening_hash"],
        proposal["opening_hash"]
    );

    // Once, only: again, or more attestations, are refused.
    let (status, code, _) = error(publish(&app, &c.officer, &p).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "wrong_state")
    );
    let (status, code, _) = error(attest(&app, &c.officer, &p, "Late").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "wrong_state")
    );

    // Certificate and ledger are readable without an account, and are what was published.
    let certificate: Value = anonymous_get(&app, &format!("/proposals/{p}/certificate"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(certificate, published);
    let response = anonymous_get(&app, &format!("/proposals/{p}/ledger")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ledger = response.text().await.unwrap();
    assert_valid("as published", &certificate.to_string(), &ledger, None);

    // Every receipt is in the published ledger, at the position the look-up gives.
    let hashes: Vec<String> = entries(&ledger).iter().map(entry_hash).collect();
    for (voter, receipt) in &receipts {
        let at = hashes
            .iter()
            .position(|h| h == receipt)
            .unwrap_or_else(|| panic!("{voter}'s receipt is in the ledger"));
        assert_eq!(entries(&ledger)[at]["voter"], *voter);
        let response = anonymous_get(&app, &format!("/receipts/{receipt}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let found: Value = response.json().await.unwrap();
        assert_eq!(found["proposal"], p.as_str());
        assert_eq!(found["position"], at + 1);
        assert_eq!(found["state"], "certified");
    }
    assert_eq!(
        hashes.last(),
        certificate["ledger"]["head"]
            .as_str()
            .map(str::to_owned)
            .as_ref()
    );

    // The printable page, for anyone.
    let response = anonymous_page(&app, &format!("/r/{p}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Repair the compound road"), "title");
    assert!(
        page.contains("<h1>Repair the compound road</h1>"),
        "heading"
    );
    let zh = certificate["summary"]["zh"].as_str().unwrap();
    let en = certificate["summary"]["en"].as_str().unwrap();
    assert!(zh.contains("《民法典》第二百七十八条"), "{zh}");
    assert!(zh.contains("表决通过"), "{zh}");
    assert!(
        en.starts_with("Of all 4 households (435.17 m² in all)"),
        "{en}"
    );
    assert!(en.contains("Civil Code Art. 278"), "{en}");
    assert!(page.contains(zh), "the Chinese summary is on the page");
    assert!(en.contains("the community's additional conditions"), "{en}");
    assert!(
        page.contains(&en.replace('\'', "&#39;")),
        "the English summary is on the page, escaped as HTML"
    );
    assert!(page.contains("阳光花园小区"));
    assert!(page.contains("李娟"));
    let qr = page.find("<div class=\"qr\"").expect("a QR block");
    assert!(page[qr..].contains("<svg"), "an SVG QR code");
    assert!(page[qr..].contains(&format!("/r/{p}")), "linking back here");
    assert!(page.contains(certificate["key"]["public_key"].as_str().unwrap()));
}

#[tokio::test]
async fn after_a_key_rotation_old_certificates_still_verify_with_the_old_key() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let before = publish_vote(&app, &c, "Repair the compound road", &PASSING).await;
    let old = before.certificate_value()["key"].clone();
    let old_key = old["public_key"].as_str().unwrap().to_owned();

    // Only officers rotate.
    let path = format!("/communities/{}/keys/rotate", c.community);
    let (status, ..) = error(app.post_json(&path, &c.voters["wang"], json!({})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app.post_json(&path, &c.officer, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let new_key = rotated["public_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(rotated["fingerprint"], fingerprint_of(&new_key));

    // Both keys are listed publicly; the old one as retired.
    let keys: Value = anonymous_get(&app, &format!("/communities/{}/keys", c.community))
        .await
        .json()
        .await
        .unwrap();
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let listed = |fp: &Value| {
        keys.iter()
            .find(|k| k["fingerprint"] == *fp)
            .unwrap()
            .clone()
    };
    assert!(listed(&old["fingerprint"])["retired_at"].is_string());
    assert!(listed(&rotated["fingerprint"])["retired_at"].is_null());
    assert_eq!(listed(&old["fingerprint"])["public_key"], old_key.as_str());

    let after = publish_vote(&app, &c, "Paint the railings", &REJECTING).await;
    let new_cert = after.certificate_value();
    assert_eq!(new_cert["outcome"], "rejected");
    assert_eq!(new_cert["key"]["fingerprint"], rotated["fingerprint"]);
    assert_eq!(new_cert["key"]["public_key"], new_key.as_str());

    // The old certificate still verifies, with the old key; each with its own key only.
    assert_valid(
        "old, old key",
        &before.certificate,
        &before.ledger,
        Some(&old_key),
    );
    assert_valid(
        "new, new key",
        &after.certificate,
        &after.ledger,
        Some(&new_key),
    );
    assert_invalid(
        "old, new key",
        &before.certificate,
        &before.ledger,
        Some(&new_key),
        &wrong_key(
            old["fingerprint"].as_str().unwrap(),
            &fingerprint_of(&new_key),
        ),
    );
    assert_invalid(
        "new, old key",
        &after.certificate,
        &after.ledger,
        Some(&old_key),
        &wrong_key(
            &fingerprint_of(&new_key),
            old["fingerprint"].as_str().unwrap(),
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// A second verifier, from the published format alone
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_independent_verifier_written_from_the_published_format_agrees() {
    let app = spawn_app().await;
    let c = compound(&app, "Sunny Garden").await;
    let passed = publish_vote(&app, &c, "Repair the compound road", &PASSING).await;
    let rejected = publish_vote(&app, &c, "Paint the railings", &REJECTING).await;

    for (name, p, outcome) in [
        ("passed", &passed, "passed"),
        ("rejected", &rejected, "rejected"),
    ] {
        let cert = p.certificate_value();
        assert_eq!(cert["outcome"], outcome, "{name}");
        let key = cert["key"]["public_key"].as_str().unwrap();
        by_the_book::verify(&cert, &p.ledger, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        by_the_book::verify(&cert, &p.ledger, Some(key)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let other = hex::encode(forger_key().verifying_key().to_bytes());
        assert!(
            by_the_book::verify(&cert, &p.ledger, Some(&other)).is_err(),
            "{name}"
        );
    }

    // The rejected vote exercises failing conditions and their `needed`: yes is 1 household
    // and 179.67 of the 435.17 m² that took part. At least 3/4 of the participating area needs
    // w with (17967 + w) × 4 ≥ (43517 + w) × 3, i.e. w ≥ 58683 hundredths; more than half of
    // all 4 households needs 2 more.
    let cert = rejected.certificate_value();
    let area = cert["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "approval" && c["measure"] == "area")
        .unwrap();
    assert_eq!(area["holds"], false);
    assert_eq!(area["needed"], "586.83");
    assert_eq!(cert["conditions"][4]["needed"], 2);
    assert_eq!(cert["level"], Value::Null);

    // Not a verifier that says yes to everything.
    let mut tampered = lines(&passed.ledger);
    tampered[0] = change_byte(&tampered[0], "choice");
    let error = by_the_book::verify(&passed.certificate_value(), &join(&tampered), None)
        .expect_err("a changed byte");
    assert!(error.starts_with("chain: entry 2"), "{error}");
    let error = by_the_book::verify(&passed.certificate_value(), &rejected.ledger, None)
        .expect_err("another proposal's ledger");
    assert!(error.starts_with("chain: entry 1"), "{error}");
}

/// A verifier written only from docs/certificates.md ("Verifying, step by step"): JSON values,
/// RFC 8785 canonical JSON, SHA-256, Ed25519, and integer arithmetic on decimal strings. It
/// shares no code with `yishi::domain`.
mod by_the_book {
    use std::collections::BTreeMap;

    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    type Checked<T = ()> = Result<T, String>;

    fn hash(value: &Value) -> Checked<String> {
        let bytes = serde_json_canonicalizer::to_vec(value).map_err(|e| e.to_string())?;
        Ok(hex::encode(Sha256::digest(&bytes)))
    }

    fn text<'a>(value: &'a Value, what: &str) -> Checked<&'a str> {
        value
            .as_str()
            .ok_or_else(|| format!("{what}: not a string"))
    }

    fn whole(value: &Value, what: &str) -> Checked<u128> {
        value
            .as_u64()
            .map(u128::from)
            .ok_or_else(|| format!("{what}: not a whole number"))
    }

    /// A decimal string read as an integer of its smallest unit; it must carry exactly
    /// `scale` decimals.
    fn units(value: &Value, scale: usize, what: &str) -> Checked<u128> {
        let s = text(value, what)?;
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || frac.len() != scale
            || s.contains('.') != (scale > 0)
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(format!(
                "{what}: `{s}` is not a decimal with {scale} decimals"
            ));
        }
        let mut n: u128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u128::from(b - b'0')))
                .ok_or_else(|| format!("{what}: too large"))?;
        }
        Ok(n)
    }

    /// Headcount and one amount per weight.
    #[derive(Debug, Clone, PartialEq)]
    struct Totals {
        headcount: u128,
        weights: BTreeMap<String, u128>,
    }

    impl Totals {
        fn zero(scales: &BTreeMap<String, usize>) -> Totals {
            Totals {
                headcount: 0,
                weights: scales.keys().map(|name| (name.clone(), 0)).collect(),
            }
        }

        fn add(&mut self, other: &Totals) {
            self.headcount += other.headcount;
            for (name, w) in &other.weights {
                *self.weights.entry(name.clone()).or_default() += w;
            }
        }

        fn of(&self, measure: &str) -> Checked<u128> {
            if measure == "headcount" {
                Ok(self.headcount)
            } else {
                self.weights
                    .get(measure)
                    .copied()
                    .ok_or_else(|| format!("no weight `{measure}`"))
            }
        }
    }

    /// `{"headcount": n, "weights": {...}}` as published.
    fn totals(value: &Value, scales: &BTreeMap<String, usize>, what: &str) -> Checked<Totals> {
        let weights = value["weights"]
            .as_object()
            .ok_or_else(|| format!("{what}: no weights"))?;
        if weights.len() != scales.len() {
            return Err(format!("{what}: other weights than the electorate's"));
        }
        let mut out = Totals {
            headcount: whole(&value["headcount"], what)?,
            weights: BTreeMap::new(),
        };
        for (name, scale) in scales {
            let w = units(&weights[name], *scale, &format!("{what} {name}"))?;
            out.weights.insert(name.clone(), w);
        }
        Ok(out)
    }

    pub fn verify(cert: &Value, ledger: &str, trusted_key: Option<&str>) -> Checked {
        if cert["format"] != "yishi-certificate/1" {
            return Err("format".into());
        }

        // 1. Signature: Ed25519 by `key.public_key` over JCS of all but `signature`.
        let public_hex = text(&cert["key"]["public_key"], "key")?;
        let public: [u8; 32] = hex::decode(public_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("signature: key is not 32 bytes of hex")?;
        let fingerprint = &hex::encode(Sha256::digest(public))[..16];
        if cert["key"]["fingerprint"] != fingerprint {
            return Err("signature: the fingerprint is not the key's".into());
        }
        if let Some(trusted) = trusted_key
            && !trusted.eq_ignore_ascii_case(public_hex)
        {
            return Err(format!(
                "signature: signed by {fingerprint}, not the trusted key"
            ));
        }
        let signature: [u8; 64] = hex::decode(text(&cert["signature"], "signature")?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("signature: not 64 bytes of hex")?;
        let mut unsigned = cert.clone();
        unsigned
            .as_object_mut()
            .ok_or("not an object")?
            .remove("signature");
        let signed = serde_json_canonicalizer::to_vec(&unsigned).map_err(|e| e.to_string())?;
        VerifyingKey::from_bytes(&public)
            .map_err(|_| "signature: not an Ed25519 key".to_owned())?
            .verify(&signed, &Signature::from_bytes(&signature))
            .map_err(|_| "signature: does not verify".to_owned())?;

        // 2. Opening: its hash, its proposal — and it is what the certificate says was put to
        // the vote.
        let proposal = text(&cert["proposal"]["id"], "proposal.id")?;
        let part = &cert["ledger"];
        let opening = &part["opening"];
        let opening_hash = text(&part["opening_hash"], "opening_hash")?;
        if hash(opening)? != opening_hash || opening["proposal"] != proposal {
            return Err("opening: does not match".into());
        }
        for (mine, theirs) in [
            (&opening["title"], &cert["proposal"]["title"]),
            (&opening["text_hash"], &cert["proposal"]["text_hash"]),
            (&opening["rule"], &cert["rule"]),
            (&opening["electorate_hash"], &cert["electorate"]["hash"]),
            (
                &opening["electorate_size"],
                &cert["electorate"]["headcount"],
            ),
            (&opening["opened_at"], &cert["times"]["opened_at"]),
        ] {
            if mine != theirs {
                return Err(format!("opening: says {mine}, the certificate {theirs}"));
            }
        }

        // 3. Chain.
        let mut previous = opening_hash.to_owned();
        let mut entries = Vec::new();
        for (i, line) in ledger.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let entry: Value =
                serde_json::from_str(line).map_err(|e| format!("chain: line {}: {e}", i + 1))?;
            let position = i as u64 + 1;
            if entry["seq"] != position {
                return Err(format!("chain: entry {position}: seq is {}", entry["seq"]));
            }
            if entry["proposal"] != proposal {
                return Err(format!("chain: entry {position}: another proposal"));
            }
            if entry["prev"] != previous.as_str() {
                return Err(format!("chain: entry {position}: prev does not link"));
            }
            previous = hash(&entry)?;
            entries.push(entry);
        }
        if entries.len() as u64 != part["length"].as_u64().ok_or("ledger.length")? {
            return Err("chain: length".into());
        }
        if part["head"] != previous.as_str() {
            return Err("chain: head".into());
        }

        // 4. Recount: the latest entry per voter; weights at the electorate's decimals.
        let scales: BTreeMap<String, usize> = cert["electorate"]["weights"]
            .as_object()
            .ok_or("electorate.weights")?
            .iter()
            .map(|(name, total)| {
                let decimals = total
                    .as_str()
                    .and_then(|t| t.split_once('.'))
                    .map_or(0, |(_, f)| f.len());
                (name.clone(), decimals)
            })
            .collect();
        let electorate = totals(&cert["electorate"], &scales, "electorate")?;
        let allow_change = cert["proposal"]["allow_change"] == true;
        let mut latest: BTreeMap<&str, (&str, Totals)> = BTreeMap::new();
        for entry in &entries {
            let voter = text(&entry["voter"], "voter")?;
            let choice = text(&entry["choice"], "choice")?;
            if !["yes", "no", "abstain"].contains(&choice) {
                return Err(format!("recount: choice `{choice}`"));
            }
            let ballot = totals(
                &serde_json::json!({"headcount": 1, "weights": entry["weights"]}),
                &scales,
                &format!("entry {}", entry["seq"]),
            )?;
            if latest.insert(voter, (choice, ballot)).is_some() && !allow_change {
                return Err(format!("recount: `{voter}` voted twice"));
            }
        }
        let mut counted: BTreeMap<&str, Totals> = ["yes", "no", "abstain"]
            .into_iter()
            .map(|c| (c, Totals::zero(&scales)))
            .collect();
        for (choice, ballot) in latest.values() {
            counted.get_mut(choice).expect("known choice").add(ballot);
        }
        let mut participants = Totals::zero(&scales);
        for c in ["yes", "no", "abstain"] {
            participants.add(&counted[c]);
        }
        let published_totals = counted
            .iter()
            .map(|(name, t)| (*name, t))
            .chain([("participants", &participants)]);
        for (name, mine) in published_totals {
            let theirs = totals(&cert["tally"][name], &scales, &format!("tally.{name}"))?;
            if &theirs != mine {
                return Err(format!(
                    "recount: {name} is {mine:?}, the certificate says {theirs:?}"
                ));
            }
        }
        if participants.headcount > electorate.headcount {
            return Err("recount: more took part than the electorate".into());
        }
        let yes = &counted["yes"];
        let mut cast = counted["yes"].clone();
        cast.add(&counted["no"]);

        // 5. Rule: cross-multiplication only.
        let published = cert["conditions"].as_array().ok_or("conditions")?;
        let mut k = 0;
        let mut passed_level = None;
        let mut quorum_fails = false;
        for level in cert["rule"]["levels"].as_array().ok_or("rule.levels")? {
            let label = text(&level["label"], "label")?;
            let mut all_hold = true;
            for condition in level["conditions"].as_array().ok_or("conditions")? {
                let kind = text(&condition["kind"], "kind")?;
                let measure = text(&condition["measure"], "measure")?;
                let of = text(&condition["of"], "of")?;
                let (comparison, fraction) = match (&condition["at_least"], &condition["more_than"])
                {
                    (Value::String(f), Value::Null) => ("at_least", f.as_str()),
                    (Value::Null, Value::String(f)) => ("more_than", f.as_str()),
                    _ => return Err("rule: a condition needs at_least or more_than".into()),
                };
                let (p, q) = fraction.split_once('/').ok_or("rule: fraction")?;
                let (p, q): (u128, u128) = (
                    p.parse().map_err(|_| "rule: fraction")?,
                    q.parse().map_err(|_| "rule: fraction")?,
                );
                let numerator = match kind {
                    "quorum" => participants.of(measure)?,
                    "approval" => yes.of(measure)?,
                    other => return Err(format!("rule: kind `{other}`")),
                };
                let base_totals = match of {
                    "roll" => &electorate,
                    "participants" => &participants,
                    "cast" => &cast,
                    other => return Err(format!("rule: of `{other}`")),
                };
                let base = base_totals.of(measure)?;
                let strict = comparison == "more_than";
                let holds = !(kind == "approval" && base_totals.headcount == 0)
                    && if strict {
                        numerator * q > base * p
                    } else {
                        numerator * q >= base * p
                    };
                // The least extra yes from those who have not voted; the base grows with it
                // under `participants` or `cast`.
                let needed: Option<u128> = if holds {
                    Some(0)
                } else if of == "roll" {
                    let target = if strict {
                        base * p / q + 1
                    } else {
                        (base * p).div_ceil(q)
                    };
                    Some(target.saturating_sub(numerator))
                } else {
                    // (n + x) q ≥ (b + x) p  ⇔  x (q − p) ≥ b p − n q  (or >).
                    let gap = base as i128 * p as i128 - numerator as i128 * q as i128;
                    let slack = q as i128 - p as i128;
                    match (gap, slack) {
                        (g, _) if g < 0 || (g == 0 && !strict) => Some(0),
                        (_, 0) => None,
                        (g, s) if strict => Some((g / s + 1) as u128),
                        (g, s) => Some(((g + s - 1) / s) as u128),
                    }
                };
                all_hold &= holds;
                quorum_fails |= kind == "quorum" && !holds;

                let theirs = published
                    .get(k)
                    .ok_or("conditions: fewer than the rule's")?;
                k += 1;
                let amount = |v: &Value, what: &str| -> Checked<u128> {
                    if measure == "headcount" {
                        whole(v, what)
                    } else {
                        units(v, scales[measure], what)
                    }
                };
                let same = theirs["level"] == label
                    && theirs["kind"] == kind
                    && theirs["measure"] == measure
                    && theirs["of"] == of
                    && theirs["comparison"] == comparison
                    && theirs["fraction"] == fraction
                    && amount(&theirs["numerator"], "numerator")? == numerator
                    && amount(&theirs["base"], "base")? == base
                    && theirs["holds"] == holds
                    && match needed {
                        None => theirs["needed"].is_null(),
                        Some(n) => amount(&theirs["needed"], "needed")? == n,
                    };
                if !same {
                    return Err(format!(
                        "rule: condition {k} gives {numerator}/{base}, holds {holds}, needed {needed:?}; the certificate says {theirs}"
                    ));
                }
            }
            if all_hold && passed_level.is_none() {
                passed_level = Some(label);
            }
        }
        if k != published.len() {
            return Err("conditions: more than the rule's".into());
        }
        let (outcome, level) = match passed_level {
            Some(label) => ("passed", Value::String(label.to_owned())),
            None if quorum_fails => ("no_quorum", Value::Null),
            None => ("rejected", Value::Null),
        };
        if cert["outcome"] != outcome || cert["level"] != level {
            return Err(format!(
                "rule: gives `{outcome}`, the certificate says {}",
                cert["outcome"]
            ));
        }
        Ok(())
    }
}
