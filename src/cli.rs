//! The command line: `yishi tally` counts a paper vote from CSV files with the counting core;
//! the other subcommands run and administer the server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::domain::election::{Candidate, Election, ElectionBallot, count_election};
use crate::domain::report;
use crate::domain::roll::{CsvLines, Roll};
use crate::domain::rule::{Condition, Rule};
use crate::domain::tally::{Choice, Tally, evaluate};

/// Yishi (议事): residents' council voting and deliberation.
#[derive(Debug, Parser)]
#[command(name = "yishi", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Count a vote from a roll and ballots given as CSV, under any rule.
    Tally(TallyArgs),
    /// Check a published result offline: signature, ledger chain, recount and rule.
    Verify(VerifyArgs),
    /// Administer the server's database (with the server stopped).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write a consistent copy of the database to FILE: from the running server (votes go on
    /// meanwhile), or directly when no server is running.
    Backup(BackupArgs),
    /// Put a backup in place of the database (with the server stopped).
    Restore(RestoreArgs),
}

/// `yishi backup --to FILE`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (a redb file; `yishi serve` can run on it directly).
    #[arg(long)]
    pub to: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// The running server's address (default: `server.listen` of the configuration).
    #[arg(long)]
    pub server: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `yishi restore FILE`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore.
    pub file: PathBuf,
    /// Replace an existing database (it is kept beside it as `yishi.redb.before-restore-…`).
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a platform admin. The password is read from one line of standard input
    /// (`echo "$PASSWORD" | yishi admin create-admin --login root`); at a terminal you are
    /// prompted for it.
    CreateAdmin {
        #[arg(long)]
        login: String,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// `yishi verify`: trust nothing but the two files (and the key, if given).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate JSON (`GET /api/v1/proposals/{p}/certificate`).
    pub certificate: PathBuf,
    /// The ledger JSON Lines (`GET /api/v1/proposals/{p}/ledger`).
    pub ledger: PathBuf,
    /// The community's public key (hex) the certificate must be signed with, obtained
    /// independently (e.g. from the notice board).
    #[arg(long)]
    pub key: Option<String>,
}

/// `yishi serve`: configuration from `config/default.toml`, `--config`, `YISHI_*`, then flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file overriding the defaults (only the keys it names).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (overrides `server.listen`).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory (overrides `store.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Seed, once, a demo community with its road-repair vote open, and print the logins.
    #[arg(long)]
    pub demo: bool,
}

/// `yishi tally`: a paper vote counted exactly like an online one.
#[derive(Debug, Args)]
pub struct TallyArgs {
    /// The roll CSV: columns `voter`, `unit`, optional `name`, `phone`, `tags`; every other
    /// column is a weight (e.g. `area`).
    #[arg(long)]
    pub roll: PathBuf,
    /// The ballots CSV: `voter,choice` (yes / no / abstain), or for an election `voter,approve`
    /// with the approved candidate ids separated by `;`.
    #[arg(long)]
    pub ballots: PathBuf,
    /// A preset name (e.g. `cn-278-major`) or a rule JSON file.
    #[arg(long)]
    pub rule: String,
    /// An extra condition every level must also meet, e.g.
    /// "approval headcount of roll more_than 1/2". May repeat.
    #[arg(long)]
    pub also: Vec<String>,
    /// Count only the voters carrying one of these roll tags (e.g. a building). May repeat.
    #[arg(long)]
    pub scope: Vec<String>,
    /// Print one JSON object instead of the plain-language report.
    #[arg(long)]
    pub json: bool,
    /// Count an election instead of a motion.
    #[arg(long, requires_all = ["candidates", "seats"])]
    pub election: bool,
    /// The candidates CSV for an election: `id,name`.
    #[arg(long)]
    pub candidates: Option<PathBuf>,
    /// Seats to fill.
    #[arg(long)]
    pub seats: Option<usize>,
    /// Alternates to rank after the elected.
    #[arg(long, default_value_t = 0)]
    pub alternates: usize,
    /// A recorded tie-break: candidate ids in the order a decision or drawn lot put them,
    /// separated by `;`.
    #[arg(long)]
    pub tie_break: Option<String>,
}

