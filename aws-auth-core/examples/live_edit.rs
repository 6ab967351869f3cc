//! Add a user to the live aws-auth ConfigMap of the current kubeconfig
//! context: one conditional write, retried on conflicts with other writers,
//! guarded against lockout.
//!
//! `cargo run -p aws-auth-core --features kube --example live_edit -- ARN USERNAME GROUP...`
//! (`--dry-run` as the first argument has the API server validate the write
//! and store nothing).

use aws_auth_core::cluster::{Cluster, Outcome, WriteOptions};
use aws_auth_core::edit::{Guards, Op};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let dry_run = args.first().is_some_and(|a| a == "--dry-run");
    if dry_run {
        args.remove(0);
    }
    let [arn, username, groups @ ..] = args.as_slice() else {
        return Err("usage: live_edit [--dry-run] ARN USERNAME GROUP...".into());
    };
    let client = kube::Client::try_default().await?;
    let cluster = Cluster::new(client, "kube-system", "aws-auth");
    let ops = [Op::add_user(arn, username, groups)];
    let outcome = cluster
        .edit(
            None,
            &ops,
            &Guards::new(),
            &WriteOptions::new().server_dry_run(dry_run),
            // The place to save a backup of the object before each write.
            |_prior, _edited| Ok(()),
        )
        .await
        .map_err(aws_auth_core::Error::from)?;
    match outcome {
        Outcome::Unchanged { .. } => println!("already mapped"),
        Outcome::Written { edited, .. } => print!("{}", edited.diff()),
    }
    Ok(())
}
