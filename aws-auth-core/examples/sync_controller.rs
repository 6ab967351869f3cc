//! A sync controller's rounds over a client of its own: the read, plan,
//! conditional write and retry loop of `store::Store` driven through the
//! `MapStore` trait, here by an in-memory ConfigMap with a resourceVersion
//! (a controller on another Kubernetes client library implements the same
//! three calls). Another writer changes the map during the first round: the
//! write meets a conflict, the sync is planned again on the fresh read, and
//! both changes survive. The owner's node role is guarded: it is held and
//! reported while the departed member is pruned.
//!
//! `cargo run -p aws-auth-core --features store --example sync_controller`

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, MappingSpec, Op, SyncSpec};
use aws_auth_core::guard::GuardPolicy;
use aws_auth_core::store::{Failure, MapStore, Outcome, Store, WriteOptions};

/// The ConfigMap's data and resourceVersion, and a change another writer
/// makes once, right after our first read.
struct Memory {
    map: Mutex<(u64, BTreeMap<String, String>)>,
    meddle: Mutex<Option<(String, String)>>,
}

/// The one error this client has: the version moved.
#[derive(Debug, thiserror::Error)]
#[error("the object was modified (resourceVersion {0} is not the current one)")]
struct Conflict(u64);

impl MapStore for Memory {
    type Object = (u64, Document);
    type Written = u64;
    type Error = Conflict;

    fn failure(&self, _: &Conflict) -> Failure {
        Failure::Conflict
    }

    fn document<'a>(&self, object: &'a (u64, Document)) -> &'a Document {
        &object.1
    }

    fn written(&self, object: (u64, Document)) -> u64 {
        object.0
    }

    async fn get(&self) -> Result<Option<(u64, Document)>, Conflict> {
        let mut map = self.map.lock().expect("not poisoned");
        let read = (map.0, Document::from_data(map.1.clone()));
        if let Some((key, value)) = self.meddle.lock().expect("not poisoned").take() {
            map.0 += 1;
            map.1.insert(key, value);
        }
        Ok(Some(read))
    }

    async fn patch(
        &self,
        prior: &(u64, Document),
        data: &BTreeMap<String, String>,
        _dry_run: bool,
    ) -> Result<u64, Conflict> {
        let mut map = self.map.lock().expect("not poisoned");
        if map.0 != prior.0 {
            return Err(Conflict(prior.0));
        }
        map.0 += 1;
        map.1.extend(data.clone());
        Ok(map.0)
    }

    async fn create(&self, _: &BTreeMap<String, String>, _: bool) -> Result<u64, Conflict> {
        unreachable!("the map exists")
    }
}

fn main() {
    let roles = "- rolearn: arn:aws:iam::111122223333:role/Admin\n  username: admin\n  groups: [system:masters]\n\
                 - rolearn: arn:aws:iam::111122223333:role/Nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n  syncedBy: iam-groups\n";
    let users = "- userarn: arn:aws:iam::111122223333:user/leaver\n  username: leaver\n  groups: [view]\n  syncedBy: iam-groups\n";
    let memory = Memory {
        map: Mutex::new((
            1,
            BTreeMap::from([
                ("mapRoles".to_owned(), roles.to_owned()),
                ("mapUsers".to_owned(), users.to_owned()),
            ]),
        )),
        // Someone maps an account while our first round is planning.
        meddle: Mutex::new(Some((
            "mapAccounts".to_owned(),
            "- \"444455556666\"\n".to_owned(),
        ))),
    };
    let store = Store::new(memory);
    // What the controller computed from IAM this round: two members, and no
    // more node role (the feature that mapped it is off).
    let want = SyncSpec::new("iam-groups")
        .user(MappingSpec::new(
            "arn:aws:iam::111122223333:user/alice",
            "alice",
            ["view"],
        ))
        .user(MappingSpec::new(
            "arn:aws:iam::111122223333:user/bob",
            "bob",
            ["view", "oncall"],
        ))
        .prune(true);
    let guards = Guards::new().policy(GuardPolicy::SkipGuarded);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for round in 1..=2 {
        let outcome = runtime
            .block_on(store.edit(
                None,
                &[Op::Sync(want.clone())],
                &guards,
                &WriteOptions::new(),
                |_, _| Ok(()),
            ))
            .expect("the round");
        match outcome {
            Outcome::Written {
                edited, attempts, ..
            } => {
                println!("round {round}: written in {attempts} attempts");
                for c in &edited.changes {
                    println!("  {:?} {:?} {:?}: {c}", c.effect, c.cause, c.principals);
                }
            }
            Outcome::Unchanged { edited, .. } => {
                println!(
                    "round {round}: nothing to write ({} unchanged or held)",
                    edited.changes.len()
                );
            }
        }
    }
    let (version, data) = &*store.inner().map.lock().expect("not poisoned");
    println!(
        "resourceVersion {version}; the other writer's mapAccounts kept: {:?}",
        data.get("mapAccounts")
    );
}
