//! Durability (issue #3, DESIGN §6): the real `yishi` binary is stopped — once with SIGTERM,
//! once with SIGKILL — while residents are voting. After a restart on the same data directory
//! every acknowledged ballot is in the ledger exactly once, the chain verifies, retries with the
//! same idempotency key are answered with the same receipt, and the published certificate passes
//! `yishi verify`. An owners' committee election survives a SIGKILL the same way.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use yishi::domain::ledger::{Entry, verify_chain};

pub(super) const BIN: &str = env!("CARGO_BIN_EXE_yishi");
pub(super) const ADMIN: &str = "root";
pub(super) const ADMIN_PASSWORD: &str = "root-password-1";
pub(super) const PASSWORD: &str = "resident-password";
/// Voters on the roll, each casting one ballot from its own task.
const VOTERS: usize = 40;
/// The server is stopped once this many ballots are acknowledged.
const STOP_AFTER: usize = 12;
/// Everything one test does, start to finish.
const TEST_BUDGET: Duration = Duration::from_secs(240);

/// Cheap hashing, any port, quiet logs; logins are not what is tested here.
pub(super) const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"

[store]
cache_mib = 4

[vote]
deadline_tick_millis = 100

[auth]
argon2_memory_kib = 1024
argon2_iterations = 1
argon2_parallelism = 1
max_concurrent_hashes = 4
login_attempts_per_minute_per_address = 10000

[log]
filter = "warn"
"#;

/// A temporary directory with the configuration file and the data directory.
pub(super) struct Site {
    pub(super) root: TempDir,
}

