//! What `explain`, `get` and `audit` read besides the map to say who really
//! gets in: the authentication mode and the access entries (from EKS, or a
//! file), IAM, and RBAC (from the cluster, or manifests). Each part is read
//! when it can be; what cannot be is said in a note, and the library answers
//! from the rest (`aws_auth_core::login`).

use std::collections::BTreeMap;
use std::path::Path;

use aws_auth_core::Document;
use aws_auth_core::arn::Arn;
use aws_auth_core::entries::{AuthenticationMode, EntryType, ExistingEntry};
use aws_auth_core::login::{IamPrincipal, Sources};
use aws_auth_core::rbac::Rbac;

use crate::cli::{EntrySources, ModeArg};
use crate::exit::{Exit, INVALID, NOT_FOUND, fail};
use crate::settings::Settings;
use crate::source::Source;

/// How much of the access entries a command needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Which principals have one (`get`: a mapping with an entry is unused).
    Listed,
    /// The one of this principal, in full (`explain`).
    Of(Arn),
    /// Every one, in full (`audit`).
    Full,
}

/// Whom to ask IAM about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Iam {
    /// Nobody.
    Nobody,
    /// These principals.
    These(Vec<Arn>),
    /// Every principal the map and the entries name.
    Everyone,
}

/// What was read.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    pub(crate) map: Option<Document>,
    pub(crate) mode: Option<AuthenticationMode>,
    pub(crate) entries: Option<BTreeMap<String, ExistingEntry>>,
    pub(crate) rbac: Option<Rbac>,
    pub(crate) iam: Option<BTreeMap<String, IamPrincipal>>,
    /// Where what was read came from, and what was not read and why.
    pub(crate) notes: Vec<String>,
    /// The EKS cluster, when one was found.
    pub(crate) cluster: Option<String>,
    /// The cluster's account (from its ARN), when EKS was read.
    pub(crate) cluster_account: Option<String>,
    /// The account of the credentials IAM was asked with.
    pub(crate) caller_account: Option<String>,
}

impl Gathered {
    /// The library's view of it.
    pub(crate) fn sources(&self) -> Sources<'_> {
        let mut s = Sources::new();
        s.map = self.map.as_ref();
        s.mode = self.mode;
        s.entries = self.entries.as_ref();
        s.rbac = self.rbac.as_ref();
        s.iam = self.iam.as_ref();
        s
    }
}

impl From<ModeArg> for AuthenticationMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::ConfigMap => AuthenticationMode::ConfigMap,
            ModeArg::ApiAndConfigMap => AuthenticationMode::ApiAndConfigMap,
            ModeArg::Api => AuthenticationMode::Api,
        }
    }
}

/// What is to be read, besides the map.
pub(crate) struct Wanted<'a> {
    pub(crate) entries: &'a EntrySources,
    pub(crate) depth: Depth,
    pub(crate) iam: Iam,
    /// RBAC: `Some(None)` from the cluster, `Some(Some(path))` from files.
    pub(crate) rbac: Option<Option<&'a Path>>,
    /// A cluster without the ConfigMap is an answer, not an error (`audit`
    /// of a cluster in API mode).
    pub(crate) map_optional: bool,
    /// A file, or a kubeconfig context that names no EKS cluster, goes
    /// unsaid (`get` has nothing to mark then, and was not asked to).
    pub(crate) quiet_without_eks: bool,
}

