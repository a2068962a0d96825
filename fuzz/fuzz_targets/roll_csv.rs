//! Fuzzes the roll CSV parser (`Roll::from_csv`): it never panics, and a roll it accepts
//! renders back to CSV that parses to the same roll, with the voters a naive reading finds.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use yishi::domain::roll::Roll;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(roll) = Roll::from_csv(text) else {
        return;
    };
    // Round trip: render, parse, same roll.
    let rendered = roll.to_csv();
    let again = Roll::from_csv(&rendered)
        .unwrap_or_else(|e| panic!("the rendered roll does not parse: {e}\n{rendered}"));
    assert_eq!(again.columns(), roll.columns(), "{rendered}");
    assert_eq!(again.voters(), roll.voters(), "{rendered}");

    // Reference: a naive reading with the csv crate. One voter per distinct `voter` cell, one
    // unit per non-blank row.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader
        .headers()
        .expect("accepted, so the header reads")
        .clone();
    let at = header
        .iter()
        .position(|h| h == "voter")
        .expect("a voter column");
    let mut keys = BTreeSet::new();
    let mut units = 0;
    for record in reader.records() {
        let record = record.expect("accepted, so every record reads");
        if record.iter().all(str::is_empty) {
            continue;
        }
        keys.insert(record[at].to_owned());
        units += 1;
    }
    let found: BTreeSet<String> = roll.voters().iter().map(|v| v.key.clone()).collect();
    assert_eq!(found, keys);
    assert_eq!(
        roll.voters().iter().map(|v| v.units.len()).sum::<usize>(),
        units
    );
});
