//! Operations (issue 9): `/metrics` in the Prometheus text format and who may read it,
//! `/readyz`, request ids in headers, error bodies and logs, the trusted-proxy setting, and logs
//! of the real binary that carry no password, token, cookie or activation code.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::proposals::{compound, create, open, road_repair, vote};
use crate::support::{ADMIN_LOGIN, TestApp, spawn_app, spawn_app_with};

/// `GET path` outside `/api/v1`, with extra headers.
async fn get_raw(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.api().get(format!("{}{path}", app.base_url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The samples of a Prometheus text exposition: `name{labels}` → value. Fails on any line that
/// is neither a comment nor `name[{labels}] value`.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "bad labels in {line}");
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        out.insert(series.to_owned(), value);
    }
    out
}

async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let response = get_raw(app, "/metrics", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = response.text().await.unwrap();
    assert!(
        text.contains("# TYPE yishi_vote_commit_seconds histogram"),
        "{text}"
    );
    samples(&text)
}

#[tokio::test]
async fn metrics_count_requests_votes_batches_commits_websockets_and_refused_sign_ins() {
    let app = spawn_app().await;
    let c = compound(&app, "Metrics").await;
    let p = create(&app, &c, road_repair(json!({}))).await;
    open(&app, &c, &p).await;
    for (voter, choice) in [("wang", "yes"), ("li", "no"), ("zhao", "yes")] {
        let response = vote(&app, &c.voters[voter], &p, choice, voter).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let wrong = app
        .api()
        .post(app.url("/session"))
        .json(&json!({"login": ADMIN_LOGIN, "password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let url = format!("ws://{}/api/v1/proposals/{p}/live", app.addr);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", c.voters["sun"]).parse().unwrap(),
    );
    let (mut watcher, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let _snapshot = watcher.next().await;

    let m = scrape(&app).await;
    let ballot_route = "route=\"/api/v1/proposals/{proposal}/ballot\"";
    assert_eq!(
        m[&format!("yishi_http_requests_total{{method=\"PUT\",{ballot_route},status=\"2xx\"}}")],
        3.0
    );
    assert_eq!(
        m["yishi_http_requests_total{method=\"POST\",route=\"/api/v1/session\",status=\"4xx\"}"],
        1.0
    );
    assert_eq!(m["yishi_ballots_committed_total"], 3.0);
    assert_eq!(m["yishi_vote_batch_ballots_sum"], 3.0);
    let batches = m["yishi_vote_batches_total"];
    assert!(batches >= 1.0);
    assert_eq!(m["yishi_vote_commit_seconds_count"], batches);
    assert_eq!(m["yishi_vote_commit_seconds_bucket{le=\"+Inf\"}"], batches);
    assert_eq!(m["yishi_websocket_connections"], 1.0);
    assert_eq!(
        m["yishi_login_refusals_total{reason=\"bad_credentials\"}"],
        1.0
    );
    assert!(
        m[&format!("yishi_http_request_seconds_count{{{ballot_route}}}")] == 3.0,
        "{m:?}"
    );

    // The watcher leaves: the gauge goes back down.
    drop(watcher);
    let mut left = false;
    for _ in 0..50 {
        if scrape(&app).await["yishi_websocket_connections"] == 0.0 {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left, "the closed WebSocket is still counted");
}

#[tokio::test]
async fn metrics_are_readable_only_as_configured() {
    // Default, "loopback": this machine, but not through a proxy on it.
    let app = spawn_app().await;
    assert_eq!(
        get_raw(&app, "/metrics", &[]).await.status(),
        StatusCode::OK
    );
    let relayed = get_raw(&app, "/metrics", &[("x-forwarded-for", "203.0.113.5")]).await;
    assert_eq!(relayed.status(), StatusCode::FORBIDDEN);
    let body: Value = relayed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");

    let token = "metrics-token-0123456789";
    let app = spawn_app_with(|c| {
        c.ops.metrics = "token".into();
        c.ops.metrics_token = token.into();
    })
    .await;
    assert_eq!(
        get_raw(&app, "/metrics", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let wrong = format!("Bearer {}x", &token[..token.len() - 1]);
    assert_eq!(
        get_raw(&app, "/metrics", &[("authorization", &wrong)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let right = format!("Bearer {token}");
    assert_eq!(
        get_raw(&app, "/metrics", &[("authorization", &right)])
            .await
            .status(),
        StatusCode::OK
    );

    // A token mode without a token (or a short one) does not start.
    let err =
        yishi::config::Config::load(None, [("YISHI_OPS_METRICS".to_owned(), "token".to_owned())])
            .unwrap_err();
    assert!(err.to_string().contains("metrics_token"), "{err}");
}

#[tokio::test]
async fn readyz_reports_the_store_and_the_vote_writer() {
    let app = spawn_app().await;
    let response = get_raw(&app, "/readyz", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"store": "ok", "writer": "ok"}));
    assert!(app.state.votes.is_running());
    let health = get_raw(&app, "/healthz", &[]).await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_errors_repeat_it() {
    let app = spawn_app().await;
    // A fresh id when the caller sends none.
    let response = app.get("/me", "no-such-token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], id.as_str());
    assert_eq!(body["error"]["code"], "unauthenticated");

    // A proxy's plain id is kept, so its log and ours name the same request.
    let response = get_raw(&app, "/healthz", &[("x-request-id", "nginx-4f2a.9")]).await;
    assert_eq!(response.headers()["x-request-id"], "nginx-4f2a.9");
    // Anything else is replaced.
    let forged = "\"}, {\"injected\": true";
    let response = get_raw(&app, "/nope", &[("x-request-id", forged)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(id, forged);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["request_id"], id.as_str());
}

/// Sign-in attempts from two forwarded client addresses.
async fn attempts_from(app: &TestApp, forwarded: &str, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let response = app
            .api()
            .post(app.url("/session"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"login": "nobody", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let limits = |c: &mut yishi::config::Config| {
        c.auth.login_attempts_per_minute_per_address = 2;
        c.auth.login_attempts_per_minute_per_account = 1000;
    };
    // The proxy (here: the test client on 127.0.0.1) is trusted: each forwarded client has its
    // own allowance, and a client cannot pick another address by writing the header itself.
    let app = spawn_app_with(|c| {
        limits(c);
        c.server.trusted_proxies = "127.0.0.1, ::1".into();
    })
    .await;
    let first = attempts_from(&app, "198.51.100.1", 3).await;
    assert_eq!(
        first,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let second = attempts_from(&app, "198.51.100.2", 1).await;
    assert_eq!(second, [StatusCode::UNAUTHORIZED]);
    // The client wrote "198.51.100.9" itself; the proxy appended the real address.
    let spoofed = attempts_from(&app, "198.51.100.9, 198.51.100.1", 1).await;
    assert_eq!(spoofed, [StatusCode::TOO_MANY_REQUESTS]);

    // Not trusted: the header is ignored and every request is 127.0.0.1's.
    let app = spawn_app_with(limits).await;
    let mut statuses = attempts_from(&app, "198.51.100.1", 2).await;
    statuses.extend(attempts_from(&app, "198.51.100.2", 1).await);
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_yishi");

/// The server process, killed if the test fails before stopping it.
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The real binary with JSON logs at `info`, a fixed admin, and a roll to activate from.
#[tokio::test]
async fn the_servers_json_logs_name_each_request_and_hold_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("yishi.toml");
    std::fs::write(
        &config,
        r#"
[server]
listen = "127.0.0.1:0"
[store]
cache_mib = 4
[auth]
argon2_memory_kib = 1024
argon2_iterations = 1
[log]
format = "json"
filter = "info"
"#,
    )
    .unwrap();
    let command = |args: &[&str]| {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("RUST_LOG");
        command
    };
    let admin_password = "admin-secret-Pw-7731";
    let mut create = command(&["admin", "create-admin", "--login", "root"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{admin_password}").unwrap();
    assert!(create.wait().unwrap().success());

    let mut server = Running(Some(
        command(&["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let child = server.0.as_mut().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let lines_tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
    }
    drop(lines_tx);
    let mut output = Vec::new();
    let base = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints its address");
        if let Some(rest) = line.strip_prefix("Yishi is serving on ") {
            let url = rest.split_whitespace().next().unwrap_or_default();
            break url.trim_end_matches('/').to_owned();
        }
        output.push(line);
    };

    // Act: everything that carries a secret — a password, a bearer token, a cookie, an
    // activation code — plus a wrong password and an error.
    let client = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .build()
        .unwrap();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let signed_in: Value = client
        .post(api("/session"))
        .json(&json!({"login": "root", "password": admin_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_in["token"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {signed_in}"))
        .to_owned();
    let community: Value = client
        .post(api("/communities"))
        .bearer_auth(&token)
        .json(&json!({"name": "Logs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = community["id"].as_str().unwrap().to_owned();
    let member = client
        .post(api(&format!("/communities/{c}/members")))
        .bearer_auth(&token)
        .json(&json!({"login": "root", "role": "officer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(member.status(), StatusCode::OK);
    let roll = client
        .put(api(&format!("/communities/{c}/roll")))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("voter,unit,area\nwang,1-101,89.57\n")
        .send()
        .await
        .unwrap();
    assert_eq!(roll.status(), StatusCode::OK);
    let codes = client
        .post(api(&format!("/communities/{c}/activation-codes")))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(codes.status(), StatusCode::CREATED);
    let codes: Vec<Value> = codes.json().await.unwrap();
    let code = codes[0]["code"].as_str().unwrap().to_owned();
    let resident_password = "resident-secret-Pw-5519";
    let activated = client
        .post(api("/activate"))
        .json(&json!({"code": code, "login": "wang", "password": resident_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), StatusCode::CREATED);
    let cookie = activated
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let me = client
        .get(api("/me"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let wrong_password = "wrong-secret-Pw-0042";
    let wrong = client
        .post(api("/session"))
        .json(&json!({"login": "wang", "password": wrong_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Stop the server and collect everything it wrote.
    let mut child = server.0.take().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopped = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(stopped.success());
    output.extend(lines_rx.iter());
    let text = output.join("\n");

    for secret in [
        admin_password,
        resident_password,
        wrong_password,
        token.as_str(),
        cookie.as_str(),
        code.as_str(),
        &code.replace('-', ""),
    ] {
        assert!(
            !text.contains(secret),
            "the log contains a secret `{secret}`:\n{text}"
        );
    }
    // Every log line is one JSON object; each answered request names its id and route.
    let mut answered = Vec::new();
    for line in &output {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if value["fields"]["message"] == "answered" {
            answered.push(value);
        }
    }
    assert!(answered.len() >= 7, "{text}");
    for line in &answered {
        let id = line["span"]["request_id"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "no request id: {line}");
        assert!(line["fields"]["route"].is_string(), "{line}");
        assert!(line["fields"]["status"].is_number(), "{line}");
    }
    let traced = answered
        .iter()
        .find(|l| l["span"]["request_id"] == "trace-me-123")
        .expect("the caller's request id is in the log");
    assert_eq!(traced["fields"]["route"], "/api/v1/me");
    assert_eq!(traced["fields"]["status"], 200);
    assert!(
        answered
            .iter()
            .any(|l| l["fields"]["route"] == "/api/v1/session" && l["fields"]["status"] == 401)
    );
}