/// Bad input: the message goes to stderr and the exit code is 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl<E: std::fmt::Display> From<E> for InputError {
    fn from(e: E) -> Self {
        InputError(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match serve(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("yishi serve: {message}");
                ExitCode::FAILURE
            }
        },
        Command::Admin(AdminCommand::CreateAdmin {
            login,
            config,
            data_dir,
        }) => {
            let result = load_config(config.as_deref(), None, data_dir)
                .and_then(|config| crate::admin::create_admin_from_stdin(&config, &login));
            match result {
                Ok(()) => {
                    println!("platform admin `{login}` created");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("yishi admin create-admin: {message}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Backup(args) => {
            let result =
                load_config(args.config.as_deref(), None, args.data_dir).and_then(|config| {
                    crate::backup::backup(&config, &args.to, args.server.as_deref(), args.force)
                });
            report("backup", result)
        }
        Command::Restore(args) => {
            let result = load_config(args.config.as_deref(), None, args.data_dir)
                .and_then(|config| crate::backup::restore(&config, &args.file, args.force));
            report("restore", result)
        }
        Command::Verify(args) => match verify(&args) {
            Ok(fingerprint) => {
                println!("VALID");
                eprintln!(
                    "signed by community key {fingerprint}: compare it with the key your community published"
                );
                ExitCode::SUCCESS
            }
            Err(message) => {
                println!("INVALID: {message}");
                ExitCode::from(1)
            }
        },
        Command::Tally(args) => match tally(&args) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(InputError(message)) => {
                eprintln!("yishi tally: {message}");
                ExitCode::from(2)
            }
        },
    }
}

/// Prints what an operator command did (exit 0), or why it did nothing (exit 2).
fn report(command: &str, result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("yishi {command}: {message}");
            ExitCode::from(2)
        }
    }
}

/// Loads the configuration for a server command: defaults, file, environment, flags.
pub fn load_config(
    file: Option<&Path>,
    listen: Option<std::net::SocketAddr>,
    data_dir: Option<PathBuf>,
) -> Result<crate::config::Config, String> {
    let mut config =
        crate::config::Config::load(file, std::env::vars()).map_err(|e| e.to_string())?;
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    if let Some(dir) = data_dir {
        config.store.data_dir = dir;
    }
    Ok(config)
}

