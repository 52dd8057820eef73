//! Goal: the fuzz targets cannot rot. Method: run every target's body
//! (`faultline_checkers::fuzzing`) over every file of its checked-in corpus
//! (`fuzz/corpus/<target>/`), exactly as `cargo fuzz run` would start; a corpus that is missing
//! or empty fails the test.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files.into_iter().map(|f| (f.clone(), std::fs::read(f).unwrap())).collect()
}

fn run(target: &str, body: fn(&[u8])) {
    for (file, data) in corpus(target) {
        let result = std::panic::catch_unwind(|| body(&data));
        assert!(result.is_ok(), "fuzz target {target} fails on {}", file.display());
    }
}

#[test]
fn the_edn_target_passes_its_corpus() {
    run("edn", faultline_checkers::fuzzing::edn);
}

#[test]
fn the_jsonl_target_passes_its_corpus() {
    run("jsonl", faultline_checkers::fuzzing::jsonl);
}

#[test]
fn the_lin_target_passes_its_corpus() {
    run("lin", faultline_checkers::fuzzing::lin);
}

#[test]
fn the_corpus_reaches_the_interesting_paths() {
    // The seeds are only useful if they parse; check the ones meant to.
    let edn = corpus("edn");
    let parsed = edn
        .iter()
        .filter(|(_, d)| faultline_checkers::format::parse(std::str::from_utf8(d).unwrap(), None).is_ok());
    assert!(parsed.count() >= 4, "most EDN seeds are histories");
}
