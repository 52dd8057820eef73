use faultline_checkers::{format, lin, AnyModel};
use faultline_checkers::explain::html::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let parsed = format::parse(&text, None).unwrap();
    let model = AnyModel::by_name(&args[1], parsed.format.default_init()).unwrap();
    let r = lin::check(&model, &parsed.history, &lin::Options { witness: true, ..Default::default() }).unwrap();
    let notes = Annotations { intervals: vec![Interval { label: "partition n1 | n2 n3".into(), start: 20, end: 40 }], instants: vec![Instant { label: "crash n2".into(), time: 50 }] };
    std::fs::write(&args[3], render(&parsed.history, &r, &notes)).unwrap();
}
