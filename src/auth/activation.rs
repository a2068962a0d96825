//! Activation codes: how a resident on the roll joins. An officer prints one code per voter; the
//! resident types it once, with a login and password of their own choosing. Codes are ten
//! characters of Crockford's base 32 (no I, L, O, U; 50 random bits), printed `K7QM-4XPA-9T`;
//! only their SHA-256 is stored, so a copy of the database does not hold usable codes.

use sha2::{Digest, Sha256};

use crate::clock;

/// The symbols a code is written in: digits and capitals without I, L, O and U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code.
pub const CODE_CHARS: usize = 10;

/// A fresh random code, grouped for reading aloud and typing: `K7QM-4XPA-9T`.
pub fn new_code() -> String {
    let bytes = clock::random_bytes::<CODE_CHARS>();
    // 256 is a multiple of 32, so taking five bits of each byte keeps every symbol equally likely.
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect();
    format!(
        "{}-{}-{}",
        symbols[..4].iter().collect::<String>(),
        symbols[4..8].iter().collect::<String>(),
        symbols[8..].iter().collect::<String>()
    )
}

/// The code as typed, reduced to its ten symbols: case, spaces and dashes do not matter, and
/// the look-alikes O, I and L read as 0, 1 and 1. `None` when it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let mut code = String::with_capacity(CODE_CHARS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{3000}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if code.len() == CODE_CHARS {
            return None;
        }
        code.push(c);
    }
    (code.len() == CODE_CHARS).then_some(code)
}

/// The stored key of a normalised code.
pub fn code_key(normalized: &str) -> String {
    hex::encode(Sha256::digest(normalized.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_read_back_however_they_are_typed() {
        let code = new_code();
        assert_eq!(code.len(), 12);
        assert_eq!(code.as_bytes()[4], b'-');
        assert_eq!(code.as_bytes()[9], b'-');
        let plain = normalize(&code).unwrap();
        assert_eq!(plain, code.replace('-', ""));
        assert_eq!(normalize(&code.to_lowercase()), Some(plain.clone()));
        assert_eq!(normalize("k7qm 4xpa 9t"), Some("K7QM4XPA9T".into()));
        assert_eq!(normalize("O1IL-0000-00"), Some("0111000000".into()));
        assert_eq!(normalize("K7QM-4XPA-9"), None);
        assert_eq!(normalize("K7QM-4XPA-9TT"), None);
        assert_eq!(normalize("K7QM-4XPA-9U"), None);
        assert_eq!(normalize("K7QM-4XPA-9码"), None);
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn every_symbol_is_used() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(normalize(&new_code()).unwrap().chars());
        }
        assert_eq!(seen.len(), 32);
    }
}
