//! Shared helpers: finding the corpus of histories with known answers.

use std::path::PathBuf;

/// The corpus folder: `$FAULTLINE_CORPUS`, or the first `shared/corpus` found walking up from
/// this crate. `None` (with the reason) when there is none.
pub fn corpus_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("FAULTLINE_CORPUS") {
        let dir = PathBuf::from(dir);
        return if dir.join("expected.tsv").is_file() {
            Ok(dir)
        } else {
            Err(format!("FAULTLINE_CORPUS={} has no expected.tsv", dir.display()))
        };
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|d| d.join("shared").join("corpus"))
        .find(|d| d.join("expected.tsv").is_file())
        .ok_or_else(|| format!("no shared/corpus above {} and FAULTLINE_CORPUS is not set", here.display()))
}

/// Prints a skip notice that cannot be missed in test output: written to the process's stderr
/// directly, because the test harness captures (and hides, for a passing test) what
/// `eprintln!` prints.
pub fn loud_skip(test: &str, why: &str) {
    use std::io::Write;
    let bar = "!".repeat(72);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n!!! SKIPPED {test}: {why}\n{bar}\n");
}
