use faultline_checkers::{format, lin, AnyModel};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[2]).unwrap();
    let parsed = format::parse(&text, None).unwrap();
    let model = AnyModel::by_name(&args[1], None).unwrap();
    let r = lin::check(&model, &parsed.history, &lin::Options { threads: 1, witness: true, ..Default::default() }).unwrap();
    println!("{}", r.verdict);
    if let Some(e) = &r.explanation { println!("{e}"); }
    println!("{:?}", r.linearization);
    println!("oracle: {:?}", faultline_checkers::oracle::check(&model, &parsed.history));
}
