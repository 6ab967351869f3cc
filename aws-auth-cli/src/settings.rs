//! The global options, resolved once per run into plain values: the commands
//! read these, never the parsed arguments, so one run can make a settings
//! value per kubeconfig context and run the same command with each.

use std::path::PathBuf;
use std::time::Duration;

use aws_auth_core::edit::Guards;

use crate::cli::{ClusterArgs, DryRun, Global, Output};
use crate::exit::{INVALID, fail};

/// What the global options say, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// How results are printed.
    pub(crate) output: Output,
    /// `--dry-run`, and where it is carried out.
    pub(crate) dry_run: Option<DryRun>,
    /// `--force`: guards are reported, not obeyed.
    pub(crate) force: bool,
    /// `--yes`: what needs confirming is confirmed.
    pub(crate) yes: bool,
    /// The guards of every map edit: `--protect`ed principals, `--force`.
    pub(crate) guards: Guards,
    /// `--file`: the manifest instead of the cluster.
    pub(crate) file: Option<PathBuf>,
    /// Which cluster and ConfigMap, and how long to wait for them.
    pub(crate) kube: Kube,
}

/// The cluster, the ConfigMap in it, and the time the API work may take.
#[derive(Debug, Clone)]
pub(crate) struct Kube {
    /// `--kubeconfig`.
    pub(crate) kubeconfig: Option<PathBuf>,
    /// `--context`, else the kubeconfig's current one.
    pub(crate) context: Option<String>,
    /// The ConfigMap's namespace.
    pub(crate) namespace: String,
    /// The ConfigMap's name.
    pub(crate) name: String,
    /// How long one request may take.
    pub(crate) request_timeout: Duration,
    /// How long the whole command's API work may take.
    pub(crate) timeout: Duration,
    /// The first wait before a request is tried again.
    pub(crate) retry_delay: Duration,
    /// Create the ConfigMap (or the manifest) when it does not exist.
    pub(crate) create: bool,
}

impl Settings {
    /// Resolves the global options; an ARN to protect that is not one ARN is
    /// an error here, before anything is read.
    pub(crate) fn resolve(global: &Global) -> anyhow::Result<Settings> {
        let protected = global
            .protect
            .iter()
            .map(|a| {
                crate::commands::one_arn(a).map_err(|e| fail(INVALID, format!("--protect: {e}")))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let guards = protected
            .into_iter()
            .fold(Guards::new().forced(global.force), Guards::protect);
        Ok(Settings {
            output: global.output,
            dry_run: global.dry_run,
            force: global.force,
            yes: global.yes,
            guards,
            file: global.file.clone(),
            kube: Kube::from(&global.cluster),
        })
    }

    /// True with `--dry-run` of either kind.
    pub(crate) fn dry_run(&self) -> bool {
        self.dry_run.is_some()
    }
}

impl From<&ClusterArgs> for Kube {
    fn from(a: &ClusterArgs) -> Kube {
        Kube {
            kubeconfig: a.kubeconfig.clone(),
            context: a.context.clone(),
            namespace: a.namespace.clone(),
            name: a.name.clone(),
            request_timeout: a.request_timeout,
            timeout: a.timeout,
            retry_delay: a.retry_delay,
            create: a.create,
        }
    }
}
