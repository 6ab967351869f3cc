//! The heart of a sync operator: make the mappings one owner manages exactly
//! a desired set (from IAM groups, a custom resource, a file), touching no
//! other entry, and do nothing when nothing changed.
//!
//! `cargo run -p aws-auth-core --example sync_operator`

use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op, SyncSpec};

const MANIFEST: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    # nodes, written by EKS: not ours
    - rolearn: arn:aws:iam::111122223333:role/Nodes
      username: system:node:{{EC2PrivateDNSName}}
      groups: [system:bootstrappers, system:nodes]
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/leaver
      username: leaver
      groups: [view]
      syncedBy: iam-groups
";

fn main() -> Result<(), aws_auth_core::Error> {
    // What the operator computed this round: the leaver is gone, two members.
    let want = SyncSpec::new("iam-groups")
        .user(MappingSpec::new(
            "arn:aws:iam::111122223333:user/alice",
            "alice",
            ["view"],
        ))
        .user(MappingSpec::new(
            "arn:aws:iam::111122223333:user/bob",
            "bob",
            ["view", "dev"],
        ))
        .prune(true);
    let doc = Document::parse_manifest(MANIFEST)?;
    let edited = doc.edit(&[Op::Sync(want.clone())], &Guards::new())?;
    for change in &edited.changes {
        println!("{change}");
    }
    print!("{}", edited.diff());
    // The next round finds nothing to do: no write at all.
    let next = edited.document.edit(&[Op::Sync(want)], &Guards::new())?;
    assert!(next.is_noop());
    println!("second round: nothing to write");
    Ok(())
}
