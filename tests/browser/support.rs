//! What the browser tests stand on: a real server on a free port with its own database, a
//! chromedriver this process starts (and kills), headless Chromium sessions with a fresh
//! profile each, and helpers that fail with a clear message — console errors, requests to
//! other hosts, accessibility violations — and save screenshots to `target/screenshots/`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use yishi::config::Config;
use yishi::http::AppState;

pub const ADMIN_LOGIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// How long any one wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// The browser and its driver, found on this machine.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Chromium and chromedriver (`$CHROMIUM`, `$CHROMEDRIVER`, or on `PATH`). Missing tools fail
/// the test under CI and skip it, saying why, elsewhere.
pub fn tools() -> Option<Tools> {
    let find = |var: &str, names: &[&str]| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .or_else(|| names.iter().find_map(|n| which(n)))
    };
    let chromium = find(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = find("CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, driver) => {
            let missing = [
                chromium.is_none().then_some("chromium"),
                driver.is_none().then_some("chromedriver"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ");
            let reason = format!(
                "browser tests need {missing} (Debian: apt-get install chromium chromium-driver)"
            );
            assert!(std::env::var_os("CI").is_none(), "{reason}");
            eprintln!("SKIPPED: {reason}");
            None
        }
    }
}

/// axe-core's script (`$AXE_CORE_JS` or `target/axe-core/node_modules/axe-core/axe.min.js`,
/// installed by `.ci/run`). Missing: fails under CI, otherwise the audits are skipped.
pub fn axe_script() -> Option<String> {
    let path = std::env::var_os("AXE_CORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe-core/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(e) => {
            let reason = format!(
                "the accessibility audit needs axe-core at {} ({e}); install it with \
                 `npm install --prefix target/axe-core axe-core@4` or set AXE_CORE_JS",
                path.display()
            );
            assert!(std::env::var_os("CI").is_none(), "{reason}");
            eprintln!("SKIPPING ACCESSIBILITY AUDITS: {reason}");
            None
        }
    }
}

/// Where screenshots go (named in the README).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

// ---------------------------------------------------------------------------------------------
// The server

