//! `aws-auth grant` and `revoke`: a principal's identity and its rights in
//! one step. The library decides what is written (`aws_auth_core::grant`);
//! this file reads the cluster, refuses bad input before any write, writes
//! the bindings before the identity (a login never has its identity before
//! its rights exist; a re-run finishes what a failed run left), and reports.

use std::path::Path;

use aws_auth_core::arn::{Arn, PrincipalKind};
use aws_auth_core::eks::{ClusterInfo, Eks};
use aws_auth_core::entries::AuthenticationMode;
use aws_auth_core::grant::{Found, Grant, GrantPlan, Identity};
use aws_auth_core::rbac::{RoleKind, RoleRef};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde::Serialize;
use serde_json::Value;

use crate::access::{self, Target};
use crate::cli::{AccessCluster, AccessRemoveArgs, GrantArgs, PrincipalArg, RevokeArgs};
use crate::commands::Ops;
use crate::exit::{Exit, INVALID, NOPERM, REFUSED, UNAVAILABLE, USAGE, fail};
use crate::live::Session;
use crate::report::{Part, Report, Text};
use crate::settings::Settings;

pub(crate) fn run_grant(s: &Settings, a: &GrantArgs) -> anyhow::Result<Report> {
    crate::runtime()?.block_on(grant(s, a))
}

pub(crate) fn run_revoke(s: &Settings, a: &RevokeArgs) -> anyhow::Result<Report> {
    crate::runtime()?.block_on(revoke(s, a))
}

/// The ARN, refused unless it is of the kind the command names.
fn principal(kind: PrincipalArg, arn: &str) -> anyhow::Result<Arn> {
    let p: Arn = arn
        .parse()
        .map_err(|e: aws_auth_core::arn::ArnError| fail(INVALID, format!("{arn}: {e}")))?;
    match (kind, p.kind()) {
        (PrincipalArg::User, PrincipalKind::User) | (PrincipalArg::Role, PrincipalKind::Role) => {
            Ok(p)
        }
        (PrincipalArg::User, _) => Err(fail(INVALID, format!("{arn} is not an IAM user ARN"))),
        (PrincipalArg::Role, _) => Err(fail(
            INVALID,
            format!(
                "{arn} is not an IAM role ARN (a session's role is arn:aws:iam::ACCOUNT:role/NAME)"
            ),
        )),
    }
}

/// What the arguments ask for, checked before anything is read.
fn wanted(a: &GrantArgs) -> anyhow::Result<Grant> {
    let role = match (&a.clusterrole, &a.role) {
        (Some(name), None) => RoleRef::new(RoleKind::ClusterRole, name),
        (None, Some(name)) => RoleRef::new(RoleKind::Role, name),
        _ => return Err(fail(USAGE, "give --clusterrole NAME or --role NAME")),
    };
    let mut grant = Grant::new(principal(a.kind, &a.arn)?, role);
    grant.namespaces = a.namespaces.clone();
    grant.group = a.group.clone();
    grant.username = a.username.clone();
    aws_auth_core::grant::plan(&grant, AuthenticationMode::ConfigMap)
        .map_err(|e| fail(INVALID, format!("{e}; nothing was written")))?;
    Ok(grant)
}

/// The EKS side of the cluster, when it could be found.
struct Aws {
    target: Target,
    eks: Eks,
    info: ClusterInfo,
}

