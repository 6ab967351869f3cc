//! Ending the processes a deadline gave up on, with all they started.
//!
//! A credential helper is often a shell script that starts the real program
//! (`aws sso login`, a vault client): killing the process we started leaves
//! its children running, and the AWS SDK does not even kill the
//! `credential_process` it starts when its future is dropped. At a
//! deadline, every process below the one given up on goes, deepest first.
//! The process tree is read from `/proc` (Linux); elsewhere only the
//! process itself can be killed.

use std::collections::{BTreeMap, BTreeSet};

use rustix::process::{Pid, Signal, kill_process};

/// Each live process's parent, from `/proc/PID/stat`.
fn parents() -> BTreeMap<i32, i32> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `PID (COMM) STATE PPID ...`; COMM may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            out.insert(pid, ppid);
        }
    }
    out
}

/// `root` and every process below it, deepest first.
fn tree(root: i32, parents: &BTreeMap<i32, i32>) -> Vec<i32> {
    let mut order = vec![root];
    let mut i = 0;
    while i < order.len() {
        let p = order[i];
        order.extend(parents.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    order.reverse();
    order
}

fn kill(pid: i32) {
    if let Some(pid) = Pid::from_raw(pid) {
        // Already gone is fine: it may have ended on its own meanwhile.
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// Kills `pid` and every process below it.
pub(crate) fn kill_tree(pid: u32) {
    let Ok(root) = i32::try_from(pid) else { return };
    let all = parents();
    for p in tree(root, &all) {
        tracing::debug!(pid = p, "killing a process the deadline gave up on");
        kill(p);
    }
}

/// The children this process had at one moment: those started after it are
/// what a library (the AWS SDK) started meanwhile.
#[derive(Debug)]
pub(crate) struct Children(BTreeSet<i32>);

impl Children {
    /// This process's children now.
    pub(crate) fn now() -> Children {
        let me = std::process::id() as i32;
        Children(
            parents()
                .into_iter()
                .filter(|(_, pp)| *pp == me)
                .map(|(c, _)| c)
                .collect(),
        )
    }

    /// Kills every child started since [`Children::now`], with everything
    /// below it.
    pub(crate) fn kill_newer(&self) {
        let me = std::process::id() as i32;
        let all = parents();
        let newer: Vec<i32> = all
            .iter()
            .filter(|(c, pp)| **pp == me && !self.0.contains(c))
            .map(|(c, _)| *c)
            .collect();
        for child in newer {
            for p in tree(child, &all) {
                tracing::debug!(pid = p, "killing a process the deadline gave up on");
                kill(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_goes_deepest_first() {
        let parents = BTreeMap::from([(2, 1), (3, 2), (4, 2), (5, 3), (9, 8)]);
        let order = tree(2, &parents);
        assert_eq!(order.last(), Some(&2));
        assert_eq!(order.first(), Some(&5));
        assert_eq!(order.len(), 4);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_shell_and_what_it_started_are_killed() {
        let before = Children::now();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 600 & wait"])
            .spawn()
            .unwrap();
        // The grandchild appears once the shell has started it.
        let start = std::time::Instant::now();
        let grandchild = loop {
            let all = parents();
            if let Some((g, _)) = all.iter().find(|(_, pp)| **pp == child.id() as i32) {
                break *g;
            }
            assert!(start.elapsed().as_secs() < 10, "sh started nothing");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        before.kill_newer();
        assert!(!child.wait().unwrap().success());
        // The grandchild is gone (or a zombie of init's for a moment).
        let start = std::time::Instant::now();
        while std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
            .is_ok_and(|s| !s.contains(") Z"))
        {
            assert!(start.elapsed().as_secs() < 10, "sleep was left running");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
