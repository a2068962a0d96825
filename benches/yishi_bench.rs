//! `yishi-bench`: the load benchmark of DESIGN §9. It runs `yishi serve` as a child process on
//! loopback with a fresh data directory, sets up a community through the API, and measures durable
//! votes/s, ack latency, live-tally fan-out and server RSS next to the same run's physical limits
//! (a no-op endpoint, raw redb commits), printing one table (or, with `--json`, one object).
//!
//! # Layout
//! - [`main`]: `yishi-bench serve …` is exactly `yishi serve …` (the child); anything else is the
//!   benchmark.
//! - [`Server`]: the child process, its address, RSS and CPU time from `/proc`.
//! - [`setup`]: admin, community, roll, activation codes, voter sessions, the open proposal.
//! - [`drive`]: K keep-alive HTTP/1.1 clients, closed loop or open loop (`--rate`).
//! - [`watch_phase`]: W WebSocket watchers timing each tally update against the votes' acks.
//! - [`raw_redb`]: the same rows committed straight to redb, batched and one per vote.
//! - [`Report`]: what is printed.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use redb::{Database, Durability, TableDefinition};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use yishi::auth::password::{hash_blocking, params};
use yishi::auth::{Login, Password, insert_account};
use yishi::config::Config;
use yishi::domain::ledger::{Channel, Entry};
use yishi::store::records::BallotRecord;
use yishi::store::{Store, encode};

/// Measures Yishi's vote path and live tallies against the same machine's limits.
#[derive(Debug, Parser)]
#[command(
    name = "yishi-bench",
    version,
    about = "Yishi's load benchmark: durable votes/s, ack latency, live tallies and server RSS \
             against the same machine's limits (DESIGN §9). Loopback only; about a minute."
)]
struct Args {
    /// Voters on the roll; each is activated through the API and votes with its own session.
    #[arg(long, default_value_t = 1000)]
    voters: usize,
    /// Concurrent HTTP/1.1 keep-alive clients casting ballots (and calling the no-op endpoint).
    #[arg(long, default_value_t = 128)]
    clients: usize,
    /// Length of each measured phase, in seconds.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Votes per second offered in the open-loop phases (latency, and beside the login flood).
    #[arg(long, default_value_t = 5000)]
    rate: u64,
    /// WebSocket watchers on the proposal (0 skips the phase).
    #[arg(long, default_value_t = 10_000)]
    watchers: usize,
    /// Votes per second cast while the watchers listen (each watcher gets at most
    /// `live.updates_per_second` tallies a second however many votes there are).
    #[arg(long, default_value_t = 1000)]
    watch_rate: u64,
    /// Sign-in attempts per second in the login flood (0 skips it).
    #[arg(long, default_value_t = 1000)]
    flood_rate: u64,
    /// Run only the login-flood comparison: votes at `--rate` without, then with, the flood.
    #[arg(long)]
    login_flood: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Change a key of the server's configuration, e.g. `--set auth.max_concurrent_hashes=1`
    /// or `--set live.updates_per_second=2` (may repeat; shown in the report).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    overrides: Vec<String>,
}

/// The voters' password (argon2 is lowered for setup; see [`bench_config`]).
const VOTER_PASSWORD: &str = "bench-voter-password";
const ADMIN_LOGIN: &str = "bench-admin";
const ADMIN_PASSWORD: &str = "bench-admin-password";
const OFFICER_LOGIN: &str = "bench-officer";
const OFFICER_PASSWORD: &str = "bench-officer-password";
/// Accounts the login flood signs in to, hashed at the production argon2 cost.
const FLOOD_ACCOUNTS: usize = 1000;
const FLOOD_PASSWORD: &str = "bench-flood-password";
/// Connections the login flood uses.
const FLOOD_CLIENTS: usize = 64;
/// WebSocket handshakes in flight at once while the watchers connect.
const WATCHER_HANDSHAKES: usize = 256;
/// Most (watcher, vote) latency samples kept; votes are sampled evenly beyond it.
const MAX_WATCHER_SAMPLES: u64 = 4_000_000;

type BenchResult<T> = Result<T, String>;
type Body = Full<Bytes>;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        // The child server: the very code path of `yishi serve`.
        return yishi::cli::main();
    }
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("yishi-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            if report.settings.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("yishi-bench: {e}"),
                }
            } else {
                print!("{}", report.table());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("yishi-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn progress(args: &Args, message: &str) {
    if !args.json {
        eprintln!("· {message}");
    }
}

async fn run(args: Args) -> BenchResult<Report> {
    let wall = Instant::now();
    if args.voters == 0
        || args.clients == 0
        || args.seconds == 0
        || args.rate == 0
        || args.watch_rate == 0
    {
        return Err(
            "--voters, --clients, --seconds, --rate and --watch-rate must be positive".into(),
        );
    }
    let quiet = Quiet::measure().await;
    if quiet.other_cores > 0.2 {
        progress(
            &args,
            &format!(
                "warning: other processes keep {:.1} cores busy; the figures will be noisy",
                quiet.other_cores
            ),
        );
    }
    check_fd_limit(&args)?;
    let scratch = Scratch::new()?;
    let config_path = bench_config(&scratch.0, &args.overrides)?;
    let config = Config::load(Some(&config_path), std::iter::empty::<(String, String)>())
        .map_err(|e| e.to_string())?;
    // The first admin is made as an operator makes it, before the server holds the database.
    // Blocking work (argon2, redb), while nothing else runs.
    tokio::task::block_in_place(|| {
        yishi::admin::create_admin(&config, ADMIN_LOGIN, ADMIN_PASSWORD)
    })?;
    let flood = args.flood_rate > 0;
    if flood {
        tokio::task::block_in_place(|| create_flood_accounts(&config))?;
    }

    progress(&args, "starting `yishi serve` on 127.0.0.1 (child process)");
    let mut server = tokio::task::block_in_place(|| Server::start(&config_path))?;
    let target = Arc::new(Target::new(server.addr));
    progress(
        &args,
        &format!(
            "setting up {} voters through the API (activation codes, sign-ins)",
            args.voters
        ),
    );
    let setup = setup(&target, &args).await?;
    let mut report = Report::new(&args, &server, &setup);
    report.machine.busy_cores_before = quiet.other_cores;
    report.machine.load_average = quiet.load_average;

    let mut clients = connect_clients(&target, args.clients, args.voters).await?;
    let votes = Arc::new(Work::Vote {
        path: format!("/api/v1/proposals/{}/ballot", setup.proposal),
        tokens: setup.voter_tokens.clone(),
        want_seq: false,
    });
    let seconds = Duration::from_secs(args.seconds);
    progress(&args, "warming up (1 s, not measured)");
    let (back, _) = drive(
        clients,
        &target,
        &votes,
        Pace::Closed,
        Duration::from_secs(1),
    )
    .await;
    clients = back;

    if !args.login_flood {
        progress(
            &args,
            &format!(
                "votes, closed loop: {} clients for {} s",
                args.clients, args.seconds
            ),
        );
        let before = metrics(&target).await?;
        let cpu = CpuClock::start(&server);
        let (back, outcome) = drive(clients, &target, &votes, Pace::Closed, seconds).await;
        clients = back;
        let cpu = cpu.stop(&server);
        let after = metrics(&target).await?;
        report.throughput = Some(ThroughputReport::new(
            &outcome,
            cpu,
            &before,
            &after,
            args.clients,
        ));

        progress(
            &args,
            &format!("no-op GET /healthz, closed loop: {} clients", args.clients),
        );
        let cpu = CpuClock::start(&server);
        let (back, outcome) = drive(
            clients,
            &target,
            &Arc::new(Work::Healthz),
            Pace::Closed,
            seconds,
        )
        .await;
        clients = back;
        report.no_op = Some(NoOpReport {
            requests_per_second: outcome.rate(),
            latency: percentiles(outcome.latencies.clone()),
            errors: outcome.errors(),
            cpu: cpu.stop(&server),
        });
    }

    progress(
        &args,
        &format!("votes, open loop at {}/s for {} s", args.rate, args.seconds),
    );
    let open = Pace::Open {
        per_second: args.rate as f64,
    };
    let cpu = CpuClock::start(&server);
    let (back, outcome) = drive(clients, &target, &votes, open, seconds).await;
    clients = back;
    report.open_loop = Some(OpenLoopReport::new(args.rate, &outcome, cpu.stop(&server)));

    if !args.login_flood && args.watchers > 0 {
        progress(
            &args,
            &format!("connecting {} WebSocket watchers", args.watchers),
        );
        let (back, watched) = watch_phase(clients, &target, &setup, &args, &server).await?;
        clients = back;
        report.watchers = Some(watched);
    }
    if flood {
        progress(
            &args,
            &format!(
                "votes at {}/s beside a login flood of {}/s",
                args.rate, args.flood_rate
            ),
        );
        let flood_clients = connect_clients(&target, FLOOD_CLIENTS, 1).await?;
        let flood_work = Arc::new(Work::Login);
        let rss_before_mb = server.rss_mb();
        server.reset_peak();
        let cpu = CpuClock::start(&server);
        let flood_pace = Pace::Open {
            per_second: args.flood_rate as f64,
        };
        let (votes_done, flood_done) = tokio::join!(
            drive(clients, &target, &votes, open, seconds),
            drive(flood_clients, &target, &flood_work, flood_pace, seconds),
        );
        clients = votes_done.0;
        let cpu = cpu.stop(&server);
        let mut flooded = FloodReport::new(
            args.flood_rate,
            args.rate,
            &votes_done.1,
            &flood_done.1,
            cpu,
            report.open_loop.as_ref(),
        );
        flooded.rss_before_mb = rss_before_mb;
        flooded.rss_peak_mb = server.phase_peak_rss_mb();
        report.login_flood = Some(flooded);
    }

    drop(clients);
    report.server.rss_peak_mb = server.peak_rss_mb();
    report.server.rss_end_mb = server.rss_mb();
    tokio::task::block_in_place(|| server.stop());

    if let Some(throughput) = &report.throughput {
        let batch = throughput.mean_batch.round().max(1.0) as usize;
        let shape = RowShape::new(&setup);
        progress(
            &args,
            &format!("raw redb: Durability::Immediate, batches of {batch} votes"),
        );
        let dir = scratch.0.join("raw");
        // Blocking file work; nothing else runs on the runtime now.
        let batched = tokio::task::block_in_place(|| raw_redb(&dir, &shape, batch, seconds / 2))?;
        report.raw_batched = Some(batched);
        progress(&args, "raw redb: one commit per vote");
        let single = tokio::task::block_in_place(|| raw_redb(&dir, &shape, 1, seconds / 4))?;
        report.raw_single = Some(single);
    }
    report.finish(wall.elapsed());
    Ok(report)
}

/// A scratch directory, removed when the run ends (or fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> BenchResult<Self> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "yishi-bench-{}-{}",
            std::process::id(),
            stamp % 1_000_000_000
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ten thousand watchers need ten thousand sockets on each side; say so before failing late.
fn check_fd_limit(args: &Args) -> BenchResult<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    let needed = args.watchers + args.clients + FLOOD_CLIENTS + 64;
    match soft {
        Some(soft) if soft < needed => Err(format!(
            "{} watchers and {} clients need about {needed} open files in each process, but the \
             limit is {soft}; raise it (`ulimit -n {needed}`) or pass fewer --watchers",
            args.watchers, args.clients
        )),
        _ => Ok(()),
    }
}

