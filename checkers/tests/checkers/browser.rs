//! Goal: the HTML timeline works in a real browser, offline. Method: render the page for a
//! planted violation with fault annotations, load it in headless Chromium (`--dump-dom`, no
//! network), and read what the page's own script drew: one lane per process, one bar per
//! operation, the failing operation marked, the linearization points, the fault band and the
//! crash line. Without Chromium the test says so loudly and passes, unless
//! `FAULTLINE_REQUIRE_BROWSER=1`.

use crate::planted::planted;
use crate::support::loud_skip;
use faultline_checkers::explain::html::{render, Annotations, Instant, Interval};
use faultline_checkers::lin::{check_named, Options};
use std::path::PathBuf;
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Loads `page` in headless Chromium and returns the DOM after its scripts ran.
fn dump_dom(browser: &PathBuf, page: &str, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("faultline-browser-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.html");
    std::fs::write(&file, page).unwrap();
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args([
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_timeline_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("FAULTLINE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("FAULTLINE_REQUIRE_BROWSER=1 but no chromium on PATH");
        }
        return loud_skip("the_timeline_renders_in_headless_chromium", "no chromium on PATH");
    };
    let (model, history, _) = planted().into_iter().find(|(m, _, _)| *m == "cas-register").unwrap();
    let report = check_named(model, None, &history, &Options::default()).unwrap();
    let notes = Annotations {
        intervals: vec![Interval { label: "partition n1 | n2 n3".into(), start: 5, end: 25 }],
        instants: vec![Instant { label: "crash n2".into(), time: 35 }],
    };
    let dom = dump_dom(&browser, &render(&history, &report, &notes), "cas");
    assert!(dom.contains(r#"data-rendered="true""#), "the page's script ran:\n{dom}");
    assert_eq!(dom.matches(r#"class="lane""#).count(), 3, "one lane per process");
    assert_eq!(dom.matches(r#"class="op "#).count(), 3, "one bar per operation");
    let failing_bars =
        dom.split("<rect ").skip(1).filter(|r| r.split('>').next().unwrap().contains(" failing\"")).count();
    assert_eq!(failing_bars, 1, "one bar marked failing");
    assert!(dom.contains(r#"class="op ok failing""#), "the failing cas is an ok operation:\n{dom}");
    assert_eq!(dom.matches(r#"class="lin-point""#).count(), 2, "the prefix's linearization points");
    assert!(dom.contains(r#"class="band""#) && dom.contains("partition n1 | n2 n3"), "the fault band");
    assert!(dom.contains(r#"class="instant""#) && dom.contains("crash n2"), "the crash line");
    assert!(dom.contains("3 lanes, 3 operations, 1 failing, 2 linearization points, 1 fault bands"), "{dom}");
}
