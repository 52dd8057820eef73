//! Goal: `faultline check` behaves as documented end to end: one line per file, the
//! explanation of a violation, exit codes 0/1/3/2, one-line errors naming file and line, no
//! output files after an error, and format guessing. Method: run the built binary on history
//! files written to a temporary directory (and on the shared corpus when it is there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const OK_JSONL: &str = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":1}
{"process":1,"type":"invoke","f":"read","value":null,"time":2}
{"process":0,"type":"ok","f":"write","value":1,"time":3}
{"process":1,"type":"ok","f":"read","value":1,"time":4}
"#;

const STALE_EDN: &str = "; a read that misses a completed write\n\
{:process 0, :type :invoke, :f :write, :value 1}\n\
{:process 0, :type :ok, :f :write, :value 1}\n\
{:process 1, :type :invoke, :f :read, :value nil}\n\
{:process 1, :type :ok, :f :read, :value 0}\n";

#[test]
fn ok_and_violation_lines_and_exit_codes() {
    let dir = scratch("verdicts");
    let ok = write(&dir, "ok.jsonl", OK_JSONL);
    let bad = write(&dir, "stale.edn", STALE_EDN);
    let out = faultline(&["check", "--model", "register", &ok]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = stdout(&out);
    assert!(line.starts_with(&format!("{ok}: ok (2 ops, nil-read absent, ")), "{line}");
    assert!(line.trim_end().ends_with(" ms)"), "{line}");

    let out = faultline(&["check", "--model", "register", &ok, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("{bad}: violation (2 ops, nil-read any, ")), "{text}");
    assert!(text.contains("operation #1 (process 1: read -> 0)"), "the explanation follows:\n{text}");
    assert!(text.contains("longest linearizable prefix: 1 operation(s)"), "{text}");
}

#[test]
fn init_sets_the_initial_value() {
    let dir = scratch("init");
    let file = write(
        &dir,
        "h.edn",
        "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 5}\n",
    );
    assert_eq!(faultline(&["check", "--model", "register", &file]).status.code(), Some(1));
    assert_eq!(faultline(&["check", "--model", "register", "--init", "5", &file]).status.code(), Some(0));
    let bad = faultline(&["check", "--model", "register", "--init", "[5", &file]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("bad --init"), "{}", stderr(&bad));
}

#[test]
fn a_deadline_gives_unknown_and_exit_3() {
    let dir = scratch("timeout");
    let ok = write(&dir, "ok.jsonl", OK_JSONL);
    let out = faultline(&["check", "--model", "register", "--timeout", "0", &ok]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains(": unknown (2 ops, "), "{}", stdout(&out));
    assert!(stdout(&out).contains("deadline"), "{}", stdout(&out));
    let bad = write(&dir, "stale.edn", STALE_EDN);
    let both = faultline(&["check", "--model", "register", "--timeout", "0", &ok, &bad]);
    assert_eq!(both.status.code(), Some(3), "a deadline hides the violation too");
}

#[test]
fn errors_name_file_and_line_and_write_nothing() {
    let dir = scratch("errors");
    let ok = write(&dir, "ok.jsonl", OK_JSONL);
    let malformed = write(&dir, "bad.jsonl", &format!("{OK_JSONL}{{\"process\":2,\"type\":\"done\"}}\n"));
    let html = dir.join("pages");
    let out = faultline(&["check", "--model", "register", "--html", html.to_str().unwrap(), &ok, &malformed]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "", "no partial results");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{malformed}:5: ")), "{err}");
    assert!(!html.exists(), "no output files after an error");

    let ill_formed = write(
        &dir,
        "double.edn",
        "{:process 0, :type :invoke, :f :read}\n\n{:process 0, :type :invoke, :f :read}\n",
    );
    let err = stderr(&faultline(&["check", "--model", "register", &ill_formed]));
    assert!(err.contains(&format!("{ill_formed}:3: ")) && err.contains("invoked again"), "{err}");

    let wrong_shape = write(&dir, "cas.edn", "{:process 0, :type :invoke, :f :cas, :value 3}\n");
    let err = stderr(&faultline(&["check", "--model", "cas-register", &wrong_shape]));
    assert!(err.contains(&format!("{wrong_shape}:1: ")) && err.contains("[from to]"), "{err}");

    let missing = faultline(&["check", "--model", "register", "/no/such/file"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/no/such/file: cannot read"));
}

#[test]
fn bad_arguments_and_unknown_models_exit_2() {
    assert_eq!(faultline(&["check", "somefile"]).status.code(), Some(2), "--model is required");
    assert_eq!(faultline(&["check", "--model", "register"]).status.code(), Some(2), "a file is required");
    let unknown = faultline(&["check", "--model", "paxos", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown model `paxos`"));
    assert_eq!(faultline(&["check", "--model", "register", "--format", "xml", "x"]).status.code(), Some(2));
}

#[test]
fn html_pages_are_written_for_every_file() {
    let dir = scratch("html");
    let ok = write(&dir, "ok.jsonl", OK_JSONL);
    let bad = write(&dir, "stale.edn", STALE_EDN);
    let html = dir.join("pages");
    let out = faultline(&["check", "--model", "register", "--html", html.to_str().unwrap(), &ok, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let page = std::fs::read_to_string(html.join("stale.edn.html")).unwrap();
    assert!(page.contains(r#""failing":true"#) && !page.contains("<svg"), "drawn by the page's script");
    let ok_page = std::fs::read_to_string(html.join("ok.jsonl.html")).unwrap();
    assert!(ok_page.contains(r#""points":[{"#), "a passing history shows its linearization");
}

/// A Jepsen-style history from the checkers' fixtures (`checkers/tests/histories/jepsen`).
fn fixture(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkers/tests/histories/jepsen");
    dir.join(name).display().to_string()
}

/// `faultline check` with `args`, then `file`.
fn check(args: &[&str], file: &str) -> Output {
    let mut argv = vec!["check"];
    argv.extend_from_slice(args);
    argv.push(file);
    faultline(&argv)
}

/// A write of 1, then a read of nil: stale when nil is a value, fine when it is unknown.
const NIL_AFTER_WRITE_JSONL: &str = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":1}
{"process":0,"type":"ok","f":"write","value":1,"time":2}
{"process":1,"type":"invoke","f":"read","value":null,"time":3}
{"process":1,"type":"ok","f":"read","value":null,"time":4}
"#;

#[test]
fn nil_reads_mean_what_knossos_means_in_edn_unless_told() {
    let edn = fixture("cas-register-nil-reads.edn");
    for init in [&[][..], &["--init", "0"][..]] {
        let args = |extra: &[&'static str]| [&["--model", "cas-register"][..], init, extra].concat();
        let knossos = check(&args(&[]), &edn);
        assert_eq!(knossos.status.code(), Some(0), "{init:?}: {}", stdout(&knossos));
        assert!(stdout(&knossos).contains(": ok (5 ops, nil-read any, "), "{}", stdout(&knossos));
        let absent = check(&args(&["--nil-read", "absent"]), &edn);
        assert_eq!(absent.status.code(), Some(1), "{init:?}");
        let text = stdout(&absent);
        assert!(
            text.contains(": violation (5 ops, nil-read absent, ") && text.contains("read -> nil"),
            "{text}"
        );
    }
    let dir = scratch("nil-read");
    let jsonl = write(&dir, "nil.jsonl", NIL_AFTER_WRITE_JSONL);
    assert_eq!(check(&["--model", "register"], &jsonl).status.code(), Some(1), "faultline's meaning");
    assert_eq!(check(&["--model", "register", "--nil-read", "any"], &jsonl).status.code(), Some(0));
}

#[test]
fn mutex_and_multi_register_check_edn_and_json_lines_with_explanations_and_timelines() {
    let dir = scratch("knossos-models");
    let pages = dir.join("pages");
    let html = pages.to_str().unwrap();
    let cases = [
        ("mutex", "mutex.edn", 0, ": ok (6 ops, "),
        ("mutex", "mutex.jsonl", 0, ": ok (3 ops, "),
        ("mutex", "mutex-double-grant.edn", 1, "process 1: acquire"),
        ("mutex", "mutex-release-free.jsonl", 1, "process 1: release"),
        ("multi-register", "multi-register-torn.jsonl", 1, r#"txn [read "x" 1] [read "y" 0]"#),
    ];
    for (model, name, code, words) in cases {
        let out = check(&["--model", model, "--html", html], &fixture(name));
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(code), "{name}: {text}{}", stderr(&out));
        assert!(text.contains(words), "{name}: {text}");
        let page = std::fs::read_to_string(pages.join(format!("{name}.html"))).unwrap();
        assert_eq!(page.contains(r#""failing":true"#), code == 1, "{name}: the failing operation is marked");
    }
    let knossos = check(&["--model", "multi-register", "--init", "0"], &fixture("multi-register.edn"));
    assert_eq!(knossos.status.code(), Some(0), "{}", stdout(&knossos));
    assert!(stdout(&knossos).contains(": ok (5 ops, nil-read any, "), "{}", stdout(&knossos));
}

#[test]
fn independent_keys_are_split_and_the_failing_key_named() {
    let file = fixture("independent-cas-register.edn");
    let out = check(&["--model", "cas-register"], &file);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(": violation (6 ops, 2 independent keys, nil-read any, "), "{text}");
    assert!(text.contains("not linearizable: key 2 (3 operations"), "{text}");
    let single = check(&["--model", "cas-register", "--independent", "no"], &file);
    assert!(stdout(&single).contains(": violation (6 ops, nil-read any, "), "{}", stdout(&single));
}

#[test]
fn convention_mistakes_exit_2() {
    let dir = scratch("conventions");
    let ok = write(&dir, "ok.jsonl", OK_JSONL);
    let cases: [(&[&str], &str); 6] = [
        (&["--model", "register", "--nil-read", "maybe"], "expected any or absent"),
        (&["--model", "mutex", "--nil-read", "any"], "model mutex has no nil reads"),
        (&["--model", "key-value", "--independent", "yes"], "keys of its own"),
        (&["--model", "register", "--independent", "sometimes"], "expected auto, yes or no"),
        (&["--model", "list-append", "--nil-read", "any"], "--nil-read does not apply"),
        (
            &["--model", "register", "--independent", "yes"],
            "ok.jsonl:1: operation #0 (write 1): expected an independent",
        ),
    ];
    for (args, message) in cases {
        let out = check(args, &ok);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

/// The shared corpus above the crate, or `None` after saying loudly that `test` skipped it.
fn corpus(test: &str) -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("shared/corpus"))
        .find(|d| d.is_dir());
    if found.is_none() {
        // Straight to stderr: the harness hides what a passing test prints with `eprintln!`.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED {test}: no shared/corpus above the crate\n");
    }
    found
}

#[test]
fn the_corpus_gets_its_known_answers_through_the_cli() {
    let Some(corpus) = corpus("the_corpus_gets_its_known_answers_through_the_cli") else { return };
    let etcd = corpus.join("porcupine/test_data/jepsen");
    let file = |n: &str| etcd.join(n).display().to_string();
    let ok = faultline(&["check", "--model", "cas-register", &file("etcd_002.log"), &file("etcd_005.log")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let bad =
        faultline(&["check", "--model", "cas-register", "--format", "porcupine-etcd", &file("etcd_000.log")]);
    assert_eq!(bad.status.code(), Some(1));
    let kv = corpus.join("porcupine/test_data/kv");
    let kv = |n: &str| kv.join(n).display().to_string();
    let out = faultline(&["check", "--model", "key-value", &kv("c50-ok.txt"), &kv("c50-bad.txt")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("c50-ok.txt: ok (1712 ops, ") && text.contains("c50-bad.txt: violation (2024 ops, "),
        "{text}"
    );
}

/// A list-append history whose reader saw an append of a failed transaction (G1a).
const ABORTED_READ_EDN: &str = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n\
{:process 0, :type :fail, :f :txn, :value [[:append :x 1]]}\n\
{:process 1, :type :invoke, :f :txn, :value [[:r :x nil]]}\n\
{:process 1, :type :ok, :f :txn, :value [[:r :x [1]]]}\n";

/// Two appends, then a read that saw both in order: serializable and strict.
const SERIAL_EDN: &str = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:append :y 1]]}\n\
{:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:append :y 1]]}\n\
{:process 1, :type :invoke, :f :txn, :value [[:append :x 2] [:r :y nil]]}\n\
{:process 1, :type :ok, :f :txn, :value [[:append :x 2] [:r :y [1]]]}\n\
{:process 0, :type :invoke, :f :txn, :value [[:r :x nil]]}\n\
{:process 0, :type :ok, :f :txn, :value [[:r :x [1 2]]]}\n";

#[test]
fn list_append_histories_go_to_the_transactional_checker() {
    let dir = scratch("txn");
    let ok = write(&dir, "serial.edn", SERIAL_EDN);
    let bad = write(&dir, "g1a.edn", ABORTED_READ_EDN);
    let out = faultline(&["check", "--model", "list-append", &ok]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with(&format!("{ok}: ok (3 txns, ")), "{}", stdout(&out));

    let out = faultline(&["check", "--model", "list-append", &ok, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("{bad}: violation (2 txns, ")), "{text}");
    assert!(text.contains("G1a") && text.contains("not read-committed"), "the anomaly is explained: {text}");
    // G1a rules out read-committed, not read-uncommitted.
    let weak = faultline(&["check", "--model", "list-append", "--consistency", "read-uncommitted", &bad]);
    assert_eq!(weak.status.code(), Some(0), "{}", stdout(&weak));
}

#[test]
fn transactional_option_mistakes_exit_2() {
    let dir = scratch("txn-errors");
    let ok = write(&dir, "serial.edn", SERIAL_EDN);
    let cases: [(&[&str], &str); 5] = [
        (&["--model", "list-append", "--init", "0"], "--init does not apply"),
        (&["--model", "list-append", "--timeout", "1"], "--timeout"),
        (&["--model", "rw-register", "--html", "out"], "--html does not apply"),
        (&["--model", "register", "--consistency", "serializable"], "--consistency applies"),
        (&["--model", "list-append", "--consistency", "eventual"], "unknown consistency model `eventual`"),
    ];
    for (args, message) in cases {
        let mut argv = vec!["check"];
        argv.extend_from_slice(args);
        argv.push(&ok);
        let out = faultline(&argv);
        assert_eq!(out.status.code(), Some(2), "{argv:?}");
        assert!(stderr(&out).contains(message), "{argv:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{argv:?}: nothing printed on an error");
    }
    assert!(!dir.join("out").exists(), "no output directory after an error");
    let garbled = write(&dir, "garbled.edn", "{:process 0, :type :invoke, :f :txn, :value [[:frob :x 1]]}\n");
    let out = faultline(&["check", "--model", "list-append", &garbled]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("garbled.edn"), "{}", stderr(&out));
}

#[test]
fn the_elle_corpus_gets_its_known_answers_through_the_cli() {
    let Some(corpus) = corpus("the_elle_corpus_gets_its_known_answers_through_the_cli") else { return };
    let corpus = corpus.join("elle/histories");
    let file = |n: &str| corpus.join(n).display().to_string();
    let run = |level: &str, name: &str| {
        faultline(&["check", "--model", "list-append", "--consistency", level, &file(name)])
    };
    // MANIFEST: huge-scc is not strong snapshot isolation; every cycle needs real-time order,
    // so it is serializable.
    let huge = run("strong-snapshot-isolation", "huge-scc.edn");
    assert_eq!(huge.status.code(), Some(1), "{}", stdout(&huge));
    assert!(stdout(&huge).contains("not strong-snapshot-isolation"), "{}", stdout(&huge));
    assert_eq!(run("serializable", "huge-scc.edn").status.code(), Some(0));
    // MANIFEST: si-without-g-single is invalid for repeatable read only (G2-item).
    assert_eq!(run("snapshot-isolation", "si-without-g-single.edn").status.code(), Some(0));
    let rr = run("repeatable-read", "si-without-g-single.edn");
    assert_eq!(rr.status.code(), Some(1), "{}", stdout(&rr));
    assert!(stdout(&rr).contains("G2-item"), "{}", stdout(&rr));
}

const BANK_EDN: &str = "; Jepsen's bank: the second read sees a transfer half done\n\
{:process 0, :type :invoke, :f :read, :value nil}\n\
{:process 0, :type :ok, :f :read, :value {0 10, 1 10}}\n\
{:process 1, :type :invoke, :f :transfer, :value {:from 0, :to 1, :amount 3}}\n\
{:process 1, :type :ok, :f :transfer, :value {:from 0, :to 1, :amount 3}}\n\
{:process 0, :type :invoke, :f :read, :value nil}\n\
{:process 0, :type :ok, :f :read, :value {0 7, 1 10}}\n";

const BANK_JSONL: &str = r#"{"process":0,"type":"invoke","f":"read","value":null,"time":1}
{"process":0,"type":"ok","f":"read","value":{"0":10,"1":10},"time":2}
{"process":1,"type":"invoke","f":"transfer","value":{"from":0,"to":1,"amount":3},"time":3}
{"process":1,"type":"ok","f":"transfer","value":{"from":0,"to":1,"amount":3},"time":4}
{"process":0,"type":"invoke","f":"read","value":null,"time":5}
{"process":0,"type":"ok","f":"read","value":{"0":7,"1":13},"time":6}
"#;

#[test]
fn bank_histories_name_the_first_bad_read_and_refuse_other_options() {
    let dir = scratch("bank");
    let ok = write(&dir, "bank.jsonl", BANK_JSONL);
    let bad = write(&dir, "bank.edn", BANK_EDN);
    let out = faultline(&["check", "--model", "bank", &ok]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("{ok}: ok (2 reads, ")), "{}", stdout(&out));
    let out = faultline(&["check", "--model", "bank", &ok, &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("{bad}: violation (2 reads, ")), "{text}");
    assert!(text.contains("wrong-total: 1 reads"), "{text}");
    let out = faultline(&["check", "--model", "bank", "--init", "0", &ok]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--init does not apply to the bank model"), "{}", stderr(&out));
    let broken = write(&dir, "broken.jsonl", "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"\n");
    assert_eq!(faultline(&["check", "--model", "bank", &broken]).status.code(), Some(2));
}
