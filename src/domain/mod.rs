//! The domain: identifiers, persons, rates, municipalities and the rules of the SPEC as pure functions
//! over plain data. No I/O happens here.

pub mod avvik;
pub mod basis;
pub mod engine;
pub mod ids;
pub mod kommune;
pub mod ledger;
pub mod money;
pub mod person;
pub mod rates;
pub mod rules;
pub mod soknad;
pub mod termin;

/// Folds a header or code word for matching (SPEC §1.1): trimmed, lower case, `æ→ae`, `ø→o`, `å→a`.
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'å' => out.push('a'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds_norwegian_letters() {
        assert_eq!(super::fold_name(" Fødselsdato "), "fodselsdato");
        assert_eq!(super::fold_name("ENSLIG_MINDREÅRIG"), "enslig_mindrearig");
        assert_eq!(super::fold_name("familie_humanitær"), "familie_humanitaer");
    }
}
