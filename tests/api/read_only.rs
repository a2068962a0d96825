//! A read-only data directory (issue 9): the real `yishi` binary, killed while it ran, is
//! started again on a data directory that cannot be written. It says so plainly, serves every
//! acknowledged ballot, and answers changes with 503 `read_only`; made writable again, it
//! records votes as before. As root (where permissions do not stop writes) the directory and
//! the file are made immutable with `chattr +i` instead of `chmod`.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use yishi::domain::ledger::{Entry, verify_chain};

use super::durability::{Site, Stop, arrange, client, ok_json};

/// Makes `paths` unwritable (`true`) or writable again; `Err` with the reason when this machine
/// cannot (e.g. root without `chattr`).
fn set_read_only(paths: &[&Path], read_only: bool) -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    for path in paths {
        let status = if root {
            Command::new("chattr")
                .arg(if read_only { "+i" } else { "-i" })
                .arg(path)
                .status()
        } else {
            let mode = match (path.is_dir(), read_only) {
                (true, true) => "0555",
                (true, false) => "0755",
                (false, true) => "0444",
                (false, false) => "0644",
            };
            Command::new("chmod").arg(mode).arg(path).status()
        };
        match status {
            Ok(s) if s.success() => {}
            other => return Err(format!("cannot change {}: {other:?}", path.display())),
        }
    }
    Ok(())
}

/// Writable again when dropped, so the temporary directory can be removed.
struct Unlock<'a>(Vec<&'a Path>);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        let _ = set_read_only(&self.0, false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_serves_reads_and_refuses_changes() {
    let site = Site::new();
    site.create_admin();
    let http = client();
    let mut server = site.serve(1);
    let vote = arrange(&http, &server).await;
    let ballot = |server: &super::durability::Server, i: usize, key: &str| {
        http.put(server.url(&format!("/proposals/{}/ballot", vote.proposal)))
            .bearer_auth(&vote.voters[i].1)
            .json(&json!({"choice": "yes", "idempotency_key": key}))
    };
    let mut receipts = Vec::new();
    for i in 0..3 {
        let receipt = ok_json(ballot(&server, i, "first").send().await.unwrap(), "vote").await;
        receipts.push(receipt["receipt"].as_str().unwrap().to_owned());
    }
    // Killed: the file is left as a crash leaves it (redb must repair it when it opens).
    server.stop(Stop::Kill).await;

    let data = site.data();
    let file = data.join("yishi.redb");
    if let Err(reason) = set_read_only(&[&file, &data], true) {
        let _ = set_read_only(&[&file, &data], false);
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot make a directory read-only: {reason}"
        );
        eprintln!("skipped: cannot make a directory read-only here ({reason})");
        return;
    }
    let unlock = Unlock(vec![&file, &data]);
    assert!(
        std::fs::OpenOptions::new().write(true).open(&file).is_err(),
        "the database file is really read-only"
    );

    let mut server = site.serve(2);
    let log = std::fs::read_to_string(site.root.path().join("serve-2.stderr")).unwrap();
    assert!(
        log.contains("is read-only: serving reads only"),
        "a clear message at startup: {log}"
    );
    // Not ready for votes, and it says why.
    let ready = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["store"], "read_only", "{ready}");
    // Reads: the ledger with every acknowledged ballot, the tally, a voter's own ballot.
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
    verify_chain(p, record["opening_hash"].as_str().unwrap(), &entries).unwrap();
    let hashes: Vec<String> = entries.iter().map(Entry::hash).collect();
    assert_eq!(hashes, receipts, "every acknowledged ballot, in order");
    let tally = ok_json(
        http.get(server.url(&format!("/proposals/{p}/tally")))
            .bearer_auth(&vote.officer)
            .send()
            .await
            .unwrap(),
        "tally",
    )
    .await;
    assert_eq!(tally["tally"]["yes"]["headcount"], 3, "{tally}");
    // Changes: a clear 503 with a stable code, for a ballot and for a sign-in.
    let refused = ballot(&server, 3, "second").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "read_only", "{body}");
    let sign_in = http
        .post(server.url("/session"))
        .json(&json!({"login": "officer", "password": super::durability::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = sign_in.json().await.unwrap();
    assert_eq!(body["error"]["code"], "read_only", "{body}");
    assert!(server.stop(Stop::Term).await.success());

    // Writable again: the same request is recorded, after the three.
    drop(unlock);
    let mut server = site.serve(3);
    let receipt = ok_json(ballot(&server, 3, "second").send().await.unwrap(), "vote").await;
    assert_eq!(receipt["seq"], 4, "{receipt}");
    assert_eq!(receipt["replayed"], false);
    assert!(server.stop(Stop::Term).await.success());
}
