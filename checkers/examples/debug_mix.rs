use faultline_checkers::fuzzing::{history_from_bytes_sized, Kind};
use faultline_checkers::lin::{check, Options};
fn main() {
    for k in 0..Kind::ALL.len() {
        let (mut ok, mut bad, mut ops) = (0, 0, 0);
        for seed in 0..300u64 {
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut data = vec![k as u8 | if seed % 2 == 1 { 0x80 } else { 0 }];
            for _ in 0..150 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; data.push(x as u8); }
            let (m, h) = history_from_bytes_sized(&data, 30, 6);
            ops += h.operations().unwrap().len();
            let t = std::time::Instant::now(); let r = check(&m, &h, &Options { threads: 1, plain_search: std::env::var_os("PLAIN").is_some(), ..Options::default() }).unwrap(); let e = t.elapsed().as_millis(); if e > 100 { println!("slow {e} ms {:?} {seed}", Kind::ALL[k]); }
            if r.verdict.is_ok() { ok += 1 } else { bad += 1 }
        }
        println!("{:?}: ok {ok} bad {bad} avg ops {}", Kind::ALL[k], ops / 300);
    }
}
#[allow(dead_code)]
fn unused() {}
