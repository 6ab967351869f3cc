//! Issue 21.5 and 21.6: the edit loop over any client, through `MapStore`:
//! an in-memory ConfigMap with a resourceVersion, failures injected.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_auth_core::Document;
use aws_auth_core::edit::{Guards, Op};
use aws_auth_core::store::{Failure, MapStore, Outcome, RetryPolicy, Store, WriteOptions};

#[derive(Debug, thiserror::Error)]
#[error("{0:?}")]
struct Fail(Failure);

/// The map, its version, and failures to answer the next writes with; a
/// change another writer makes right after our next read.
#[derive(Default)]
struct Memory {
    map: Mutex<(u64, BTreeMap<String, String>)>,
    faults: Mutex<Vec<Failure>>,
    meddle: Mutex<Option<(String, String)>>,
    writes: Mutex<Vec<BTreeMap<String, String>>>,
}

impl MapStore for Memory {
    type Object = (u64, Document);
    type Written = u64;
    type Error = Fail;

    fn failure(&self, e: &Fail) -> Failure {
        e.0
    }

    fn document<'a>(&self, o: &'a (u64, Document)) -> &'a Document {
        &o.1
    }

    fn written(&self, o: (u64, Document)) -> u64 {
        o.0
    }

    async fn get(&self) -> Result<Option<(u64, Document)>, Fail> {
        let mut m = self.map.lock().unwrap();
        let read = (m.0, Document::from_data(m.1.clone()));
        if let Some((k, v)) = self.meddle.lock().unwrap().take() {
            m.0 += 1;
            m.1.insert(k, v);
        }
        Ok(Some(read))
    }

    async fn patch(
        &self,
        prior: &(u64, Document),
        data: &BTreeMap<String, String>,
        _: bool,
    ) -> Result<u64, Fail> {
        let fault = {
            let mut f = self.faults.lock().unwrap();
            (!f.is_empty()).then(|| f.remove(0))
        };
        let mut m = self.map.lock().unwrap();
        match fault {
            // Carried out, then the answer lost.
            Some(Failure::Unknown { status }) => {
                m.0 += 1;
                m.1.extend(data.clone());
                return Err(Fail(Failure::Unknown { status }));
            }
            Some(f) => return Err(Fail(f)),
            None => {}
        }
        if m.0 != prior.0 {
            return Err(Fail(Failure::Conflict));
        }
        m.0 += 1;
        m.1.extend(data.clone());
        self.writes.lock().unwrap().push(data.clone());
        Ok(m.0)
    }

    async fn create(&self, _: &BTreeMap<String, String>, _: bool) -> Result<u64, Fail> {
        Err(Fail(Failure::Final))
    }
}

fn store() -> Store<Memory> {
    let memory = Memory::default();
    memory.map.lock().unwrap().1.insert(
        "mapUsers".into(),
        "- userarn: arn:aws:iam::111122223333:user/a\n  username: a\n".into(),
    );
    let mut retry = RetryPolicy::default();
    retry.transient_delay = Duration::from_millis(1);
    retry.base_delay = Duration::from_millis(1);
    Store::new(memory).with_retry(retry)
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn bob() -> Op {
    Op::add_user("arn:aws:iam::111122223333:user/bob", "bob", ["view"])
}

#[test]
fn a_checked_edit_is_written_as_it_is_and_planned_again_after_a_conflict() {
    let s = store();
    let current = run(s.get()).unwrap();
    let doc = &current.as_ref().unwrap().1;
    let edited = doc.edit(&[bob()], &Guards::new()).unwrap();
    let preview = edited.changed_data();
    let outcome = run(s.edit_checked(
        current,
        edited,
        &[bob()],
        &Guards::new(),
        &WriteOptions::new(),
        |_, _| Ok(()),
    ))
    .unwrap();
    assert!(matches!(outcome, Outcome::Written { attempts: 1, .. }));
    assert_eq!(s.inner().writes.lock().unwrap()[0], preview);
    // Another writer between our read and our write: the ops are planned
    // again on its map, and its change survives.
    let s = store();
    *s.inner().meddle.lock().unwrap() = Some(("mapAccounts".into(), "- \"444455556666\"\n".into()));
    let outcome = run(s.edit(
        None,
        &[bob()],
        &Guards::new(),
        &WriteOptions::new(),
        |_, _| Ok(()),
    ))
    .unwrap();
    let Outcome::Written { attempts, .. } = outcome else {
        panic!()
    };
    assert_eq!(attempts, 2);
    let map = s.inner().map.lock().unwrap();
    assert!(map.1["mapUsers"].contains("user/bob"));
    assert!(map.1.contains_key("mapAccounts"));
}

#[test]
fn refusals_are_retried_and_a_lost_answer_is_found_to_have_landed() {
    // Two 503s, then written; nothing is in doubt.
    let s = store();
    s.inner().faults.lock().unwrap().extend([
        Failure::NotDone {
            status: Some(503),
            retry_after: None,
        },
        Failure::NotDone {
            status: Some(503),
            retry_after: None,
        },
    ]);
    let outcome = run(s.edit(
        None,
        &[bob()],
        &Guards::new(),
        &WriteOptions::new(),
        |_, _| Ok(()),
    ))
    .unwrap();
    assert!(matches!(outcome, Outcome::Written { attempts: 1, .. }));
    assert!(!s.write_outcome_unknown());
    // The write carried out and its answer lost: a read finds it landed.
    let s = store();
    s.inner()
        .faults
        .lock()
        .unwrap()
        .push(Failure::Unknown { status: Some(504) });
    let outcome = run(s.edit(
        None,
        &[bob()],
        &Guards::new(),
        &WriteOptions::new(),
        |_, _| Ok(()),
    ))
    .unwrap();
    assert!(matches!(outcome, Outcome::Written { .. }));
    assert!(s.inner().map.lock().unwrap().1["mapUsers"].contains("user/bob"));
    // Refused for good: the client's error, nothing written.
    let s = store();
    s.inner().faults.lock().unwrap().push(Failure::Final);
    assert!(
        run(s.edit(
            None,
            &[bob()],
            &Guards::new(),
            &WriteOptions::new(),
            |_, _| Ok(())
        ))
        .is_err()
    );
    assert!(!s.inner().map.lock().unwrap().1["mapUsers"].contains("user/bob"));
}
