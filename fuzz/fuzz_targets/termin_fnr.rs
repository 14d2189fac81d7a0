//! `Termin::from_str` and `Fnr::parse` on arbitrary text: no panic, and what parses reads back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tilskudd::domain::ids::Fnr;
use tilskudd::domain::termin::Termin;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = s.parse::<Termin>() {
        assert!((1..=4).contains(&t.quarter));
        assert_eq!(t.to_string().parse::<Termin>(), Ok(t));
        let _ = t.basis_date();
        let _ = t.previous();
    }
    if let Ok(f) = Fnr::parse(s) {
        assert_eq!(f.as_str(), s.trim());
        let _ = f.birth_date();
        assert_eq!(f.masked(), format!("{}*****", &f.as_str()[..6]));
        assert_eq!(Fnr::with_control_digits(&f.as_str()[..9]), Some(f));
    }
});