/// The server's configuration for the run: loopback on any port, the scratch data directory,
/// cheap argon2 so that activating thousands of voters takes seconds (the vote path hashes no
/// password), and the per-address sign-in and live-connection limits raised because every
/// client is 127.0.0.1.
fn bench_config(dir: &Path, overrides: &[String]) -> BenchResult<PathBuf> {
    let mut config = json!({
        "server": {"listen": "127.0.0.1:0"},
        "store": {"data_dir": dir.join("data").display().to_string()},
        "auth": {
            "argon2_memory_kib": 1024,
            "argon2_iterations": 1,
            "login_attempts_per_minute_per_address": 10_000_000,
        },
        "live": {"max_connections_per_address": 1_000_000},
        "log": {"filter": "warn"},
    });
    for item in overrides {
        let bad = || format!("--set {item}: expected SECTION.KEY=VALUE");
        let (name, value) = item.split_once('=').ok_or_else(bad)?;
        let (section, key) = name.split_once('.').ok_or_else(bad)?;
        // A number or true/false as such; anything else as text.
        let value = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_number() || v.is_boolean())
            .unwrap_or_else(|| Value::String(value.to_owned()));
        config[section][key] = value;
    }
    let text = toml::to_string(&config).map_err(|e| e.to_string())?;
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The flood signs in to these accounts. Their hash has the production cost (OWASP 19 MiB,
/// t=2), so every attempt that reaches the hasher costs what it costs in production. One hash
/// is shared by all of them: verifying costs the same, and setup stays fast.
fn create_flood_accounts(config: &Config) -> BenchResult<()> {
    let production = Config::default().auth;
    let password = Password::parse(FLOOD_PASSWORD).map_err(|e| e.to_string())?;
    let hash = hash_blocking(&params(&production)?, &password)?;
    let store = Store::open(&config.database_path(), 4 << 20).map_err(|e| e.to_string())?;
    let now = jiff::Timestamp::now().to_string();
    store
        .write(|tx| {
            for i in 0..FLOOD_ACCOUNTS {
                let login = Login::parse(&flood_login(i)).expect("flood logins are valid");
                insert_account(tx, &login, hash.clone(), false, &now)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())
}

fn flood_login(i: usize) -> String {
    format!("flood-{i:04}")
}

// ---------------------------------------------------------------------------------------------
// The child server

/// `yishi serve` running as a child process, so that its RSS and CPU time are its own.
struct Server {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    /// Highest RSS sampled over the whole run, and since [`Server::reset_peak`].
    rss_peak_kib: Arc<[std::sync::atomic::AtomicU64; 2]>,
}

impl Server {
    fn start(config: &Path) -> BenchResult<Self> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Only the bench's own configuration file counts.
        for (name, _) in std::env::vars() {
            if name.starts_with("YISHI_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("Yishi is serving on http://").nth(1)
                    && let Some(found) = found.take()
                {
                    let addr = rest.split('/').next().unwrap_or_default().to_owned();
                    let _ = found.send(addr);
                } else {
                    // The server logs warnings and errors only; pass them on.
                    eprintln!("[server] {line}");
                }
            }
        });
        let mut server = Self {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rss_peak_kib: Arc::default(),
        };
        let addr = address
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the server did not say where it serves within 30 s".to_owned())?;
        server.addr = addr
            .parse()
            .map_err(|_| format!("the server printed an odd address `{addr}`"))?;
        let (pid, peaks) = (server.pid, server.rss_peak_kib.clone());
        // Samples RSS every 100 ms (VmHWM cannot be reset between phases).
        std::thread::spawn(move || {
            while let Some(kib) = status_kib(pid, "VmRSS:") {
                for peak in peaks.iter() {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Ok(server)
    }

    fn rss_mb(&self) -> f64 {
        status_kib(self.pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
    }

    /// The highest RSS of the whole run.
    fn peak_rss_mb(&self) -> f64 {
        self.rss_peak_kib[0].load(Ordering::Relaxed) as f64 / 1024.0
    }

    /// The highest RSS since [`Server::reset_peak`].
    fn phase_peak_rss_mb(&self) -> f64 {
        (self.rss_peak_kib[1].load(Ordering::Relaxed) as f64 / 1024.0).max(self.rss_mb())
    }

    /// Starts a new phase's peak.
    fn reset_peak(&self) {
        self.rss_peak_kib[1].store(0, Ordering::Relaxed);
    }

    /// User + system CPU time so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.pid))
    }

    /// Asks the server to stop (SIGTERM, as an operator would), killing it after 10 s.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of `/proc/<pid>/stat`, in seconds (Linux reports them in 1/100 s).
fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => 0.0,
    }
}

/// Busy CPU time of the whole machine so far, in seconds (`/proc/stat`, in 1/100 s).
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: all but idle and iowait are busy.
    let busy: f64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy / 100.0
}

/// CPU used over a phase, in cores: by the server, by the benchmark's clients, and by anything
/// else on the machine (which makes a run noisy).
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct CpuUse {
    server_cores: f64,
    bench_cores: f64,
    other_cores: f64,
}

struct CpuClock {
    server: f64,
    bench: f64,
    machine: f64,
    started: Instant,
}

impl CpuClock {
    fn start(server: &Server) -> Self {
        Self {
            server: server.cpu_seconds(),
            bench: cpu_seconds("/proc/self/stat"),
            machine: machine_busy_seconds(),
            started: Instant::now(),
        }
    }

    fn stop(self, server: &Server) -> CpuUse {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        let server_cores = (server.cpu_seconds() - self.server) / elapsed;
        let bench_cores = (cpu_seconds("/proc/self/stat") - self.bench) / elapsed;
        let machine_cores = (machine_busy_seconds() - self.machine) / elapsed;
        CpuUse {
            server_cores,
            bench_cores,
            other_cores: (machine_cores - server_cores - bench_cores).max(0.0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 clients

/// Where requests go.
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
}

impl Target {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header"),
        }
    }
}

async fn connect(addr: SocketAddr) -> BenchResult<SendRequest<Body>> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

struct Reply {
    status: u16,
    body: Bytes,
}

async fn send(sender: &mut SendRequest<Body>, request: Request<Body>) -> Result<Reply, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply { status, body })
}

fn request(
    target: &Target,
    method: Method,
    path: &str,
    token: Option<&HeaderValue>,
    content_type: &'static str,
    body: Bytes,
) -> Result<Request<Body>, String> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, target.host.clone());
    if let Some(token) = token {
        builder = builder.header(AUTHORIZATION, token.clone());
    }
    if !body.is_empty() {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder.body(Full::new(body)).map_err(|e| e.to_string())
}

fn bearer(token: &str) -> BenchResult<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())
}