pub struct Server {
    pub base_url: String,
    _state: AppState,
    _data_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Server {
    /// The server as an operator starts it: the first admin made beforehand, then `run`.
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::load(None, []).expect("default configuration loads");
        config.store.data_dir = data_dir.path().to_owned();
        config.store.cache_mib = 4;
        config.server.listen = "127.0.0.1:0".parse().unwrap();
        config.auth.argon2_memory_kib = 1024;
        config.auth.argon2_iterations = 1;
        config.auth.argon2_parallelism = 1;
        config.vote.deadline_tick_millis = 100;
        yishi::admin::create_admin(&config, ADMIN_LOGIN, ADMIN_PASSWORD).expect("admin created");
        let state = AppState::start(config).expect("server state starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(yishi::http::run(listener, state.clone(), async {
            let _ = stop.await;
        }));
        Self {
            base_url: format!("http://{addr}"),
            _state: state,
            _data_dir: data_dir,
            shutdown: Some(shutdown),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A plain API client (bearer tokens, no cookies).
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("HTTP client")
    }

    /// Calls the API as `token` and returns the JSON answer, asserting a success status.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
        let method: reqwest::Method = method.parse().unwrap();
        let mut request = self
            .http()
            .request(method.clone(), self.url(&format!("/api/v1{path}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let session = self
            .call(
                "POST",
                "/session",
                None,
                json!({"login": login, "password": password}),
            )
            .await;
        session["token"].as_str().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// chromedriver

/// A chromedriver process on a free port; killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start(tools: &Tools) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.chromedriver.display()));
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let started = Instant::now();
        loop {
            if let Ok(response) = http.get(format!("{}/status", driver.url)).send().await
                && response.status().is_success()
            {
                return driver;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A browser session

/// The screen a session emulates.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    /// A cheap phone: 360 × 640 CSS pixels, touch.
    Phone,
    /// A desktop window.
    Desktop,
}

pub struct Browser {
    pub client: Client,
    pub name: &'static str,
    base_url: String,
    driver_url: String,
    session: String,
    axe: Option<String>,
    _profile: TempDir,
}

impl Browser {
    /// A fresh headless Chromium with its own profile, English by default.
    pub async fn open(
        tools: &Tools,
        driver: &Driver,
        server: &Server,
        screen: Screen,
        name: &'static str,
        axe: Option<String>,
    ) -> Self {
        let profile = tempfile::tempdir().expect("profile directory");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-default-apps".to_owned(),
            "--metrics-recording-only".to_owned(),
            "--lang=en-US".to_owned(),
            // Any host but the test server fails to resolve, loudly.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({
            "binary": tools.chromium,
            "prefs": {"intl.accept_languages": "en-US,en"},
        });
        match screen {
            Screen::Phone => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": 360, "height": 640, "pixelRatio": 1.0, "touch": true, "mobile": true}
                });
                args.push("--window-size=360,640".to_owned());
            }
            Screen::Desktop => args.push("--window-size=1280,900".to_owned()),
        }
        options["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start Chromium through chromedriver: {e}"));
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        Self {
            client,
            name,
            base_url: server.base_url.clone(),
            driver_url: driver.url.clone(),
            session,
            axe,
            _profile: profile,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .unwrap_or_else(|e| panic!("[{}] cannot open {path}: {e}", self.name));
    }

    /// Waits for an element to exist (and be displayed).
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && found.is_displayed().await.unwrap_or(false)
            {
                return found;
            }
            if started.elapsed() > WAIT {
                self.screenshot(&format!("FAILED-{}", self.name)).await;
                let text = self.body_text().await;
                let errors = self.page_errors().await;
                panic!(
                    "[{}] waited {WAIT:?} for `{css}`; page text:\n{text}\npage errors: {errors:?}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css`'s text satisfies `test`; returns the text.
    pub async fn wait_text(&self, css: &str, what: &str, test: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = found.text().await
                && test(&text)
            {
                return text;
            }
            if started.elapsed() > WAIT {
                let text = self
                    .client
                    .find(Locator::Css(css))
                    .await
                    .ok()
                    .map(|e| async move { e.text().await.unwrap_or_default() });
                let text = match text {
                    Some(f) => f.await,
                    None => "(absent)".into(),
                };
                self.screenshot(&format!("FAILED-{}", self.name)).await;
                let page = self.body_text().await;
                let errors = self.page_errors().await;
                panic!(
                    "[{}] waited {WAIT:?} for `{css}` to show {what}; it shows: {text}\n\
                     page text:\n{page}\npage errors: {errors:?}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait(css).await;
        self.eval(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&element).unwrap()],
        )
        .await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("[{}] cannot click `{css}`: {e}", self.name));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait(css).await;
        element.clear().await.ok();
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("[{}] cannot type into `{css}`: {e}", self.name));
    }

    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait(css).await;
        element
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("[{}] cannot choose `{value}` in `{css}`: {e}", self.name));
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.unwrap_or_default()
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.wait(css)
            .await
            .attr(name)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("[{}] script failed: {e}\n{script}", self.name))
    }

    pub async fn eval_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("[{}] async script failed: {e}", self.name))
    }

    /// Waits for the app to have drawn the screen for the current address.
    pub async fn ready(&self) {
        self.wait("body[data-ready] main h1").await;
    }

    async fn driver_call(&self, method: reqwest::Method, path: &str, body: Value) -> Option<Value> {
        let http = reqwest::Client::builder().no_proxy().build().ok()?;
        let url = format!("{}/session/{}{path}", self.driver_url, self.session);
        let response = http.request(method, url).json(&body).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let value: Value = response.json().await.ok()?;
        Some(value["value"].clone())
    }

    /// Chrome DevTools commands through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Option<Value> {
        self.driver_call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    /// Cuts (or restores) this browser's network, as a phone losing its signal.
    pub async fn set_offline(&self, offline: bool) {
        // Emulation only applies once the Network domain is enabled.
        self.cdp("Network.enable", json!({})).await;
        let ok = self
            .cdp(
                "Network.emulateNetworkConditions",
                json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
            )
            .await;
        assert!(
            ok.is_some(),
            "[{}] chromedriver cannot emulate the network",
            self.name
        );
    }

    /// The console messages since the last call (chromedriver's browser log).
    pub async fn console(&self) -> Vec<Value> {
        self.driver_call(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// `window.__errors`, filled by the app's error hook.
    pub async fn page_errors(&self) -> Vec<String> {
        self.client
            .execute("return window.__errors || [];", vec![])
            .await
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Fails on any console error, page error, or request to a host other than the server.
    pub async fn assert_clean(&self, screen: &str, allowed: &[&str]) {
        let severe: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|m| m["level"] == "SEVERE" || m["level"] == "WARNING")
            .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
            .filter(|m| !allowed.iter().any(|a| m.contains(a)))
            .collect();
        let errors: Vec<String> = self
            .page_errors()
            .await
            .into_iter()
            .filter(|m| !allowed.iter().any(|a| m.contains(a)))
            .collect();
        assert!(
            severe.is_empty() && errors.is_empty(),
            "[{}] {screen}: console errors {severe:#?}; page errors {errors:#?}",
            self.name
        );
        self.eval("window.__errors.length = 0;", vec![]).await;
        let foreign: Vec<String> = serde_json::from_value(
            self.eval(
                "return performance.getEntriesByType('resource').map(e => e.name)
                    .concat([location.href])
                    .filter(u => { const x = new URL(u); return x.host !== location.host; });",
                vec![],
            )
            .await,
        )
        .unwrap_or_default();
        assert!(
            foreign.is_empty(),
            "[{}] {screen}: requests to other hosts: {foreign:?}",
            self.name
        );
    }

    /// Runs axe-core on the page; fails on serious or critical violations.
    pub async fn audit(&self, screen: &str) {
        let Some(axe) = &self.axe else { return };
        let present = self.eval("return typeof window.axe;", vec![]).await;
        if present != json!("object") {
            self.eval(axe, vec![]).await;
        }
        let result = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary)}))))
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
            )
            .await;
        let violations = result.as_array().cloned().unwrap_or_default();
        let serious: Vec<&Value> = violations
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(
            serious.is_empty(),
            "[{}] {screen}: accessibility violations:\n{}",
            self.name,
            serde_json::to_string_pretty(&serious).unwrap()
        );
        for v in &violations {
            eprintln!(
                "[{}] {screen}: minor accessibility note {}: {}",
                self.name, v["id"], v["help"]
            );
        }
    }

    /// Saves the whole page (not just the viewport) as `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let path = screenshot_dir().join(format!("{name}.png"));
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let full = metrics.and_then(|m| {
            let size = &m["cssContentSize"];
            Some((size["width"].as_f64()?, size["height"].as_f64()?))
        });
        let png = match full {
            Some((width, height)) => {
                let shot = self
                    .cdp(
                        "Page.captureScreenshot",
                        json!({"format": "png", "captureBeyondViewport": true,
                               "clip": {"x": 0, "y": 0, "width": width, "height": height.min(6000.0), "scale": 1}}),
                    )
                    .await
                    .and_then(|v| v["data"].as_str().map(str::to_owned));
                match shot {
                    Some(data) => decode_base64(&data),
                    None => self.client.screenshot().await.expect("screenshot"),
                }
            }
            None => self.client.screenshot().await.expect("screenshot"),
        };
        std::fs::write(&path, png).expect("write the screenshot");
    }

    /// Every step of a screen: wait for it, screenshot, audit, and check it stayed clean.
    pub async fn check_screen(&self, name: &str) {
        self.screenshot(name).await;
        let overflow = self
            .eval(
                "return document.documentElement.scrollWidth - innerWidth;",
                vec![],
            )
            .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "[{}] {name}: the page is {overflow} px wider than the screen",
            self.name
        );
        self.audit(name).await;
        self.assert_clean(name, &[]).await;
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|&c| c == byte) else {
            continue;
        };
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}