fn init_logging(config: &crate::config::Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let config = load_config(args.config.as_deref(), args.listen, args.data_dir)?;
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listen = config.server.listen;
        let data_dir = config.store.data_dir.clone();
        let state = crate::http::AppState::start(config).map_err(|e| match e.fault() {
            Some(crate::store::Fault::ReadOnly) => format!(
                "the data directory {} is not writable and holds no database yet: make it writable or choose another with --data-dir",
                data_dir.display()
            ),
            Some(crate::store::Fault::Full) => format!(
                "the disk holding {} is full: free some space and start again",
                data_dir.display()
            ),
            _ => format!("cannot open the database in {}: {e}", data_dir.display()),
        })?;
        if state.store.is_read_only() {
            eprintln!(
                "yishi serve: the data directory {} is read-only: serving reads only; votes, sign-ins and every other change are answered 503 `read_only` until it is writable and Yishi is restarted",
                data_dir.display()
            );
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        if args.demo {
            let logins = crate::demo::seed(&state).await.map_err(|e| e.to_string())?;
            println!("{}", crate::demo::banner(&address, logins));
        }
        println!("Yishi is serving on http://{address}/ (Ctrl-C to stop)");
        crate::http::run(listener, state, shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read {}: {e}", path.display())))
}

/// Runs `yishi verify`; the error is the first failure in words.
pub fn verify(args: &VerifyArgs) -> Result<String, String> {
    use crate::domain::certificate::{Certificate, verify};
    use crate::domain::ledger::Entry;
    let text = std::fs::read_to_string(&args.certificate)
        .map_err(|e| format!("cannot read {}: {e}", args.certificate.display()))?;
    let certificate: Certificate = serde_json::from_str(&text)
        .map_err(|e| format!("certificate: not a readable certificate ({e})"))?;
    let lines = std::fs::read_to_string(&args.ledger)
        .map_err(|e| format!("cannot read {}: {e}", args.ledger.display()))?;
    let mut entries = Vec::new();
    for (n, line) in lines.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = serde_json::from_str(line)
            .map_err(|e| format!("ledger line {}: not a readable entry ({e})", n + 1))?;
        entries.push(entry);
    }
    verify(&certificate, &entries, args.key.as_deref()).map_err(|e| e.to_string())?;
    Ok(certificate.key.fingerprint)
}

/// Reads a rule given as a preset name or a JSON file, plus `--also` conditions.
pub fn load_rule(rule: &str, also: &[String]) -> Result<Rule, InputError> {
    let path = Path::new(rule);
    let base = if path.is_file() {
        Rule::from_json(&read(path)?).map_err(|e| InputError(format!("{}: {e}", path.display())))?
    } else {
        Rule::preset(rule)?
    };
    let also = also
        .iter()
        .map(|t| Condition::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(base.with_also(also)?)
}

/// A CSV reading error in plain words, without the reader's own record and byte count.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// A ballots CSV read into `(line, voter key, second field)` rows.
fn ballot_rows(path: &Path, second: &str) -> Result<Vec<(usize, String, String)>, InputError> {
    let text = read(path)?;
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = CsvLines::new(text);
    let name = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| InputError(format!("{name}: line 1: {e}")))?
        .clone();
    let at = |column: &str| {
        header
            .iter()
            .position(|h| h == column)
            .ok_or_else(|| InputError(format!("{name}: the ballots have no `{column}` column")))
    };
    let (voter_at, second_at) = (at("voter")?, at(second)?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            InputError(format!(
                "{name}: line {}: {}",
                lines.line(e.position()),
                csv_problem(&e)
            ))
        })?;
        let line = lines.line(record.position());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        rows.push((line, field(voter_at), field(second_at)));
    }
    Ok(rows)
}

/// Positions of ballot voters in the electorate; unknown, out-of-scope or repeated voters are
/// errors.
fn voter_positions(
    roll: &Roll,
    scope: &[String],
    electorate: &Roll,
    path: &Path,
    rows: &[(usize, String, String)],
) -> Result<Vec<usize>, InputError> {
    let name = path.display();
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    let mut positions = Vec::with_capacity(rows.len());
    for (line, voter, _) in rows {
        let at = electorate.position(voter).ok_or_else(|| {
            InputError(if roll.position(voter).is_some() {
                format!(
                    "{name}: line {line}: voter `{voter}` is on the roll but outside the part being counted (--scope {})",
                    scope.join(", ")
                )
            } else {
                format!("{name}: line {line}: voter `{voter}` is not on the roll")
            })
        })?;
        if let Some(first) = first_line.insert(voter, *line) {
            return Err(InputError(format!(
                "{name}: line {line}: voter `{voter}` already voted on line {first}"
            )));
        }
        positions.push(at);
    }
    Ok(positions)
}

