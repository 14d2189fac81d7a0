//! Safe output of `tilskudd termin` (SPEC §6, issue 7): an existing termin folder is not overwritten
//! without `--force`; a run killed while writing leaves no partial file under a final name, and the next
//! successful run leaves no temporary files; person-level files are readable by the owner only.

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tilskudd")
}

/// A generated extract (`tilskudd generate`, synthetic numbers only) in `dir/g`.
fn generate(dir: &Path, persons: u32) -> PathBuf {
    let g = dir.join("g");
    Command::new(bin())
        .args([
            "generate",
            "--persons",
            &persons.to_string(),
            "--seed",
            "11",
            "--out",
        ])
        .arg(&g)
        .assert()
        .success();
    g
}

/// `termin` with the payment files (example rates allowed explicitly, T-5).
fn termin_pay_cmd(g: &Path, out: &Path) -> std::process::Command {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example/tilskudd.conf");
    let mut c = termin_cmd(g, out);
    c.arg("--allow-unadopted-rates").arg("--config").arg(conf);
    c
}

fn termin_cmd(g: &Path, out: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(bin());
    c.args(["termin", "2024-Q4", "--dsf"])
        .arg(g.join("dsf"))
        .arg("--rates")
        .arg(g.join("satser.csv"))
        .arg("--kommuner")
        .arg(g.join("kommuner.csv"))
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

/// Exit 0 (clean) or 3 (rows rejected / warnings of the generated extract): both completed runs.
fn completed(code: Option<i32>) -> bool {
    matches!(code, Some(0) | Some(3))
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The outputs compared byte for byte (manifest.json names the --out folder in its command line).
const COMPARED: [&str; 4] = ["grunnlag.csv", "kommuner.csv", "utbetalt.csv", "avvik.csv"];
/// With the payment files and the report (all deterministic: `--created` defaults to the basis date).
const ALL: [&str; 7] = [
    "grunnlag.csv",
    "kommuner.csv",
    "utbetalt.csv",
    "avvik.csv",
    "utbetaling.csv",
    "utbetaling.xml",
    "rapport.xlsx",
];

#[test]
fn refuses_existing_termin_folder_unless_force() {
    let tmp = tempfile::tempdir().unwrap();
    let g = generate(tmp.path(), 200);
    let out = tmp.path().join("out");
    assert!(completed(termin_cmd(&g, &out).status().unwrap().code()));
    let before: Vec<Vec<u8>> = COMPARED
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    // Make the folder's content recognisable: a refused run must not touch it.
    fs::write(out.join("grunnlag.csv"), b"kept\n").unwrap();

    let refused = Command::new(bin())
        .args(["termin", "2024-Q4", "--dsf"])
        .arg(g.join("dsf"))
        .arg("--rates")
        .arg(g.join("satser.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("already holds a termin") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(fs::read(out.join("grunnlag.csv")).unwrap(), b"kept\n");

    let mut forced = termin_cmd(&g, &out);
    forced.arg("--force");
    assert!(completed(forced.status().unwrap().code()));
    // The rerun with the same inputs restores exactly the first run's files (T-4: byte-identical).
    for (f, b) in COMPARED.iter().zip(&before) {
        assert_eq!(&fs::read(out.join(f)).unwrap(), b, "{f}");
    }
}

#[cfg(unix)]
#[test]
fn person_level_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let g = generate(tmp.path(), 100);
    let out = tmp.path().join("out");
    // With payment files (the generated rates are examples: allowed explicitly, T-5).
    assert!(completed(termin_pay_cmd(&g, &out).status().unwrap().code()));
    let mode = |f: &str| fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
    for f in ["grunnlag.csv", "utbetalt.csv", "avvik.csv", "rapport.xlsx"] {
        assert_eq!(mode(f), 0o600, "{f}");
    }
    // The bank files name municipalities only: not person-level.
    assert!(out.join("utbetaling.csv").exists() && out.join("utbetaling.xml").exists());
    // No temporary file is left after a successful run.
    assert!(
        files(&out).iter().all(|f| !f.contains(".tmp-")),
        "{:?}",
        files(&out)
    );
}

/// Kills `termin` while it writes, several times at different moments; after each kill every file
/// under a final name is either absent or byte-identical to a complete run's. A final run then
/// succeeds and leaves no temporary file behind.
#[cfg(unix)]
#[test]
fn killed_run_leaves_no_partial_files() {
    let tmp = tempfile::tempdir().unwrap();
    let g = generate(tmp.path(), 20_000);
    let reference = tmp.path().join("reference");
    assert!(completed(
        termin_pay_cmd(&g, &reference).status().unwrap().code()
    ));
    let want: Vec<Vec<u8>> = COMPARED
        .iter()
        .map(|f| fs::read(reference.join(f)).unwrap())
        .collect();

    let out = tmp.path().join("out");
    let mut caught_mid_write = 0;
    for attempt in 0..6 {
        let _ = fs::remove_file(out.join("manifest.json"));
        let mut child = termin_pay_cmd(&g, &out).spawn().unwrap();
        let start = Instant::now();
        // Attempts 0..3: kill as soon as a temporary file appears (mid-write); later ones: after a
        // fixed delay, wherever the run is.
        loop {
            let writing = files(&out).iter().any(|f| f.contains(".tmp-"));
            let waited = start.elapsed();
            if (attempt < 3 && writing)
                || (attempt >= 3 && waited >= Duration::from_millis(150 * attempt as u64))
            {
                caught_mid_write += usize::from(writing);
                break;
            }
            if child.try_wait().unwrap().is_some() || waited > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_micros(300));
        }
        let _ = child.kill(); // SIGKILL: no Drop, no cleanup
        let _ = child.wait();
        for (f, w) in ALL.iter().zip(&want) {
            if let Ok(got) = fs::read(out.join(f)) {
                assert!(
                    &got == w,
                    "attempt {attempt}: {f} is partial ({} of {} bytes)",
                    got.len(),
                    w.len()
                );
            }
        }
        if let Ok(m) = fs::read_to_string(out.join("manifest.json")) {
            assert!(
                serde_json::from_str::<serde_json::Value>(&m).is_ok(),
                "attempt {attempt}: manifest.json is partial"
            );
        }
    }
    assert!(
        caught_mid_write > 0,
        "no attempt caught the run while writing"
    );

    let mut last = termin_pay_cmd(&g, &out);
    last.arg("--force");
    assert!(completed(last.status().unwrap().code()));
    let names = files(&out);
    assert!(
        names.iter().all(|f| !f.contains(".tmp-")),
        "temporary files left: {names:?}"
    );
    for (f, w) in ALL.iter().zip(&want) {
        assert!(&fs::read(out.join(f)).unwrap() == w, "{f}");
    }
}
