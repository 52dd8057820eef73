//! `faultline systems`: the built-in systems and their planted bugs.

use crate::registry::SYSTEMS;

#[derive(clap::Args, Debug)]
pub struct SystemsArgs {}

pub fn run(_args: SystemsArgs) -> i32 {
    for s in SYSTEMS {
        println!("{:<10} {}", s.name, s.description);
        println!("{:<10} planted bugs: {}", "", s.bugs.join(", "));
    }
    super::EXIT_OK
}
