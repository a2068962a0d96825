//! The authorization matrix (issue #3): every route of the API, called by six kinds of caller,
//! answers exactly what the access policy says, and the OpenAPI document lists every route.
//!
//! The policy (DESIGN §8: "every handler checks role and community; a resident of one community
//! sees nothing private of another"):
//!
//! - **Anonymous** callers get 401 for everything but the public surface: signing in (and
//!   asking whether one is signed in), activating a printed code, looking up a receipt, a
//!   community's public keys, and — once a result is published — its certificate, its ledger
//!   and its printable page `/r/{p}` (plus `/healthz`, `/metrics` and the OpenAPI document).
//! - A signed-in caller with **no membership** in a community (here a voter of another
//!   community) gets 404 for anything of it: they learn nothing, not even that it exists.
//! - A **member whose role does not allow** the action gets 403. Drafts are the exception: only
//!   officers see them, so for other members a draft does not exist (404).
//! - **Voters** vote (one ballot each, across all channels: a second is 409, and so is any
//!   ballot once voting closed). **Observers** read what voters read but never vote.
//!   **Officers** run the community: the roll, activation codes, members, proposals and their
//!   lifecycle, assisted ballots, proxies, turnout, attestations and publishing.
//! - The **platform admin** creates communities and accounts, sees every community and its
//!   proposals (read, list, tally, live feeds, members, audit), sets members and rotates keys.
//!   An admin is not an officer: the roll, activation codes, running proposals, turnout and
//!   publishing answer 403 (not 404 — the admin can see the community, so hiding it is moot).
//!   No one but a voter casts an online ballot, the admin included.

use std::collections::{BTreeSet, HashMap};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::proposals::{Compound, compound, create, open, road_repair, vote};
use crate::support::{ADMIN_LOGIN, ADMIN_PASSWORD, PASSWORD, ROLL_CSV, TestApp, error, spawn_app};

/// The six kinds of caller, in the order of every expectation row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    /// A voter of community B, calling about community A.
    Stranger,
    /// A voter of community A (`li`).
    Voter,
    Observer,
    Officer,
    Admin,
}

const CALLERS: [Who; 6] = [
    Who::Anonymous,
    Who::Stranger,
    Who::Voter,
    Who::Observer,
    Who::Officer,
    Who::Admin,
];

/// The state a case's proposal must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixture {
    /// No proposal: the path names only the community (or nothing).
    None,
    Draft,
    Deliberation,
    Voting,
    /// Voting closed after one ballot (li: yes), not yet published.
    Closed,
    /// Published.
    Certified,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Csv(&'static str),
}

/// One row of the matrix: a request and the status each caller gets, in `CALLERS` order. 101
/// means the WebSocket handshake succeeds.
struct Case {
    method: Method,
    /// `{c}` is community A, `{p}` the case's proposal, `{r}` a receipt of community A.
    path: &'static str,
    body: Body,
    fixture: Fixture,
    /// The request changes the proposal's state: every caller gets a proposal of their own.
    fresh: bool,
    expect: [u16; 6],
}

fn case(
    method: Method,
    path: &'static str,
    fixture: Fixture,
    body: Body,
    expect: [u16; 6],
) -> Case {
    Case {
        method,
        path,
        body,
        fixture,
        fresh: false,
        expect,
    }
}

fn fresh(
    method: Method,
    path: &'static str,
    fixture: Fixture,
    body: Body,
    expect: [u16; 6],
) -> Case {
    Case {
        fresh: true,
        ..case(method, path, fixture, body, expect)
    }
}

fn in_seconds(seconds: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap()
        .to_string()
}

/// Two communities and a platform admin: A with an officer, four voters and an observer; B with
/// its own officer and voters.
struct World {
    app: TestApp,
    a: Compound,
    b: Compound,
    tokens: HashMap<Who, String>,
    /// Sign-in names, to start a second session for the sign-out row.
    logins: HashMap<Who, (String, String)>,
    /// The login of A's voter `li`, for proxies.
    li_login: String,
}

const SPARE_LOGIN: &str = "spare-account";