/// Reads what `wanted` asks for.
pub(crate) async fn gather(
    s: &Settings,
    source: &Source,
    wanted: &Wanted<'_>,
) -> anyhow::Result<Gathered> {
    // The map, EKS and RBAC are apart: read at once (a run over many
    // clusters waits on each cluster's slowest part, not on their sum).
    let map = async {
        match source.document().await {
            Ok(doc) => Ok(Some(doc)),
            Err(e)
                if wanted.map_optional
                    && e.downcast_ref::<Exit>()
                        .is_some_and(|x| x.code == NOT_FOUND) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    let (mut from_eks, mut from_rbac) = (Gathered::default(), Gathered::default());
    let bindings = async {
        match wanted.rbac {
            Some(from) => rbac(s, source, from, &mut from_rbac).await,
            None => Ok(()),
        }
    };
    let (map, eks, bindings) = tokio::join!(map, entries(s, wanted, &mut from_eks), bindings);
    let mut g = Gathered {
        map: map?,
        ..from_eks
    };
    let eks = eks?;
    bindings?;
    if g.map.is_none() {
        g.notes.insert(
            0,
            "there is no aws-auth ConfigMap: no mapping answers".to_owned(),
        );
    }
    if let Some(eks) = eks {
        iam(&eks, wanted, &mut g).await;
    }
    g.rbac = from_rbac.rbac;
    g.notes.extend(from_rbac.notes);
    Ok(g)
}

/// What IAM says of the principals `wanted` names (the map's need the map).
async fn iam(eks: &aws_auth_core::eks::Eks, wanted: &Wanted<'_>, g: &mut Gathered) {
    let principals: Vec<Arn> = match &wanted.iam {
        Iam::Nobody => return,
        Iam::These(p) => p.clone(),
        Iam::Everyone => everyone(g),
    };
    match eks.iam_principals(principals, 8).await {
        Ok(facts) => {
            g.iam = Some(facts);
            // Asked already for the lookups: the answer is kept.
            g.caller_account = eks.caller_account().await.ok();
        }
        Err(e) => g.notes.push(format!("IAM was not consulted: {e}")),
    }
}

/// The mode and the entries, from a file or from EKS; the EKS connection
/// when there is one, for IAM.
async fn entries(
    s: &Settings,
    wanted: &Wanted<'_>,
    g: &mut Gathered,
) -> anyhow::Result<Option<aws_auth_core::eks::Eks>> {
    let es = wanted.entries;
    g.mode = es.authentication_mode.map(Into::into);
    if let Some(path) = &es.entries {
        let text = crate::commands::read_text(path)?;
        let requests = aws_auth_core::access::read_entries(&text)
            .map_err(|e| fail(INVALID, format!("{}: {e}", path.display())))?;
        g.entries = Some(
            requests
                .iter()
                .map(ExistingEntry::from)
                .map(|e| (e.principal_arn.clone(), e))
                .collect(),
        );
        g.notes.push(format!(
            "access entries from {} (IAM not consulted)",
            path.display()
        ));
        return Ok(None);
    }
    // Asked for by name, EKS must answer; found from the kubeconfig, a
    // context that is not EKS (or no AWS credentials) leaves the map alone.
    let explicit = es.aws.cluster.is_some();
    if s.file.is_some() && !explicit {
        if !wanted.quiet_without_eks && g.mode.is_none_or(AuthenticationMode::has_access_entries) {
            g.notes.push(
                "the cluster's access entries were not read (give --cluster, or --entries FILE)"
                    .to_owned(),
            );
        }
        return Ok(None);
    }
    let soft = |e: anyhow::Error, g: &mut Gathered| -> anyhow::Result<Option<_>> {
        if explicit {
            return Err(e);
        }
        g.notes.push(format!(
            "the access entries and IAM were not read ({}): the map alone answers",
            e.downcast_ref::<Exit>()
                .map_or_else(|| e.to_string(), |x| x.message.clone())
        ));
        Ok(None)
    };
    let (target, found) = match crate::access::target(s, &es.aws) {
        Ok(t) => t,
        Err(_) if wanted.quiet_without_eks && !explicit => return Ok(None),
        Err(e) => return soft(e, g),
    };
    // Said by `access` as its own note; here the answer prefixes it.
    g.notes.extend(
        found
            .into_iter()
            .map(|n| n.trim_start_matches("aws-auth: ").to_owned()),
    );
    g.cluster = Some(target.cluster.clone());
    let (eks, info) = match crate::access::connect_eks(s, &target).await {
        Ok(c) => c,
        Err(e) => return soft(e, g),
    };
    g.mode = Some(info.mode);
    g.cluster_account = info.account.clone();
    let entries = if !info.mode.has_access_entries() {
        Ok(BTreeMap::new())
    } else {
        match &wanted.depth {
            Depth::Full => crate::access::all_entries(&eks, &info).await,
            Depth::Listed => listed(&eks).await,
            Depth::Of(arn) => one(&eks, arn).await,
        }
    };
    match entries {
        Ok(e) => g.entries = Some(e),
        Err(e) => return soft(e, g),
    }
    Ok(Some(eks))
}

/// Which principals have an entry (their type and contents not read).
async fn listed(eks: &aws_auth_core::eks::Eks) -> anyhow::Result<BTreeMap<String, ExistingEntry>> {
    let all = eks
        .list_entries()
        .await
        .map_err(crate::migrate::aws::eks_error)?;
    Ok(all
        .into_iter()
        .map(|p| (p.clone(), ExistingEntry::new(p, EntryType::Standard)))
        .collect())
}

/// The entry of `arn` (a session's role, a role by account and name), if
/// any, in full.
async fn one(
    eks: &aws_auth_core::eks::Eks,
    arn: &Arn,
) -> anyhow::Result<BTreeMap<String, ExistingEntry>> {
    let me = arn.canonical();
    let all = eks
        .list_entries()
        .await
        .map_err(crate::migrate::aws::eks_error)?;
    let mut out = BTreeMap::new();
    if let Some(p) = all.into_iter().find(|p| {
        p.parse::<Arn>()
            .is_ok_and(|p| aws_auth_core::access::same_principal(&me, &p))
    }) && let Some(e) = eks
        .entry(&p)
        .await
        .map_err(crate::migrate::aws::eks_error)?
    {
        out.insert(p, e);
    }
    Ok(out)
}

/// Every principal the map's honoured mappings and the entries name.
fn everyone(g: &Gathered) -> Vec<Arn> {
    let mut out: Vec<Arn> = Vec::new();
    if let Some(map) = &g.map {
        out.extend(
            map.effective()
                .mappings()
                .filter_map(|m| m.arn.parse().ok()),
        );
    }
    if let Some(entries) = &g.entries {
        out.extend(entries.keys().filter_map(|p| p.parse().ok()));
    }
    out
}

/// RBAC from manifests, or listed from the cluster (a refusal is a note).
async fn rbac(
    s: &Settings,
    source: &Source,
    from: Option<&Path>,
    g: &mut Gathered,
) -> anyhow::Result<()> {
    if let Some(path) = from {
        g.rbac = Some(read_rbac(path)?);
        return Ok(());
    }
    let Some(session) = source.session() else {
        g.notes.push(
            "RBAC was not read (give --rbac PATH with --file): which groups are bound is unknown"
                .to_owned(),
        );
        return Ok(());
    };
    let listed = tokio::time::timeout(s.kube.timeout, list_rbac(session.client())).await;
    match listed {
        Ok(Ok(rbac)) => g.rbac = Some(rbac),
        Ok(Err(why)) => g.notes.push(format!(
            "RBAC could not be read ({why}): which groups are bound is unknown"
        )),
        Err(_) => g.notes.push(format!(
            "RBAC could not be read (no answer within --timeout {} s): which groups are bound is unknown",
            s.kube.timeout.as_secs_f64()
        )),
    }
    Ok(())
}

/// The RBAC objects of a file, or of every `.yaml`, `.yml` and `.json` file
/// of a directory (sorted, not recursive).
fn read_rbac(path: &Path) -> anyhow::Result<Rbac> {
    let files = if path.is_dir() {
        crate::commands::manifest_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    let mut rbac = Rbac::new();
    for file in files {
        let text = crate::commands::read_text(&file)?;
        rbac.add_manifests(&text)
            .map_err(|e| fail(INVALID, format!("{}: {e}", file.display())))?;
    }
    Ok(rbac)
}

/// ClusterRoles, ClusterRoleBindings, and Roles and RoleBindings of every
/// namespace, as the API server lists them.
async fn list_rbac(client: kube::Client) -> Result<Rbac, String> {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    let (crs, crbs, rs, rbs) = tokio::join!(
        list::<ClusterRole>(client.clone()),
        list::<ClusterRoleBinding>(client.clone()),
        list::<Role>(client.clone()),
        list::<RoleBinding>(client),
    );
    let mut rbac = Rbac::new();
    // A listed set of roles is complete: a binding to a role not in it
    // grants nothing.
    rbac.roles_known = true;
    for v in [crs?, crbs?, rs?, rbs?].into_iter().flatten() {
        rbac.add_object(v)?;
    }
    Ok(rbac)
}

/// Every object of kind `K` (in every namespace), as JSON.
async fn list<K>(client: kube::Client) -> Result<Vec<serde_json::Value>, String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let listed = kube::Api::<K>::all(client)
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 403 => {
                format!("the API server refused: {}", s.message)
            }
            _ => aws_auth_core::error_chain(&e),
        })?;
    listed
        .items
        .into_iter()
        .map(|x| serde_json::to_value(x).map_err(|e| e.to_string()))
        .collect()
}
