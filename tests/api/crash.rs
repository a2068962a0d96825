//! Crash consistency (issue 9): the real `yishi` binary is killed with SIGKILL at random moments
//! while residents vote, change their ballots and retry; after each restart on the same data
//! directory every acknowledged ballot is in the ledger exactly once, every entry is one that was
//! sent, an unanswered request was either fully recorded or not at all (its retry tells which),
//! every chain verifies and the live tally equals a recount of the ledger.
//!
//! `YISHI_CRASH_CYCLES` sets the number of kills (default `DEFAULT_CYCLES`), `YISHI_CRASH_SEED`
//! replays a run (the seed is printed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use yishi::domain::ledger::{Entry, verify_chain};

use super::durability::{
    ADMIN, ADMIN_PASSWORD, PASSWORD, Server, Site, Stop, client, ok_json, sign_in,
};

/// Kills in a default run: enough to hit every phase of a commit, within about a minute.
const DEFAULT_CYCLES: usize = 40;
/// Voters on the roll; each belongs to one client task, so its requests are sequential.
const VOTERS: usize = 24;
/// Concurrent clients (HTTP connections voting at once).
const CLIENTS: usize = 8;
/// The server runs at most this long before it is killed.
const MAX_RUN_MILLIS: u64 = 300;
/// A new proposal every so many cycles, so a thousand-cycle run keeps its ledgers (and the
/// recovery that verifies them at each start) small.
const CYCLES_PER_PROPOSAL: usize = 25;
const CHOICES: [&str; 3] = ["yes", "no", "abstain"];