async fn world() -> World {
    let app = spawn_app().await;
    let a = compound(&app, "Alpha Court").await;
    let b = compound(&app, "Beta Garden").await;
    let admin = app.admin().await;
    app.create_account(&admin, "watcher-a").await;
    app.add_member(&admin, &a.community, "watcher-a", "observer", None)
        .await;
    app.create_account(&admin, SPARE_LOGIN).await;
    let observer = app.login("watcher-a", PASSWORD).await;
    let li_login = format!("li-{}", &a.community[..6]);
    let tokens = HashMap::from([
        (Who::Stranger, b.voters["wang"].clone()),
        (Who::Voter, a.voters["li"].clone()),
        (Who::Observer, observer),
        (Who::Officer, a.officer.clone()),
        (Who::Admin, admin),
    ]);
    let password = PASSWORD.to_owned();
    let logins = HashMap::from([
        (
            Who::Stranger,
            (format!("wang-{}", &b.community[..6]), password.clone()),
        ),
        (Who::Voter, (li_login.clone(), password.clone())),
        (Who::Observer, ("watcher-a".to_owned(), password.clone())),
        (
            Who::Officer,
            (format!("officer-{}", &a.community[..8]), password),
        ),
        (
            Who::Admin,
            (ADMIN_LOGIN.to_owned(), ADMIN_PASSWORD.to_owned()),
        ),
    ]);
    World {
        app,
        a,
        b,
        tokens,
        logins,
        li_login,
    }
}

