//! List the mappings the authenticator honours, and ask which one a caller
//! gets.
//!
//! `cargo run -p aws-auth-core --example effective`

use aws_auth_core::Document;
use aws_auth_core::arn::Arn;

fn main() -> Result<(), aws_auth_core::Error> {
    let doc = Document::from_data([(
        "mapRoles",
        "\
- rolearn: arn:aws:iam::111122223333:role/Admin
  username: admin
  groups: [system:masters]
- rolearn: arn:aws:iam::111122223333:role/admin
  username: admin-again
  groups: [view]
- rolearn: arn:aws:iam::111122223333:role/team/Dev
  username: dev
",
    )]);
    let effective = doc.effective();
    for m in effective.mappings() {
        println!("{} {} -> {} {:?}", m.key, m.arn, m.username, m.groups);
    }
    // Roles match without case and the last entry wins: the session gets
    // `admin-again`. The role with an IAM path never matches (STS drops paths).
    let caller: Arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice".parse()?;
    for grant in effective.resolve(&caller).grants() {
        println!("{caller} -> {} {:?}", grant.username, grant.groups);
    }
    Ok(())
}