/// One setup connection: JSON in, JSON out, anything but 2xx is an error.
struct Api {
    target: Arc<Target>,
    sender: SendRequest<Body>,
}

impl Api {
    async fn new(target: &Arc<Target>) -> BenchResult<Self> {
        Ok(Self {
            target: target.clone(),
            sender: connect(target.addr).await?,
        })
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&HeaderValue>,
        content_type: &'static str,
        body: Bytes,
    ) -> BenchResult<Reply> {
        let request = request(&self.target, method, path, token, content_type, body)?;
        send(&mut self.sender, request)
            .await
            .map_err(|e| format!("{path}: {e}"))
    }

    async fn json(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&HeaderValue>,
        body: Option<Value>,
    ) -> BenchResult<Value> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let reply = self
            .call(method, path, token, "application/json", bytes)
            .await?;
        expect_success(path, reply)
    }
}

fn expect_success(path: &str, reply: Reply) -> BenchResult<Value> {
    if !(200..300).contains(&reply.status) {
        return Err(format!(
            "{path} answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    if reply.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&reply.body).map_err(|e| format!("{path}: {e}"))
}

fn text_field(value: &Value, field: &str) -> BenchResult<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no `{field}` in {value}"))
}

/// The vote writer's counters from `/metrics`.
async fn metrics(target: &Arc<Target>) -> BenchResult<BTreeMap<String, f64>> {
    let mut api = Api::new(target).await?;
    let reply = api
        .call(Method::GET, "/metrics", None, "", Bytes::new())
        .await?;
    let text = String::from_utf8_lossy(&reply.body);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Setup, through the API

struct Setup {
    proposal: String,
    voter_keys: Vec<String>,
    voter_tokens: Arc<Vec<HeaderValue>>,
    /// How long the setup took.
    seconds: f64,
}

/// A community with a roll of `--voters` voters, each activated with its printed code (which
/// signs it in), and a proposal open for voting on which ballots may be changed, so that any
/// number of votes can be cast by a fixed roll.
async fn setup(target: &Arc<Target>, args: &Args) -> BenchResult<Setup> {
    let started = Instant::now();
    let mut api = Api::new(target).await?;
    let admin = api
        .json(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})),
        )
        .await?;
    let admin = bearer(&text_field(&admin, "token")?)?;
    let community = api
        .json(
            Method::POST,
            "/api/v1/communities",
            Some(&admin),
            Some(json!({"name": "Benchmark Gardens"})),
        )
        .await?;
    let community = text_field(&community, "id")?;
    api.json(
        Method::POST,
        "/api/v1/accounts",
        Some(&admin),
        Some(json!({"login": OFFICER_LOGIN, "password": OFFICER_PASSWORD})),
    )
    .await?;
    api.json(
        Method::POST,
        &format!("/api/v1/communities/{community}/members"),
        Some(&admin),
        Some(json!({"login": OFFICER_LOGIN, "role": "officer"})),
    )
    .await?;
    let officer = api
        .json(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"login": OFFICER_LOGIN, "password": OFFICER_PASSWORD})),
        )
        .await?;
    let officer = bearer(&text_field(&officer, "token")?)?;

    let voter_keys: Vec<String> = (0..args.voters).map(|i| format!("v{i:06}")).collect();
    let mut csv = String::from("voter,unit,name,phone,tags,area\n");
    for (i, key) in voter_keys.iter().enumerate() {
        let building = i % 20 + 1;
        let area = 5800 + (i * 7919) % 8500;
        csv.push_str(&format!(
            "{key},{building}-{i},Resident {i},,b{building},{}.{:02}\n",
            area / 100,
            area % 100
        ));
    }
    let roll = format!("/api/v1/communities/{community}/roll");
    let reply = api
        .call(
            Method::PUT,
            &roll,
            Some(&officer),
            "text/csv",
            Bytes::from(csv),
        )
        .await?;
    expect_success(&roll, reply)?;

    let mut codes: BTreeMap<String, String> = BTreeMap::new();
    for chunk in voter_keys.chunks(5000) {
        let sheet = api
            .json(
                Method::POST,
                &format!("/api/v1/communities/{community}/activation-codes"),
                Some(&officer),
                Some(json!({"voters": chunk})),
            )
            .await?;
        for card in sheet.as_array().ok_or("activation codes: not a list")? {
            codes.insert(text_field(card, "voter")?, text_field(card, "code")?);
        }
    }
    let mut work: Vec<(usize, String)> = Vec::with_capacity(args.voters);
    for (i, key) in voter_keys.iter().enumerate() {
        let code = codes
            .remove(key)
            .ok_or_else(|| format!("no activation code for {key}"))?;
        work.push((i, code));
    }
    // Two at a time: the server hashes at most two passwords at once and answers 429 beyond.
    let work = Arc::new(std::sync::Mutex::new(work));
    let mut activators = Vec::new();
    for _ in 0..2 {
        let (work, target) = (work.clone(), target.clone());
        activators.push(tokio::spawn(async move { activate(target, work).await }));
    }
    let mut tokens: Vec<Option<HeaderValue>> = vec![None; args.voters];
    for activator in activators {
        let done = activator.await.map_err(|e| e.to_string())??;
        for (i, token) in done {
            tokens[i] = Some(token);
        }
    }
    let voter_tokens: Vec<HeaderValue> = tokens
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("a voter was not activated")?;

    let closes_at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .map_err(|e| e.to_string())?
        .to_string();
    let proposal = api
        .json(
            Method::POST,
            &format!("/api/v1/communities/{community}/proposals"),
            Some(&officer),
            Some(json!({
                "title": "Repaint the bicycle shed",
                "body": "The council proposes to repaint the bicycle shed in green.",
                "rule": {"preset": "simple-majority"},
                "allow_change": true,
                "closes_at": closes_at,
            })),
        )
        .await?;
    let proposal = text_field(&proposal, "id")?;
    api.json(
        Method::POST,
        &format!("/api/v1/proposals/{proposal}/open"),
        Some(&officer),
        None,
    )
    .await?;
    Ok(Setup {
        proposal,
        voter_keys,
        voter_tokens: Arc::new(voter_tokens),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Activates voters from the shared list until it is empty; answers (voter index, session).
async fn activate(
    target: Arc<Target>,
    work: Arc<std::sync::Mutex<Vec<(usize, String)>>>,
) -> BenchResult<Vec<(usize, HeaderValue)>> {
    let mut api = Api::new(&target).await?;
    let mut done = Vec::new();
    loop {
        let next = work.lock().map_err(|e| e.to_string())?.pop();
        let Some((i, code)) = next else {
            return Ok(done);
        };
        let body =
            json!({"code": code, "login": format!("voter{i:06}"), "password": VOTER_PASSWORD});
        let mut busy = 0;
        loop {
            let reply = api
                .call(
                    Method::POST,
                    "/api/v1/activate",
                    None,
                    "application/json",
                    Bytes::from(body.to_string()),
                )
                .await?;
            if reply.status == 429 && busy < 1000 {
                busy += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let view = expect_success("/api/v1/activate", reply)?;
            done.push((i, bearer(&text_field(&view, "token")?)?));
            break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Load: K clients, closed or open loop

/// One keep-alive connection and the voters it casts ballots for, in turn.
struct Client {
    index: usize,
    sender: Option<SendRequest<Body>>,
    /// Voter positions; disjoint between clients while there are more voters than clients.
    voters: Vec<usize>,
    turn: usize,
    sent: u64,
}

async fn connect_clients(
    target: &Arc<Target>,
    count: usize,
    voters: usize,
) -> BenchResult<Vec<Client>> {
    let mut clients = Vec::with_capacity(count);
    for index in 0..count {
        clients.push(Client {
            index,
            sender: Some(connect(target.addr).await?),
            voters: (index % voters..voters).step_by(count).collect(),
            turn: 0,
            sent: 0,
        });
    }
    Ok(clients)
}

/// What the clients send.
enum Work {
    /// `PUT /api/v1/proposals/{p}/ballot` as the client's next voter, with a fresh key.
    Vote {
        path: String,
        tokens: Arc<Vec<HeaderValue>>,
        /// Keep each ack's ledger `seq` (to time the watchers against).
        want_seq: bool,
    },
    /// `GET /healthz`: the no-op endpoint.
    Healthz,
    /// `POST /api/v1/session` to a flood account, alternately right and wrong.
    Login,
}

impl Work {
    fn request(&self, target: &Target, client: &mut Client) -> Result<Request<Body>, String> {
        client.sent += 1;
        let n = client.sent;
        match self {
            Work::Vote { path, tokens, .. } => {
                let voter = client.voters[client.turn % client.voters.len()];
                client.turn += 1;
                let choice = ["yes", "no", "yes", "abstain"][(n % 4) as usize];
                let body = format!(
                    r#"{{"choice":"{choice}","idempotency_key":"c{}-{n}"}}"#,
                    client.index
                );
                request(
                    target,
                    Method::PUT,
                    path,
                    Some(&tokens[voter]),
                    "application/json",
                    Bytes::from(body),
                )
            }
            Work::Healthz => request(target, Method::GET, "/healthz", None, "", Bytes::new()),
            Work::Login => {
                let account = (client.index + n as usize * FLOOD_CLIENTS) % FLOOD_ACCOUNTS;
                let password = if n.is_multiple_of(2) {
                    FLOOD_PASSWORD
                } else {
                    "not-the-password"
                };
                let body = json!({"login": flood_login(account), "password": password});
                request(
                    target,
                    Method::POST,
                    "/api/v1/session",
                    None,
                    "application/json",
                    Bytes::from(body.to_string()),
                )
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Each client sends its next request when the last one is answered.
    Closed,
    /// Requests are due on a fixed schedule; latency counts from when each was due, so a slow
    /// server cannot hide its backlog (no coordinated omission).
    Open { per_second: f64 },
}

/// What one phase's clients saw.
#[derive(Debug, Default)]
struct Outcome {
    /// Successful requests answered within the phase.
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    /// Successful requests' latencies, in microseconds.
    latencies: Vec<u32>,
    /// (ledger seq, when the ack arrived), with `want_seq`.
    acks: Vec<(u64, Instant)>,
    /// When the phase's first request was due, and its length.
    started: Option<Instant>,
    elapsed: Duration,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn errors(&self) -> u64 {
        self.transport_errors
            + self
                .statuses
                .iter()
                .filter(|(s, _)| !(200..300).contains(*s))
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        self.latencies.extend(other.latencies);
        self.acks.extend(other.acks);
    }
}

/// Runs every client for `length`; hands the clients back for the next phase.
async fn drive(
    clients: Vec<Client>,
    target: &Arc<Target>,
    work: &Arc<Work>,
    pace: Pace,
    length: Duration,
) -> (Vec<Client>, Outcome) {
    let count = clients.len();
    let start = Instant::now() + Duration::from_millis(20);
    let stop = start + length;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (target, work) = (target.clone(), work.clone());
            tokio::spawn(run_client(client, target, work, pace, count, start, stop))
        })
        .collect();
    let mut clients = Vec::with_capacity(count);
    let mut outcome = Outcome::default();
    for task in tasks {
        if let Ok((client, seen)) = task.await {
            clients.push(client);
            outcome.merge(seen);
        }
    }
    outcome.started = Some(start);
    outcome.elapsed = length;
    (clients, outcome)
}

async fn run_client(
    mut client: Client,
    target: Arc<Target>,
    work: Arc<Work>,
    pace: Pace,
    clients: usize,
    start: Instant,
    stop: Instant,
) -> (Client, Outcome) {
    let mut outcome = Outcome::default();
    let want_seq = matches!(*work, Work::Vote { want_seq: true, .. });
    tokio::time::sleep_until(start.into()).await;
    let mut due_count: u64 = 0;
    loop {
        let due = match pace {
            Pace::Closed => Instant::now(),
            Pace::Open { per_second } => {
                let slot = client.index as f64 + due_count as f64 * clients as f64;
                start + Duration::from_secs_f64(slot / per_second)
            }
        };
        if due >= stop {
            break;
        }
        due_count += 1;
        tokio::time::sleep_until(due.into()).await;
        if client.sender.is_none() {
            match connect(target.addr).await {
                Ok(sender) => client.sender = Some(sender),
                Err(_) => {
                    outcome.transport_errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let request = work.request(&target, &mut client);
        let (Some(sender), Ok(request)) = (client.sender.as_mut(), request) else {
            outcome.transport_errors += 1;
            continue;
        };
        let reply = send(sender, request).await;
        let done = Instant::now();
        match reply {
            Ok(reply) => {
                *outcome.statuses.entry(reply.status).or_default() += 1;
                if reply.status == 200 {
                    if done <= stop {
                        outcome.ok += 1;
                    }
                    let micros = done.saturating_duration_since(due).as_micros();
                    outcome.latencies.push(micros.min(u32::MAX as u128) as u32);
                    if want_seq && let Some(seq) = receipt_seq(&reply.body) {
                        outcome.acks.push((seq, done));
                    }
                }
            }
            Err(_) => {
                outcome.transport_errors += 1;
                client.sender = None;
            }
        }
    }
    (client, outcome)
}

/// The number after `"key":` in a JSON text (the bench reads one field of each answer and each
/// live message without parsing the rest, to leave the CPU to the server).
fn number_after(text: &[u8], key: &str) -> Option<u64> {
    let key = key.as_bytes();
    let at = text.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = text[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit());
    let mut value: u64 = 0;
    let mut any = false;
    for digit in digits {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        any = true;
    }
    any.then_some(value)
}

fn receipt_seq(body: &[u8]) -> Option<u64> {
    number_after(body, "\"seq\":")
}

// ---------------------------------------------------------------------------------------------
// WebSocket watchers

/// The (arrival, ledger length) of each tally message a watcher got.
#[derive(Default)]
struct WatcherLog {
    messages: Vec<(Instant, u64)>,
    /// Set when the connection ended before the bench stopped it.
    ended: Option<String>,
}

struct WatcherCounts {
    connected: AtomicUsize,
    failed: AtomicUsize,
}

async fn watcher(
    target: Arc<Target>,
    path: Arc<str>,
    token: HeaderValue,
    mut stop: watch::Receiver<bool>,
    counts: Arc<WatcherCounts>,
    handshake: tokio::sync::OwnedSemaphorePermit,
) -> WatcherLog {
    let mut log = WatcherLog::default();
    let mut handshake = Some(handshake);
    let fail = |log: &mut WatcherLog, why: String| {
        counts.failed.fetch_add(1, Ordering::Relaxed);
        log.ended = Some(why);
    };
    let mut request = match format!("ws://{}{}", target.addr, path).into_client_request() {
        Ok(request) => request,
        Err(e) => {
            fail(&mut log, e.to_string());
            return log;
        }
    };
    request.headers_mut().insert(AUTHORIZATION, token);
    let connected = async {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| e.to_string())?;
        // Small buffers: ten thousand of these share the bench's memory.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| e.to_string())
    };
    let mut socket = match tokio::time::timeout(Duration::from_secs(30), connected).await {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(e)) => {
            fail(&mut log, e);
            return log;
        }
        Err(_) => {
            fail(&mut log, "handshake timed out".into());
            return log;
        }
    };
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    if let Some(len) = number_after(text.as_bytes(), "\"ledger_len\":") {
                        log.messages.push((at, len));
                    }
                    if handshake.take().is_some() {
                        counts.connected.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if handshake.take().is_some() {
                        fail(&mut log, e.to_string());
                    } else {
                        log.ended = Some(e.to_string());
                    }
                    break;
                }
                None => {
                    if handshake.take().is_some() {
                        fail(&mut log, "closed before the snapshot".into());
                    } else {
                        log.ended = Some("closed by the server".into());
                    }
                    break;
                }
            },
        }
    }
    log
}

/// Connects `--watchers` watchers, measures the server's RSS with them, then casts votes at
/// `--rate` and times, for each watcher, when a tally including each vote reached it.
async fn watch_phase(
    clients: Vec<Client>,
    target: &Arc<Target>,
    setup: &Setup,
    args: &Args,
    server: &Server,
) -> BenchResult<(Vec<Client>, WatchersReport)> {
    let path: Arc<str> = format!("/api/v1/proposals/{}/live", setup.proposal).into();
    let (stop, stopped) = watch::channel(false);
    let counts = Arc::new(WatcherCounts {
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
    });
    let handshakes = Arc::new(Semaphore::new(WATCHER_HANDSHAKES));
    let rss_before_mb = server.rss_mb();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.watchers);
    for i in 0..args.watchers {
        let handshake = handshakes
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let token = setup.voter_tokens[i % setup.voter_tokens.len()].clone();
        tasks.push(tokio::spawn(watcher(
            target.clone(),
            path.clone(),
            token,
            stopped.clone(),
            counts.clone(),
            handshake,
        )));
    }
    let settled = |c: &WatcherCounts| {
        c.connected.load(Ordering::Relaxed) + c.failed.load(Ordering::Relaxed) >= args.watchers
    };
    while !settled(&counts) && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    let connected = counts.connected.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_mb = server.rss_mb();
    server.reset_peak();

    let votes = Arc::new(Work::Vote {
        path: format!("/api/v1/proposals/{}/ballot", setup.proposal),
        tokens: setup.voter_tokens.clone(),
        want_seq: true,
    });
    let cpu = CpuClock::start(server);
    let pace = Pace::Open {
        per_second: args.watch_rate as f64,
    };
    let (clients, outcome) = drive(
        clients,
        target,
        &votes,
        pace,
        Duration::from_secs(args.seconds),
    )
    .await;
    let cpu = cpu.stop(server);
    // The last votes' tallies go out within one update interval (a quarter second by default).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_peak_mb = server.phase_peak_rss_mb();
    let _ = stop.send(true);
    let mut logs = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(log) = task.await {
            logs.push(log);
        }
    }
    let window = outcome
        .started
        .map(|start| (start, start + outcome.elapsed));
    let delivery = Delivery::measure(&logs, &outcome.acks, window);
    let votes = OpenLoopReport::new(args.watch_rate, &outcome, cpu);
    Ok((
        clients,
        WatchersReport {
            watchers: args.watchers,
            connected,
            failed: counts.failed.load(Ordering::Relaxed),
            connect_seconds,
            rss_before_mb,
            rss_idle_mb,
            rss_peak_mb,
            kib_per_watcher: (rss_idle_mb - rss_before_mb) * 1024.0 / connected.max(1) as f64,
            votes,
            ack_to_watcher: delivery.latency,
            seen_before_ack: delivery.seen_before_ack,
            saw_last_vote: delivery.saw_last_vote,
            dropped_during_votes: delivery.dropped,
            updates_per_second: delivery.updates_per_second,
        },
    ))
}

/// When the watchers saw the votes.
struct Delivery {
    latency: Percentiles,
    /// Share of samples where the tally arrived before the voter's own ack.
    seen_before_ack: f64,
    saw_last_vote: usize,
    dropped: usize,
    /// Tally messages per watcher per second while votes were cast.
    updates_per_second: f64,
}

impl Delivery {
    /// For each watcher and each (sampled) acked vote: the time from the ack to the first
    /// message whose ledger length includes the vote. Votes already counted in a watcher's
    /// first message (its snapshot) are not samples.
    fn measure(
        logs: &[WatcherLog],
        acks: &[(u64, Instant)],
        window: Option<(Instant, Instant)>,
    ) -> Self {
        let (Some(low), Some(high)) = (
            acks.iter().map(|a| a.0).min(),
            acks.iter().map(|a| a.0).max(),
        ) else {
            return Self {
                latency: percentiles(Vec::new()),
                seen_before_ack: 0.0,
                saw_last_vote: 0,
                dropped: 0,
                updates_per_second: 0.0,
            };
        };
        let mut acked: Vec<Option<Instant>> = vec![None; (high - low + 1) as usize];
        for &(seq, at) in acks {
            acked[(seq - low) as usize] = Some(at);
        }
        let pairs = logs.len() as u64 * acks.len() as u64;
        let stride = (pairs / MAX_WATCHER_SAMPLES).max(1);
        let mut samples = Vec::new();
        let mut early = 0u64;
        let (mut saw_last_vote, mut dropped, mut updates) = (0, 0, 0usize);
        for log in logs {
            let Some(&(_, first)) = log.messages.first() else {
                continue;
            };
            if log.ended.is_some() {
                dropped += 1;
            }
            let mut seen = first;
            for &(at, len) in &log.messages[1..] {
                if len <= seen {
                    continue;
                }
                if window.is_some_and(|(start, stop)| (start..stop).contains(&at)) {
                    updates += 1;
                }
                let from = (seen + 1).max(low).div_ceil(stride) * stride;
                for seq in (from..=len.min(high)).step_by(stride as usize) {
                    if let Some(ack) = acked[(seq - low) as usize] {
                        if at < ack {
                            early += 1;
                        }
                        let micros = at.saturating_duration_since(ack).as_micros();
                        samples.push(micros.min(u32::MAX as u128) as u32);
                    }
                }
                seen = len;
            }
            if seen >= high {
                saw_last_vote += 1;
            }
        }
        let count = samples.len().max(1) as f64;
        Self {
            latency: percentiles(samples),
            seen_before_ack: early as f64 / count,
            saw_last_vote,
            dropped,
            updates_per_second: updates as f64
                / logs.len().max(1) as f64
                / window.map_or(1.0, |(start, stop)| (stop - start).as_secs_f64()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The physical limit: raw redb commits

/// `ledger`, `ballots` and `receipts` as the vote writer has them: one row in each per vote.
const RAW_LEDGER: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("ledger");
const RAW_BALLOTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("ballots");
const RAW_RECEIPTS: TableDefinition<&str, (&str, u64)> = TableDefinition::new("receipts");

/// Rows of the same size as the server's: a real ledger entry and ballot record, encoded.
struct RowShape {
    proposal: String,
    voters: Vec<String>,
    entry: Vec<u8>,
    ballot: Vec<u8>,
}

impl RowShape {
    fn new(setup: &Setup) -> Self {
        let at = jiff::Timestamp::now().to_string();
        let entry = Entry {
            seq: 123_456,
            proposal: setup.proposal.clone(),
            voter: setup.voter_keys[0].clone(),
            choice: "yes".into(),
            weights: BTreeMap::from([("area".to_owned(), "89.57".to_owned())]),
            channel: Channel::Online,
            at: at.clone(),
            prev: "0".repeat(64),
        };
        let ballot = BallotRecord {
            seq: entry.seq,
            choice: entry.choice.clone(),
            channel: Channel::Online,
            idempotency_key: "c123-4567".into(),
            receipt: entry.hash(),
            at,
            cast_by: yishi::clock::new_id(),
            note: None,
        };
        Self {
            proposal: setup.proposal.clone(),
            voters: setup.voter_keys.clone(),
            entry: encode(&entry),
            ballot: encode(&ballot),
        }
    }
}

/// A receipt-like key: 64 hex digits, spread like a hash (receipts are SHA-256 hex).
fn receipt_key(seq: u64) -> String {
    let mix = |mut x: u64| {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    let a = mix(seq);
    let b = mix(a);
    format!("{a:016x}{b:016x}{:016x}{:016x}", mix(b), mix(a ^ b))
}

/// Commits votes' rows straight to a fresh redb file with `Durability::Immediate`, `batch`
/// votes per transaction, for `length`.
fn raw_redb(
    dir: &Path,
    shape: &RowShape,
    batch: usize,
    length: Duration,
) -> BenchResult<RawReport> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("raw-{batch}.redb"));
    let _ = std::fs::remove_file(&path);
    let fail = |e: &dyn std::fmt::Display| format!("raw redb: {e}");
    let db = Database::builder()
        .set_cache_size(Config::default().store.cache_mib << 20)
        .create(&path)
        .map_err(|e| fail(&e))?;
    let length = length.max(Duration::from_secs(2));
    let mut seq = 0u64;
    let mut commits = Vec::new();
    let started = Instant::now();
    while started.elapsed() < length {
        let begun = Instant::now();
        let mut tx = db.begin_write().map_err(|e| fail(&e))?;
        tx.set_durability(Durability::Immediate)
            .map_err(|e| fail(&e))?;
        {
            let mut ledger = tx.open_table(RAW_LEDGER).map_err(|e| fail(&e))?;
            let mut ballots = tx.open_table(RAW_BALLOTS).map_err(|e| fail(&e))?;
            let mut receipts = tx.open_table(RAW_RECEIPTS).map_err(|e| fail(&e))?;
            for _ in 0..batch {
                seq += 1;
                let proposal = shape.proposal.as_str();
                let voter = shape.voters[seq as usize % shape.voters.len()].as_str();
                ledger
                    .insert((proposal, seq), shape.entry.as_slice())
                    .map_err(|e| fail(&e))?;
                ballots
                    .insert((proposal, voter), shape.ballot.as_slice())
                    .map_err(|e| fail(&e))?;
                receipts
                    .insert(receipt_key(seq).as_str(), (proposal, seq))
                    .map_err(|e| fail(&e))?;
            }
        }
        tx.commit().map_err(|e| fail(&e))?;
        commits.push(begun.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(db);
    let _ = std::fs::remove_file(&path);
    Ok(RawReport {
        batch,
        votes_per_second: seq as f64 / seconds,
        commits_per_second: commits.len() as f64 / seconds,
        commit_latency: percentiles(commits),
        ledger_value_bytes: shape.entry.len(),
        ballot_value_bytes: shape.ballot.len(),
    })
}

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Debug, Clone, Copy, Serialize)]
struct Percentiles {
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    samples: usize,
}

fn percentiles(mut micros: Vec<u32>) -> Percentiles {
    micros.sort_unstable();
    let at = |q: f64| {
        if micros.is_empty() {
            return 0.0;
        }
        let i = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len()) - 1;
        f64::from(micros[i]) / 1000.0
    };
    Percentiles {
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        samples: micros.len(),
    }
}

#[derive(Debug, Serialize)]
struct Machine {
    cpu: String,
    cpus: usize,
    memory_gib: f64,
    kernel: String,
    /// Cores other processes kept busy in the second before the run (0 on a quiet machine).
    busy_cores_before: f64,
    load_average: String,
}

/// How busy the machine is before the run.
struct Quiet {
    other_cores: f64,
    load_average: String,
}

impl Quiet {
    async fn measure() -> Self {
        let (machine, own) = (machine_busy_seconds(), cpu_seconds("/proc/self/stat"));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let busy = machine_busy_seconds() - machine - (cpu_seconds("/proc/self/stat") - own);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        Self {
            other_cores: busy.max(0.0),
            load_average: load
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Machine {
    fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, name)| name.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0);
        Self {
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: memory_kib / 1024.0 / 1024.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            busy_cores_before: 0.0,
            load_average: String::new(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Settings {
    voters: usize,
    clients: usize,
    seconds: u64,
    rate: u64,
    watchers: usize,
    watch_rate: u64,
    flood_rate: u64,
    login_flood_only: bool,
    /// Server configuration changed with `--set`.
    overrides: Vec<String>,
    #[serde(skip)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct SetupReport {
    seconds: f64,
    voters_activated: usize,
    proposal: String,
    /// How the server's configuration differs from the defaults, and why.
    config: &'static str,
}

#[derive(Debug, Serialize)]
struct ServerReport {
    pid: u32,
    address: String,
    /// Highest RSS sampled (every 100 ms) over the whole run.
    rss_peak_mb: f64,
    rss_end_mb: f64,
}

#[derive(Debug, Serialize)]
struct ThroughputReport {
    clients: usize,
    votes_per_second: f64,
    votes: u64,
    errors: u64,
    latency: Percentiles,
    /// Ballots per write transaction, from the writer's counters.
    mean_batch: f64,
    commits_per_second: f64,
    /// Time the writer spends on one batch (staging, commit, publishing).
    mean_batch_ms: f64,
    cpu: CpuUse,
    /// Server CPU time per vote (all threads), in microseconds: what a vote costs.
    server_micros_per_vote: f64,
}

impl ThroughputReport {
    fn new(
        outcome: &Outcome,
        cpu: CpuUse,
        before: &BTreeMap<String, f64>,
        after: &BTreeMap<String, f64>,
        clients: usize,
    ) -> Self {
        let delta = |name: &str| after.get(name).unwrap_or(&0.0) - before.get(name).unwrap_or(&0.0);
        let ballots = delta("yishi_ballots_committed_total");
        let batches = delta("yishi_vote_batches_total").max(1.0);
        Self {
            clients,
            votes_per_second: outcome.rate(),
            votes: outcome.ok,
            errors: outcome.errors(),
            latency: percentiles(outcome.latencies.clone()),
            mean_batch: ballots / batches,
            commits_per_second: batches / outcome.elapsed.as_secs_f64().max(1e-9),
            mean_batch_ms: delta("yishi_commit_seconds_total") * 1000.0 / batches,
            cpu,
            server_micros_per_vote: cpu.server_cores * 1e6 / outcome.rate().max(1e-9),
        }
    }
}

#[derive(Debug, Serialize)]
struct NoOpReport {
    requests_per_second: f64,
    latency: Percentiles,
    errors: u64,
    cpu: CpuUse,
}

#[derive(Debug, Serialize)]
struct OpenLoopReport {
    offered_per_second: u64,
    achieved_per_second: f64,
    latency: Percentiles,
    errors: u64,
    cpu: CpuUse,
}

impl OpenLoopReport {
    fn new(rate: u64, outcome: &Outcome, cpu: CpuUse) -> Self {
        Self {
            offered_per_second: rate,
            achieved_per_second: outcome.rate(),
            latency: percentiles(outcome.latencies.clone()),
            errors: outcome.errors(),
            cpu,
        }
    }
}

#[derive(Debug, Serialize)]
struct FloodReport {
    logins_offered_per_second: u64,
    logins_sent: u64,
    signed_in: u64,
    wrong_password: u64,
    refused_429: u64,
    other: u64,
    votes: OpenLoopReport,
    vote_p99_without_flood_ms: Option<f64>,
    rss_before_mb: f64,
    /// Highest server RSS during the flood (argon2 takes 19 MiB per hash in progress).
    rss_peak_mb: f64,
}

impl FloodReport {
    fn new(
        login_rate: u64,
        vote_rate: u64,
        votes: &Outcome,
        logins: &Outcome,
        cpu: CpuUse,
        without: Option<&OpenLoopReport>,
    ) -> Self {
        let count = |status: u16| logins.statuses.get(&status).copied().unwrap_or(0);
        let sent = logins.statuses.values().sum::<u64>() + logins.transport_errors;
        Self {
            logins_offered_per_second: login_rate,
            logins_sent: sent,
            signed_in: count(200),
            wrong_password: count(401),
            refused_429: count(429),
            other: sent - count(200) - count(401) - count(429),
            votes: OpenLoopReport::new(vote_rate, votes, cpu),
            vote_p99_without_flood_ms: without.map(|w| w.latency.p99_ms),
            rss_before_mb: 0.0,
            rss_peak_mb: 0.0,
        }
    }
}

#[derive(Debug, Serialize)]
struct WatchersReport {
    watchers: usize,
    connected: usize,
    failed: usize,
    connect_seconds: f64,
    rss_before_mb: f64,
    /// With every watcher connected, before the votes.
    rss_idle_mb: f64,
    /// Highest RSS while the votes were cast and the tallies went out.
    rss_peak_mb: f64,
    kib_per_watcher: f64,
    votes: OpenLoopReport,
    ack_to_watcher: Percentiles,
    seen_before_ack: f64,
    saw_last_vote: usize,
    dropped_during_votes: usize,
    updates_per_second: f64,
}

#[derive(Debug, Serialize)]
struct RawReport {
    batch: usize,
    votes_per_second: f64,
    commits_per_second: f64,
    commit_latency: Percentiles,
    ledger_value_bytes: usize,
    ballot_value_bytes: usize,
}

#[derive(Debug, Default, Serialize)]
struct Ratios {
    /// Yishi's votes/s over the no-op endpoint's requests/s with the same clients.
    yishi_to_no_op: Option<f64>,
    /// Yishi's votes/s over raw redb's with the writer's mean batch.
    yishi_to_raw_batched: Option<f64>,
    /// Yishi's votes/s over raw redb's with one commit per vote.
    yishi_to_raw_single: Option<f64>,
}

#[derive(Debug, Serialize)]
struct TargetCheck {
    target: &'static str,
    measured: String,
    met: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: Machine,
    settings: Settings,
    setup: SetupReport,
    server: ServerReport,
    throughput: Option<ThroughputReport>,
    no_op: Option<NoOpReport>,
    open_loop: Option<OpenLoopReport>,
    login_flood: Option<FloodReport>,
    watchers: Option<WatchersReport>,
    raw_batched: Option<RawReport>,
    raw_single: Option<RawReport>,
    ratios: Ratios,
    targets: Vec<TargetCheck>,
    wall_seconds: f64,
}

const SETUP_CONFIG: &str = "argon2 lowered to 1 MiB, t=1 so that activating the voters takes \
     seconds (no password is hashed on the vote path; the flood accounts keep the production \
     19 MiB, t=2); sign-in limit per address raised (every client is 127.0.0.1); log level warn";

impl Report {
    fn new(args: &Args, server: &Server, setup: &Setup) -> Self {
        Self {
            machine: Machine::describe(),
            settings: Settings {
                voters: args.voters,
                clients: args.clients,
                seconds: args.seconds,
                rate: args.rate,
                watchers: args.watchers,
                watch_rate: args.watch_rate,
                flood_rate: args.flood_rate,
                login_flood_only: args.login_flood,
                overrides: args.overrides.clone(),
                json: args.json,
            },
            setup: SetupReport {
                seconds: setup.seconds,
                voters_activated: setup.voter_tokens.len(),
                proposal: setup.proposal.clone(),
                config: SETUP_CONFIG,
            },
            server: ServerReport {
                pid: server.pid,
                address: server.addr.to_string(),
                rss_peak_mb: 0.0,
                rss_end_mb: 0.0,
            },
            throughput: None,
            no_op: None,
            open_loop: None,
            login_flood: None,
            watchers: None,
            raw_batched: None,
            raw_single: None,
            ratios: Ratios::default(),
            targets: Vec::new(),
            wall_seconds: 0.0,
        }
    }

    /// Ratios and the DESIGN §9 targets.
    fn finish(&mut self, wall: Duration) {
        self.wall_seconds = wall.as_secs_f64();
        if let Some(t) = &self.throughput {
            let v = t.votes_per_second;
            self.ratios = Ratios {
                yishi_to_no_op: self.no_op.as_ref().map(|n| v / n.requests_per_second),
                yishi_to_raw_batched: self.raw_batched.as_ref().map(|r| v / r.votes_per_second),
                yishi_to_raw_single: self.raw_single.as_ref().map(|r| v / r.votes_per_second),
            };
            self.targets.push(TargetCheck {
                target: "≥ 20,000 durable votes/s sustained",
                measured: format!("{}/s", thousands(v)),
                met: v >= 20_000.0,
            });
        }
        if let Some(o) = &self.open_loop {
            self.targets.push(TargetCheck {
                target: "ack p99 ≤ 50 ms at 5,000 votes/s",
                measured: format!(
                    "p99 {} ms at {}/s",
                    ms(o.latency.p99_ms),
                    thousands(o.achieved_per_second)
                ),
                met: o.latency.p99_ms <= 50.0 && o.offered_per_second >= 5000,
            });
        }
        if let Some(w) = &self.watchers {
            self.targets.push(TargetCheck {
                target: "10,000 watchers in ≤ 200 MB server RSS",
                measured: format!(
                    "{} watchers, {:.0} MB (peak while voting)",
                    thousands(w.connected as f64),
                    w.rss_peak_mb
                ),
                met: w.connected >= 10_000 && w.rss_peak_mb <= 200.0,
            });
            self.targets.push(TargetCheck {
                target: "each watcher sees a new tally ≤ 500 ms p99 after commit",
                measured: format!("p99 {} ms after the ack", ms(w.ack_to_watcher.p99_ms)),
                met: w.ack_to_watcher.p99_ms <= 500.0 && w.ack_to_watcher.samples > 0,
            });
        }
        if let Some(r) = self.ratios.yishi_to_no_op {
            self.targets.push(TargetCheck {
                target: "votes/s ≥ 40% of the no-op endpoint's rate",
                measured: format!("{:.1}%", r * 100.0),
                met: r >= 0.4,
            });
        }
        if let Some(f) = &self.login_flood {
            self.targets.push(TargetCheck {
                target: "a login flood keeps vote p99 ≤ 50 ms",
                measured: format!(
                    "p99 {} ms beside {}/s sign-ins",
                    ms(f.votes.latency.p99_ms),
                    thousands(f.logins_offered_per_second as f64)
                ),
                met: f.votes.latency.p99_ms <= 50.0,
            });
        }
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let s = &self.settings;
        let line = |out: &mut String, what: &str, result: String| {
            out.push_str(&format!("{what:<40} {result}\n"));
        };
        out.push_str(&format!(
            "\nYishi benchmark · {} × {} · {:.1} GiB RAM · Linux {}\n",
            m.cpus, m.cpu, m.memory_gib, m.kernel
        ));
        out.push_str(&format!(
            "machine before the run: load average {}; other processes busy {:.2} cores{}\n",
            m.load_average,
            m.busy_cores_before,
            if m.busy_cores_before > 0.2 {
                " (NOT quiet: figures are noisy)"
            } else {
                ""
            }
        ));
        out.push_str(&format!(
            "server: `yishi serve` as a child process on {}; client and server share the machine\n",
            self.server.address
        ));
        out.push_str(&format!(
            "setup:  {} voters activated and signed in through the API in {:.1} s\n",
            thousands(self.setup.voters_activated as f64),
            self.setup.seconds
        ));
        out.push_str(&format!("        ({})\n", self.setup.config));
        if !s.overrides.is_empty() {
            out.push_str(&format!(
                "        server configuration changed: {}\n",
                s.overrides.join(", ")
            ));
        }
        out.push_str(&format!(
            "votes:  PUT /api/v1/proposals/{{p}}/ballot, bearer sessions, HTTP/1.1 keep-alive, one proposal\n        whose ballots may be changed; {} clients; {} s per phase\n\n",
            s.clients, s.seconds
        ));
        out.push_str(&format!("{:<40} {}\n", "measure", "result"));
        out.push_str(&format!("{:-<40} {:-<60}\n", "", ""));
        if let Some(t) = &self.throughput {
            line(
                &mut out,
                "votes/s sustained (closed loop)",
                format!(
                    "{}/s  ({} votes, {} errors)",
                    thousands(t.votes_per_second),
                    thousands(t.votes as f64),
                    t.errors
                ),
            );
            line(
                &mut out,
                "  ack latency p50 / p95 / p99",
                format!(
                    "{} / {} / {} ms",
                    ms(t.latency.p50_ms),
                    ms(t.latency.p95_ms),
                    ms(t.latency.p99_ms)
                ),
            );
            line(
                &mut out,
                "  group commit",
                format!(
                    "{:.0} ballots per commit, {:.0} commits/s, {:.1} ms per batch",
                    t.mean_batch, t.commits_per_second, t.mean_batch_ms
                ),
            );
            line(
                &mut out,
                "  CPU",
                format!(
                    "server {:.2} cores ({:.0} µs per vote), bench clients {:.2}, other processes {:.2}",
                    t.cpu.server_cores,
                    t.server_micros_per_vote,
                    t.cpu.bench_cores,
                    t.cpu.other_cores
                ),
            );
        }
        if let Some(o) = &self.open_loop {
            line(
                &mut out,
                &format!("ack latency at {}/s (open loop)", thousands(s.rate as f64)),
                format!(
                    "p50 {} / p95 {} / p99 {} ms  ({}/s, {} errors; server {:.2} cores)",
                    ms(o.latency.p50_ms),
                    ms(o.latency.p95_ms),
                    ms(o.latency.p99_ms),
                    thousands(o.achieved_per_second),
                    o.errors,
                    o.cpu.server_cores
                ),
            );
        }
        if let Some(f) = &self.login_flood {
            line(
                &mut out,
                &format!(
                    "  beside {} sign-ins/s (login flood)",
                    thousands(f.logins_offered_per_second as f64)
                ),
                format!(
                    "p50 {} / p95 {} / p99 {} ms  ({}/s, {} errors)",
                    ms(f.votes.latency.p50_ms),
                    ms(f.votes.latency.p95_ms),
                    ms(f.votes.latency.p99_ms),
                    thousands(f.votes.achieved_per_second),
                    f.votes.errors
                ),
            );
            line(
                &mut out,
                "  the flood's sign-ins",
                format!(
                    "{} sent: {} signed in, {} wrong password, {} refused 429, {} other",
                    thousands(f.logins_sent as f64),
                    thousands(f.signed_in as f64),
                    thousands(f.wrong_password as f64),
                    thousands(f.refused_429 as f64),
                    thousands(f.other as f64)
                ),
            );
            line(
                &mut out,
                "  server RSS during the flood",
                format!(
                    "{:.0} MB before, {:.0} MB peak; server {:.2} cores",
                    f.rss_before_mb, f.rss_peak_mb, f.votes.cpu.server_cores
                ),
            );
        }
        if let Some(w) = &self.watchers {
            line(
                &mut out,
                &format!("{} WebSocket watchers", thousands(w.watchers as f64)),
                format!(
                    "{} connected in {:.1} s ({} failed); server RSS {:.0} MB before, {:.0} MB idle",
                    thousands(w.connected as f64),
                    w.connect_seconds,
                    w.failed,
                    w.rss_before_mb,
                    w.rss_idle_mb
                ),
            );
            line(
                &mut out,
                "  server RSS while votes flow",
                format!(
                    "{:.0} MB peak ({:.1} KiB per watcher idle)",
                    w.rss_peak_mb, w.kib_per_watcher
                ),
            );
            line(
                &mut out,
                &format!(
                    "  ack → watcher sees it, at {}/s",
                    thousands(w.votes.offered_per_second as f64)
                ),
                format!(
                    "p50 {} / p99 {} ms  ({} samples; {:.1} updates/s each; {} saw the last vote)",
                    ms(w.ack_to_watcher.p50_ms),
                    ms(w.ack_to_watcher.p99_ms),
                    thousands(w.ack_to_watcher.samples as f64),
                    w.updates_per_second,
                    thousands(w.saw_last_vote as f64)
                ),
            );
            line(
                &mut out,
                "  the votes meanwhile",
                format!(
                    "p50 {} / p99 {} ms ack  ({}/s, {} errors)",
                    ms(w.votes.latency.p50_ms),
                    ms(w.votes.latency.p99_ms),
                    thousands(w.votes.achieved_per_second),
                    w.votes.errors,
                ),
            );
            line(
                &mut out,
                "  CPU",
                format!(
                    "server {:.2} cores, bench clients and watchers {:.2}, other processes {:.2}",
                    w.votes.cpu.server_cores, w.votes.cpu.bench_cores, w.votes.cpu.other_cores
                ),
            );
        }
        if let Some(n) = &self.no_op {
            line(
                &mut out,
                "limit: no-op GET /healthz, same clients",
                format!(
                    "{}/s  (p99 {} ms, {} errors)",
                    thousands(n.requests_per_second),
                    ms(n.latency.p99_ms),
                    n.errors
                ),
            );
        }
        for (raw, what) in [
            (&self.raw_batched, "batches of the writer's mean"),
            (&self.raw_single, "one commit per vote"),
        ] {
            if let Some(r) = raw {
                line(
                    &mut out,
                    &format!("limit: raw redb, {what}"),
                    format!(
                        "{} votes/s  ({} per commit, {:.0} commits/s, commit p99 {} ms)",
                        thousands(r.votes_per_second),
                        r.batch,
                        r.commits_per_second,
                        ms(r.commit_latency.p99_ms)
                    ),
                );
            }
        }
        line(
            &mut out,
            "server RSS, whole run",
            format!(
                "{:.0} MB peak, {:.0} MB at the end",
                self.server.rss_peak_mb, self.server.rss_end_mb
            ),
        );
        let r = &self.ratios;
        let mut ratios = Vec::new();
        if let Some(x) = r.yishi_to_no_op {
            ratios.push(format!("Yishi ÷ no-op {:.1}%", x * 100.0));
        }
        if let Some(x) = r.yishi_to_raw_batched {
            ratios.push(format!("Yishi ÷ raw redb batched {:.1}%", x * 100.0));
        }
        if let Some(x) = r.yishi_to_raw_single {
            ratios.push(format!("Yishi ÷ raw redb one-per-vote {x:.1}×"));
        }
        if !ratios.is_empty() {
            line(&mut out, "ratios", ratios.join(" · "));
        }
        out.push_str("\ntargets (DESIGN §9)\n");
        for t in &self.targets {
            out.push_str(&format!(
                "  [{}] {:<58} {}\n",
                if t.met { "met" } else { "NOT MET" },
                t.target,
                t.measured
            ));
        }
        out.push_str(&format!("\nwhole run: {:.0} s\n", self.wall_seconds));
        out
    }
}

/// 21345.6 → "21,346".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds with sensible precision.
fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}
