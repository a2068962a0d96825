//! The command line: `yishi tally` counts a paper vote from CSV files with the counting core;
//! the other subcommands run and administer the server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::domain::election::{Candidate, Election, ElectionBallot, count_election};
use crate::domain::report;
use crate::domain::roll::Roll;
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
    /// Count a vote from a roll and ballots given as CSV, under any rule.
    Tally(TallyArgs),
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

fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read {}: {e}", path.display())))
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

/// A ballots CSV read into `(line, voter key, second field)` rows.
fn ballot_rows(path: &Path, second: &str) -> Result<Vec<(usize, String, String)>, InputError> {
    let text = read(path)?;
    let name = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
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
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = record.map_err(|e| InputError(format!("{name}: line {line}: {e}")))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("").to_owned();
        rows.push((line, field(voter_at), field(second_at)));
    }
    Ok(rows)
}

/// Positions of ballot voters in the electorate; unknown or repeated voters are errors.
fn voter_positions(
    electorate: &Roll,
    path: &Path,
    rows: &[(usize, String, String)],
) -> Result<Vec<usize>, InputError> {
    let name = path.display();
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    let mut positions = Vec::with_capacity(rows.len());
    for (line, voter, _) in rows {
        let at = electorate.position(voter).ok_or_else(|| {
            InputError(format!(
                "{name}: line {line}: voter `{voter}` is not on the roll{}",
                "" // scope is applied before this check
            ))
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
        return tally_election(args, &electorate, &rule);
    }
    let rows = ballot_rows(&args.ballots, "choice")?;
    let positions = voter_positions(&electorate, &args.ballots, &rows)?;
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

fn tally_election(args: &TallyArgs, electorate: &Roll, rule: &Rule) -> Result<String, InputError> {
    let candidates_path = args.candidates.as_deref().expect("clap requires it");
    let seats = args.seats.expect("clap requires it");
    let text = read(candidates_path)?;
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
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| InputError(format!("{cname}: line {}: {e}", n + 2)))?;
        candidates.push(Candidate {
            id: record.get(id_at).unwrap_or("").to_owned(),
            name: name_at.and_then(|i| record.get(i)).unwrap_or("").to_owned(),
        });
    }
    let election = Election::new(candidates, seats, args.alternates)
        .map_err(|e| InputError(format!("{cname}: {e}")))?;

    let rows = ballot_rows(&args.ballots, "approve")?;
    let positions = voter_positions(electorate, &args.ballots, &rows)?;
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
