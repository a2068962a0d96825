//! The roll: the register of voters, each with a headcount of one and exact named weights
//! summed over their units. Parsed from CSV or built from rows; every error names its place.

use std::collections::{BTreeSet, HashMap};

use super::quantity::{Decimal, MAX_SCALE, QuantityError};

/// Most voters one roll may hold.
pub const MAX_VOTERS: usize = 2_000_000;
/// Most rows (units) one roll may hold.
pub const MAX_UNITS: usize = 4_000_000;
/// Most weight columns (`area`, `share`, …).
pub const MAX_WEIGHTS: usize = 8;
/// Longest voter key, unit id, tag or weight name, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// Longest name or phone, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Most tags on one row.
pub const MAX_TAGS: usize = 16;

const TEXT_COLUMNS: [&str; 5] = ["voter", "unit", "name", "phone", "tags"];

/// A named weight column and the decimal places its values are held at (the most any row used).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WeightColumn {
    pub name: String,
    pub scale: u8,
}

/// One voting right: an owner (of one or several units) or a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    /// The roll key, unique within the roll.
    pub key: String,
    pub name: String,
    pub phone: String,
    pub tags: BTreeSet<String>,
    pub units: Vec<String>,
    /// One value per roll weight column, in that column's scale, summed over the units.
    pub weights: Vec<u128>,
}

/// The register of voters. Invariants: keys unique, units unique, every voter has one value per
/// weight column, at least one voter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roll {
    columns: Vec<WeightColumn>,
    voters: Vec<Voter>,
    index: HashMap<String, usize>,
}

/// One row as read from a CSV line or a JSON entry: one unit of one voter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollRow {
    /// Where the row came from, for errors: the CSV line number or the JSON entry number.
    pub line: usize,
    pub voter: String,
    pub unit: String,
    pub name: String,
    pub phone: String,
    pub tags: Vec<String>,
    /// `(column, value as written)`, in the roll's column order.
    pub weights: Vec<(String, String)>,
}

/// What is wrong with a roll, with the line and column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollError {
    #[error("the roll has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("line 1: column `{0}` appears twice")]
    DuplicateColumn(String),
    #[error("line 1: a column has an empty name")]
    EmptyColumnName,
    #[error(
        "line 1: weight column name `{0}` must be letters, digits, `_` or `-` and at most {MAX_KEY_CHARS} characters"
    )]
    BadColumnName(String),
    #[error("the roll has {0} weight columns; at most {MAX_WEIGHTS} are allowed")]
    TooManyWeights(usize),
    #[error("line {line}, column `{column}`: empty; every row needs a value here")]
    Empty { line: usize, column: String },
    #[error("line {line}, column `{column}`: {reason}")]
    BadNumber {
        line: usize,
        column: String,
        reason: QuantityError,
    },
    #[error("line {line}, column `{column}`: longer than {limit} characters")]
    TooLong {
        line: usize,
        column: String,
        limit: usize,
    },
    #[error("line {line}, column `tags`: more than {MAX_TAGS} tags")]
    TooManyTags { line: usize },
    #[error("line {line}, column `unit`: unit `{unit}` already appears on line {first_line}")]
    DuplicateUnit {
        line: usize,
        unit: String,
        first_line: usize,
    },
    #[error("line {line}: the row has {found} fields where the header has {expected}")]
    RaggedRow {
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("the roll has no voters")]
    NoVoters,
    #[error("the roll has more than {MAX_UNITS} rows or {MAX_VOTERS} voters")]
    TooLarge,
    #[error("weight `{column}` summed over all voters is too large")]
    Overflow { column: String },
}

