//! The performance floor of issue #6: the time to merely tokenize a CSV file with `csv::ByteRecord`
//! (no UTF-8 check, no field parsing, one reused record). Whatever `termin` does beyond this is ours to
//! justify; `docs/PERFORMANCE.md` reports `termin` as a ratio to it.

use std::io;
use std::path::Path;

/// Records (data rows, header excluded) and fields of one tokenized file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokenized {
    pub records: u64,
    pub fields: u64,
    pub bytes: u64,
}

/// Tokenizes `path` with a reused [`csv::ByteRecord`], `,` delimiter.
pub fn tokenize(path: &Path) -> io::Result<Tokenized> {
    let file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(file);
    let mut rec = csv::ByteRecord::new();
    let mut t = Tokenized {
        bytes,
        ..Tokenized::default()
    };
    while r.read_byte_record(&mut rec).map_err(io::Error::other)? {
        t.records += 1;
        t.fields += rec.len() as u64;
    }
    Ok(t)
}

/// Tokenizes the four files a `termin` run reads from a generated folder (`dsf/personer.csv`,
/// `dsf/flyttinger.csv`, `kommuner.csv`, `satser.csv`; missing ones are skipped).
pub fn tokenize_dir(dir: &Path) -> io::Result<Vec<(String, Tokenized)>> {
    let mut out = Vec::new();
    for name in [
        "dsf/personer.csv",
        "dsf/flyttinger.csv",
        "kommuner.csv",
        "satser.csv",
    ] {
        let p = dir.join(name);
        if p.exists() {
            out.push((name.to_string(), tokenize(&p)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_records_and_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.csv");
        // Header + 2 records of 3 fields; a quoted field with a comma stays one field.
        std::fs::write(&p, "a,b,c\n1,\"x,y\",3\n4,5,6\n").unwrap();
        let t = tokenize(&p).unwrap();
        assert_eq!((t.records, t.fields), (2, 6));
    }
}
