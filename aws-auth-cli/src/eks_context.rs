//! The EKS cluster a kubeconfig context points at, for `access` commands
//! given no `--cluster`: as kubectl users expect, the current context.
//!
//! `aws eks update-kubeconfig` and eksctl write what tells it: an exec
//! plugin `aws eks get-token --cluster-name NAME [--region R] [--profile P]`
//! or `aws-iam-authenticator token -i NAME`, and (update-kubeconfig) the
//! cluster's ARN as the context's and cluster entry's name.

use std::path::Path;

use kube::config::{ExecConfig, Kubeconfig};

use crate::connect::{
    exec_arg, exec_profile, kubeconfig_source, read_kubeconfig, selected_context,
};
use crate::exit::{USAGE, fail};
use crate::settings::Kube;

/// An EKS cluster found in a kubeconfig context.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EksCluster {
    /// The cluster's name.
    pub(crate) name: String,
    /// Its region, when the context says it.
    pub(crate) region: Option<String>,
    /// The AWS profile the context's exec plugin logs in with.
    pub(crate) profile: Option<String>,
    /// The role the exec plugin assumes (`--role-arn`): whom the cluster
    /// sees.
    pub(crate) role: Option<String>,
    /// The context.
    pub(crate) context: String,
}

/// The EKS cluster of the kubeconfig context `args` select (`--kubeconfig`,
/// `$KUBECONFIG`, `~/.kube/config`; `--context`, else the current one).
/// A usage error naming the context when it names no EKS cluster.
pub(crate) fn from_kubeconfig(args: &Kube) -> anyhow::Result<EksCluster> {
    let Some(source) = kubeconfig_source(args) else {
        return Err(fail(
            USAGE,
            "give --cluster NAME (no kubeconfig was found to take the EKS cluster from)",
        ));
    };
    let kubeconfig = read_kubeconfig(args, &source)?;
    let context = selected_context(args, &kubeconfig, &source)?;
    find(&kubeconfig, &context).ok_or_else(|| {
        fail(
            USAGE,
            format!(
                "give --cluster NAME: the kubeconfig context {context:?} names no EKS cluster (no `aws eks get-token --cluster-name` or `aws-iam-authenticator token -i` exec plugin, and no EKS cluster ARN as its name)"
            ),
        )
    })
}

/// Every context of the kubeconfig, and the EKS clusters they name (for
/// completion: nothing, without a kubeconfig).
pub(crate) fn names(args: &Kube) -> (Vec<String>, Vec<String>) {
    let Some(source) = kubeconfig_source(args) else {
        return (Vec::new(), Vec::new());
    };
    let Ok(kubeconfig) = read_kubeconfig(args, &source) else {
        return (Vec::new(), Vec::new());
    };
    let contexts: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let mut clusters: Vec<String> = contexts
        .iter()
        .filter_map(|c| find(&kubeconfig, c).map(|e| e.name))
        .collect();
    clusters.sort();
    clusters.dedup();
    (contexts, clusters)
}

/// The EKS cluster `context` of `kubeconfig` points at: its exec plugin's
/// cluster, else the EKS cluster ARN its context or cluster entry is named.
fn find(kubeconfig: &Kubeconfig, context: &str) -> Option<EksCluster> {
    let ctx = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?;
    let exec = ctx.user.as_ref().and_then(|user| {
        kubeconfig
            .auth_infos
            .iter()
            .find(|a| &a.name == user)?
            .auth_info
            .as_ref()?
            .exec
            .as_ref()
    });
    let from_arn = [context, ctx.cluster.as_str()]
        .into_iter()
        .find_map(cluster_arn);
    let from_exec = exec.and_then(|e| Some((e, plugin_cluster(e)?)));
    let profile = exec.and_then(exec_profile);
    let role = exec.and_then(plugin_role);
    match (from_exec, from_arn) {
        (Some((exec, name)), arn) => Some(EksCluster {
            region: exec_arg(exec, "--region")
                .or_else(|| exec_env(exec, "AWS_REGION"))
                .or_else(|| exec_env(exec, "AWS_DEFAULT_REGION"))
                .or_else(|| arn.filter(|(n, _)| *n == name).map(|(_, r)| r)),
            name,
            profile,
            role,
            context: context.to_owned(),
        }),
        (None, Some((name, region))) => Some(EksCluster {
            name,
            region: Some(region),
            profile,
            role,
            context: context.to_owned(),
        }),
        (None, None) => None,
    }
}

/// The cluster an EKS token plugin is run for.
fn plugin_cluster(exec: &ExecConfig) -> Option<String> {
    let command = exec.command.as_deref()?;
    let program = Path::new(command).file_name()?.to_str()?;
    let args = exec.args.as_deref().unwrap_or_default();
    let has = |word: &str| args.iter().any(|a| a == word);
    if program.starts_with("aws-iam-authenticator") && has("token") {
        return exec_arg(exec, "-i").or_else(|| exec_arg(exec, "--cluster-id"));
    }
    if has("get-token") {
        // `aws eks get-token`, or a wrapper passing its arguments on.
        return exec_arg(exec, "--cluster-name");
    }
    None
}

/// The role an EKS token plugin assumes: `aws eks get-token --role-arn R`,
/// `aws-iam-authenticator token -r R`.
fn plugin_role(exec: &ExecConfig) -> Option<String> {
    exec_arg(exec, "--role-arn").or_else(|| {
        let program = Path::new(exec.command.as_deref()?).file_name()?.to_str()?;
        if program.starts_with("aws-iam-authenticator") {
            exec_arg(exec, "-r").or_else(|| exec_arg(exec, "--role"))
        } else {
            None
        }
    })
}