impl Roll {
    /// Parses a roll CSV: header with `voter` and `unit`, optional `name`, `phone`, `tags`
    /// (`;`-separated), every other column a weight.
    pub fn from_csv(text: &str) -> Result<Self, RollError> {
        let text = text.trim_start_matches('\u{feff}');
        let mut lines = CsvLines::new(text);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| RollError::Csv {
                line: 1,
                message: e.to_string(),
            })?
            .iter()
            .map(str::to_owned)
            .collect();
        let position = |name: &str| header.iter().position(|h| h == name);
        let voter_at = position("voter").ok_or(RollError::MissingColumn("voter"))?;
        let unit_at = position("unit").ok_or(RollError::MissingColumn("unit"))?;
        let (name_at, phone_at, tags_at) = (position("name"), position("phone"), position("tags"));
        let mut weight_columns = Vec::new();
        for (at, name) in header.iter().enumerate() {
            if header[..at].contains(name) {
                return Err(RollError::DuplicateColumn(name.clone()));
            }
            if name.is_empty() {
                return Err(RollError::EmptyColumnName);
            }
            if !TEXT_COLUMNS.contains(&name.as_str()) {
                weight_columns.push((at, name.clone()));
            }
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| RollError::Csv {
                line: lines.line(e.position()),
                message: e.to_string(),
            })?;
            let line = lines.line(record.position());
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() != header.len() {
                return Err(RollError::RaggedRow {
                    line,
                    found: record.len(),
                    expected: header.len(),
                });
            }
            if rows.len() >= MAX_UNITS {
                return Err(RollError::TooLarge);
            }
            let field = |at: Option<usize>| at.map_or("", |i| &record[i]).to_owned();
            rows.push(RollRow {
                line,
                voter: field(Some(voter_at)),
                unit: field(Some(unit_at)),
                name: field(name_at),
                phone: field(phone_at),
                tags: field(tags_at)
                    .split(';')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
                weights: weight_columns
                    .iter()
                    .map(|(at, name)| (name.clone(), record[*at].to_owned()))
                    .collect(),
            });
        }
        let names: Vec<String> = weight_columns.into_iter().map(|(_, n)| n).collect();
        Self::from_rows(&names, rows)
    }

    /// Builds a roll from rows whose `weights` follow `weight_names`. Rows with the same voter key
    /// are one voter: headcount 1, weights summed, tags united, first non-empty name and phone.
    pub fn from_rows(weight_names: &[String], rows: Vec<RollRow>) -> Result<Self, RollError> {
        if weight_names.len() > MAX_WEIGHTS {
            return Err(RollError::TooManyWeights(weight_names.len()));
        }
        for name in weight_names {
            let valid = !name.is_empty()
                && name.chars().count() <= MAX_KEY_CHARS
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if !valid || TEXT_COLUMNS.contains(&name.as_str()) || name == "headcount" {
                return Err(RollError::BadColumnName(name.clone()));
            }
        }
        if rows.len() > MAX_UNITS {
            return Err(RollError::TooLarge);
        }
        // First pass: parse every number, learn each column's scale.
        let mut parsed: Vec<Vec<Decimal>> = Vec::with_capacity(rows.len());
        let mut scales = vec![0u8; weight_names.len()];
        for row in &rows {
            check_row_text(row)?;
            let mut values = Vec::with_capacity(weight_names.len());
            for (i, name) in weight_names.iter().enumerate() {
                let written = row
                    .weights
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, v)| v.as_str());
                if written.trim().is_empty() {
                    return Err(RollError::Empty {
                        line: row.line,
                        column: name.clone(),
                    });
                }
                let value = Decimal::parse(written).map_err(|reason| RollError::BadNumber {
                    line: row.line,
                    column: name.clone(),
                    reason,
                })?;
                scales[i] = scales[i].max(value.scale);
                values.push(value);
            }
            parsed.push(values);
        }
        debug_assert!(scales.iter().all(|s| *s <= MAX_SCALE));
        let columns: Vec<WeightColumn> = weight_names
            .iter()
            .zip(&scales)
            .map(|(name, scale)| WeightColumn {
                name: name.clone(),
                scale: *scale,
            })
            .collect();

        let mut voters: Vec<Voter> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut unit_lines: HashMap<String, usize> = HashMap::new();
        for (row, values) in rows.into_iter().zip(parsed) {
            if let Some(first_line) = unit_lines.insert(row.unit.clone(), row.line) {
                return Err(RollError::DuplicateUnit {
                    line: row.line,
                    unit: row.unit,
                    first_line,
                });
            }
            let at = match index.get(&row.voter) {
                Some(at) => *at,
                None => {
                    if voters.len() >= MAX_VOTERS {
                        return Err(RollError::TooLarge);
                    }
                    index.insert(row.voter.clone(), voters.len());
                    voters.push(Voter {
                        key: row.voter.clone(),
                        name: String::new(),
                        phone: String::new(),
                        tags: BTreeSet::new(),
                        units: Vec::new(),
                        weights: vec![0; columns.len()],
                    });
                    voters.len() - 1
                }
            };
            let voter = &mut voters[at];
            if voter.name.is_empty() {
                voter.name = row.name;
            }
            if voter.phone.is_empty() {
                voter.phone = row.phone;
            }
            voter.tags.extend(row.tags);
            voter.units.push(row.unit);
            for (i, (value, column)) in values.into_iter().zip(&columns).enumerate() {
                let units = value
                    .rescale(column.scale)
                    .expect("column scale is the largest of its values")
                    .units;
                voter.weights[i] += units;
            }
        }
        if voters.is_empty() {
            return Err(RollError::NoVoters);
        }
        let roll = Self {
            columns,
            voters,
            index,
        };
        for (i, column) in roll.columns.iter().enumerate() {
            // Totals must stay far inside u128 so that `total × q` cannot overflow.
            let total: u128 = roll.voters.iter().map(|v| v.weights[i]).sum();
            if total > u128::MAX >> 32 {
                return Err(RollError::Overflow {
                    column: column.name.clone(),
                });
            }
        }
        Ok(roll)
    }

    /// The part of the roll whose voters carry at least one of `tags`; the whole roll when
    /// `tags` is empty. `None` when no voter matches.
    pub fn scoped(&self, tags: &[String]) -> Option<Self> {
        if tags.is_empty() {
            return Some(self.clone());
        }
        let voters: Vec<Voter> = self
            .voters
            .iter()
            .filter(|v| tags.iter().any(|t| v.tags.contains(t)))
            .cloned()
            .collect();
        if voters.is_empty() {
            return None;
        }
        Some(Self::from_voters(self.columns.clone(), voters))
    }

    /// Assembles a roll from voters already checked (e.g. read back from storage).
    pub fn from_voters(columns: Vec<WeightColumn>, voters: Vec<Voter>) -> Self {
        let index = voters
            .iter()
            .enumerate()
            .map(|(i, v)| (v.key.clone(), i))
            .collect();
        Self {
            columns,
            voters,
            index,
        }
    }

    pub fn columns(&self) -> &[WeightColumn] {
        &self.columns
    }

    pub fn voters(&self) -> &[Voter] {
        &self.voters
    }

    pub fn len(&self) -> usize {
        self.voters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.voters.is_empty()
    }

    /// Position of a voter key in the roll.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Position of a weight column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The weight column `i` as a decimal at its scale.
    pub fn decimal(&self, column: usize, units: u128) -> Decimal {
        Decimal::new(units, self.columns[column].scale)
    }

    /// Writes the roll back as CSV, one row per voter with units joined by `;` in `unit`.
    /// Reading it back gives a roll with the same voters, totals and tags.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<&str> = TEXT_COLUMNS.to_vec();
        header.extend(self.columns.iter().map(|c| c.name.as_str()));
        writer.write_record(&header).expect("write to memory");
        for voter in &self.voters {
            for (u, unit) in voter.units.iter().enumerate() {
                let mut record = vec![
                    voter.key.clone(),
                    unit.clone(),
                    voter.name.clone(),
                    voter.phone.clone(),
                    voter.tags.iter().cloned().collect::<Vec<_>>().join(";"),
                ];
                // The summed weight goes on the first unit, zeros on the rest.
                for (i, column) in self.columns.iter().enumerate() {
                    let units = if u == 0 { voter.weights[i] } else { 0 };
                    record.push(Decimal::new(units, column.scale).to_string());
                }
                writer.write_record(&record).expect("write to memory");
            }
        }
        String::from_utf8(writer.into_inner().expect("flush to memory")).expect("CSV of UTF-8")
    }
}