/// What the test knows of one voter.
struct Voter {
    key: String,
    token: String,
    /// The last acknowledged ballot: (idempotency key, choice, receipt).
    last: Option<(String, &'static str, String)>,
    /// A request sent without an answer (the server died): (idempotency key, choice). The next
    /// cycle retries it with the same key.
    pending: Option<(String, &'static str)>,
    /// The entry of `pending` found in the ledger after the restart, if it was committed.
    pending_entry: Option<String>,
}

/// The officer running the votes.
struct Officer {
    token: String,
    community: String,
}

/// Everything acknowledged so far, by receipt: (voter, choice, seq).
type Acked = HashMap<String, (String, &'static str, u64)>;

#[derive(Default)]
struct Figures {
    cycles: usize,
    acked: usize,
    replays: usize,
    unanswered: usize,
    committed_unanswered: usize,
    entries_verified: usize,
    proposals: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_ballots_survive_random_sigkills() {
    let _heavy = crate::support::heavy_test().await;
    let cycles: usize = std::env::var("YISHI_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES);
    let seed: u64 = std::env::var("YISHI_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("crash test: seed {seed} (replay with YISHI_CRASH_SEED={seed}), {cycles} cycles");
    // Generous: a thousand cycles on a slow machine still finish; a hang still fails.
    let budget = Duration::from_secs(120 + 10 * cycles as u64);
    let figures = tokio::time::timeout(budget, crash_cycles(cycles, seed))
        .await
        .expect("the crash test finished in time");
    assert_eq!(figures.cycles, cycles);
    assert!(figures.acked > 0, "no ballot was acknowledged at all");
}

async fn crash_cycles(cycles: usize, seed: u64) -> Figures {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let site = Site::new();
    site.create_admin();
    let http = client();
    let mut server = site.serve(0);
    let (officer, voters) = arrange(&http, &server).await;
    let mut proposal = open_proposal(&http, &server, &officer, 0).await;
    let voters: Vec<Arc<Mutex<Voter>>> = voters
        .into_iter()
        .map(|v| Arc::new(Mutex::new(v)))
        .collect();
    let mut acked: Acked = HashMap::new();
    let mut ledger_so_far: Vec<String> = Vec::new();
    let mut figures = Figures {
        proposals: 1,
        ..Figures::default()
    };

    for cycle in 0..cycles {
        // Vote from every client until the kill.
        let mut tasks = Vec::new();
        for client_no in 0..CLIENTS {
            let mine: Vec<_> = voters
                .iter()
                .skip(client_no)
                .step_by(CLIENTS)
                .cloned()
                .collect();
            let url = server.url(&format!("/proposals/{proposal}/ballot"));
            let task_seed = rng.random::<u64>();
            tasks.push(tokio::spawn(vote_until_refused(
                http.clone(),
                url,
                mine,
                cycle,
                client_no,
                task_seed,
            )));
        }
        let run = if rng.random_bool(0.1) {
            0
        } else {
            rng.random_range(1..=MAX_RUN_MILLIS)
        };
        tokio::time::sleep(Duration::from_millis(run)).await;
        let status = server.stop(Stop::Kill).await;
        assert!(!status.success(), "SIGKILL exit: {status:?}");
        for task in tasks {
            let report = task.await.expect("a voter task");
            for (receipt, voter, choice, seq, replayed) in report.acked {
                // A replay answers with a known receipt, or (the retry of a ballot committed
                // before a kill, checked by the task) with an entry acknowledged now for the
                // first time.
                if let Some(known) = acked.get(&receipt).filter(|_| replayed) {
                    figures.replays += 1;
                    assert_eq!(
                        (known.0.as_str(), known.1, known.2),
                        (voter.as_str(), choice, seq),
                        "cycle {cycle}: a replay of {voter} answered with another ballot"
                    );
                } else {
                    figures.acked += 1;
                    let before = acked.insert(receipt.clone(), (voter.clone(), choice, seq));
                    assert!(
                        before.is_none(),
                        "cycle {cycle}: receipt {receipt} acknowledged twice as new"
                    );
                }
            }
            assert!(
                report.failures.is_empty(),
                "cycle {cycle}: {:?}",
                report.failures
            );
            figures.unanswered += report.unanswered;
        }

        // Restart on the same data directory and check everything.
        server = site.serve(cycle + 1);
        let entries = check(
            &http,
            &server,
            &officer,
            &proposal,
            &voters,
            &acked,
            &ledger_so_far,
            cycle,
        )
        .await;
        figures.committed_unanswered += entries.len()
            - ledger_so_far.len()
            - acked_since(&acked, &entries, ledger_so_far.len());
        figures.entries_verified += entries.len();
        ledger_so_far = entries.iter().map(Entry::hash).collect();
        figures.cycles += 1;

        if (cycle + 1) % CYCLES_PER_PROPOSAL == 0 && cycle + 1 < cycles {
            proposal = rotate(&http, &server, &officer, &proposal, &voters, cycle + 1).await;
            figures.proposals += 1;
            ledger_so_far.clear();
            acked.clear();
        }
    }
    let mut server = server;
    assert!(server.stop(Stop::Term).await.success());
    println!(
        "crash test: {} cycles (SIGKILL + restart) in {:.1} s, seed {seed}: {} ballots acknowledged and each found exactly once, {} idempotent replays, {} requests unanswered at a kill ({} of them committed, each replayed by its retry), {} ledger entries verified (summed over the restarts) on {} proposals",
        figures.cycles,
        started.elapsed().as_secs_f64(),
        figures.acked,
        figures.replays,
        figures.unanswered,
        figures.committed_unanswered,
        figures.entries_verified,
        figures.proposals,
    );
    figures
}

/// How many of `entries` from `from` on carry an acknowledged receipt.
fn acked_since(acked: &Acked, entries: &[Entry], from: usize) -> usize {
    entries[from..]
        .iter()
        .filter(|e| acked.contains_key(&e.hash()))
        .count()
}

/// What one client task saw.
#[derive(Default)]
struct Report {
    /// (receipt, voter, choice, seq, replayed)
    acked: Vec<(String, String, &'static str, u64, bool)>,
    unanswered: usize,
    failures: Vec<String>,
}

/// One client: votes for its voters in random order until the server stops answering. Each
/// voter first retries its unanswered request, if any; sometimes a voter resends its last
/// acknowledged ballot (a duplicate must be answered with the same receipt); otherwise it casts
/// a new ballot (changing its choice) under a fresh idempotency key.
async fn vote_until_refused(
    http: Client,
    url: String,
    voters: Vec<Arc<Mutex<Voter>>>,
    cycle: usize,
    client_no: usize,
    seed: u64,
) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report::default();
    for n in 0.. {
        let mut voter = voters[rng.random_range(0..voters.len())].lock().await;
        let (key, choice, expect) = if let Some((key, choice)) = voter.pending.clone() {
            (key, choice, Expect::Retry(voter.pending_entry.clone()))
        } else if let Some((key, choice, receipt)) =
            voter.last.clone().filter(|_| rng.random_bool(0.1))
        {
            (key, choice, Expect::Replay(receipt))
        } else {
            let choice = CHOICES[rng.random_range(0..CHOICES.len())];
            (format!("c{cycle}-t{client_no}-n{n}"), choice, Expect::New)
        };
        let sent = http
            .put(&url)
            .bearer_auth(&voter.token)
            .json(&json!({"choice": choice, "idempotency_key": key}))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // Never reached the server: nothing to retry.
            Err(e) if e.is_connect() => return report,
            Err(_) => {
                unanswered(&mut voter, key, choice, expect);
                report.unanswered += 1;
                return report;
            }
        };
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            Err(_) => {
                unanswered(&mut voter, key, choice, expect);
                report.unanswered += 1;
                return report;
            }
        };
        if status != StatusCode::OK {
            report
                .failures
                .push(format!("{}: {status} {body}", voter.key));
            return report;
        }
        let receipt: Value = match serde_json::from_str(&body) {
            Ok(receipt) => receipt,
            Err(e) => {
                report
                    .failures
                    .push(format!("{}: {e} in {body}", voter.key));
                return report;
            }
        };
        let hash = receipt["receipt"].as_str().unwrap_or_default().to_owned();
        let replayed = receipt["replayed"] == true;
        let seq = receipt["seq"].as_u64().unwrap_or_default();
        match &expect {
            Expect::Replay(previous) if !replayed || hash != *previous => report.failures.push(
                format!("{}: a resent ballot was not answered with its receipt: {receipt}", voter.key),
            ),
            Expect::Retry(Some(entry)) if !replayed || hash != *entry => report.failures.push(format!(
                "{}: the retry of a ballot committed before the kill was not replayed with its entry {entry}: {receipt}",
                voter.key
            )),
            Expect::Retry(None) if replayed => report.failures.push(format!(
                "{}: the retry of a ballot that was not in the ledger was answered as a replay: {receipt}",
                voter.key
            )),
            Expect::New if replayed => report
                .failures
                .push(format!("{}: a fresh key was answered as a replay: {receipt}", voter.key)),
            _ => {}
        }
        if !report.failures.is_empty() {
            return report;
        }
        voter.pending = None;
        voter.pending_entry = None;
        voter.last = Some((key, choice, hash.clone()));
        report
            .acked
            .push((hash, voter.key.clone(), choice, seq, replayed));
    }
    report
}

/// Remembers a request that got no answer, with what its retry must be answered.
fn unanswered(voter: &mut Voter, key: String, choice: &'static str, expect: Expect) {
    voter.pending_entry = match expect {
        // A fresh ballot may or may not have been committed: the ledger will tell.
        Expect::New => None,
        // A resend of a recorded ballot stays that ballot.
        Expect::Replay(receipt) => Some(receipt),
        // A retry keeps what is known of the original.
        Expect::Retry(entry) => entry,
    };
    voter.pending = Some((key, choice));
}

enum Expect {
    New,
    /// Resending the last acknowledged ballot: must be replayed with this receipt.
    Replay(String),
    /// Retrying an unanswered request: replayed with this entry if the ledger had it, else new.
    Retry(Option<String>),
}

/// After a restart: the chain verifies and extends the last one seen; every acknowledged
/// ballot is in it at its place; every other new entry is an unanswered request of its voter
/// (at most one each); each voter's stored ballot and receipt are its last entry; the live tally
/// equals a recount of the ledger. Returns the ledger.
#[allow(clippy::too_many_arguments)]
async fn check(
    http: &Client,
    server: &Server,
    officer: &Officer,
    proposal: &str,
    voters: &[Arc<Mutex<Voter>>],
    acked: &Acked,
    before: &[String],
    cycle: usize,
) -> Vec<Entry> {
    let entries = ledger(http, server, &officer.token, proposal).await;
    let hashes: Vec<String> = entries.iter().map(Entry::hash).collect();
    assert!(
        hashes.len() >= before.len() && hashes[..before.len()] == *before,
        "cycle {cycle}: the ledger before the kill is not a prefix of the ledger after it"
    );
    let mut place: HashMap<&str, usize> = HashMap::new();
    for (at, hash) in hashes.iter().enumerate() {
        assert!(
            place.insert(hash, at).is_none(),
            "cycle {cycle}: entry {hash} twice"
        );
    }
    for (receipt, (voter, choice, seq)) in acked {
        let at = *place.get(receipt.as_str()).unwrap_or_else(|| {
            panic!("cycle {cycle}: the acknowledged ballot {receipt} of {voter} is missing")
        });
        let entry = &entries[at];
        assert_eq!(
            (entry.voter.as_str(), entry.choice.as_str(), entry.seq),
            (voter.as_str(), *choice, *seq),
            "cycle {cycle}: the acknowledged ballot {receipt} changed"
        );
    }
    // New entries nobody was told about: one per unanswered request at most, as it was sent.
    let mut by_voter: HashMap<String, Arc<Mutex<Voter>>> = HashMap::new();
    for v in voters {
        by_voter.insert(v.lock().await.key.clone(), v.clone());
    }
    for (entry, hash) in entries.iter().zip(&hashes).skip(before.len()) {
        if acked.contains_key(hash) {
            continue;
        }
        let voter = by_voter.get(&entry.voter).unwrap_or_else(|| {
            panic!(
                "cycle {cycle}: entry {} of unknown voter {}",
                entry.seq, entry.voter
            )
        });
        let mut voter = voter.lock().await;
        let pending_choice = voter.pending.as_ref().map(|p| p.1);
        assert_eq!(
            pending_choice,
            Some(entry.choice.as_str()),
            "cycle {cycle}: entry {} of {} matches no request that was sent and not answered",
            entry.seq,
            entry.voter
        );
        assert!(
            voter.pending_entry.replace(hash.clone()).is_none(),
            "cycle {cycle}: two entries for one unanswered request of {}",
            entry.voter
        );
    }
    // Each voter's stored ballot is its last entry, and its receipt can be looked up.
    let mut last: HashMap<&str, &Entry> = HashMap::new();
    for entry in &entries {
        last.insert(entry.voter.as_str(), entry);
    }
    for v in voters {
        let voter = v.lock().await;
        let mine = ok_json(
            http.get(server.url(&format!("/proposals/{proposal}/ballot")))
                .bearer_auth(&voter.token)
                .send()
                .await
                .unwrap(),
            "own ballot",
        )
        .await;
        match last.get(voter.key.as_str()) {
            None => assert_eq!(mine, Value::Null, "cycle {cycle}: {}", voter.key),
            Some(entry) => {
                let hash = entry.hash();
                assert_eq!(
                    mine["receipt"],
                    hash.as_str(),
                    "cycle {cycle}: {}",
                    voter.key
                );
                assert_eq!(mine["choice"], entry.choice.as_str());
                assert_eq!(mine["seq"], entry.seq);
                let found = ok_json(
                    http.get(server.url(&format!("/receipts/{hash}")))
                        .send()
                        .await
                        .unwrap(),
                    "receipt look-up",
                )
                .await;
                assert_eq!(found["position"], entry.seq, "cycle {cycle}");
            }
        }
    }
    // The live tally, rebuilt at startup, equals a recount of the ledger's last entries.
    let count = ok_json(
        http.get(server.url(&format!("/proposals/{proposal}/tally")))
            .bearer_auth(&officer.token)
            .send()
            .await
            .unwrap(),
        "tally",
    )
    .await;
    assert_eq!(count["ledger_len"], entries.len() as u64, "cycle {cycle}");
    assert_eq!(count["turnout"]["headcount"], last.len() as u64);
    for choice in CHOICES {
        let mine: Vec<&&Entry> = last.values().filter(|e| e.choice == choice).collect();
        assert_eq!(
            count["tally"][choice]["headcount"],
            mine.len() as u64,
            "cycle {cycle}, {choice}: {count}"
        );
        // Areas have two decimals: add them as hundredths.
        let sum: u64 = mine.iter().map(|e| hundredths(&e.weights["area"])).sum();
        assert_eq!(
            count["tally"][choice]["weights"]["area"]
                .as_str()
                .map(hundredths)
                .unwrap_or_default(),
            sum,
            "cycle {cycle}, {choice} area: {count}"
        );
    }
    entries
}

/// "52.07" → 5207.
fn hundredths(decimal: &str) -> u64 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let fraction = format!("{fraction:0<2}");
    whole.parse::<u64>().unwrap() * 100 + fraction[..2].parse::<u64>().unwrap()
}

/// The proposal's ledger, its chain verified from the opening record.
async fn ledger(http: &Client, server: &Server, officer: &str, proposal: &str) -> Vec<Entry> {
    let record = ok_json(
        http.get(server.url(&format!("/proposals/{proposal}")))
            .bearer_auth(officer)
            .send()
            .await
            .unwrap(),
        "proposal",
    )
    .await;
    let lines = http
        .get(server.url(&format!("/proposals/{proposal}/ledger")))
        .bearer_auth(officer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entries: Vec<Entry> = lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("a ledger entry"))
        .collect();
    let opening = record["opening_hash"].as_str().expect("opening hash");
    verify_chain(proposal, opening, &entries).expect("the chain verifies");
    entries
}

/// A community, its officer, and `VOTERS` voters signed up by activation code.
async fn arrange(http: &Client, server: &Server) -> (Officer, Vec<Voter>) {
    let admin = sign_in(http, server, ADMIN, ADMIN_PASSWORD).await;
    let community = ok_json(
        http.post(server.url("/communities"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Crash Court"}))
            .send()
            .await
            .unwrap(),
        "community",
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, body) in [
        (
            "/accounts".to_owned(),
            json!({"login": "officer", "password": PASSWORD}),
        ),
        (
            format!("/communities/{community}/members"),
            json!({"login": "officer", "role": "officer"}),
        ),
    ] {
        ok_json(
            http.post(server.url(&path))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap(),
            &path,
        )
        .await;
    }
    let officer = sign_in(http, server, "officer", PASSWORD).await;
    let mut roll = String::from("voter,unit,area\n");
    for i in 0..VOTERS {
        roll.push_str(&format!(
            "v{i:02},{}-{i:02},{}.{:02}\n",
            i / 8 + 1,
            60 + i,
            i * 7 % 100
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
        let key = card["voter"].as_str().unwrap().to_owned();
        let body = ok_json(
            http.post(server.url("/activate"))
                .json(&json!({"code": card["code"], "login": format!("{key}-home"), "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
            "activate",
        )
        .await;
        voters.push(Voter {
            key,
            token: body["token"].as_str().unwrap().to_owned(),
            last: None,
            pending: None,
            pending_entry: None,
        });
    }
    assert_eq!(voters.len(), VOTERS);
    let officer = Officer {
        token: officer,
        community,
    };
    (officer, voters)
}

/// Creates and opens a proposal whose ballots may be changed; returns its id.
async fn open_proposal(http: &Client, server: &Server, officer: &Officer, n: usize) -> String {
    let (token, community) = (&officer.token, &officer.community);
    let closes_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24))
        .unwrap()
        .to_string();
    let proposal = ok_json(
        http.post(server.url(&format!("/communities/{community}/proposals")))
            .bearer_auth(token)
            .json(&json!({
                "title": format!("Repair the gate, vote {n}"),
                "rule": {"preset": "absolute-majority"},
                "closes_at": closes_at,
                "allow_change": true,
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
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "open",
    )
    .await;
    proposal
}

/// Closes the proposal (its final count is the ledger's) and opens the next one.
async fn rotate(
    http: &Client,
    server: &Server,
    officer: &Officer,
    proposal: &str,
    voters: &[Arc<Mutex<Voter>>],
    n: usize,
) -> String {
    let token = &officer.token;
    let len = ledger(http, server, token, proposal).await.len();
    let closed = ok_json(
        http.post(server.url(&format!("/proposals/{proposal}/close")))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "close",
    )
    .await;
    assert_eq!(closed["state"], "closed", "{closed}");
    // The final count is the ledger's, to the last entry.
    let count = ok_json(
        http.get(server.url(&format!("/proposals/{proposal}/tally")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        "final tally",
    )
    .await;
    assert_eq!(count["ledger_len"], len as u64, "{count}");
    assert_eq!(count["final"], true, "{count}");
    for v in voters {
        let mut voter = v.lock().await;
        voter.last = None;
        voter.pending = None;
        voter.pending_entry = None;
    }
    open_proposal(http, server, officer, n).await
}
