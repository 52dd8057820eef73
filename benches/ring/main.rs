//! The consistent-hashing ring (`faultline_services::ring`): how evenly virtual nodes spread
//! the circle, and how many keys a join moves, for 10 to 1000 members with 10 to 1000 virtual
//! nodes each.
//!
//! Run with `cargo bench --bench ring` (`FAULTLINE_RING_KEYS` sets the sampled keys, 100000 by
//! default). For each size it prints the balance (the largest member's share of the circle over
//! the mean share: 1.00 is perfect) and the keys a join of one more member moves, as a share of
//! the keys and as a multiple of the ideal `1 / (members + 1)` (consistent hashing moves only the
//! keys the new member takes, so this is its share of the circle, near 1.00 with enough virtual
//! nodes). It prints figures; it asserts nothing (the ring's properties are tested in
//! `faultline-services`).

use faultline_services::Ring;
use std::time::Instant;

const SIZES: [u32; 3] = [10, 100, 1000];

#[allow(clippy::disallowed_methods)] // wall time is what a benchmark measures
fn main() {
    let keys: usize =
        std::env::var("FAULTLINE_RING_KEYS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let keys: Vec<String> = (0..keys).map(|i| format!("key-{i}")).collect();
    println!(
        "ring: {} sampled keys; balance = max share / mean share; moved = keys moved by one join",
        keys.len()
    );
    println!(
        "{:>8} {:>7} {:>8} {:>9} {:>11} {:>9}",
        "members", "vnodes", "balance", "moved", "moved/ideal", "wall"
    );
    for members in SIZES {
        for vnodes in SIZES {
            let started = Instant::now();
            let ring = Ring::new(0..members, vnodes);
            let shares = ring.shares();
            let max = shares.values().copied().fold(0.0, f64::max);
            let balance = max * f64::from(members);
            let joined = Ring::new(0..=members, vnodes);
            let moved = keys.iter().filter(|k| ring.owner(k) != joined.owner(k)).count();
            let moved_share = moved as f64 / keys.len() as f64;
            let ideal = 1.0 / f64::from(members + 1);
            println!(
                "{members:>8} {vnodes:>7} {balance:>8.2} {:>8.2}% {:>11.2} {:>8.0?}",
                100.0 * moved_share,
                moved_share / ideal,
                started.elapsed()
            );
        }
    }
}
