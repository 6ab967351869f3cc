//! Plan the move of a map to EKS access entries without any AWS call: what
//! would be created, and what cannot move.
//!
//! `cargo run -p aws-auth-core --example plan_offline`

use aws_auth_core::Document;
use aws_auth_core::entries::{ClusterState, PlanOptions, Resolutions};
use aws_auth_core::migrate::plan;

fn main() {
    let doc = Document::from_data([
        (
            "mapRoles",
            "\
- rolearn: arn:aws:iam::111122223333:role/Nodes
  username: system:node:{{EC2PrivateDNSName}}
  groups: [system:bootstrappers, system:nodes]
- rolearn: arn:aws:iam::111122223333:role/Admin
  username: admin:{{SessionName}}
  groups: [system:masters]
",
        ),
        ("mapAccounts", "- \"444455556666\"\n"),
    ]);
    // An empty cluster: every mapping that can move becomes a creation.
    let cluster = ClusterState::empty("prod", None);
    // Offline: role ARNs are taken as written, their IAM paths unverified.
    let plan = plan(&doc, &cluster, &Resolutions::offline(), &PlanOptions::new());
    for action in &plan.actions {
        println!("{}", serde_json::to_string(action).unwrap());
    }
    for blocked in &plan.blocked {
        println!("cannot move: {}", blocked.reason);
    }
}
