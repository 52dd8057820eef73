//! `faultline systems`: the built-in systems and their planted bugs.

use crate::registry::SYSTEMS;

#[derive(clap::Args, Debug)]
pub struct SystemsArgs {}

pub fn run(_args: SystemsArgs) -> i32 {
    for s in SYSTEMS {
        println!("{:<10} {}", s.name, s.description);
        let bugs = (s.bugs)();
        if bugs.is_empty() {
            println!("{:<10} no planted bugs", "");
            continue;
        }
        println!("{:<10} planted bugs (--bug NAME):", "");
        let width = bugs.iter().map(|b| b.name.len()).max().unwrap_or(0);
        for bug in bugs {
            println!("{:<12} {:<width$}  {}", "", bug.name, bug.description);
        }
    }
    super::EXIT_OK
}
