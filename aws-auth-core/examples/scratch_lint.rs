fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        println!("== {path}");
        for d in aws_auth_core::lint::lint_manifest(&text) {
            println!(
                "  {}:{} {} [{}] {}",
                d.position.line, d.position.column, d.severity, d.code, d.message
            );
        }
    }
}