impl World {
    async fn officer_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app.post_json(path, &self.a.officer, body).await
    }

    /// A new proposal of community A in the state `fixture` asks for.
    async fn proposal(&self, fixture: Fixture) -> String {
        let p = create(&self.app, &self.a, road_repair(json!({}))).await;
        match fixture {
            Fixture::None | Fixture::Draft => {}
            Fixture::Deliberation => {
                let response = self
                    .officer_post(&format!("/proposals/{p}/deliberate"), json!({}))
                    .await;
                assert_eq!(response.status(), StatusCode::OK, "deliberate");
            }
            Fixture::Voting | Fixture::Closed | Fixture::Certified => {
                open(&self.app, &self.a, &p).await;
            }
        }
        if matches!(fixture, Fixture::Closed | Fixture::Certified) {
            let response = vote(&self.app, &self.a.voters["li"], &p, "yes", "fixture").await;
            assert_eq!(response.status(), StatusCode::OK, "fixture ballot");
            let response = self
                .officer_post(&format!("/proposals/{p}/close"), json!({}))
                .await;
            assert_eq!(response.status(), StatusCode::OK, "close");
        }
        if fixture == Fixture::Certified {
            let response = self
                .officer_post(
                    &format!("/proposals/{p}/publish"),
                    json!({"outcome_statement": "Counted in public."}),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK, "publish");
        }
        p
    }

    /// Sends a request as `who` and returns the status (101 for an accepted WebSocket).
    async fn call(&self, who: Who, method: &Method, path: &str, body: &Body) -> u16 {
        let token = self.tokens.get(&who);
        if path.ends_with("/live") {
            return self.connect(path, token.map(String::as_str)).await;
        }
        let outside_api = ["/api/", "/r/", "/healthz", "/readyz", "/metrics"];
        let url = if outside_api.iter().any(|prefix| path.starts_with(prefix)) {
            format!("{}{path}", self.app.base_url)
        } else {
            self.app.url(path)
        };
        let mut request = self.app.api().request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Csv(text) => request
                .header("content-type", "text/csv")
                .body(text.to_string()),
        };
        request.send().await.unwrap().status().as_u16()
    }

    async fn connect(&self, path: &str, token: Option<&str>) -> u16 {
        let url = format!("ws://{}/api/v1{path}", self.app.addr);
        let mut request = url.into_client_request().unwrap();
        if let Some(token) = token {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        match connect_async(request).await {
            Ok(_) => 101,
            Err(WsError::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("WebSocket {path}: {other}"),
        }
    }
}

const ANON: u16 = 401;

/// Every route of `accounts`, `communities`, `proposals`, `live` and `results`, with the
/// status each caller gets: [anonymous, stranger, voter, observer, officer, admin].
fn matrix(w: &World) -> Vec<Case> {
    use Fixture as F;
    let (get, post, put, patch) = (Method::GET, Method::POST, Method::PUT, Method::PATCH);
    let all = |s: u16| [s; 6];
    let signed_in = |s: u16| [ANON, s, s, s, s, s];
    // Anyone who may see community A: its members and the admin.
    let members = |s: u16| [ANON, 404, s, s, s, s];
    let members_and_admin = members;
    // Officers only; the admin is told 403.
    let officers = |s: u16| [ANON, 404, 403, 403, s, 403];
    // Officers and the admin.
    let stewards = |s: u16| [ANON, 404, 403, 403, s, s];
    let json = Body::Json;
    vec![
        // --- accounts -------------------------------------------------------------------------
        case(
            post.clone(),
            "/session",
            F::None,
            json(json!({"login": SPARE_LOGIN, "password": PASSWORD})),
            all(200),
        ),
        case(
            post.clone(),
            "/activate",
            F::None,
            json(json!({"code": "AAAA-BBBB-CC", "login": "nobody-here", "password": PASSWORD})),
            all(422),
        ),
        // Whether one is signed in: asked by the web app on every start, so never 401.
        case(get.clone(), "/session", F::None, Body::None, all(200)),
        case(get.clone(), "/me", F::None, Body::None, signed_in(200)),
        case(
            post.clone(),
            "/accounts",
            F::None,
            json(json!({"login": "made-by-matrix", "password": PASSWORD})),
            [ANON, 403, 403, 403, 403, 201],
        ),
        // DELETE /session is checked apart (it ends the caller's session).

        // --- communities ----------------------------------------------------------------------
        case(
            post.clone(),
            "/communities",
            F::None,
            json(json!({"name": "Matrix Court"})),
            [ANON, 403, 403, 403, 403, 201],
        ),
        case(
            get.clone(),
            "/communities",
            F::None,
            Body::None,
            signed_in(200),
        ),
        case(
            get.clone(),
            "/communities/{c}",
            F::None,
            Body::None,
            members_and_admin(200),
        ),
        case(
            post.clone(),
            "/communities/{c}/members",
            F::None,
            json(json!({"login": SPARE_LOGIN, "role": "observer"})),
            stewards(200),
        ),
        case(
            get.clone(),
            "/communities/{c}/members",
            F::None,
            Body::None,
            stewards(200),
        ),
        case(
            get.clone(),
            "/communities/{c}/roll",
            F::None,
            Body::None,
            officers(200),
        ),
        case(
            put.clone(),
            "/communities/{c}/roll",
            F::None,
            Body::Csv(ROLL_CSV),
            officers(200),
        ),
        case(
            patch.clone(),
            "/communities/{c}/roll",
            F::None,
            json(
                json!({"rows": [{"voter": "sun", "unit": "2-102", "name": "孙丽", "tags": ["b2"],
                "weights": {"area": "60.5"}}]}),
            ),
            officers(200),
        ),
        case(
            post.clone(),
            "/communities/{c}/activation-codes",
            F::None,
            json(json!({"voters": []})),
            officers(201),
        ),
        case(
            get.clone(),
            "/communities/{c}/audit",
            F::None,
            Body::None,
            stewards(200),
        ),
        case(
            get.clone(),
            "/communities/{c}/live",
            F::None,
            Body::None,
            members_and_admin(101),
        ),
        // --- keys and results -----------------------------------------------------------------
        case(
            get.clone(),
            "/communities/{c}/keys",
            F::None,
            Body::None,
            all(200),
        ),
        case(
            post.clone(),
            "/communities/{c}/keys/rotate",
            F::None,
            Body::None,
            stewards(200),
        ),
        case(
            post.clone(),
            "/proposals/{p}/attestations",
            F::Closed,
            json(
                json!({"name": "Zhou Min", "role": "resident representative",
                "statement": "I watched the count."}),
            ),
            officers(201),
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/publish",
            F::Closed,
            json(json!({"outcome_statement": "Passed."})),
            officers(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/certificate",
            F::Certified,
            Body::None,
            all(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/certificate",
            F::Closed,
            Body::None,
            all(404),
        ),
        case(get.clone(), "/r/{p}", F::Certified, Body::None, all(200)),
        case(get.clone(), "/r/{p}", F::Closed, Body::None, all(404)),
        // --- proposals ------------------------------------------------------------------------
        case(
            post.clone(),
            "/communities/{c}/proposals",
            F::None,
            json(road_repair(json!({}))),
            officers(201),
        ),
        case(
            get.clone(),
            "/communities/{c}/proposals",
            F::None,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}",
            F::Draft,
            Body::None,
            [ANON, 404, 404, 404, 200, 200],
        ),
        case(
            get.clone(),
            "/proposals/{p}",
            F::Voting,
            Body::None,
            members(200),
        ),
        case(
            patch.clone(),
            "/proposals/{p}",
            F::Deliberation,
            json(json!({"title": "Repair the road (revised)"})),
            officers(200),
        ),
        case(
            patch.clone(),
            "/proposals/{p}",
            F::Draft,
            json(json!({"title": "Draft title"})),
            [ANON, 404, 404, 404, 200, 403],
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/deliberate",
            F::Draft,
            Body::Json(json!({})),
            [ANON, 404, 404, 404, 200, 403],
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/open",
            F::Deliberation,
            Body::Json(json!({})),
            officers(200),
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/close",
            F::Voting,
            Body::Json(json!({})),
            officers(200),
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/extend",
            F::Voting,
            json(json!({"closes_at": in_seconds(7200), "reason": "the quorum is not met"})),
            officers(200),
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/withdraw",
            F::Voting,
            json(json!({"reason": "superseded"})),
            officers(200),
        ),
        fresh(
            put.clone(),
            "/proposals/{p}/ballot",
            F::Voting,
            json(json!({"choice": "yes", "idempotency_key": "matrix"})),
            [ANON, 404, 200, 403, 403, 403],
        ),
        case(
            get.clone(),
            "/proposals/{p}/ballot",
            F::Voting,
            Body::None,
            members(200),
        ),
        fresh(
            post.clone(),
            "/proposals/{p}/assisted-ballots",
            F::Voting,
            json(
                json!({"voter": "zhao", "choice": "no", "idempotency_key": "paper-1",
                "method": "paper", "note": "form 17"}),
            ),
            officers(200),
        ),
        case(
            post.clone(),
            "/proposals/{p}/proxies",
            F::Voting,
            json(json!({"voter": "zhao", "holder_login": w.li_login,
                "authorisation": "I, Zhao Qiang, authorise Li Na.", "expires_at": in_seconds(3600)})),
            officers(201),
        ),
        case(
            get.clone(),
            "/proposals/{p}/tally",
            F::Voting,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/tally",
            F::Draft,
            Body::None,
            [ANON, 404, 404, 404, 409, 409],
        ),
        case(
            get.clone(),
            "/proposals/{p}/turnout",
            F::Voting,
            Body::None,
            officers(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/ledger",
            F::Deliberation,
            Body::None,
            [ANON, 404, 403, 403, 403, 403],
        ),
        case(
            get.clone(),
            "/proposals/{p}/ledger",
            F::Voting,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/ledger",
            F::Closed,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/ledger",
            F::Certified,
            Body::None,
            all(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/live",
            F::Voting,
            Body::None,
            members(101),
        ),
        case(get.clone(), "/receipts/{r}", F::None, Body::None, all(200)),
        // --- deliberation -----------------------------------------------------------------------
        case(
            get.clone(),
            "/proposals/{p}/comments",
            F::Deliberation,
            Body::None,
            members(200),
        ),
        case(
            post.clone(),
            "/proposals/{p}/comments",
            F::Deliberation,
            json(json!({"body": "A question from the matrix"})),
            [ANON, 404, 201, 403, 201, 403],
        ),
        case(
            get.clone(),
            "/proposals/{p}/comments",
            F::Draft,
            Body::None,
            [ANON, 404, 404, 404, 200, 200],
        ),
        case(
            get.clone(),
            "/proposals/{p}/revisions",
            F::Deliberation,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/revisions/1/diff",
            F::Deliberation,
            Body::None,
            members(200),
        ),
        case(
            get.clone(),
            "/proposals/{p}/outreach",
            F::Voting,
            Body::None,
            officers(200),
        ),
        case(
            post.clone(),
            "/proposals/{p}/outreach",
            F::Voting,
            json(json!({"voter": "zhao", "method": "phone", "outcome": "not_home"})),
            officers(201),
        ),
        case(
            get.clone(),
            "/communities/{c}/petitions",
            F::None,
            Body::None,
            members(200),
        ),
        case(
            post.clone(),
            "/communities/{c}/petitions",
            F::None,
            json(json!({"title": "Benches", "signing_closes": in_seconds(86400)})),
            [ANON, 404, 201, 403, 403, 403],
        ),
        case(
            get.clone(),
            "/communities/{c}/petition-settings",
            F::None,
            Body::None,
            members(200),
        ),
        case(
            put.clone(),
            "/communities/{c}/petition-settings",
            F::None,
            json(json!({"threshold": "1/5"})),
            officers(200),
        ),
        case(
            get.clone(),
            "/communities/{c}/meetings",
            F::None,
            Body::None,
            members(200),
        ),
        case(
            post.clone(),
            "/communities/{c}/meetings",
            F::None,
            json(
                json!({"title": "Matrix meeting", "starts_at": in_seconds(3600), "place": "hall"}),
            ),
            officers(201),
        ),
        case(
            get.clone(),
            "/communities/{c}/notices",
            F::None,
            Body::None,
            [ANON, 404, 200, 200, 200, 403],
        ),
        case(
            post.clone(),
            "/communities/{c}/notices/seen",
            F::None,
            json(json!({})),
            [ANON, 404, 200, 200, 200, 403],
        ),
        // --- reliability (issue 9): backups ---------------------------------------------------
        case(
            get.clone(),
            "/admin/backup",
            F::None,
            Body::None,
            [ANON, 403, 403, 403, 403, 200],
        ),
        // --- outside the API ------------------------------------------------------------------
        case(
            get.clone(),
            "/api/openapi.json",
            F::None,
            Body::None,
            all(200),
        ),
        case(get.clone(), "/healthz", F::None, Body::None, all(200)),
        case(get.clone(), "/readyz", F::None, Body::None, all(200)),
        case(get, "/metrics", F::None, Body::None, all(200)),
    ]
}

#[tokio::test]
async fn every_route_answers_each_caller_exactly_as_the_policy_says() {
    let w = world().await;
    // Shared proposals for the rows that change nothing (or nothing another caller depends on).
    let mut shared = HashMap::new();
    for fixture in [
        Fixture::Draft,
        Fixture::Deliberation,
        Fixture::Voting,
        Fixture::Closed,
        Fixture::Certified,
    ] {
        shared.insert(format!("{fixture:?}"), w.proposal(fixture).await);
    }
    let closed = &shared["Closed"];
    let ballot: Value = w
        .app
        .get(&format!("/proposals/{closed}/ballot"), &w.a.voters["li"])
        .await
        .json()
        .await
        .unwrap();
    let receipt = ballot["receipt"].as_str().unwrap().to_owned();

    let mut wrong = Vec::new();
    let mut calls = 0;
    for case in matrix(&w) {
        for (who, expected) in CALLERS.iter().zip(case.expect) {
            let proposal = match (case.fixture, case.fresh) {
                (Fixture::None, _) => String::new(),
                (fixture, true) => w.proposal(fixture).await,
                (fixture, false) => shared[&format!("{fixture:?}")].clone(),
            };
            let path = case
                .path
                .replace("{c}", &w.a.community)
                .replace("{p}", &proposal)
                .replace("{r}", &receipt);
            let got = w.call(*who, &case.method, &path, &case.body).await;
            calls += 1;
            if got != expected {
                wrong.push(format!(
                    "{} {} ({:?}) as {who:?}: expected {expected}, got {got}",
                    case.method, case.path, case.fixture
                ));
            }
        }
    }

    // Signing out ends only the session it is called with: each caller signs in afresh.
    let anonymous = w
        .app
        .api()
        .delete(w.app.url("/session"))
        .send()
        .await
        .unwrap();
    if anonymous.status() != StatusCode::UNAUTHORIZED {
        wrong.push(format!(
            "DELETE /session as Anonymous: got {}",
            anonymous.status()
        ));
    }
    for who in &CALLERS[1..] {
        let (login, password) = &w.logins[who];
        let token = w.app.login(login, password).await;
        let response = w
            .app
            .api()
            .delete(w.app.url("/session"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::NO_CONTENT {
            wrong.push(format!(
                "DELETE /session as {who:?}: got {}",
                response.status()
            ));
        }
        // The ended session is gone; the caller's other session is not.
        assert_eq!(
            w.app.get("/me", &token).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            w.app.get("/me", &w.tokens[who]).await.status(),
            StatusCode::OK
        );
    }
    assert!(calls > 250, "the matrix ran {calls} calls");
    assert!(
        wrong.is_empty(),
        "{} of {calls} answers differ from the policy:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn a_voter_of_another_community_reads_nothing_of_it() {
    let w = world().await;
    let p = w.proposal(Fixture::Voting).await;
    let response = vote(&w.app, &w.a.voters["wang"], &p, "yes", "w").await;
    assert_eq!(response.status(), StatusCode::OK);
    let stranger = &w.tokens[&Who::Stranger];
    let c = &w.a.community;

    for path in [
        format!("/proposals/{p}"),
        format!("/proposals/{p}/tally"),
        format!("/proposals/{p}/turnout"),
        format!("/proposals/{p}/ledger"),
        format!("/proposals/{p}/ballot"),
        format!("/communities/{c}"),
        format!("/communities/{c}/roll"),
        format!("/communities/{c}/members"),
        format!("/communities/{c}/audit"),
        format!("/communities/{c}/proposals"),
    ] {
        let response = w.app.get(&path, stranger).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        for secret in [
            "Alpha Court",
            "Repair the compound road",
            "王伟",
            "wang",
            "li-",
        ] {
            assert!(!text.contains(secret), "{path} leaks `{secret}`: {text}");
        }
    }
    // Not in their lists either.
    let mine: Value = w
        .app
        .get("/communities", stranger)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [w.b.community.as_str()]);
    let me: Value = w.app.get("/me", stranger).await.json().await.unwrap();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me["memberships"][0]["community"], w.b.community.as_str());
    // Nor can they vote there, for themselves or as a would-be proxy.
    let response = vote(&w.app, stranger, &p, "no", "s").await;
    assert_eq!(error(response).await.0, StatusCode::NOT_FOUND);
    let response = w
        .app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            stranger,
            json!({"choice": "no", "idempotency_key": "s2", "voter": "li"}),
        )
        .await;
    assert_eq!(error(response).await.0, StatusCode::NOT_FOUND);
    // And A's officer cannot reach into B either.
    let response = w
        .app
        .get(
            &format!("/communities/{}/roll", w.b.community),
            &w.a.officer,
        )
        .await;
    assert_eq!(error(response).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nobody_votes_twice_or_after_close() {
    let w = world().await;
    let p = w.proposal(Fixture::Voting).await;
    let li = &w.a.voters["li"];

    let first = vote(&w.app, li, &p, "yes", "li-1").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    // A second ballot, under a new key or the same key with another choice, is refused.
    let (status, code, message) = error(vote(&w.app, li, &p, "no", "li-2").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "already_voted"),
        "{message}"
    );
    assert!(
        message.contains("online"),
        "the refusal names the first channel: {message}"
    );
    let (status, code, _) = error(vote(&w.app, li, &p, "no", "li-1").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "idempotency_key_reused")
    );
    // The same request again is answered with the same receipt, not counted again.
    let retry: Value = vote(&w.app, li, &p, "yes", "li-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retry["receipt"], first["receipt"]);
    assert_eq!(retry["replayed"], true);
    // An officer cannot add a paper ballot for a voter who voted online.
    let response = w
        .officer_post(
            &format!("/proposals/{p}/assisted-ballots"),
            json!({"voter": "li", "choice": "no", "idempotency_key": "paper-li", "method": "paper"}),
        )
        .await;
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "other_channel"),
        "{message}"
    );

    // Zhao authorises Li; Li votes for Zhao; Zhao cannot then vote online as well.
    let response = w
        .officer_post(
            &format!("/proposals/{p}/proxies"),
            json!({"voter": "zhao", "holder_login": w.li_login, "authorisation": "signed form",
                "expires_at": in_seconds(3600)}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let by_proxy = w
        .app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            li,
            json!({"choice": "yes", "idempotency_key": "for-zhao", "voter": "zhao"}),
        )
        .await;
    assert_eq!(by_proxy.status(), StatusCode::OK);
    let (status, code, _) = error(vote(&w.app, &w.a.voters["zhao"], &p, "no", "z").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "other_channel")
    );
    // Wang holds no proxy for Sun.
    let response = w
        .app
        .put_json(
            &format!("/proposals/{p}/ballot"),
            &w.a.voters["wang"],
            json!({"choice": "yes", "idempotency_key": "for-sun", "voter": "sun"}),
        )
        .await;
    assert_eq!(error(response).await.0, StatusCode::FORBIDDEN);

    // After close nothing is taken, through any channel.
    let response = w
        .officer_post(&format!("/proposals/{p}/close"), json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (status, code, _) = error(vote(&w.app, &w.a.voters["wang"], &p, "yes", "late").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "not_open"));
    let response = w
        .officer_post(
            &format!("/proposals/{p}/assisted-ballots"),
            json!({"voter": "sun", "choice": "yes", "idempotency_key": "late-paper", "method": "phone"}),
        )
        .await;
    assert_eq!(error(response).await.0, StatusCode::CONFLICT);
    // A retry of an accepted ballot after close is never a new ballot: it is refused, or
    // answered with the receipt it already has.
    let late_retry = vote(&w.app, li, &p, "yes", "li-1").await;
    if late_retry.status() == StatusCode::OK {
        let late: Value = late_retry.json().await.unwrap();
        assert_eq!(
            (&late["replayed"], &late["receipt"]),
            (&json!(true), &first["receipt"])
        );
    } else {
        assert_eq!(late_retry.status(), StatusCode::CONFLICT);
    }

    let tally: Value = w
        .app
        .get(&format!("/proposals/{p}/tally"), &w.a.officer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tally["turnout"]["headcount"], 2, "{tally}");
    assert_eq!(tally["ledger_len"], 2, "{tally}");
}

#[tokio::test]
async fn a_published_result_is_public_to_everyone() {
    let w = world().await;
    let p = w.proposal(Fixture::Certified).await;
    let mut certificates = Vec::new();
    for who in CALLERS {
        let mut request = w
            .app
            .api()
            .get(w.app.url(&format!("/proposals/{p}/certificate")));
        let mut page = w.app.api().get(format!("{}/r/{p}", w.app.base_url));
        let mut ledger = w
            .app
            .api()
            .get(w.app.url(&format!("/proposals/{p}/ledger")));
        if let Some(token) = w.tokens.get(&who) {
            request = request.bearer_auth(token);
            page = page.bearer_auth(token);
            ledger = ledger.bearer_auth(token);
        }
        let certificate: Value = request.send().await.unwrap().json().await.unwrap();
        let page = page.send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{who:?}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Repair the compound road"), "{who:?}");
        let ledger = ledger.send().await.unwrap();
        assert_eq!(ledger.status(), StatusCode::OK, "{who:?}");
        let lines = ledger.text().await.unwrap();
        assert_eq!(
            lines.lines().count() as u64,
            certificate["ledger"]["length"].as_u64().unwrap(),
            "{who:?}"
        );
        certificates.push(certificate);
    }
    assert!(certificates.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(certificates[0]["proposal"]["id"], p.as_str());
    assert!(!certificates[0]["signature"].as_str().unwrap().is_empty());
}

/// Every route the routers answer, by hand from `accounts`, `communities`, `proposals`, `live`
/// and `results`, all under `/api/v1`. (The web app's pages and files, the printable result
/// page `/r/{proposal}`, `/healthz`, `/metrics` and the document itself are not JSON API and
/// are not in it.)
const API_ROUTES: &[(&str, &str)] = &[
    // accounts
    ("post", "/session"),
    ("delete", "/session"),
    ("get", "/session"),
    ("get", "/me"),
    ("post", "/activate"),
    ("post", "/accounts"),
    // communities
    ("post", "/communities"),
    ("get", "/communities"),
    ("get", "/communities/{community}"),
    ("post", "/communities/{community}/members"),
    ("get", "/communities/{community}/members"),
    ("get", "/communities/{community}/roll"),
    ("put", "/communities/{community}/roll"),
    ("patch", "/communities/{community}/roll"),
    ("post", "/communities/{community}/activation-codes"),
    ("get", "/communities/{community}/audit"),
    // proposals
    ("post", "/communities/{community}/proposals"),
    ("get", "/communities/{community}/proposals"),
    ("get", "/proposals/{proposal}"),
    ("patch", "/proposals/{proposal}"),
    ("post", "/proposals/{proposal}/deliberate"),
    ("post", "/proposals/{proposal}/open"),
    ("post", "/proposals/{proposal}/close"),
    ("post", "/proposals/{proposal}/extend"),
    ("post", "/proposals/{proposal}/withdraw"),
    ("put", "/proposals/{proposal}/ballot"),
    ("get", "/proposals/{proposal}/ballot"),
    ("post", "/proposals/{proposal}/assisted-ballots"),
    ("post", "/proposals/{proposal}/proxies"),
    ("get", "/proposals/{proposal}/tally"),
    ("get", "/proposals/{proposal}/turnout"),
    ("get", "/proposals/{proposal}/ledger"),
    ("get", "/receipts/{receipt}"),
    // live
    ("get", "/proposals/{proposal}/live"),
    ("get", "/communities/{community}/live"),
    // results
    ("get", "/communities/{community}/keys"),
    ("post", "/communities/{community}/keys/rotate"),
    ("post", "/proposals/{proposal}/attestations"),
    ("post", "/proposals/{proposal}/publish"),
    ("get", "/proposals/{proposal}/certificate"),
    // elections and the committee (issue 8)
    ("post", "/communities/{community}/elections"),
    ("get", "/proposals/{proposal}/election"),
    ("post", "/proposals/{proposal}/candidates"),
    ("delete", "/proposals/{proposal}/candidates/{candidate}"),
    ("post", "/proposals/{proposal}/nominations"),
    (
        "post",
        "/proposals/{proposal}/nominations/{nomination}/accept",
    ),
    (
        "post",
        "/proposals/{proposal}/nominations/{nomination}/decline",
    ),
    ("post", "/proposals/{proposal}/lot-seed"),
    ("post", "/proposals/{proposal}/lot"),
    ("post", "/proposals/{proposal}/tie-break"),
    ("get", "/communities/{community}/committee"),
    ("post", "/communities/{community}/committee"),
    ("post", "/communities/{community}/committee/vacancies"),
    // deliberation
    ("get", "/proposals/{proposal}/comments"),
    ("post", "/proposals/{proposal}/comments"),
    ("get", "/petitions/{petition}/comments"),
    ("post", "/petitions/{petition}/comments"),
    ("post", "/comments/{comment}/report"),
    ("post", "/comments/{comment}/hide"),
    ("get", "/proposals/{proposal}/revisions"),
    ("get", "/proposals/{proposal}/revisions/{number}/diff"),
    ("post", "/communities/{community}/petitions"),
    ("get", "/communities/{community}/petitions"),
    ("get", "/communities/{community}/petition-settings"),
    ("put", "/communities/{community}/petition-settings"),
    ("get", "/petitions/{petition}"),
    ("post", "/petitions/{petition}/cosign"),
    ("post", "/petitions/{petition}/response"),
    ("post", "/communities/{community}/meetings"),
    ("get", "/communities/{community}/meetings"),
    ("get", "/meetings/{meeting}"),
    ("put", "/meetings/{meeting}/attendance"),
    ("post", "/meetings/{meeting}/show-of-hands"),
    ("post", "/meetings/{meeting}/close"),
    ("get", "/proposals/{proposal}/outreach"),
    ("post", "/proposals/{proposal}/outreach"),
    ("get", "/communities/{community}/notices"),
    ("post", "/communities/{community}/notices/seen"),
    // reliability (issue 9): backups
    ("get", "/admin/backup"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_is_openapi_3() {
    let app = spawn_app().await;
    let response = app
        .api()
        .get(format!("{}/api/openapi.json", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();

    // An OpenAPI 3 document: the version, info, and it reads as one.
    let version = doc["openapi"].as_str().expect("`openapi` version field");
    assert!(version.starts_with("3."), "OpenAPI version {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("the document parses as OpenAPI 3");
    assert!(!parsed.paths.paths.is_empty());

    // Every route is documented ...
    let paths = doc["paths"].as_object().expect("`paths`");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_string(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), format!("/api/v1{p}")))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    // ... and nothing is documented that the server does not answer.
    let stale: Vec<_> = documented.difference(&expected).collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");

    // Each operation is well formed: responses, and every `{param}` of its path declared.
    let mut problems = Vec::new();
    for (path, item) in paths {
        let wanted: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let operation = &item[*method];
            if operation["responses"]
                .as_object()
                .is_none_or(|r| r.is_empty())
            {
                problems.push(format!("{method} {path}: no responses"));
            }
            let mut declared: Vec<&Value> = Vec::new();
            for params in [&item["parameters"], &operation["parameters"]] {
                declared.extend(params.as_array().into_iter().flatten());
            }
            for name in &wanted {
                let found = declared
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == *name && p["required"] == true);
                if !found {
                    problems.push(format!(
                        "{method} {path}: path parameter `{name}` not declared"
                    ));
                }
            }
        }
    }
    // Every reference points at a schema the document holds.
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        if doc["components"]["schemas"].get(name).is_none() {
            problems.push(format!("$ref {target} has no schema"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The hand-made list is the router's: every listed route is answered by a handler, not by
    // the fallback (404 "page not found") or a 405.
    for (method, path) in API_ROUTES {
        let url = app.url(
            &path
                .replace("{community}", "0123456789abcdef0123456789abcdef")
                .replace("{proposal}", "0123456789abcdef0123456789abcdef")
                .replace("{receipt}", &"a".repeat(64)),
        );
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.api().request(method.clone(), url).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !text.contains("page not found"),
            "{method} {path} is not routed: {status} {text}"
        );
    }
}
