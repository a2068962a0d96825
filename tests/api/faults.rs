//! Storage faults (issue 9), injected through the test-only storage backend (cargo feature
//! `faults`): a failed commit, a full disk and a file system turning read-only. Voters get a
//! stable 503 code with `Retry-After`, nothing is acknowledged, reads keep working, the server
//! reopens the database, and a retry with the same idempotency key is counted once.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use yishi::domain::ledger::{Entry, verify_chain};

use crate::support::{PASSWORD, TestApp, error, spawn_app};

/// A vote open on the `ROLL_CSV` roll, with a signed-in account for each of its four voters.
struct Vote {
    officer: String,
    community: String,
    proposal: String,
    /// (voter key, bearer token)
    voters: Vec<(&'static str, String)>,
}

async fn open_vote(app: &TestApp) -> Vote {
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Fault Court").await;
    let mut voters = Vec::new();
    for voter in ["wang", "li", "zhao", "sun"] {
        let login = format!("{voter}-home");
        app.create_account(&admin, &login).await;
        app.add_member(&admin, &community, &login, "voter", Some(voter))
            .await;
        voters.push((voter, app.login(&login, PASSWORD).await));
    }
    let proposal = create_proposal(app, &officer, &community).await.unwrap();
    let response = app
        .post_json(&format!("/proposals/{proposal}/open"), &officer, json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    Vote {
        officer,
        community,
        proposal,
        voters,
    }
}

/// Creates a proposal; the error response when refused.
async fn create_proposal(
    app: &TestApp,
    officer: &str,
    community: &str,
) -> Result<String, reqwest::Response> {
    let closes_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap()
        .to_string();
    let response = app
        .post_json(
            &format!("/communities/{community}/proposals"),
            officer,
            json!({"title": "Fix the lift", "rule": {"preset": "simple-majority"}, "closes_at": closes_at}),
        )
        .await;
    if response.status() != StatusCode::CREATED {
        return Err(response);
    }
    let body: Value = response.json().await.unwrap();
    Ok(body["id"].as_str().unwrap().to_owned())
}

async fn cast(app: &TestApp, vote: &Vote, voter: usize, choice: &str) -> reqwest::Response {
    app.put_json(
        &format!("/proposals/{}/ballot", vote.proposal),
        &vote.voters[voter].1,
        json!({"choice": choice, "idempotency_key": format!("key-of-{}", vote.voters[voter].0)}),
    )
    .await
}

/// The ledger (its chain verified) and the live tally.
async fn ledger_and_tally(app: &TestApp, vote: &Vote) -> (Vec<Entry>, Value) {
    let p = &vote.proposal;
    let record: Value = app
        .get(&format!("/proposals/{p}"), &vote.officer)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .get(&format!("/proposals/{p}/ledger"), &vote.officer)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the ledger can be read");
    let entries: Vec<Entry> = response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    verify_chain(p, record["opening_hash"].as_str().unwrap(), &entries).expect("chain verifies");
    let response = app
        .get(&format!("/proposals/{p}/tally"), &vote.officer)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the tally can be read");
    (entries, response.json().await.unwrap())
}

/// Asserts a 503 with `code` and a `Retry-After`.
async fn assert_refused(response: reqwest::Response, code: &str) {
    assert!(
        response.headers().contains_key("retry-after"),
        "Retry-After on {code}"
    );
    let (status, found, message) = error(response).await;
    assert_eq!(
        (status, found.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, code),
        "{message}"
    );
    assert!(message.contains("nothing"), "{message}");
}

/// Retries a ballot until the server answers other than 503 (it may still be reopening).
async fn retry_until_recorded(app: &TestApp, vote: &Vote, voter: usize, choice: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = cast(app, vote, voter, choice).await;
        if response.status() != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            assert_eq!(response.status(), StatusCode::OK);
            return response.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the injected fault hits the commit.
#[derive(Clone, Copy, PartialEq)]
enum Failure {
    /// A page write fails: nothing of the batch reaches the file.
    Write,
    /// The fsync fails after everything was written: the server cannot know whether the batch
    /// reached the disk; after reopening, the file decides, and the retries say which.
    Fsync,
}

async fn failed_commit(failure: Failure) {
    let app = spawn_app().await;
    let vote = open_vote(&app).await;
    let first = cast(&app, &vote, 0, "yes").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();

    // The next commit fails; three voters vote at once.
    let faults = app.state.store.faults();
    match failure {
        Failure::Write => faults.fail_next_writes(1),
        Failure::Fsync => faults.fail_next_commits(1),
    }
    let answers = futures_util::future::join_all(
        [(1, "no"), (2, "yes"), (3, "abstain")].map(|(v, c)| cast(&app, &vote, v, c)),
    )
    .await;
    let mut refused = Vec::new();
    for (answer, voter) in answers.into_iter().zip(1..) {
        if answer.status() != StatusCode::OK {
            assert_refused(answer, "retry").await;
            refused.push(voter);
        }
    }
    assert!(!refused.is_empty(), "the failed commit refused somebody");
    let failures = &app.state.votes.stats.commit_failures;
    assert_eq!(failures.load(std::sync::atomic::Ordering::Relaxed), 1);

    // The acknowledged ballot is intact and reads work (the database was reopened).
    let (entries, _) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries[0].hash(), first["receipt"].as_str().unwrap());
    let recorded_anyway = entries.len() - (4 - refused.len());
    if failure == Failure::Write {
        assert_eq!(recorded_anyway, 0, "a failed write leaves nothing behind");
        for &voter in &refused {
            let mine: Value = app
                .get(
                    &format!("/proposals/{}/ballot", vote.proposal),
                    &vote.voters[voter].1,
                )
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(mine, Value::Null, "{} has no ballot", vote.voters[voter].0);
        }
    }

    // The retry with the same key is recorded once (or, if the failed commit reached the disk
    // after all, replayed); a second retry is a replay.
    let choices = ["yes", "no", "yes", "abstain"];
    let mut replayed = 0;
    for &voter in &refused {
        let receipt = retry_until_recorded(&app, &vote, voter, choices[voter]).await;
        if receipt["replayed"] == true {
            replayed += 1;
        }
        let again = retry_until_recorded(&app, &vote, voter, choices[voter]).await;
        assert_eq!(again["replayed"], true);
        assert_eq!(again["receipt"], receipt["receipt"]);
    }
    assert_eq!(replayed, recorded_anyway, "replayed exactly those on disk");
    let (entries, tally) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries.len(), 4, "each voter once");
    assert_eq!(tally["turnout"]["headcount"], 4);
    assert_eq!(tally["tally"]["yes"]["headcount"], 2, "{tally}");
    assert_eq!(tally["tally"]["no"]["headcount"], 1);
    assert_eq!(tally["tally"]["abstain"]["headcount"], 1);
}

#[tokio::test]
async fn a_commit_failing_at_a_write_acknowledges_nothing_and_its_retry_counts_once() {
    failed_commit(Failure::Write).await;
}

#[tokio::test]
async fn a_commit_failing_at_its_fsync_is_retried_and_counted_once() {
    failed_commit(Failure::Fsync).await;
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers() {
    let app = spawn_app().await;
    let vote = open_vote(&app).await;
    assert_eq!(cast(&app, &vote, 0, "yes").await.status(), StatusCode::OK);
    let faults = app.state.store.faults();

    faults.fill_disk(true);
    assert_refused(cast(&app, &vote, 1, "no").await, "storage_full").await;
    // Readiness says so: a load balancer sends no votes here meanwhile.
    assert_eq!(readiness(&app).await, (503, "storage_full".to_owned()));
    // Every other write is refused the same way, not with a 500.
    let refused = create_proposal(&app, &vote.officer, &vote.community)
        .await
        .expect_err("no proposal on a full disk");
    assert_refused(refused, "storage_full").await;
    // Reads keep working: the ledger, the tally, a voter's own ballot.
    let (entries, tally) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(tally["tally"]["yes"]["headcount"], 1);
    let mine: Value = app
        .get(
            &format!("/proposals/{}/ballot", vote.proposal),
            &vote.voters[0].1,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["receipt"], entries[0].hash().as_str());
    assert_refused(cast(&app, &vote, 1, "no").await, "storage_full").await;

    // Room again: the same key is recorded once, and writing works again.
    faults.fill_disk(false);
    let receipt = retry_until_recorded(&app, &vote, 1, "no").await;
    assert_eq!(receipt["replayed"], false);
    let (entries, tally) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(tally["tally"]["no"]["headcount"], 1);
    assert!(
        create_proposal(&app, &vote.officer, &vote.community)
            .await
            .is_ok()
    );
    assert_eq!(readiness(&app).await, (200, "ok".to_owned()));
}

/// `/readyz`: its status and what it says of the store.
async fn readiness(app: &TestApp) -> (u16, String) {
    let response = app
        .api()
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["store"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_file_system_turning_read_only_refuses_writes_and_keeps_reads() {
    let app = spawn_app().await;
    let vote = open_vote(&app).await;
    assert_eq!(cast(&app, &vote, 0, "no").await.status(), StatusCode::OK);
    let faults = app.state.store.faults();

    faults.make_read_only(true);
    assert_refused(cast(&app, &vote, 2, "yes").await, "read_only").await;
    let (entries, tally) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(tally["tally"]["no"]["headcount"], 1);

    faults.make_read_only(false);
    let receipt = retry_until_recorded(&app, &vote, 2, "yes").await;
    assert_eq!(receipt["replayed"], false);
    let (entries, _) = ledger_and_tally(&app, &vote).await;
    assert_eq!(entries.len(), 2);
}
