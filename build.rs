//! Embeds the git commit the `faultline` binary is built from (`FAULTLINE_GIT_COMMIT`), so each
//! per-seed record of a sweep names the code that produced it and `faultline merge` can refuse
//! to mix shards built from different code.
//!
//! The commit comes from `FAULTLINE_COMMIT` when it is set (a container build has no `.git`: pass
//! it as a build argument), else from `git rev-parse HEAD`, else it is `unknown`. Nothing here
//! can fail the build: a source tarball without git builds as well as a clone.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FAULTLINE_COMMIT");
    let from_env =
        std::env::var("FAULTLINE_COMMIT").ok().map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let commit = from_env.or_else(git_head).unwrap_or_else(|| "unknown".to_string());
    watch_git();
    println!("cargo:rustc-env=FAULTLINE_GIT_COMMIT={commit}");
}

/// The output of a git command run in the package's directory, if git is there and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn git_head() -> Option<String> {
    git(&["rev-parse", "HEAD"]).filter(|h| h.len() >= 40 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Asks cargo to run this script again when HEAD moves: on a checkout (HEAD), a commit (the
/// branch's ref and HEAD's reflog) or a `git pack-refs`. Only files that exist are named, since
/// cargo reruns a script whose watched file is missing on every build.
fn watch_git() {
    let mut names = vec!["HEAD".to_string(), "logs/HEAD".to_string(), "packed-refs".to_string()];
    names.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in names {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