/// A variable of the exec plugin's environment.
fn exec_env(exec: &ExecConfig, name: &str) -> Option<String> {
    exec.env
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|v| v.get("name").map(String::as_str) == Some(name))
        .and_then(|v| v.get("value").cloned())
        .filter(|v| !v.is_empty())
}

/// Name and region of an EKS cluster ARN
/// (`arn:aws:eks:eu-west-1:111122223333:cluster/prod`).
fn cluster_arn(s: &str) -> Option<(String, String)> {
    let mut parts = s.splitn(6, ':');
    let (arn, _partition, service, region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("cluster/")?;
    (arn == "arn" && service == "eks" && !region.is_empty() && !name.is_empty())
        .then(|| (name.to_owned(), region.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(context: &str, cluster: &str, exec: serde_json::Value) -> Kubeconfig {
        let user = if exec.is_null() {
            serde_json::json!({"token": "t"})
        } else {
            serde_json::json!({ "exec": exec })
        };
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": "https://example.com"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": "u"}}],
            "current-context": context,
        }))
        .unwrap()
    }

    fn exec(command: &str, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": args,
            "env": env.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>(),
        })
    }

    fn found(k: &Kubeconfig, ctx: &str) -> Option<(String, Option<String>, Option<String>)> {
        find(k, ctx).map(|c| (c.name, c.region, c.profile))
    }

    const ARN: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";

    #[test]
    fn what_update_kubeconfig_and_eksctl_write_is_read() {
        let s = |v: &str| Some(v.to_owned());
        // aws eks update-kubeconfig.
        let k = kubeconfig(
            ARN,
            ARN,
            exec(
                "aws",
                &[
                    "--region",
                    "eu-west-1",
                    "eks",
                    "get-token",
                    "--cluster-name",
                    "prod",
                    "--output",
                    "json",
                ],
                &[("AWS_PROFILE", "ops")],
            ),
        );
        assert_eq!(
            found(&k, ARN),
            Some(("prod".into(), s("eu-west-1"), s("ops")))
        );
        // eksctl with the aws CLI, the region in the environment.
        let k = kubeconfig(
            "alice@prod.eu-west-1.eksctl.io",
            "prod.eu-west-1.eksctl.io",
            exec(
                "aws",
                &["eks", "get-token", "--cluster-name=prod"],
                &[("AWS_DEFAULT_REGION", "eu-west-1")],
            ),
        );
        assert_eq!(
            found(&k, "alice@prod.eu-west-1.eksctl.io"),
            Some(("prod".into(), s("eu-west-1"), None))
        );
        // A role assumed for the cluster.
        let k = kubeconfig(
            "ctx",
            "c",
            exec(
                "aws",
                &[
                    "eks",
                    "get-token",
                    "--cluster-name",
                    "prod",
                    "--role-arn",
                    "arn:aws:iam::111122223333:role/K8sAdmin",
                ],
                &[],
            ),
        );
        assert_eq!(
            find(&k, "ctx").and_then(|c| c.role).as_deref(),
            Some("arn:aws:iam::111122223333:role/K8sAdmin")
        );
        // eksctl with aws-iam-authenticator.
        let k = kubeconfig(
            "ctx",
            "c",
            exec(
                "/usr/local/bin/aws-iam-authenticator",
                &["token", "-i", "prod"],
                &[],
            ),
        );
        assert_eq!(found(&k, "ctx"), Some(("prod".into(), None, None)));
        let k = kubeconfig(
            "ctx",
            "c",
            exec(
                "aws-iam-authenticator",
                &[
                    "token",
                    "-i",
                    "prod",
                    "-r",
                    "arn:aws:iam::111122223333:role/K8sAdmin",
                ],
                &[],
            ),
        );
        assert_eq!(
            find(&k, "ctx").and_then(|c| c.role).as_deref(),
            Some("arn:aws:iam::111122223333:role/K8sAdmin")
        );
        // Only the ARN (a token user): name and region from it.
        let k = kubeconfig(ARN, ARN, serde_json::Value::Null);
        assert_eq!(found(&k, ARN), Some(("prod".into(), s("eu-west-1"), None)));
        // The exec plugin wins over a context named after another cluster;
        // that ARN's region is not taken for it.
        let other = "arn:aws:eks:us-east-1:111122223333:cluster/old";
        let k = kubeconfig(
            other,
            other,
            exec("aws", &["eks", "get-token", "--cluster-name", "prod"], &[]),
        );
        assert_eq!(found(&k, other), Some(("prod".into(), None, None)));
    }

    #[test]
    fn contexts_that_name_no_eks_cluster_are_none() {
        for k in [
            kubeconfig("kind-dev", "kind-dev", serde_json::Value::Null),
            kubeconfig("gke", "gke", exec("gke-gcloud-auth-plugin", &[], &[])),
            // get-token without a name, an authenticator without -i.
            kubeconfig("x", "x", exec("aws", &["eks", "get-token"], &[])),
            kubeconfig("x", "x", exec("aws-iam-authenticator", &["token"], &[])),
            kubeconfig(
                "arn:aws:iam::111122223333:role/x",
                "c",
                serde_json::Value::Null,
            ),
            kubeconfig(
                "arn:aws:eks::111122223333:cluster/x",
                "c",
                serde_json::Value::Null,
            ),
        ] {
            let ctx = k.current_context.clone().unwrap();
            assert_eq!(find(&k, &ctx), None, "{ctx}");
        }
        let k = kubeconfig(ARN, ARN, serde_json::Value::Null);
        assert_eq!(find(&k, "missing"), None);
    }
}