/// Runs `yishi tally` and returns what it prints.
pub fn tally(args: &TallyArgs) -> Result<String, InputError> {
    let roll = Roll::from_csv(&read(&args.roll)?)
        .map_err(|e| InputError(format!("{}: {e}", args.roll.display())))?;
    let electorate = roll.scoped(&args.scope).ok_or_else(|| {
        InputError(format!(
            "no voter on the roll carries any of the tags {}",
            args.scope.join(", ")
        ))
    })?;
    let rule = load_rule(&args.rule, &args.also)?;
    rule.check_against(electorate.columns())?;
    if args.election {
        return tally_election(args, &roll, &electorate, &rule);
    }
    let rows = ballot_rows(&args.ballots, "choice")?;
    let positions = voter_positions(&roll, &args.scope, &electorate, &args.ballots, &rows)?;
    let mut ballots = Vec::with_capacity(rows.len());
    for ((line, _, choice), at) in rows.iter().zip(positions) {
        let choice = Choice::parse(choice).ok_or_else(|| {
            InputError(format!(
                "{}: line {line}: unknown choice `{choice}` (write yes, no or abstain)",
                args.ballots.display()
            ))
        })?;
        ballots.push((at, choice));
    }
    let tally = Tally::count(&electorate, ballots);
    let evaluation = evaluate(&rule, electorate.columns(), &tally);
    Ok(if args.json {
        let mut json = report::motion_json(electorate.columns(), &tally, &evaluation).to_string();
        json.push('\n');
        json
    } else {
        report::motion_text(electorate.columns(), &tally, &evaluation)
    })
}

fn tally_election(
    args: &TallyArgs,
    roll: &Roll,
    electorate: &Roll,
    rule: &Rule,
) -> Result<String, InputError> {
    let candidates_path = args.candidates.as_deref().expect("clap requires it");
    let seats = args.seats.expect("clap requires it");
    let text = read(candidates_path)?;
    let mut lines = CsvLines::new(&text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let cname = candidates_path.display();
    let header = reader
        .headers()
        .map_err(|e| InputError(format!("{cname}: line 1: {e}")))?
        .clone();
    let id_at = header
        .iter()
        .position(|h| h == "id")
        .ok_or_else(|| InputError(format!("{cname}: the candidates have no `id` column")))?;
    let name_at = header.iter().position(|h| h == "name");
    let mut candidates = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            InputError(format!(
                "{cname}: line {}: {}",
                lines.line(e.position()),
                csv_problem(&e)
            ))
        })?;
        candidates.push(Candidate {
            id: record.get(id_at).unwrap_or("").to_owned(),
            name: name_at.and_then(|i| record.get(i)).unwrap_or("").to_owned(),
        });
    }
    let election = Election::new(candidates, seats, args.alternates)
        .map_err(|e| InputError(format!("{cname}: {e}")))?;

    let rows = ballot_rows(&args.ballots, "approve")?;
    let positions = voter_positions(roll, &args.scope, electorate, &args.ballots, &rows)?;
    let mut ballots = Vec::with_capacity(rows.len());
    let mut over_voted = Vec::new();
    for ((line, voter, approve), at) in rows.iter().zip(positions) {
        let ids: Vec<&str> = approve
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let ballot = match election.ballot(&ids) {
            Ok(ballot) => ballot,
            Err(crate::domain::election::ElectionError::OverVoted { approved, .. }) => {
                over_voted.push(format!(
                    "line {line}: voter `{voter}` marked {approved} candidates for {seats} seats; the ballot is invalid and counts as taking part only"
                ));
                ElectionBallot::Invalid
            }
            Err(e) => {
                return Err(InputError(format!(
                    "{}: line {line}: {e}",
                    args.ballots.display()
                )));
            }
        };
        ballots.push((at, ballot));
    }
    let tie_break = match &args.tie_break {
        None => Vec::new(),
        Some(order) => order
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| {
                election
                    .position(id)
                    .ok_or_else(|| InputError(format!("--tie-break: unknown candidate `{id}`")))
            })
            .collect::<Result<_, _>>()?,
    };
    let result = count_election(
        &election,
        rule,
        electorate,
        ballots.iter().map(|(at, b)| (*at, b)),
        &tie_break,
    );
    Ok(if args.json {
        let mut json = report::election_json(&election, electorate.columns(), &result);
        json["invalid_ballots"] = serde_json::json!(over_voted);
        format!("{json}\n")
    } else {
        let mut text = report::election_text(&election, electorate.columns(), &result);
        for line in over_voted {
            text.push_str(&format!("Invalid ballot: {line}\n"));
        }
        text
    })
}
