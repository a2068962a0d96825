//! A real server per test: its own temporary database and port, cheap password hashing, and
//! small HTTP helpers. Tests talk to it over real HTTP like any client would.

use std::net::SocketAddr;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use yishi::config::Config;
use yishi::http::AppState;

/// The platform admin every test app starts with.
pub const ADMIN_LOGIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// The password of every account the helpers create.
pub const PASSWORD: &str = "resident-password";

/// A small roll: five units, four voters (Wang owns two units), two buildings.
pub const ROLL_CSV: &str = "\
voter,unit,name,phone,tags,area
wang,1-101,王伟,13800000001,b1,89.57
wang,1-102,王伟,,b1,90.10
li,1-201,李娜,,b1,75.00
zhao,2-101,赵强,,b2,120
sun,2-102,孙丽,,b2,60.5
";

pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`: also the `Origin` of same-site requests.
    pub base_url: String,
    /// The running server's state, for arranging what the API cannot (e.g. an old session).
    pub state: AppState,
    pub data_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The test configuration: temporary data directory, any port, cheap argon2.
pub fn test_config(data_dir: &TempDir) -> Config {
    let mut config = Config::load(None, []).expect("default configuration loads");
    config.store.data_dir = data_dir.path().to_owned();
    config.store.cache_mib = 4;
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.auth.argon2_memory_kib = 1024;
    config.auth.argon2_iterations = 1;
    config.auth.argon2_parallelism = 1;
    config.vote.deadline_tick_millis = 100;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with the test configuration changed by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let mut config = test_config(&data_dir);
    tweak(&mut config);
    // The first admin is made the way an operator makes it: through `yishi admin`, before the
    // server holds the database.
    yishi::admin::create_admin(&config, ADMIN_LOGIN, ADMIN_PASSWORD).expect("admin created");
    let state = AppState::start(config).expect("server state starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let addr = listener.local_addr().unwrap();
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(yishi::http::run(listener, state.clone(), async {
        let _ = stop.await;
    }));
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        state,
        data_dir,
        shutdown: Some(shutdown),
    }
}

impl TestApp {
    /// The full URL of an API path such as `/me`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base_url)
    }

    /// A client that keeps cookies, like a browser (but sends no `Origin` unless told).
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .no_proxy()
            .build()
            .expect("HTTP client")
    }

    /// A client without cookies, for bearer-token calls.
    pub fn api(&self) -> Client {
        Client::builder().no_proxy().build().expect("HTTP client")
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self
            .api()
            .post(self.url("/session"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "sign-in as {login}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// The platform admin's bearer token.
    pub async fn admin(&self) -> String {
        self.login(ADMIN_LOGIN, ADMIN_PASSWORD).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.api()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.api()
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.api()
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.api()
            .put(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_csv(&self, path: &str, token: &str, csv: &str) -> Response {
        self.api()
            .put(self.url(path))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Creates an account through the admin API; returns its id.
    pub async fn create_account(&self, admin: &str, login: &str) -> String {
        let response = self
            .post_json(
                "/accounts",
                admin,
                json!({"login": login, "password": PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create {login}");
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a community as the admin; returns its id.
    pub async fn create_community(&self, admin: &str, name: &str) -> String {
        let response = self
            .post_json("/communities", admin, json!({"name": name}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create {name}");
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Gives `login` a role in `community` (as the admin).
    pub async fn add_member(
        &self,
        admin: &str,
        community: &str,
        login: &str,
        role: &str,
        voter: Option<&str>,
    ) {
        let mut body = json!({"login": login, "role": role});
        if let Some(voter) = voter {
            body["voter"] = json!(voter);
        }
        let response = self
            .post_json(&format!("/communities/{community}/members"), admin, body)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "add {login} as {role}");
    }

    /// A community with an officer and the `ROLL_CSV` roll; returns (community id, officer
    /// token).
    pub async fn community_with_roll(&self, admin: &str, name: &str) -> (String, String) {
        let community = self.create_community(admin, name).await;
        let officer = format!("officer-{}", &community[..8]);
        self.create_account(admin, &officer).await;
        self.add_member(admin, &community, &officer, "officer", None)
            .await;
        let token = self.login(&officer, PASSWORD).await;
        let response = self
            .put_csv(&format!("/communities/{community}/roll"), &token, ROLL_CSV)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "roll upload");
        (community, token)
    }
}

/// The status and the error's stable code and message.
pub async fn error(response: Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("an error body in JSON");
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Starts a server on a fresh database seeded with `yishi serve --demo`'s community (which
/// brings its own `admin`), with the test configuration's cheap argon2.
pub async fn spawn_demo_app() -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let config = test_config(&data_dir);
    let state = AppState::start(config).expect("server state starts");
    yishi::demo::seed(&state).await.expect("the demo seeds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let addr = listener.local_addr().unwrap();
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(yishi::http::run(listener, state.clone(), async {
        let _ = stop.await;
    }));
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        state,
        data_dir,
        shutdown: Some(shutdown),
    }
}

/// Tests that put the machine under load (floods, crash cycles) or measure latency take this
/// lock, so that one test's load is not measured as another's latency. Everything else still
/// runs in parallel.
pub async fn heavy_test() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}
