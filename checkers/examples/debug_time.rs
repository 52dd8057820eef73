#![allow(clippy::disallowed_methods)]
use faultline_checkers::{format, lin};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = &args[1];
    let mut total = 0.0;
    for path in &args[2..] {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = format::parse(&text, None).unwrap();
        let t = Instant::now();
        let r = lin::check_named(model, parsed.format.default_init(), &parsed.history, &lin::Options { threads: 1, deadline: Some(std::time::Duration::from_secs(20)), ..Default::default() }).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        total += ms;
        if true { println!("{path}: {} {:.2} ms", match r.verdict { faultline_checkers::Verdict::Ok => "ok".into(), v => format!("{v}")}, ms); }
    }
    println!("total {total:.1} ms");
}
