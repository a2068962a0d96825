//! Backup and restore (issue 9), with the real binary: `yishi backup` takes a copy from the
//! running server while residents keep voting (and being acknowledged); `yishi restore` puts it
//! in place, and a server started on it has exactly what was acknowledged before the backup
//! began (and nothing that is not in the original), every chain verifying.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use yishi::domain::ledger::{Entry, verify_chain};

use super::durability::{Server, Site, Stop, Vote, arrange, client, ok_json, run_bounded};

/// How long the test build holds the backup's snapshot open, so votes visibly go on meanwhile.
const BACKUP_PAUSE_MS: &str = "800";
const CHOICES: [&str; 3] = ["yes", "no", "abstain"];
/// Voters who vote before the backup; the rest vote while it runs.
const EARLY: usize = 15;

/// Runs a `yishi` command of `site` to its end: (success, stdout, stderr).
fn yishi(site: &Site, args: &[&str]) -> (bool, String, String) {
    let (status, stdout, stderr) = run_bounded(&mut site.command(args), None);
    (status.success(), stdout, stderr)
}

async fn ledger(http: &Client, server: &Server, vote: &Vote) -> Vec<Entry> {
    let p = &vote.proposal;
    let record = ok_json(
        http.get(server.url(&format!("/proposals/{p}")))
            .bearer_auth(&vote.officer)
            .send()
            .await
            .unwrap(),
        "proposal",
    )
    .await;
    let lines = http
        .get(server.url(&format!("/proposals/{p}/ledger")))
        .bearer_auth(&vote.officer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entries: Vec<Entry> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    verify_chain(p, record["opening_hash"].as_str().unwrap(), &entries).expect("chain verifies");
    entries
}

fn ballot(http: &Client, server: &Server, vote: &Vote, i: usize) -> reqwest::RequestBuilder {
    http.put(server.url(&format!("/proposals/{}/ballot", vote.proposal)))
        .bearer_auth(&vote.voters[i].1)
        .json(&json!({"choice": CHOICES[i % 3], "idempotency_key": format!("k{i}")}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_voting_restores_what_was_acknowledged_before_it() {
    let site = Site::new();
    site.create_admin();
    let http = client();
    let mut server = site.serve_with(1, &[("FAULT_BACKUP_PAUSE_MS", BACKUP_PAUSE_MS)]);
    let vote = arrange(&http, &server).await;

    // The backup endpoint is the platform admin's (or the token holder's) only.
    let url = format!("{}/api/v1/admin/backup", server.base);
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = http
        .get(&url)
        .bearer_auth(&vote.voters[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let mut before = HashSet::new();
    for i in 0..EARLY {
        let receipt = ok_json(
            ballot(&http, &server, &vote, i).send().await.unwrap(),
            "vote",
        )
        .await;
        before.insert(receipt["receipt"].as_str().unwrap().to_owned());
    }
    // The rest vote one after another while the backup runs; each ack is timed.
    let started = Instant::now();
    let mut voters = Vec::new();
    for i in EARLY..vote.voters.len() {
        let request = ballot(&http, &server, &vote, i);
        voters.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(((i - EARLY) * 50) as u64)).await;
            let receipt: Value = request.send().await.unwrap().json().await.unwrap();
            (receipt, started.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let to = site.root.path().join("backup.redb");
    let to_arg = to.to_str().unwrap().to_owned();
    let backup_from = started.elapsed();
    let (ok, stdout, stderr) = {
        let site_command = site.command(&["backup", "--to", &to_arg, "--server", &server.base]);
        tokio::task::spawn_blocking(move || {
            let mut command = site_command;
            let (status, out, err) = run_bounded(&mut command, None);
            (status.success(), out, err)
        })
        .await
        .unwrap()
    };
    let backup_until = started.elapsed();
    assert!(ok, "yishi backup: {stdout}{stderr}");
    assert!(stdout.contains("taken from the server at"), "{stdout}");
    let mut during = 0;
    for voter in voters {
        let (receipt, at) = voter.await.unwrap();
        assert!(receipt["receipt"].is_string(), "{receipt}");
        if at <= backup_from {
            before.insert(receipt["receipt"].as_str().unwrap().to_owned());
        } else if at < backup_until {
            during += 1;
        }
    }
    assert!(
        during > 0,
        "votes were acknowledged while the backup ran ({backup_from:?} to {backup_until:?})"
    );
    let original = ledger(&http, &server, &vote).await;
    assert_eq!(original.len(), vote.voters.len());

    // A second backup to the same file is refused; restoring over a running server too.
    let (ok, _, stderr) = yishi(&site, &["backup", "--to", &to_arg]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    let (ok, _, stderr) = yishi(&site, &["restore", &to_arg]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    let (ok, _, stderr) = yishi(&site, &["restore", &to_arg, "--force"]);
    assert!(!ok && stderr.contains("stop the server"), "{stderr}");

    // Restored into a fresh data directory and served: exactly the snapshot.
    let elsewhere = Site::new();
    let (ok, stdout, stderr) = yishi(&elsewhere, &["restore", &to_arg]);
    assert!(ok, "yishi restore: {stdout}{stderr}");
    assert!(stdout.contains("every chain verified"), "{stdout}");
    let mut restored = elsewhere.serve(1);
    let copy = ledger(&http, &restored, &vote).await;
    let hashes: HashSet<String> = copy.iter().map(Entry::hash).collect();
    for receipt in &before {
        assert!(
            hashes.contains(receipt),
            "acknowledged before the backup: {receipt}"
        );
    }
    assert_eq!(
        copy[..],
        original[..copy.len()],
        "the copy is the original as it was at one moment"
    );
    assert!(
        copy.len() < original.len(),
        "votes after the snapshot are not in it"
    );
    let tally = ok_json(
        http.get(restored.url(&format!("/proposals/{}/tally", vote.proposal)))
            .bearer_auth(&vote.officer)
            .send()
            .await
            .unwrap(),
        "tally",
    )
    .await;
    assert_eq!(tally["ledger_len"], copy.len() as u64);
    for choice in ["yes", "no", "abstain"] {
        let n = copy.iter().filter(|e| e.choice == choice).count();
        assert_eq!(tally["tally"][choice]["headcount"], n as u64, "{tally}");
    }
    assert!(restored.stop(Stop::Term).await.success());

    // With the server stopped: a backup straight from the file, and a forced restore that
    // keeps the file it replaces.
    assert!(server.stop(Stop::Term).await.success());
    let direct = site.root.path().join("direct.redb");
    let (ok, stdout, stderr) = yishi(&site, &["backup", "--to", direct.to_str().unwrap()]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("directly"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} ledger entries", original.len())),
        "{stdout}"
    );
    let (ok, stdout, stderr) = yishi(&site, &["restore", &to_arg, "--force"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("kept as"), "{stdout}");
    let server = site.serve(2);
    assert_eq!(ledger(&http, &server, &vote).await, copy);
    drop(server);
}
