//! Make a cluster's access entries what a file says, planned without any AWS
//! call: what would be created, changed and pruned, what stays because EKS
//! made it, and whether the guards would let it through.
//!
//! `cargo run -p aws-auth-core --example access_sync`

use aws_auth_core::access::{EntryGuards, SyncOptions, read_entries, sync, tripped};
use aws_auth_core::entries::{
    AccessScope, ClusterState, EntryType, ExistingEntry, PolicyAssociation, Resolution, Resolutions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wanted = read_entries(
        "\
entries:
  - principalArn: arn:aws:iam::111122223333:role/Admin
    username: admin
    accessPolicies: [{policy: cluster-admin}]
  - principalArn: arn:aws:iam::111122223333:user/alice
    accessPolicies: [{policy: view, namespaces: [dev]}]
",
    )?;
    // What the cluster has (from `Eks::state` in a real run): an admin, a
    // managed node group's entry, and someone who left.
    let mut cluster = ClusterState::empty("prod", None);
    let admin = PolicyAssociation::new(
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        AccessScope::cluster(),
    );
    for (arn, kind, username, policies) in [
        (
            "arn:aws:iam::111122223333:role/Admin",
            EntryType::Standard,
            "admin",
            vec![admin],
        ),
        (
            "arn:aws:iam::111122223333:role/Nodes",
            EntryType::Ec2Linux,
            "system:node:{{EC2PrivateDNSName}}",
            vec![],
        ),
        (
            "arn:aws:iam::111122223333:user/leaver",
            EntryType::Standard,
            "leaver",
            vec![],
        ),
    ] {
        let mut entry = ExistingEntry::new(arn, kind).with_username(username);
        entry.policies = policies;
        cluster.entries.insert(arn.into(), entry);
    }
    // IAM's answers (from `Eks::resolve_roles` in a real run).
    let mut iam = Resolutions::default();
    iam.insert(
        "arn:aws:iam::111122223333:role/Admin",
        Resolution::Resolved("arn:aws:iam::111122223333:role/Admin".into()),
    );
    let planned = sync(&wanted, &cluster, &iam, &SyncOptions::new().prune(true));
    for action in &planned.plan.actions {
        println!("{action}");
    }
    for kept in &planned.kept {
        println!("kept {}: {}", kept.principal_arn, kept.reason);
    }
    let guards = EntryGuards::new().caller(Some("arn:aws:iam::111122223333:role/Admin".parse()?));
    let refused = tripped(&cluster.entries, &planned.plan.actions, &guards);
    println!(
        "guards: {}",
        if refused.is_empty() {
            "pass".to_owned()
        } else {
            refused.join("; ")
        }
    );
    Ok(())
}