/// The line each record of a CSV text starts on, for error messages. `csv::Position::line`
/// miscounts after blank lines and with CRLF endings (rust-csv #208), and its byte offset may
/// point at the line break before the record; so the lines are counted here, once through.
pub(crate) struct CsvLines<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl<'a> CsvLines<'a> {
    /// `text` must be exactly what the CSV reader reads.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record at `position`. Records must be asked for in order.
    pub(crate) fn line(&mut self, position: Option<&csv::Position>) -> usize {
        let Some(position) = position else {
            return self.line;
        };
        let mut start =
            usize::try_from(position.byte()).map_or(self.text.len(), |b| b.min(self.text.len()));
        while self
            .text
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        for i in self.at..start {
            let lone_cr = self.text[i] == b'\r' && self.text.get(i + 1) != Some(&b'\n');
            if self.text[i] == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.at = self.at.max(start);
        self.line
    }
}

fn check_row_text(row: &RollRow) -> Result<(), RollError> {
    let too_long = |column: &str, limit: usize| RollError::TooLong {
        line: row.line,
        column: column.to_owned(),
        limit,
    };
    if row.voter.trim().is_empty() {
        return Err(RollError::Empty {
            line: row.line,
            column: "voter".into(),
        });
    }
    if row.unit.trim().is_empty() {
        return Err(RollError::Empty {
            line: row.line,
            column: "unit".into(),
        });
    }
    if row.voter.chars().count() > MAX_KEY_CHARS {
        return Err(too_long("voter", MAX_KEY_CHARS));
    }
    if row.unit.chars().count() > MAX_KEY_CHARS {
        return Err(too_long("unit", MAX_KEY_CHARS));
    }
    if row.name.chars().count() > MAX_TEXT_CHARS {
        return Err(too_long("name", MAX_TEXT_CHARS));
    }
    if row.phone.chars().count() > MAX_TEXT_CHARS {
        return Err(too_long("phone", MAX_TEXT_CHARS));
    }
    if row.tags.len() > MAX_TAGS {
        return Err(RollError::TooManyTags { line: row.line });
    }
    if row.tags.iter().any(|t| t.chars().count() > MAX_KEY_CHARS) {
        return Err(too_long("tags", MAX_KEY_CHARS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_of_three_units_counts_once_with_areas_added() {
        let roll = Roll::from_csv(
            "voter,unit,name,area,tags\n\
             wang,1-101,Wang,89.57,b1\n\
             wang,1-102,Wang,90.1,b1\n\
             wang,2-301,,120,b2\n\
             li,1-201,Li,75.00,b1\n",
        )
        .unwrap();
        assert_eq!(roll.len(), 2);
        assert_eq!(roll.columns()[0].scale, 2);
        let wang = &roll.voters()[0];
        // 89.57 + 90.10 + 120.00 = 299.67
        assert_eq!(wang.weights, vec![29967]);
        assert_eq!(wang.units.len(), 3);
        assert_eq!(wang.tags.len(), 2);
        let back = Roll::from_csv(&roll.to_csv()).unwrap();
        assert_eq!(back.voters()[0].weights, vec![29967]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = |csv: &str| Roll::from_csv(csv).unwrap_err().to_string();
        assert_eq!(err("unit,area\n1,2\n"), "the roll has no `voter` column");
        assert_eq!(err("voter,area\n1,2\n"), "the roll has no `unit` column");
        assert_eq!(
            err("voter,unit,area\na,1,2\n,2,3\n"),
            "line 3, column `voter`: empty; every row needs a value here"
        );
        assert_eq!(
            err("voter,unit,area\na,1,-2\n"),
            "line 2, column `area`: \"-2\" is negative; weights cannot be negative"
        );
        assert_eq!(
            err("voter,unit,area\na,1,2x\n"),
            "line 2, column `area`: \"2x\" is not a number (write digits with at most one decimal point, e.g. 89.57)"
        );
        assert_eq!(
            err("voter,unit,area\na,1,2\nb,1,3\n"),
            "line 3, column `unit`: unit `1` already appears on line 2"
        );
        assert_eq!(
            err("voter,unit,area\na,1,1.1234567\n"),
            "line 2, column `area`: \"1.1234567\" has more than 6 decimal places"
        );
        assert_eq!(err("voter,unit,area\n"), "the roll has no voters");
    }
}
