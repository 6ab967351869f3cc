use aws_auth_core::Document;
#[path = "../benches/bigmap.rs"]
mod bigmap;
fn main() {
    let (text, _) = bigmap::manifest(1 << 20);
    for _ in 0..200 {
        std::hint::black_box(Document::parse_manifest(text.as_str()).unwrap());
    }
}
