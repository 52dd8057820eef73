#![allow(clippy::disallowed_methods)]
fn main() {
    let p = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    for _ in 0..15 {
        let t = std::time::Instant::now();
        let forms = faultline_checkers::format::edn::parse_all(&text).unwrap();
        let a = t.elapsed();
        let parsed = faultline_checkers::format::parse(&text, None).unwrap();
        println!("parse_all {:?} ({} forms), full {:?} ({} events)", a, forms.len(), t.elapsed() - a, parsed.history.len());
    }
}