/// `--cluster`, else the EKS cluster of the kubeconfig context: named, it
/// must answer; found, a failure leaves the map to answer, said in a note.
async fn find_aws(
    s: &Settings,
    a: &AccessCluster,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<Aws>> {
    let explicit = a.cluster.is_some();
    let why = |e: &anyhow::Error| {
        e.downcast_ref::<Exit>()
            .map_or_else(|| e.to_string(), |x| x.message.clone())
    };
    let (target, found) = match access::target(s, a) {
        Ok(t) => t,
        Err(e) if !explicit => {
            notes.push(format!(
                "aws-auth: no EKS cluster found ({}): the map is used, as on a CONFIG_MAP cluster; give --cluster on a cluster with access entries",
                why(&e)
            ));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    notes.extend(found);
    match access::connect_eks(s, &target).await {
        Ok((eks, info)) => Ok(Some(Aws { target, eks, info })),
        Err(e) if !explicit => {
            notes.push(format!(
                "aws-auth: the EKS cluster {} could not be read ({}): the map is used, as on a CONFIG_MAP cluster",
                target.cluster,
                why(&e)
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// One binding, and what became of it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Written {
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    /// `created`, `unchanged`, `replaced`, `deleted`, `written` (to a
    /// file), or with --dry-run what would be.
    outcome: String,
}

impl Written {
    pub(crate) fn of(object: &Value, outcome: impl Into<String>) -> Written {
        Written {
            kind: object["kind"].as_str().unwrap_or_default().to_owned(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
            name: object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            outcome: outcome.into(),
        }
    }
}

/// `grant` and `revoke`: what was (or would be) done.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Done {
    principal: String,
    /// The mode the grant was decided for (`null`: not read, the map used).
    authentication_mode: Option<AuthenticationMode>,
    /// What the library decided (grant only).
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<GrantPlan>,
    /// The mapping's or the entry's change, as `add` or `access add`
    /// report it (`null`: nothing to change).
    identity: Option<Value>,
    #[serde(skip)]
    identity_text: Option<String>,
    bindings: Vec<Written>,
    /// The binding objects (grant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    objects: Vec<Value>,
    /// What the principal runs to log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<String>,
    dry_run: bool,
}

impl Text for Done {
    fn text(&self) -> String {
        let mut s = String::new();
        match &self.identity_text {
            Some(t) => s.push_str(t),
            None if self.plan.is_some() => {
                s.push_str(&format!(
                    "{}: the identity is there already\n",
                    self.principal
                ));
            }
            None => s.push_str(&format!(
                "{}: no mapping or entry to remove\n",
                self.principal
            )),
        }
        for b in &self.bindings {
            let at = b
                .namespace
                .as_ref()
                .map_or_else(String::new, |ns| format!("{ns}/"));
            s.push_str(&format!("{} {at}{}: {}\n", b.kind, b.name, b.outcome));
        }
        if self.dry_run && !self.objects.is_empty() {
            for o in &self.objects {
                s.push_str("---\n");
                s.push_str(&crate::output::yaml(o));
            }
        }
        if let Some(login) = &self.login {
            s.push_str(&format!("to log in: {login}\n"));
        }
        s
    }
}

/// A result with nothing read of the cluster's mode yet.
pub(crate) fn done(
    principal: &Arn,
    plan: Option<GrantPlan>,
    bindings: Vec<Written>,
    objects: Vec<Value>,
    dry_run: bool,
) -> Done {
    Done {
        principal: principal.to_string(),
        authentication_mode: None,
        plan,
        identity: None,
        identity_text: None,
        bindings,
        objects,
        login: None,
        dry_run,
    }
}

impl Done {
    pub(crate) fn report(mut self, identity: Option<Part>, notes: Vec<String>) -> Report {
        let mut code = crate::exit::OK;
        let mut all = notes;
        if let Some(p) = identity {
            self.identity = Some(p.data);
            self.identity_text = Some(p.text);
            all.extend(p.notes);
            code = p.code;
        }
        let mut report = Report::new(self).with_code(code);
        report.prepend_notes(all);
        report
    }
}

/// What the principal runs to log in: `aws eks update-kubeconfig`, with the
/// role to assume for a role.
fn login_line(aws: &Aws, principal: &Arn) -> String {
    let mut line = format!("aws eks update-kubeconfig --name {}", aws.target.cluster);
    if let Some(region) = aws.eks.region() {
        line.push_str(&format!(" --region {region}"));
    }
    if principal.kind() == PrincipalKind::Role {
        line.push_str(&format!(" --role-arn {principal}"));
    }
    line
}

async fn grant(s: &Settings, a: &GrantArgs) -> anyhow::Result<Report> {
    if s.kube.namespace != crate::cli::DEFAULT_NAMESPACE {
        // `aws-auth -n dev grant ...`: the ConfigMap's namespace; taken
        // silently, a grant meant for one namespace would be cluster-wide.
        return Err(fail(
            USAGE,
            format!(
                "--namespace {} before `grant` names the ConfigMap's namespace; to grant in it, put `--namespace {}` after the command",
                s.kube.namespace, s.kube.namespace
            ),
        ));
    }
    let grant = wanted(a)?;
    if let Some(path) = &s.file {
        return crate::grant_file::grant(s, a, &grant, path);
    }
    if a.rbac_out.is_some() {
        return Err(fail(
            USAGE,
            "--rbac-out is for --file (a GitOps checkout); on a cluster the bindings are written there",
        ));
    }
    let session = Session::connect(s).await?;
    let mut notes = Vec::new();
    let aws = find_aws(s, &a.aws, &mut notes).await?;
    let mode = aws.as_ref().map(|x| x.info.mode);
    let plan = aws_auth_core::grant::plan(&grant, mode.unwrap_or(AuthenticationMode::ConfigMap))
        .map_err(|e| fail(INVALID, format!("{e}; nothing was written")))?;
    let client = session.client();
    // Everything that can be refused is, before the first write.
    exists(&client, &grant).await?;
    let objects = plan.objects();
    let mut found = Vec::new();
    for o in &objects {
        let f = aws_auth_core::grant::compare(
            get_binding(&client, o).await?.as_ref(),
            o,
            &plan.principal,
        );
        if f == Found::NotOurs {
            return Err(fail(
                REFUSED,
                format!(
                    "a {} {} exists that grant did not make for {}; nothing was written (rename or delete it, or name another group with --group)",
                    o["kind"].as_str().unwrap_or_default(),
                    place(o),
                    plan.principal
                ),
            ));
        }
        found.push(f);
    }
    let dry_run = s.dry_run();
    let mut bindings = Vec::new();
    for (o, f) in objects.iter().zip(&found) {
        let outcome = match (f, dry_run) {
            (Found::Same, _) => "unchanged",
            (Found::Nothing, true) => "would be created",
            (_, true) => "would be replaced",
            (Found::Nothing, false) => {
                create_binding(&client, o).await?;
                "created"
            }
            (_, false) => {
                delete_binding(&client, o).await?;
                create_binding(&client, o).await?;
                "replaced"
            }
        };
        bindings.push(Written::of(o, outcome));
    }
    // The identity last: its rights exist by now.
    let identity = match (&plan.identity, &aws) {
        (Identity::AccessEntry { .. }, Some(aws)) => {
            let existing =
                access::named_entry(&aws.eks, &plan.principal.to_string(), &plan.principal)
                    .await?
                    .map(|(_, e)| e);
            let request = plan.entry_request(existing.as_ref());
            request
                .check()
                .map_err(|e| fail(INVALID, format!("{e}; nothing was written")))?;
            let unchanged = existing.as_ref().is_some_and(|e| {
                e.kubernetes_groups == request.groups
                    && e.policies == request.policies
                    && (request.username.is_none() || e.username == request.username)
            });
            if unchanged {
                None
            } else {
                Some(
                    access::put_entries(s, &aws.target, &aws.eks, &aws.info, &[request], true)
                        .await?
                        .part()?,
                )
            }
        }
        _ => {
            let doc = session.read().await?.document;
            match plan.map_op(&doc) {
                Some(op) => Some(session.edit(s, Ops::one(op)).await?.part()?),
                None => None,
            }
        }
    };
    let mut done = done(&plan.principal, None, bindings, objects, dry_run);
    done.authentication_mode = mode;
    done.login = aws.as_ref().map(|x| login_line(x, &plan.principal));
    done.plan = Some(plan);
    Ok(done.report(identity, notes))
}

async fn revoke(s: &Settings, a: &RevokeArgs) -> anyhow::Result<Report> {
    let principal = principal(a.kind, &a.arn)?;
    if let Some(path) = &s.file {
        return crate::grant_file::revoke(s, a, &principal, path);
    }
    if a.rbac_out.is_some() {
        return Err(fail(USAGE, "--rbac-out is for --file"));
    }
    let session = Session::connect(s).await?;
    let mut notes = Vec::new();
    let aws = find_aws(s, &a.aws, &mut notes).await?;
    let mode = aws.as_ref().map(|x| x.info.mode);
    let client = session.client();
    let doc = match session.read().await {
        Ok(snapshot) => Some(snapshot.document),
        Err(e)
            if e.downcast_ref::<Exit>()
                .is_some_and(|x| x.code == crate::exit::NOT_FOUND) =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    // Whose bindings: the username the map or the entry gives.
    let mut username = doc.as_ref().and_then(|d| mapped_username(d, &principal));
    let mut parts = Vec::new();
    // The identity first: once it is gone, what is left grants nobody.
    if let Some(aws) = aws.as_ref().filter(|x| x.info.mode.has_access_entries()) {
        let entry = access::named_entry(&aws.eks, &principal.to_string(), &principal).await?;
        if let Some((_, e)) = &entry {
            username = username.or_else(|| e.username.clone());
            let remove = AccessRemoveArgs {
                aws: a.aws.clone(),
                arns: vec![a.arn.clone()],
                from_file: None,
            };
            parts.push(access::remove(s, &aws.target, &remove).await?.part()?);
        }
    }
    if let Some(op) = doc
        .as_ref()
        .and_then(|d| aws_auth_core::grant::revoke_op(d, &principal))
    {
        let ops = Ops::one(op);
        parts.push(session.edit(s, ops).await?.part()?);
    }
    let listed = list_bindings(&client).await?;
    let dry_run = s.dry_run();
    let mut bindings = Vec::new();
    for b in aws_auth_core::grant::revocable(&listed, &principal, username.as_deref(), s.force) {
        let object = serde_json::json!({"kind": b.kind, "metadata": {"name": b.name, "namespace": b.namespace}});
        if !dry_run {
            delete_binding(&client, &object).await?;
        }
        bindings.push(Written::of(
            &object,
            if dry_run {
                format!("would be deleted ({})", b.reason)
            } else {
                format!("deleted ({})", b.reason)
            },
        ));
    }
    let identity = merge(parts);
    let mut done = done(&principal, None, bindings, Vec::new(), dry_run);
    done.authentication_mode = mode;
    Ok(done.report(identity, notes))
}

/// The username of the mapping that answers for `principal`, if any.
fn mapped_username(doc: &aws_auth_core::Document, principal: &Arn) -> Option<String> {
    match doc.effective().resolve(principal) {
        aws_auth_core::effective::Resolved::Mapping(m) => Some(m.username.to_owned()),
        _ => None,
    }
}

/// Several steps' reports as one (revoke: the entry, then the mapping).
fn merge(parts: Vec<Part>) -> Option<Part> {
    let mut it = parts.into_iter();
    let first = it.next()?;
    Some(it.fold(first, |mut acc, p| {
        acc.data = match acc.data {
            Value::Array(mut a) => {
                a.push(p.data);
                Value::Array(a)
            }
            one => Value::Array(vec![one, p.data]),
        };
        acc.text.push_str(&p.text);
        acc.notes.extend(p.notes);
        acc.code = acc.code.max(p.code);
        acc
    }))
}

/// `namespace/name`, or the name of a cluster-wide object.
fn place(o: &Value) -> String {
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    match o["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

/// A refusal of the API server as one sentence and its exit code.
fn kube_error(what: &str, e: kube::Error) -> anyhow::Error {
    match &e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => fail(
            NOPERM,
            format!(
                "the API server refused to {what} ({}): {}",
                s.code, s.message
            ),
        ),
        kube::Error::Api(s) if s.code < 500 && s.code != 429 => fail(
            INVALID,
            format!(
                "the API server refused to {what} ({} {}): {}",
                s.code, s.reason, s.message
            ),
        ),
        kube::Error::Api(s) => fail(
            UNAVAILABLE,
            format!(
                "the API server failed to {what} ({} {}): {}; run the command again to finish (it picks up where this one stopped)",
                s.code, s.reason, s.message
            ),
        ),
        _ => fail(
            UNAVAILABLE,
            format!(
                "could not {what}: {}; run the command again to finish (it picks up where this one stopped)",
                aws_auth_core::error_chain(&e)
            ),
        ),
    }
}

/// The role and the namespaces a grant names exist, or the grant is refused.
async fn exists(client: &kube::Client, grant: &Grant) -> anyhow::Result<()> {
    let missing = |what: String| fail(INVALID, format!("{what}; nothing was written"));
    for ns in &grant.namespaces {
        let got = Api::<Namespace>::all(client.clone())
            .get_opt(ns)
            .await
            .map_err(|e| kube_error(&format!("read the namespace {ns}"), e))?;
        if got.is_none() {
            return Err(missing(format!("the namespace {ns} does not exist")));
        }
    }
    let name = &grant.role.name;
    if grant.role.kind == RoleKind::ClusterRole {
        let got = Api::<ClusterRole>::all(client.clone())
            .get_opt(name)
            .await
            .map_err(|e| kube_error(&format!("read the ClusterRole {name}"), e))?;
        if got.is_none() {
            return Err(missing(format!(
                "the cluster has no ClusterRole {name} (view, edit, admin and cluster-admin are built in)"
            )));
        }
    } else {
        for ns in &grant.namespaces {
            let got = Api::<Role>::namespaced(client.clone(), ns)
                .get_opt(name)
                .await
                .map_err(|e| kube_error(&format!("read the Role {ns}/{name}"), e))?;
            if got.is_none() {
                return Err(missing(format!("the namespace {ns} has no Role {name}")));
            }
        }
    }
    Ok(())
}

/// The binding of `object`'s kind, namespace and name, as the cluster has it.
async fn get_binding(client: &kube::Client, object: &Value) -> anyhow::Result<Option<Value>> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = format!("read the binding {}", place(object));
    let got = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::<RoleBinding>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(|e| kube_error(&what, e))?
            .map(serde_json::to_value),
        None => Api::<ClusterRoleBinding>::all(client.clone())
            .get_opt(name)
            .await
            .map_err(|e| kube_error(&what, e))?
            .map(serde_json::to_value),
    };
    Ok(got.transpose()?)
}

async fn create_binding(client: &kube::Client, object: &Value) -> anyhow::Result<()> {
    let what = format!("create the binding {}", place(object));
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => {
            let b: RoleBinding = serde_json::from_value(object.clone())?;
            Api::<RoleBinding>::namespaced(client.clone(), ns)
                .create(&PostParams::default(), &b)
                .await
                .map_err(|e| kube_error(&what, e))?;
        }
        None => {
            let b: ClusterRoleBinding = serde_json::from_value(object.clone())?;
            Api::<ClusterRoleBinding>::all(client.clone())
                .create(&PostParams::default(), &b)
                .await
                .map_err(|e| kube_error(&what, e))?;
        }
    }
    Ok(())
}

/// Deletes a binding; one already gone is no error (a re-run).
async fn delete_binding(client: &kube::Client, object: &Value) -> anyhow::Result<()> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let what = format!("delete the binding {}", place(object));
    let gone = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404);
    let result = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::<RoleBinding>::namespaced(client.clone(), ns)
            .delete(name, &DeleteParams::default())
            .await
            .map(|_| ()),
        None => Api::<ClusterRoleBinding>::all(client.clone())
            .delete(name, &DeleteParams::default())
            .await
            .map(|_| ()),
    };
    match result {
        Err(e) if !gone(&e) => Err(kube_error(&what, e)),
        _ => Ok(()),
    }
}

/// Every ClusterRoleBinding and RoleBinding, as JSON.
async fn list_bindings(client: &kube::Client) -> anyhow::Result<Vec<Value>> {
    let lp = kube::api::ListParams::default();
    let crbs = Api::<ClusterRoleBinding>::all(client.clone())
        .list(&lp)
        .await
        .map_err(|e| kube_error("list the ClusterRoleBindings", e))?;
    let rbs = Api::<RoleBinding>::all(client.clone())
        .list(&lp)
        .await
        .map_err(|e| kube_error("list the RoleBindings", e))?;
    let mut out = Vec::new();
    for b in crbs.items {
        let mut v = serde_json::to_value(b)?;
        v["kind"] = "ClusterRoleBinding".into();
        out.push(v);
    }
    for b in rbs.items {
        let mut v = serde_json::to_value(b)?;
        v["kind"] = "RoleBinding".into();
        out.push(v);
    }
    Ok(out)
}

/// The bindings of a file grant writes: the manifest directory or file.
pub(crate) fn is_dir(path: &Path) -> bool {
    path.is_dir() || path.to_string_lossy().ends_with('/')
}