impl Site {
    pub(super) fn new() -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        std::fs::write(root.path().join("yishi.toml"), CONFIG).expect("config written");
        std::fs::create_dir(root.path().join("data")).expect("data directory");
        Self { root }
    }

    pub(super) fn config(&self) -> PathBuf {
        self.root.path().join("yishi.toml")
    }

    pub(super) fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub(super) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data())
            .env_remove("RUST_LOG")
            // The crash test's own settings (tests/api/crash.rs) are not server configuration.
            .env_remove("YISHI_CRASH_CYCLES")
            .env_remove("YISHI_CRASH_SEED");
        command
    }

    /// `yishi admin create-admin`, with the password on standard input.
    pub(super) fn create_admin(&self) {
        let mut command = self.command(&["admin", "create-admin", "--login", ADMIN]);
        let (status, stdout, stderr) = run_bounded(&mut command, Some(ADMIN_PASSWORD));
        assert!(status.success(), "create-admin: {stderr}");
        assert!(stdout.contains("platform admin `root` created"), "{stdout}");
    }

    /// Starts `yishi serve` and waits for the address it prints.
    pub(super) fn serve(&self, run: usize) -> Server {
        self.serve_with(run, &[])
    }

    /// Starts `yishi serve` with extra environment variables.
    pub(super) fn serve_with(&self, run: usize, env: &[(&str, &str)]) -> Server {
        let log = self.root.path().join(format!("serve-{run}.stderr"));
        let mut child = self
            .command(&["serve"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("yishi serve runs");
        let stdout = child.stdout.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        // Keep reading to the end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("Yishi is serving on http://")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let mut server = Server {
            child: Some(child),
            base: String::new(),
        };
        match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => server.base = format!("http://{address}"),
            Err(e) => {
                drop(server);
                panic!(
                    "no address from yishi serve ({e}); stderr:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
        server
    }
}

/// A running server; killed when dropped (a failing test leaves no process behind).
pub(super) struct Server {
    child: Option<Child>,
    pub(super) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Sends SIGTERM (a graceful stop) or SIGKILL and waits for the process to end.
    pub(super) async fn stop(&mut self, how: Stop) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        match how {
            Stop::Term => {
                let sent = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .expect("kill runs");
                assert!(sent.success());
            }
            Stop::Kill => child.kill().expect("SIGKILL sent"),
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Term,
    Kill,
}

pub(super) fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub(super) async fn ok_json(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The vote being tested: its proposal, the officer, and every voter's session.
pub(super) struct Vote {
    pub(super) proposal: String,
    pub(super) officer: String,
    pub(super) community: String,
    /// (voter key, bearer token), in roll order.
    pub(super) voters: Vec<(String, String)>,
}

pub(super) async fn sign_in(http: &Client, server: &Server, login: &str, password: &str) -> String {
    let body = ok_json(
        http.post(server.url("/session"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .unwrap(),
        "sign in",
    )
    .await;
    body["token"].as_str().unwrap().to_owned()
}

/// A community with a roll of `VOTERS`, every voter signed up by activation code, and a
/// proposal open for voting — all through the HTTP API.
pub(super) async fn arrange(http: &Client, server: &Server) -> Vote {
    let admin = sign_in(http, server, ADMIN, ADMIN_PASSWORD).await;
    let community = ok_json(
        http.post(server.url("/communities"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Durable Court"}))
            .send()
            .await
            .unwrap(),
        "community",
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(
        http.post(server.url("/accounts"))
            .bearer_auth(&admin)
            .json(&json!({"login": "officer", "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        "officer account",
    )
    .await;
    ok_json(
        http.post(server.url(&format!("/communities/{community}/members")))
            .bearer_auth(&admin)
            .json(&json!({"login": "officer", "role": "officer"}))
            .send()
            .await
            .unwrap(),
        "officer membership",
    )
    .await;
    let officer = sign_in(http, server, "officer", PASSWORD).await;
    let mut roll = String::from("voter,unit,area\n");
    for i in 0..VOTERS {
        roll.push_str(&format!(
            "v{i:02},{}-{:02},{}.{:02}\n",
            i / 10 + 1,
            i,
            50 + i,
            i
        ));
    }
    ok_json(
        http.put(server.url(&format!("/communities/{community}/roll")))
            .bearer_auth(&officer)
            .header("content-type", "text/csv")
            .body(roll)
            .send()
            .await
            .unwrap(),
        "roll",
    )
    .await;
    let codes = ok_json(
        http.post(server.url(&format!("/communities/{community}/activation-codes")))
            .bearer_auth(&officer)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "activation codes",
    )
    .await;
    let mut voters = Vec::new();
    for card in codes.as_array().unwrap() {
        let voter = card["voter"].as_str().unwrap().to_owned();
        let body = ok_json(
            http.post(server.url("/activate"))
                .json(&json!({"code": card["code"], "login": format!("{voter}-home"), "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
            "activate",
        )
        .await;
        voters.push((voter, body["token"].as_str().unwrap().to_owned()));
    }
    voters.sort();
    assert_eq!(voters.len(), VOTERS);
    let closes_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap()
        .to_string();
    let proposal = ok_json(
        http.post(server.url(&format!("/communities/{community}/proposals")))
            .bearer_auth(&officer)
            .json(&json!({
                "title": "Resurface the car park",
                "rule": {"preset": "simple-majority"},
                "closes_at": closes_at,
            }))
            .send()
            .await
            .unwrap(),
        "proposal",
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(
        http.post(server.url(&format!("/proposals/{proposal}/open")))
            .bearer_auth(&officer)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "open",
    )
    .await;
    Vote {
        proposal,
        officer,
        community,
        voters,
    }
}

fn choice_of(i: usize) -> &'static str {
    ["yes", "no", "abstain"][i % 3]
}

fn key_of(voter: &str) -> String {
    format!("ballot-of-{voter}")
}

/// What became of one voter's request.
#[derive(Debug)]
enum Outcome {
    /// 200: durable, with this receipt.
    Acked(Value),
    /// Never reached the server (connection refused).
    NotSent,
    /// Sent, but no answer: the server went away meanwhile. It may or may not have committed.
    Lost(String),
    /// Any other answer (there should be none).
    Refused(StatusCode, String),
}

/// Every voter votes from its own task, in overlapping waves; the server is stopped once
/// `STOP_AFTER` ballots are acknowledged, while the rest are in flight or still to come.
async fn vote_and_stop(
    http: &Client,
    server: &mut Server,
    vote: &Vote,
    how: Stop,
) -> (Vec<Outcome>, ExitStatus) {
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, (voter, token)) in vote.voters.iter().enumerate() {
        let (http, acked) = (http.clone(), acked.clone());
        let url = server.url(&format!("/proposals/{}/ballot", vote.proposal));
        let body = json!({"choice": choice_of(i), "idempotency_key": key_of(voter)});
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((i / 5) as u64 * 25)).await;
            match http.put(url).bearer_auth(token).json(&body).send().await {
                Ok(response) if response.status() == StatusCode::OK => {
                    let receipt: Value = response.json().await.unwrap_or(Value::Null);
                    if receipt.is_null() {
                        return Outcome::Lost("the body of a 200 was cut off".into());
                    }
                    acked.fetch_add(1, Ordering::SeqCst);
                    Outcome::Acked(receipt)
                }
                Ok(response) => {
                    let status = response.status();
                    Outcome::Refused(status, response.text().await.unwrap_or_default())
                }
                Err(e) if e.is_connect() => Outcome::NotSent,
                Err(e) => Outcome::Lost(e.to_string()),
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < STOP_AFTER {
        assert!(
            Instant::now() < deadline,
            "ballots were not acknowledged in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let status = server.stop(how).await;
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a voter task"));
    }
    (outcomes, status)
}

/// Reads the proposal's ledger and checks its chain from the opening record.
async fn ledger(http: &Client, server: &Server, vote: &Vote) -> Vec<Entry> {
    let p = &vote.proposal;
    let proposal = ok_json(
        http.get(server.url(&format!("/proposals/{p}")))
            .bearer_auth(&vote.officer)
            .send()
            .await
            .unwrap(),
        "proposal",
    )
    .await;
    let response = http
        .get(server.url(&format!("/proposals/{p}/ledger")))
        .bearer_auth(&vote.officer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let entries: Vec<Entry> = response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a ledger entry"))
        .collect();
    let opening = proposal["opening_hash"].as_str().expect("opening hash");
    verify_chain(p, opening, &entries).expect("the chain is intact");
    entries
}

async fn tally(http: &Client, server: &Server, vote: &Vote) -> Value {
    ok_json(
        http.get(server.url(&format!("/proposals/{}/tally", vote.proposal)))
            .bearer_auth(&vote.officer)
            .send()
            .await
            .unwrap(),
        "tally",
    )
    .await
}

/// The whole scenario: vote, stop the server `how`, restart, check, finish the vote, certify.
async fn survive(how: Stop) {
    let site = Site::new();
    site.create_admin();
    let http = client();
    let mut server = site.serve(1);
    let vote = arrange(&http, &server).await;

    let (outcomes, status) = vote_and_stop(&http, &mut server, &vote, how).await;
    match how {
        // A graceful stop: in-flight requests are answered, then the process exits cleanly.
        Stop::Term => assert!(status.success(), "SIGTERM exit: {status:?}"),
        Stop::Kill => assert!(!status.success(), "SIGKILL exit: {status:?}"),
    }
    let mut refused = Vec::new();
    let mut lost = Vec::new();
    for outcome in &outcomes {
        match outcome {
            Outcome::Refused(status, body) => refused.push(format!("{status} {body}")),
            Outcome::Lost(why) => lost.push(why.as_str()),
            _ => {}
        }
    }
    assert!(refused.is_empty(), "ballots refused: {refused:?}");
    let acked: HashMap<&str, (usize, &Value)> = vote
        .voters
        .iter()
        .enumerate()
        .zip(&outcomes)
        .filter_map(|((i, (voter, _)), o)| match o {
            Outcome::Acked(receipt) => Some((voter.as_str(), (i, receipt))),
            _ => None,
        })
        .collect();
    let not_sent = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::NotSent))
        .count();
    let maybe_sent = VOTERS - not_sent;
    assert!(acked.len() >= STOP_AFTER);
    // Shown with the output of a failing test (or with `--nocapture`).
    eprintln!(
        "{how:?}: {} acknowledged, {} unanswered (e.g. {:?}), {not_sent} not sent",
        acked.len(),
        lost.len(),
        lost.first()
    );

    // Restart on the same data directory: recovery rebuilds the tally and checks the chain.
    drop(server);
    let server = site.serve(2);
    let entries = ledger(&http, &server, &vote).await;
    let count = tally(&http, &server, &vote).await;
    assert_eq!(count["state"], "voting");
    let len = count["ledger_len"].as_u64().unwrap() as usize;
    assert_eq!(len, entries.len(), "{count}");
    assert!(
        acked.len() <= len && len <= maybe_sent,
        "{} acknowledged, {len} in the ledger, at most {maybe_sent} sent",
        acked.len()
    );
    // One entry per voter; the tally rebuilt from the ledger agrees with it.
    let mut by_voter: HashMap<&str, &Entry> = HashMap::new();
    for entry in &entries {
        assert!(
            by_voter.insert(entry.voter.as_str(), entry).is_none(),
            "voter {} twice in the ledger",
            entry.voter
        );
    }
    assert_eq!(count["turnout"]["headcount"], len as u64);
    for choice in ["yes", "no", "abstain"] {
        let n = entries.iter().filter(|e| e.choice == choice).count();
        assert_eq!(
            count["tally"][choice]["headcount"], n as u64,
            "{choice}: {count}"
        );
    }

    // Every acknowledged ballot is there exactly once, as acknowledged.
    let hashes: Vec<String> = entries.iter().map(Entry::hash).collect();
    let anonymous = client();
    for (voter, (i, receipt)) in &acked {
        let hash = receipt["receipt"].as_str().unwrap();
        let found: Vec<usize> = (0..hashes.len()).filter(|&k| hashes[k] == hash).collect();
        assert_eq!(
            found.len(),
            1,
            "receipt of {voter} found {} times",
            found.len()
        );
        let entry = &entries[found[0]];
        assert_eq!(entry.voter, *voter);
        assert_eq!(entry.choice, choice_of(*i));
        assert_eq!(entry.seq, receipt["seq"].as_u64().unwrap());
        let place = ok_json(
            anonymous
                .get(server.url(&format!("/receipts/{hash}")))
                .send()
                .await
                .unwrap(),
            "receipt look-up",
        )
        .await;
        assert_eq!(place["proposal"], vote.proposal.as_str());
        assert_eq!(place["position"], entry.seq);
    }

    // Retries with the same key: the acknowledged are answered with their receipt, replayed;
    // the rest are recorded now — or, if they were committed before the stop without an answer
    // reaching the voter, replayed too. Nobody is counted twice.
    let mut replayed_unacked = 0;
    for (i, (voter, token)) in vote.voters.iter().enumerate() {
        let retry = ok_json(
            http.put(server.url(&format!("/proposals/{}/ballot", vote.proposal)))
                .bearer_auth(token)
                .json(&json!({"choice": choice_of(i), "idempotency_key": key_of(voter)}))
                .send()
                .await
                .unwrap(),
            "retry",
        )
        .await;
        match (acked.get(voter.as_str()), by_voter.get(voter.as_str())) {
            (Some((_, receipt)), _) => {
                assert_eq!(retry["replayed"], true, "{voter}");
                assert_eq!(retry["receipt"], receipt["receipt"], "{voter}");
                assert_eq!(retry["seq"], receipt["seq"], "{voter}");
            }
            (None, Some(entry)) => {
                assert_eq!(
                    retry["replayed"], true,
                    "{voter}: committed, not acknowledged"
                );
                assert_eq!(retry["receipt"], entry.hash().as_str(), "{voter}");
                replayed_unacked += 1;
            }
            (None, None) => assert_eq!(retry["replayed"], false, "{voter}"),
        }
    }
    assert_eq!(acked.len() + replayed_unacked, len);
    eprintln!(
        "{how:?}: after restart {len} in the ledger, {replayed_unacked} committed unanswered"
    );
    let entries = ledger(&http, &server, &vote).await;
    assert_eq!(entries.len(), VOTERS);
    let voters: HashSet<&str> = entries.iter().map(|e| e.voter.as_str()).collect();
    assert_eq!(voters.len(), VOTERS);

    // Close and publish: the certificate and ledger verify offline, against the key the
    // community publishes.
    let p = &vote.proposal;
    for step in ["close", "publish"] {
        ok_json(
            http.post(server.url(&format!("/proposals/{p}/{step}")))
                .bearer_auth(&vote.officer)
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
            step,
        )
        .await;
    }
    let certificate = anonymous
        .get(server.url(&format!("/proposals/{p}/certificate")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ledger_lines = anonymous
        .get(server.url(&format!("/proposals/{p}/ledger")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cert: Value = serde_json::from_str(&certificate).unwrap();
    assert_eq!(cert["ledger"]["length"], VOTERS as u64);
    let keys = ok_json(
        anonymous
            .get(server.url(&format!("/communities/{}/keys", vote.community)))
            .send()
            .await
            .unwrap(),
        "keys",
    )
    .await;
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["fingerprint"] == cert["key"]["fingerprint"])
        .expect("the signing key is published")["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = site.root.path();
    std::fs::write(dir.join("certificate.json"), &certificate).unwrap();
    std::fs::write(dir.join("ledger.jsonl"), &ledger_lines).unwrap();
    let (status, stdout, stderr) = verify(dir, &key);
    assert!(status.success(), "yishi verify: {stdout}{stderr}");
    assert_eq!(stdout.trim(), "VALID", "{stderr}");

    let mut server = server;
    assert!(server.stop(Stop::Term).await.success());
}

/// Runs `yishi verify` on the files in `dir`.
fn verify(dir: &Path, key: &str) -> (ExitStatus, String, String) {
    let mut command = Command::new(BIN);
    command
        .arg("verify")
        .arg(dir.join("certificate.json"))
        .arg(dir.join("ledger.jsonl"))
        .args(["--key", key]);
    run_bounded(&mut command, None)
}

/// Runs a short command to its end, with `input` as a line on standard input; kills it if it
/// takes over 30 s. Returns its status, standard output and standard error.
pub(super) fn run_bounded(
    command: &mut Command,
    input: Option<&str>,
) -> (ExitStatus, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        writeln!(stdin, "{input}").unwrap();
    }
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_votes_survive_a_graceful_stop() {
    tokio::time::timeout(TEST_BUDGET, survive(Stop::Term))
        .await
        .expect("the test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_votes_survive_sigkill() {
    tokio::time::timeout(TEST_BUDGET, survive(Stop::Kill))
        .await
        .expect("the test finished in time");
}

/// Which candidates voter `i` approves in the election below: A 30, B 25, C 15, D 5 of 40.
fn approvals_of(i: usize) -> &'static [&'static str] {
    match i % 8 {
        0 | 1 | 3 => &["A", "B"],
        2 | 4 => &["A", "C"],
        5 => &["B", "C"],
        6 => &["A"],
        _ => &["B", "D"],
    }
}

/// Per-candidate approving headcount in a tally or result, by candidate id.
fn approvals(candidates: &Value) -> HashMap<String, u64> {
    candidates
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["approvals"]["headcount"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// An owners' committee election through a SIGKILL: the ballots acknowledged before it are
/// all in the ledger and the running count after the restart, retries are replayed, voting
/// continues, and the published result ranks from the whole ledger and verifies offline.
async fn election_survives_sigkill() {
    let site = Site::new();
    site.create_admin();
    let http = client();
    let mut server = site.serve(1);
    let mut vote = arrange(&http, &server).await;
    let closes_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap()
        .to_string();
    let created = ok_json(
        http.post(server.url(&format!("/communities/{}/elections", vote.community)))
            .bearer_auth(&vote.officer)
            .json(&json!({
                "title": "Elect the owners' committee",
                "seats": 2,
                "alternates": 1,
                "rule": {"levels": [{"label": "passed", "conditions": [
                    {"kind": "approval", "measure": "headcount", "of": "participants", "at_least": "1/4"}]}]},
                "candidates": [{"name": "A"}, {"name": "B"}, {"name": "C"}, {"name": "D"}],
                "closes_at": closes_at,
            }))
            .send()
            .await
            .unwrap(),
        "election",
    )
    .await;
    vote.proposal = created["id"].as_str().unwrap().to_owned();
    let id_of: HashMap<String, String> = created["election"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let p = vote.proposal.clone();
    ok_json(
        http.post(server.url(&format!("/proposals/{p}/open")))
            .bearer_auth(&vote.officer)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "open",
    )
    .await;
    let ballot = |i: usize| -> Value {
        let approve: Vec<&str> = approvals_of(i).iter().map(|n| id_of[*n].as_str()).collect();
        json!({"approve": approve, "idempotency_key": format!("election-{i}")})
    };

    // The first half votes, all at once; every ballot is acknowledged.
    let half = VOTERS / 2;
    let mut tasks = Vec::new();
    for (i, (_, token)) in vote.voters.iter().enumerate().take(half) {
        let request = http
            .put(server.url(&format!("/proposals/{p}/ballot")))
            .bearer_auth(token)
            .json(&ballot(i));
        tasks.push(tokio::spawn(async move {
            ok_json(request.send().await.unwrap(), "election ballot").await
        }));
    }
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.push(task.await.unwrap());
    }
    let before = tally(&http, &server, &vote).await;
    let entries_before = ledger(&http, &server, &vote).await;
    assert_eq!(entries_before.len(), half);
    let status = server.stop(Stop::Kill).await;
    assert!(!status.success(), "SIGKILL exit: {status:?}");

    // Restart: the ledger is the same chain, and the running count is rebuilt from it.
    drop(server);
    let server = site.serve(2);
    let entries = ledger(&http, &server, &vote).await;
    assert_eq!(
        entries.iter().map(Entry::hash).collect::<Vec<_>>(),
        entries_before.iter().map(Entry::hash).collect::<Vec<_>>()
    );
    let after = tally(&http, &server, &vote).await;
    assert_eq!(after["state"], "voting");
    assert_eq!(after["turnout"]["headcount"], half as u64);
    assert_eq!(
        approvals(&after["election"]["candidates"]),
        approvals(&before["election"]["candidates"])
    );
    let expected = |voters: usize| -> HashMap<String, u64> {
        let mut count: HashMap<String, u64> = id_of.values().map(|id| (id.clone(), 0)).collect();
        for i in 0..voters {
            for name in approvals_of(i) {
                *count.get_mut(&id_of[*name]).unwrap() += 1;
            }
        }
        count
    };
    assert_eq!(approvals(&after["election"]["candidates"]), expected(half));
    // A retry with the same key is answered with the same receipt and counts nobody twice.
    let retry = ok_json(
        http.put(server.url(&format!("/proposals/{p}/ballot")))
            .bearer_auth(&vote.voters[0].1)
            .json(&ballot(0))
            .send()
            .await
            .unwrap(),
        "retry",
    )
    .await;
    assert_eq!(
        (&retry["replayed"], &retry["receipt"]),
        (&json!(true), &receipts[0]["receipt"])
    );

    // Voting continues: the second half votes, then the officer closes and publishes.
    for (i, (_, token)) in vote.voters.iter().enumerate().skip(half) {
        ok_json(
            http.put(server.url(&format!("/proposals/{p}/ballot")))
                .bearer_auth(token)
                .json(&ballot(i))
                .send()
                .await
                .unwrap(),
            "election ballot after the restart",
        )
        .await;
    }
    let entries = ledger(&http, &server, &vote).await;
    assert_eq!(entries.len(), VOTERS);
    for step in ["close", "publish"] {
        ok_json(
            http.post(server.url(&format!("/proposals/{p}/{step}")))
                .bearer_auth(&vote.officer)
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
            step,
        )
        .await;
    }
    let anonymous = client();
    let certificate = anonymous
        .get(server.url(&format!("/proposals/{p}/certificate")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cert: Value = serde_json::from_str(&certificate).unwrap();
    assert_eq!(cert["ledger"]["length"], VOTERS as u64);
    let ranking = &cert["election"]["result"]["candidates"];
    assert_eq!(approvals(ranking), expected(VOTERS));
    let standing: HashMap<&str, &str> = ranking
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["standing"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ["A", "B", "C", "D"].map(|n| standing[id_of[n].as_str()]),
        ["elected", "elected", "alternate", "not_qualified"]
    );
    let ledger_lines = anonymous
        .get(server.url(&format!("/proposals/{p}/ledger")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let keys = ok_json(
        anonymous
            .get(server.url(&format!("/communities/{}/keys", vote.community)))
            .send()
            .await
            .unwrap(),
        "keys",
    )
    .await;
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["fingerprint"] == cert["key"]["fingerprint"])
        .expect("the signing key is published")["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = site.root.path();
    std::fs::write(dir.join("certificate.json"), &certificate).unwrap();
    std::fs::write(dir.join("ledger.jsonl"), &ledger_lines).unwrap();
    let (status, stdout, stderr) = verify(dir, &key);
    assert!(status.success(), "yishi verify: {stdout}{stderr}");
    assert_eq!(stdout.trim(), "VALID", "{stderr}");

    let mut server = server;
    assert!(server.stop(Stop::Term).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_election_survives_sigkill_and_voting_continues() {
    tokio::time::timeout(TEST_BUDGET, election_survives_sigkill())
        .await
        .expect("the test finished in time");
}
