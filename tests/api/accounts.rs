//! Signing in and out, sessions, login limits, cross-site protection, accounts made by the
//! admin, and residents joining with activation codes.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yishi::auth::session::token_key;
use yishi::store::records::SessionRecord;
use yishi::store::tables::SESSIONS;

use crate::support::{ADMIN_LOGIN, ADMIN_PASSWORD, PASSWORD, error, spawn_app, spawn_app_with};

#[tokio::test]
async fn signing_in_sets_a_safe_session_cookie_and_returns_a_token() {
    let app = spawn_app().await;
    let browser = app.client();

    let response = browser
        .post(app.url("/session"))
        .json(&json!({"login": "ADMIN", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("yishi_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["account"]["login"], ADMIN_LOGIN);
    assert_eq!(body["account"]["is_admin"], true);
    assert!(body["account"].get("password_hash").is_none());
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 32, "at least 128 bits: {token}");

    // The cookie works for reads, and so does the token.
    let me: Value = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["login"], ADMIN_LOGIN);
    assert_eq!(me["is_admin"], true);
    let me: Value = app.get("/me", token).await.json().await.unwrap();
    assert_eq!(me["memberships"], json!([]));
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_configured() {
    let app = spawn_app_with(|c| c.auth.cookie_secure = true).await;
    let response = app
        .api()
        .post(app.url("/session"))
        .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_get_the_same_answer() {
    let app = spawn_app().await;
    let attempt = |login: &'static str, password: &'static str| {
        let app = &app;
        async move {
            error(
                app.api()
                    .post(app.url("/session"))
                    .json(&json!({"login": login, "password": password}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };

    let wrong_password = attempt(ADMIN_LOGIN, "not-the-password").await;
    let unknown_login = attempt("nobody", ADMIN_PASSWORD).await;
    let malformed = attempt("x", "y").await;

    assert_eq!(wrong_password.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.1, "bad_credentials");
    assert_eq!(wrong_password, unknown_login);
    assert_eq!(wrong_password, malformed);
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_account() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_minute_per_account = 3).await;
    let admin = app.admin().await;
    app.create_account(&admin, "other").await;
    for _ in 0..2 {
        let response = app
            .api()
            .post(app.url("/session"))
            .json(&json!({"login": ADMIN_LOGIN, "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    // Now even the right password waits for the minute to pass …
    let response = app
        .api()
        .post(app.url("/session"))
        .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, code, message) = error(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
    );
    assert!(message.contains("this account"), "{message}");

    // … while other accounts are not affected.
    let response = app
        .api()
        .post(app.url("/session"))
        .json(&json!({"login": "other", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let app = spawn_app_with(|c| c.auth.login_attempts_per_minute_per_address = 3).await;
    for login in ["a-one", "a-two", "a-three"] {
        let response = app
            .api()
            .post(app.url("/session"))
            .json(&json!({"login": login, "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .api()
        .post(app.url("/session"))
        .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, _, message) = error(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(message.contains("your network"), "{message}");
}

#[tokio::test]
async fn sign_ins_beyond_the_hashing_slots_are_answered_429_at_once() {
    // One slot and a deliberately slow hash, then a burst of sign-ins at the same moment.
    let app = spawn_app_with(|c| {
        c.auth.max_concurrent_hashes = 1;
        c.auth.argon2_memory_kib = 16 * 1024;
        c.auth.argon2_iterations = 4;
    })
    .await;
    let client = app.api();
    let burst = (0..8).map(|_| {
        client
            .post(app.url("/session"))
            .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
            .send()
    });

    let responses = futures_util::future::join_all(burst).await;

    let mut ok = 0;
    let mut busy = 0;
    for response in responses {
        let response = response.unwrap();
        match response.status() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let (_, code, message) = error(response).await;
                assert_eq!(code, "too_many_requests");
                assert!(message.contains("busy"), "{message}");
                busy += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok >= 1, "someone got in");
    assert!(busy >= 1, "nobody was turned away ({ok} got in)");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let token = app.admin().await;

    let response = app
        .api()
        .delete(app.url("/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let (status, code, _) = error(app.get("/me", &token).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app().await;
    let token = app.admin().await;
    // Backdate the stored session, as if it had been opened 31 days ago.
    let store = app.state.store.clone();
    let key = token_key(&token);
    store
        .write(|tx| {
            let record = SessionRecord {
                account: yishi::store::get_w::<&str, SessionRecord>(tx, SESSIONS, key.as_str())?
                    .unwrap()
                    .account,
                created_at: "2020-01-01T00:00:00Z".into(),
                expires_at: "2020-01-31T00:00:00Z".into(),
            };
            yishi::store::put(tx, SESSIONS, key.as_str(), &record)
        })
        .unwrap();

    let (status, code, _) = error(app.get("/me", &token).await).await;

    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let pruned = yishi::auth::session::prune_expired(&store, yishi::clock::now()).unwrap();
    assert_eq!(pruned, 1);
    assert!(app.data_dir.path().join("yishi.redb").is_file());
}

#[tokio::test]
async fn cookie_state_changes_must_come_from_our_own_origin() {
    let app = spawn_app().await;
    let browser = app.client();
    let signed_in = browser
        .post(app.url("/session"))
        .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let create = |origin: Option<&str>, site: Option<&str>| {
        let mut request = browser
            .post(app.url("/communities"))
            .json(&json!({"name": "Lotus Court"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };

    let no_origin = create(None, None).await.unwrap();
    let foreign = create(Some("https://evil.example"), None).await.unwrap();
    let cross_site = create(None, Some("cross-site")).await.unwrap();
    let same_origin = create(Some(&format!("http://{}", app.addr)), None)
        .await
        .unwrap();
    let same_site_fetch = create(None, Some("same-origin")).await.unwrap();

    for refused in [no_origin, foreign, cross_site] {
        let (status, code, _) = error(refused).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
    }
    assert_eq!(same_origin.status(), StatusCode::CREATED);
    assert_eq!(same_site_fetch.status(), StatusCode::CREATED);

    // A bearer token is not sent by browsers on their own, so it needs no Origin.
    let token = app.admin().await;
    let bearer = app
        .post_json("/communities", &token, json!({"name": "Plum Garden"}))
        .await;
    assert_eq!(bearer.status(), StatusCode::CREATED);

    // A form post (which a foreign page could send without asking) is not JSON.
    let form = app
        .api()
        .post(app.url("/communities"))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Signing in from another site's page is refused too.
    let response = app
        .api()
        .post(app.url("/session"))
        .header("origin", "https://evil.example")
        .json(&json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_admin_creates_accounts_and_logins_are_unique() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    let created = app
        .post_json(
            "/accounts",
            &admin,
            json!({"login": "Chen.Jie", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["login"], "chen.jie");
    assert_eq!(body["is_admin"], false);

    let again = app
        .post_json(
            "/accounts",
            &admin,
            json!({"login": "chen.JIE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error(again).await.1, "login_taken");
    let bad_login = app
        .post_json(
            "/accounts",
            &admin,
            json!({"login": "a b", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error(bad_login).await.1, "bad_login");
    let bad_password = app
        .post_json(
            "/accounts",
            &admin,
            json!({"login": "short", "password": "1234"}),
        )
        .await;
    let (status, code, _) = error(bad_password).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_password")
    );

    let chen = app.login("chen.jie", PASSWORD).await;
    let refused = app
        .post_json(
            "/accounts",
            &chen,
            json!({"login": "mallory", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error(refused).await.0, StatusCode::FORBIDDEN);
    let anonymous = app
        .api()
        .post(app.url("/accounts"))
        .json(&json!({"login": "mallory", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Codes for every voter of the roll without an account, as the officer gets them.
async fn codes(app: &crate::support::TestApp, community: &str, officer: &str) -> Vec<Value> {
    let response = app
        .post_json(
            &format!("/communities/{community}/activation-codes"),
            officer,
            json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn code_for<'a>(codes: &'a [Value], voter: &str) -> &'a str {
    codes
        .iter()
        .find(|c| c["voter"] == voter)
        .and_then(|c| c["code"].as_str())
        .unwrap()
}

#[tokio::test]
async fn a_resident_joins_once_with_an_activation_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    let first = codes(&app, &community, &officer).await;
    assert_eq!(first.len(), 4);
    let wang = first.iter().find(|c| c["voter"] == "wang").unwrap();
    assert_eq!(wang["name"], "王伟");
    assert_eq!(wang["units"], json!(["1-101", "1-102"]));
    let code = code_for(&first, "wang");
    assert!(
        code.len() == 12 && code.as_bytes()[4] == b'-' && code.as_bytes()[9] == b'-',
        "{code}"
    );

    // Typed in lower case without dashes, as a resident might.
    let typed = code.replace('-', " ").to_lowercase();
    let browser = app.client();
    let joined = browser
        .post(app.url("/activate"))
        .json(&json!({"code": typed, "login": "wangwei", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    assert_eq!(joined.status(), StatusCode::CREATED);
    assert!(joined.headers().contains_key("set-cookie"));
    let body: Value = joined.json().await.unwrap();
    assert_eq!(body["membership"]["role"], "voter");
    assert_eq!(body["membership"]["voter"], "wang");
    assert_eq!(body["membership"]["community_name"], "Lotus Court");
    let me: Value = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["memberships"],
        json!([{"community": community, "community_name": "Lotus Court", "role": "voter", "voter": "wang"}])
    );

    // The code works once.
    let again = app
        .api()
        .post(app.url("/activate"))
        .json(&json!({"code": code, "login": "someone-else", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, code_used, _) = error(again).await;
    assert_eq!(
        (status, code_used.as_str()),
        (StatusCode::CONFLICT, "activation_code_used")
    );

    // A second sheet leaves Wang out; an older code for Wang cannot make a second account.
    let second = codes(&app, &community, &officer).await;
    assert_eq!(second.len(), 3);
    assert!(second.iter().all(|c| c["voter"] != "wang"));
    let li_code = code_for(&second, "li");
    let taken_login = app
        .api()
        .post(app.url("/activate"))
        .json(&json!({"code": li_code, "login": "WangWei", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(error(taken_login).await.1, "login_taken");
    let li = app
        .api()
        .post(app.url("/activate"))
        .json(&json!({"code": code_for(&first, "li"), "login": "lina", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(li.status(), StatusCode::CREATED);
    let li_again = app
        .api()
        .post(app.url("/activate"))
        .json(&json!({"code": li_code, "login": "lina2", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, taken, _) = error(li_again).await;
    assert_eq!(
        (status, taken.as_str()),
        (StatusCode::CONFLICT, "voter_taken")
    );

    // The resident signs in with what they chose.
    app.login("wangwei", PASSWORD).await;
}

#[tokio::test]
async fn made_up_and_expired_codes_are_refused() {
    let app = spawn_app_with(|c| c.auth.activation_days = 0).await;
    let admin = app.admin().await;
    let (community, officer) = app.community_with_roll(&admin, "Lotus Court").await;
    let sheet = codes(&app, &community, &officer).await;
    let activate = |code: String| {
        app.api()
            .post(app.url("/activate"))
            .json(&json!({"code": code, "login": "zhaoqiang", "password": PASSWORD}))
            .send()
    };

    let expired = activate(code_for(&sheet, "zhao").to_owned()).await.unwrap();
    let made_up = activate("AAAA-BBBB-CC".into()).await.unwrap();
    let garbage = activate("not a code at all".into()).await.unwrap();

    let (status, code, _) = error(expired).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "activation_code_expired")
    );
    assert_eq!(error(made_up).await.1, "bad_activation_code");
    assert_eq!(error(garbage).await.1, "bad_activation_code");
}

#[tokio::test]
async fn the_api_document_describes_accounts_and_communities() {
    let app = spawn_app().await;

    let document: Value = app
        .api()
        .get(format!("{}/api/openapi.json", app.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/session",
        "/api/v1/me",
        "/api/v1/activate",
        "/api/v1/accounts",
        "/api/v1/communities",
        "/api/v1/communities/{community}/roll",
        "/api/v1/communities/{community}/activation-codes",
        "/api/v1/communities/{community}/audit",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let roll = &paths["/api/v1/communities/{community}/roll"];
    assert!(roll["put"]["requestBody"]["content"]["text/csv"].is_object());
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("SessionView") && schemas.contains_key("RollInput"));
}
