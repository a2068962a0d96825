//! Fuzzes the certificate and ledger verifier (`certificate::verify`, `ledger::verify_chain`).
//! Input: a certificate as one JSON line, then its ledger as JSON Lines (the published files,
//! as `yishi verify` reads them). Nothing panics; and a result that verifies under the genuine
//! seed's key is exactly the genuine one (the reference): no change to a signed field or to the
//! ledger gets through.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use yishi::domain::certificate::{Certificate, verify};
use yishi::domain::ledger::{Entry, verify_chain};

/// The genuine published result the seed corpus starts from (the demo's road repair).
const GENUINE: &str = include_str!("../seeds/certificate/demo-road-repair");

fn read(text: &str) -> Option<(Certificate, Vec<Entry>)> {
    let mut lines = text.lines();
    let certificate: Certificate = serde_json::from_str(lines.next()?).ok()?;
    let mut entries = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        entries.push(serde_json::from_str(line).ok()?);
    }
    Some((certificate, entries))
}

/// Hex is read in either case; the reference compares in lower case.
fn normalised(mut certificate: Certificate) -> Certificate {
    certificate.signature.make_ascii_lowercase();
    certificate.key.public_key.make_ascii_lowercase();
    certificate
}

static REFERENCE: LazyLock<(Certificate, Vec<Entry>)> = LazyLock::new(|| {
    let (certificate, entries) = read(GENUINE).expect("the genuine seed reads");
    verify(&certificate, &entries, None).expect("the genuine seed verifies");
    (normalised(certificate), entries)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((certificate, entries)) = read(text) else {
        return;
    };
    let (genuine, genuine_entries) = &*REFERENCE;
    let chain = verify_chain(
        &certificate.proposal.id,
        &certificate.ledger.opening_hash,
        &entries,
    );
    let verified = verify(&certificate, &entries, Some(&genuine.key.public_key));
    if verified.is_ok() {
        // What verifies is a chain from the opening record to the certified head ...
        let head = chain.expect("a verified ledger is a chain");
        assert_eq!(head, certificate.ledger.head);
        assert_eq!(entries.len() as u64, certificate.ledger.length);
        // ... and, under the genuine key, nothing but the genuine result.
        assert_eq!(&normalised(certificate), genuine);
        assert_eq!(&entries, genuine_entries);
    }
});
