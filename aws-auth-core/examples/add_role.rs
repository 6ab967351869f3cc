//! Add a role to a manifest held in a string, keeping every other byte.
//!
//! `cargo run -p aws-auth-core --example add_role`

use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, Op};

const MANIFEST: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    # worker nodes: do not touch
    - rolearn: arn:aws:iam::111122223333:role/Nodes
      username: system:node:{{EC2PrivateDNSName}}
      groups:
        - system:bootstrappers
        - system:nodes
";

fn main() -> Result<(), aws_auth_core::Error> {
    let doc = Document::parse_manifest(MANIFEST)?;
    let add = Op::add_role(
        "arn:aws:iam::111122223333:role/Developers",
        "dev:{{SessionName}}",
        ["developers"],
    );
    let edited = doc.edit(&[add], &Guards::new())?;
    // The diff of the data strings, then the new manifest: the comment and
    // the node role are as they were, the new entry copies their style.
    print!("{}", edited.diff());
    print!("{}", edited.into_manifest()?);
    Ok(())
}
