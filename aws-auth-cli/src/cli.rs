//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Edit the Amazon EKS aws-auth ConfigMap safely: read it as aws-iam-authenticator
/// does, lint it, explain it, and change it without replacing it wholesale.
#[derive(Debug, Parser)]
#[command(
    name = "aws-auth",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options accepted before or after the command.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Work on a manifest file instead of the cluster (`-` reads stdin and writes stdout).
    #[arg(long, short = 'f', global = true, value_name = "PATH")]
    pub(crate) file: Option<PathBuf>,
    /// Show what would change as a diff of the data strings and write nothing;
    /// `--dry-run=server` also sends the write with dryRun=All for the API server
    /// to validate.
    #[arg(
        long,
        global = true,
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "client",
        value_name = "MODE"
    )]
    pub(crate) dry_run: Option<DryRun>,
    /// Carry out edits that remove or rewrite node roles, protected principals or
    /// the last system:masters mapping.
    #[arg(long, global = true)]
    pub(crate) force: bool,
    /// Do not ask before a forced edit or a restore (for scripts).
    #[arg(long, short = 'y', global = true)]
    pub(crate) yes: bool,
    /// Protect this principal's mapping from removal or rewriting (repeatable).
    /// In a cluster, the caller's own identity is protected too.
    #[arg(long, global = true, value_name = "ARN")]
    pub(crate) protect: Vec<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,
    /// More log output on stderr (-v, -vv, -vvv). Credentials and tokens are never logged.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Print tables without their header line (for scripts).
    #[arg(long, global = true)]
    pub(crate) no_headers: bool,
    /// `-o wide`: tables are not cut to the terminal.
    #[arg(skip)]
    pub(crate) wide: bool,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

/// The ConfigMap's namespace unless `--namespace` says another.
pub(crate) const DEFAULT_NAMESPACE: &str = "kube-system";

/// Where the cluster is (ignored with --file).
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// The kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// Run a read-only command against each of these kubeconfig contexts
    /// (comma-separated), its results in one table or document.
    #[arg(long, global = true, value_name = "NAMES", value_delimiter = ',', conflicts_with_all = ["context", "all_contexts", "context_pattern"])]
    pub(crate) contexts: Vec<String>,
    /// Run a read-only command against every context of the kubeconfig.
    #[arg(long, global = true, conflicts_with_all = ["context", "context_pattern"])]
    pub(crate) all_contexts: bool,
    /// Run a read-only command against the contexts whose names match GLOB
    /// (`*` any text, `?` one character).
    #[arg(long, global = true, value_name = "GLOB", conflicts_with = "context")]
    pub(crate) context_pattern: Option<String>,
    /// Clusters worked on at once with --contexts, --all-contexts or
    /// --context-pattern.
    #[arg(long, global = true, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) parallel: u16,
    /// The ConfigMap's namespace.
    #[arg(long, short = 'n', global = true, default_value = DEFAULT_NAMESPACE)]
    pub(crate) namespace: String,
    /// The ConfigMap's name.
    #[arg(long, global = true, default_value = "aws-auth")]
    pub(crate) name: String,
    /// How long to wait for each API request, Kubernetes or AWS (at most a
    /// day); an AWS call gives up after four unanswered attempts.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    pub(crate) request_timeout: Duration,
    /// How long an edit, backup, restore or access command may take in all,
    /// retries and throttled waits included (at most a day); an access
    /// command sends no call after it and reports what it did not send.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "120", value_parser = seconds)]
    pub(crate) timeout: Duration,
    /// The first wait before a throttled, failed or unanswered request is
    /// tried again (it doubles each time).
    #[arg(long, global = true, value_name = "SECONDS", default_value = "0.5", value_parser = seconds, hide = true)]
    pub(crate) retry_delay: Duration,
    /// Create the ConfigMap (with --file, the manifest) if it does not exist
    /// (add and sync only).
    #[arg(long, global = true)]
    pub(crate) create: bool,
}

/// How a dry run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DryRun {
    /// Show the diff; send nothing.
    Client,
    /// Show the diff and have the API server validate the write (dryRun=All).
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// A table cut to the terminal's width.
    Table,
    /// A table with every value whole.
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The commands on the map itself, in a manifest file or in the cluster.
    #[command(flatten)]
    Map(MapCommand),
    /// Move the mappings to EKS access entries: plan, apply, verify, finalize.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// `status` of every kubeconfig context's cluster (or of those
    /// --contexts or --context-pattern choose), a row each: the page a
    /// platform team looks at first. Exit: the worst cluster's.
    Fleet(StatusArgs),
    /// Decide whether a change of the map may go through, as the admission
    /// webhook would: exit 0 allowed, 4 denied (with the reasons).
    Check(CheckArgs),
    /// EKS access entries, directly: list, grant, revoke, with the same
    /// checks and guards as the map.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Give an IAM user or role an identity and rights in one step: the
    /// mapping or access entry, and the RBAC bindings (or an access policy).
    Grant(GrantArgs),
    /// Take away what grant gave: the mapping or access entry, and the
    /// bindings grant made for the principal.
    Revoke(RevokeArgs),
    /// The validating admission webhook that holds every writer of the map
    /// to the same rules.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The values completion reads from the kubeconfig, one per line (what
    /// the completion scripts call).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(value_enum)]
        what: Completable,
    },
}

/// What `__complete` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Completable {
    /// The kubeconfig's contexts.
    Contexts,
    /// The EKS clusters its contexts name.
    Clusters,
}

/// `aws-auth webhook ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Answer AdmissionReviews over HTTPS until SIGTERM (`/healthz`,
    /// `/readyz`, `/metrics` beside); one JSON log line per decision on stderr.
    Serve(ServeArgs),
    /// Print what to apply: namespace, service account, Deployment, PDB,
    /// Service and the ValidatingWebhookConfiguration scoped to aws-auth.
    Manifests(ManifestsArgs),
    /// Make a self-signed CA and a serving certificate for the webhook's
    /// Service; print them as a TLS Secret, and write the CA to --ca-out.
    Certs(CertsArgs),
}

/// Where the webhook runs.
#[derive(Debug, Args)]
pub(crate) struct Placement {
    /// The webhook's namespace.
    #[arg(long, value_name = "NAME", default_value = "aws-auth-system")]
    pub(crate) webhook_namespace: String,
    /// The Service's (and Deployment's) name.
    #[arg(long, value_name = "NAME", default_value = "aws-auth-webhook")]
    pub(crate) service: String,
}

/// `aws-auth webhook manifests`.
#[derive(Debug, Args)]
pub(crate) struct ManifestsArgs {
    #[command(flatten)]
    pub(crate) placement: Placement,
    /// The container image, built from the repository's Dockerfile and
    /// pushed where the cluster pulls from (docs/webhook.md).
    #[arg(long, value_name = "IMAGE", env = "AWS_AUTH_WEBHOOK_IMAGE")]
    pub(crate) image: String,
    /// What the API server does when the webhook cannot answer: Ignore lets
    /// the change through (an outage never blocks the cluster); Fail refuses
    /// it (no change escapes the check, and none gets through while the
    /// webhook is down).
    #[arg(long, value_enum, default_value_t = FailurePolicy::Ignore)]
    pub(crate) failure_policy: FailurePolicy,
    /// The CA that signed the serving certificate (PEM), for the caBundle
    /// (`webhook certs --ca-out` writes it).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "cert_manager",
        conflicts_with = "cert_manager"
    )]
    pub(crate) ca_bundle: Option<PathBuf>,
    /// Let cert-manager issue the certificate and inject the caBundle.
    #[arg(long)]
    pub(crate) cert_manager: bool,
    /// Where the API server's calls come from (repeatable; on EKS the
    /// cluster VPC's CIDR): the NetworkPolicy admits only these to the
    /// webhook's port. Without it, the port is open to any address and
    /// every other port and all egress are closed.
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub(crate) api_server_cidr: Vec<String>,
}

/// An IPv4 or IPv6 CIDR, as a NetworkPolicy's ipBlock takes it.
fn parse_cidr(s: &str) -> Result<String, String> {
    let (addr, bits) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not a CIDR (ADDRESS/BITS, such as 10.0.0.0/16)"))?;
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits.parse::<u8>() {
        Ok(b) if b <= max => Ok(s.to_owned()),
        _ => Err(format!("{bits:?} is not a prefix length (0 to {max})")),
    }
}

/// `failurePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailurePolicy {
    /// Allow the change when the webhook cannot answer.
    #[value(name = "Ignore", alias = "ignore")]
    Ignore,
    /// Refuse the change when the webhook cannot answer.
    #[value(name = "Fail", alias = "fail")]
    Fail,
}

/// `aws-auth webhook certs`.
#[derive(Debug, Args)]
pub(crate) struct CertsArgs {
    #[command(flatten)]
    pub(crate) placement: Placement,
    /// Where to write the CA certificate (PEM) for `manifests --ca-bundle`.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_out: PathBuf,
    /// Days the certificates are valid.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub(crate) days: u32,
}

/// `aws-auth webhook serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The serving certificate (PEM, chain first), read again when it changes.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Where to listen.
    #[arg(long, value_name = "ADDRESS", default_value = "0.0.0.0:8443")]
    pub(crate) listen: String,
}

/// `aws-auth access ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum AccessCommand {
    /// Every access entry with its type, username, groups and policies.
    Get(AccessGetArgs),
    /// Create access entries (and associate their policies); an entry that
    /// exists and matches is left alone, one that differs is a conflict.
    Add(AccessAddArgs),
    /// Change an entry's username or groups, or associate or disassociate
    /// access policies.
    Update(AccessUpdateArgs),
    /// Delete access entries (node entries, the last cluster-admin, your own
    /// and protected principals are refused without --force).
    Remove(AccessRemoveArgs),
    /// Make the cluster's access entries what a file says (create, update,
    /// associate, disassociate; delete the unnamed ones with --prune, never
    /// those EKS or AWS services own).
    Sync(AccessSyncArgs),
}

/// `aws-auth access sync`.
#[derive(Debug, Args)]
pub(crate) struct AccessSyncArgs {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// The desired entries (YAML or JSON; schema: docs/access-sync.schema.json).
    #[arg(value_name = "FILE")]
    pub(crate) entries: PathBuf,
    /// Delete the entries the file does not name (node entries and those EKS
    /// or AWS services made are kept).
    #[arg(long)]
    pub(crate) prune: bool,
}

/// `aws-auth access get`.
#[derive(Debug, Args)]
pub(crate) struct AccessGetArgs {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// Write the entries as an `access sync` file (YAML, or JSON with -o
    /// json) that a sync leaves as it is: the start of a declarative file.
    #[arg(long)]
    pub(crate) as_file: bool,
}

/// `aws-auth access update`.
#[derive(Debug, Args)]
pub(crate) struct AccessUpdateArgs {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// The principal's ARN (a role's IAM path may be left out).
    #[arg(value_name = "ARN")]
    pub(crate) arn: String,
    /// The new Kubernetes username.
    #[arg(long, short = 'u')]
    pub(crate) username: Option<String>,
    /// The new Kubernetes groups (repeatable, or comma-separated; they replace the old).
    #[arg(long = "group", short = 'g', value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// Take every Kubernetes group away.
    #[arg(long, conflicts_with = "groups")]
    pub(crate) no_groups: bool,
    /// Associate this access policy (repeatable).
    #[arg(long = "add-policy", value_name = "POLICY", value_parser = Offered(POLICIES))]
    pub(crate) add_policies: Vec<String>,
    /// Disassociate this access policy (repeatable).
    #[arg(long = "remove-policy", value_name = "POLICY", value_parser = Offered(POLICIES))]
    pub(crate) remove_policies: Vec<String>,
    /// The added policies apply in this namespace (repeatable; default: the cluster).
    #[arg(
        long = "namespace",
        short = 'n',
        alias = "namespace-scope",
        value_name = "NS",
        requires = "add_policies"
    )]
    pub(crate) namespaces: Vec<String>,
}

/// Where the access entries and the authentication mode come from.
#[derive(Debug, Args)]
pub(crate) struct EntrySources {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// Access entries as `access get --as-file` writes them, instead of the
    /// EKS cluster's (offline).
    #[arg(long, value_name = "FILE")]
    pub(crate) entries: Option<PathBuf>,
    /// The cluster's authentication mode, when it is not read from EKS.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) authentication_mode: Option<ModeArg>,
}

/// `status` and `fleet`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Exit with 2 when the audit has warnings but no errors.
    #[arg(long)]
    pub(crate) strict: bool,
    #[command(flatten)]
    pub(crate) sources: Sources,
}

/// Where the access entries, the authentication mode and RBAC come from.
#[derive(Debug, Args)]
pub(crate) struct Sources {
    #[command(flatten)]
    pub(crate) entries: EntrySources,
    /// RBAC manifests (a file, or a directory of .yaml, .yml and .json
    /// files) instead of the cluster's bindings (offline).
    #[arg(long, value_name = "PATH")]
    pub(crate) rbac: Option<PathBuf>,
}

/// An authentication mode, as EKS spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    #[value(name = "CONFIG_MAP")]
    ConfigMap,
    #[value(name = "API_AND_CONFIG_MAP")]
    ApiAndConfigMap,
    #[value(name = "API")]
    Api,
}

/// The cluster and the AWS configuration.
#[derive(Debug, Clone, Args)]
pub(crate) struct AccessCluster {
    /// The EKS cluster (default: the one the kubeconfig context names, as
    /// `aws eks update-kubeconfig` and eksctl write it).
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: Option<String>,
    /// The AWS region (default: without --cluster, the kubeconfig
    /// context's; else the usual AWS configuration).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The AWS profile (default: without --cluster, the kubeconfig
    /// context's; else $AWS_PROFILE, then default).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
}

/// `aws-auth access add`.
#[derive(Debug, Args)]
pub(crate) struct AccessAddArgs {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// IAM role or user ARNs.
    #[arg(value_name = "ARN", required_unless_present = "from_file")]
    pub(crate) arns: Vec<String>,
    /// Read principals from a file, one per line (`ARN [USERNAME]`, or
    /// `user/NAME`, `role/NAME` or a user's bare `NAME` in --account; `#`
    /// comments).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,
    /// The account of the names in --from-file written without an ARN
    /// (default: the caller's).
    #[arg(long, value_name = "ID", requires = "from_file")]
    pub(crate) account: Option<String>,
    /// The entry type.
    #[arg(long = "type", value_name = "TYPE", default_value = "STANDARD", value_parser = Offered(TYPES))]
    pub(crate) kind: String,
    /// The Kubernetes username (default: EKS makes one up).
    #[arg(long, short = 'u')]
    pub(crate) username: Option<String>,
    /// A Kubernetes group (repeatable, or comma-separated).
    #[arg(long = "group", short = 'g', value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// An access policy: cluster-admin, admin, edit, view, admin-view, or its
    /// name or ARN (repeatable).
    #[arg(long = "policy", value_name = "POLICY", value_parser = Offered(POLICIES))]
    pub(crate) policies: Vec<String>,
    /// The policies apply in this namespace (repeatable; default: the cluster).
    #[arg(
        long = "namespace",
        short = 'n',
        alias = "namespace-scope",
        value_name = "NS",
        requires = "policies"
    )]
    pub(crate) namespaces: Vec<String>,
    /// Make entries that exist and differ match instead of reporting conflicts.
    #[arg(long)]
    pub(crate) update_existing: bool,
}

/// The short names of the access policies, offered to completion.
const POLICIES: &[&str] = &["cluster-admin", "admin", "edit", "view", "admin-view"];
/// The access entry types, offered to completion.
const TYPES: &[&str] = &[
    "STANDARD",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "EC2",
    "HYBRID_LINUX",
    "HYPERPOD_LINUX",
];

/// Takes any text (a policy may be named by its full name or ARN, a role
/// may be the cluster's own) and offers the usual values to completion and
/// help.
#[derive(Clone)]
struct Offered(&'static [&'static str]);

impl clap::builder::TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        value
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidUtf8).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.0.iter().map(|v| clap::builder::PossibleValue::new(*v)),
        ))
    }
}

/// `user` or `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrincipalArg {
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
}

/// `aws-auth grant`.
#[derive(Debug, Args)]
pub(crate) struct GrantArgs {
    /// user or role.
    #[arg(value_enum, value_name = "KIND")]
    pub(crate) kind: PrincipalArg,
    /// The IAM user or role ARN.
    #[arg(value_name = "ARN")]
    pub(crate) arn: String,
    /// The ClusterRole to grant: view, edit, admin, cluster-admin, or one of
    /// the cluster's own.
    #[arg(
        long,
        value_name = "NAME",
        value_parser = Offered(&["view", "edit", "admin", "cluster-admin"]),
        required_unless_present = "role",
        conflicts_with = "role"
    )]
    pub(crate) clusterrole: Option<String>,
    /// A Role to grant instead, in each --namespace.
    #[arg(long, value_name = "NAME")]
    pub(crate) role: Option<String>,
    /// Grant in this namespace (repeatable, or comma-separated; default: the
    /// whole cluster).
    #[arg(
        long = "namespace",
        short = 'n',
        value_name = "NS",
        value_delimiter = ','
    )]
    pub(crate) namespaces: Vec<String>,
    /// The group to grant and bind (default: one named for what it grants,
    /// e.g. aws-auth:clusterrole:view:dev).
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// The Kubernetes username (default: the IAM name in the map; EKS's own
    /// in an access entry).
    #[arg(long, short = 'u', value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// With --file: where the bindings go (a file of YAML documents, or a
    /// directory: one file each).
    #[arg(long, value_name = "PATH")]
    pub(crate) rbac_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
}

/// `aws-auth revoke`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// user or role.
    #[arg(value_enum, value_name = "KIND")]
    pub(crate) kind: PrincipalArg,
    /// The IAM user or role ARN (a role's IAM path may be left out).
    #[arg(value_name = "ARN")]
    pub(crate) arn: String,
    /// With --file: the bindings grant wrote (its --rbac-out).
    #[arg(long, value_name = "PATH")]
    pub(crate) rbac_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
}

/// `aws-auth access remove`.
#[derive(Debug, Args)]
pub(crate) struct AccessRemoveArgs {
    #[command(flatten)]
    pub(crate) aws: AccessCluster,
    /// The principals' ARNs (a role's IAM path may be left out).
    #[arg(value_name = "ARN", required_unless_present = "from_file")]
    pub(crate) arns: Vec<String>,
    /// Read principals from a file, one ARN per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,
}

/// `aws-auth check`: two manifests, before and after.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The manifests after the change (`-` reads stdin); several with
    /// --base-ref.
    #[arg(value_name = "NEW", required = true, num_args = 1..)]
    pub(crate) new: Vec<PathBuf>,
    /// The manifest before the change (`-` reads stdin).
    #[arg(
        long,
        value_name = "OLD",
        required_unless_present_any = ["base_ref", "live"],
        conflicts_with_all = ["base_ref", "live"]
    )]
    pub(crate) base: Option<PathBuf>,
    /// The manifest before the change as git revision REV holds NEW's path
    /// (`git show REV:PATH`); a path it does not hold is a new map.
    #[arg(long, value_name = "REV", conflicts_with = "live")]
    pub(crate) base_ref: Option<String>,
    /// The map before the change is the cluster's (the kubeconfig
    /// context's; each context's with --contexts): would NEW go through
    /// there?
    #[arg(long)]
    pub(crate) live: bool,
}

/// The commands that read or edit the map, wherever it is (`--file` or the
/// cluster).
#[derive(Debug, Subcommand)]
pub(crate) enum MapCommand {
    /// Show the mappings the authenticator reads; on a cluster with access
    /// entries, which of them no login uses.
    Get {
        #[command(flatten)]
        sources: EntrySources,
    },
    /// Report what the authenticator rejects (errors) or misreads (warnings).
    Lint {
        /// Exit with 2 when there are warnings but no errors.
        #[arg(long)]
        strict: bool,
        /// A field tools write on purpose (e.g. `sync`'s `syncedBy`): not
        /// reported as unknown (repeatable).
        #[arg(long = "extension-key", value_name = "NAME")]
        extension_keys: Vec<String>,
    },
    /// Say what a principal really gets: the access entry or mapping that
    /// answers for it (by the cluster's authentication mode), its username,
    /// groups and access policies, the bindings that name them, and whether
    /// it is cluster-admin.
    Explain {
        /// An IAM user or role ARN, or an sts assumed-role session ARN.
        arn: String,
        /// The access key ID, to fill {{AccessKeyID}}.
        #[arg(long)]
        access_key_id: Option<String>,
        /// The node's private DNS name, to fill {{EC2PrivateDNSName}}.
        #[arg(long)]
        private_dns_name: Option<String>,
        #[command(flatten)]
        sources: Sources,
    },
    /// Who can get into the cluster, as whom, with what rights, and what of it
    /// is stale: principals IAM no longer has, entries older than their
    /// principal, groups nothing binds, mappings no login uses, the admins
    /// (docs/audit.md).
    Audit {
        /// Exit with 2 when there are warnings but no errors.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        sources: Sources,
    },
    /// The cluster at a glance: authentication mode, the map's lint errors
    /// and warnings, mappings and access entries counted, audit errors, and
    /// how far the move to access entries has come (blocked mappings,
    /// drift) with the next step. Exit 1 with audit errors.
    Status(StatusArgs),
    /// Add a role, user or account mapping.
    #[command(subcommand)]
    Add(AddCommand),
    /// Change the username or groups of a role or user mapping.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Remove role, user or account mappings, or every mapping with a username.
    Remove(RemoveArgs),
    /// Make the mappings one owner manages exactly those of a file, touching
    /// no other entry (its entries carry a marker field, `syncedBy: OWNER`).
    Sync {
        /// The desired mappings: `mapRoles` and `mapUsers` lists, as in the map.
        #[arg(value_name = "FILE")]
        desired: PathBuf,
        /// Who owns the entries (the marker's value).
        #[arg(long)]
        owner: String,
        /// Remove the owner's entries the file no longer names.
        #[arg(long)]
        prune: bool,
        /// Take over unowned entries that already say what the file says.
        #[arg(long)]
        adopt: bool,
        /// The marker field's name.
        #[arg(long, value_name = "NAME", default_value = "syncedBy")]
        marker: String,
    },
    /// Protect principals' mappings from removal or rewriting by every writer
    /// (the `aws-auth/protected` annotation on the ConfigMap, honoured by
    /// every command, `check` and the webhook; cluster only).
    Protect {
        /// Role or user ARNs.
        #[arg(value_name = "ARN", required = true)]
        arns: Vec<String>,
    },
    /// Remove protections (guarded: needs --force; cluster only).
    Unprotect {
        /// Role or user ARNs.
        #[arg(value_name = "ARN", required = true)]
        arns: Vec<String>,
    },
    /// Save the whole ConfigMap to a file (cluster only).
    Backup {
        /// Where (default: a new file under $XDG_STATE_HOME/aws-auth/backups/CONTEXT/).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Put a backup's data keys back, after showing the diff (cluster only).
    Restore {
        /// A backup written by `aws-auth backup` or before an edit, or any
        /// ConfigMap manifest.
        #[arg(value_name = "FILE")]
        backup: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AddCommand {
    /// Map an IAM role (without its IAM path).
    Role(AddMapping),
    /// Map an IAM user.
    User(AddMapping),
    /// Map every principal of an AWS account to its own ARN, without groups.
    Account(AccountArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddMapping {
    /// The ARN.
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub(crate) arn: Option<String>,
    /// The Kubernetes user name (default: the role or user name).
    #[arg(long, short = 'u')]
    pub(crate) username: Option<String>,
    /// A Kubernetes group (repeatable, or comma-separated).
    #[arg(long = "group", short = 'g', value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// Read ARNs from a file, one per line (`ARN [USERNAME]`, or a bare
    /// `NAME [USERNAME]` in --account; `#` comments).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,
    /// The account of the bare names in --from-file (default: the caller's).
    #[arg(long, value_name = "ID", requires = "from_file")]
    pub(crate) account: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    /// The 12-digit account ID.
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub(crate) id: Option<String>,
    /// Read account IDs from a file, one per line.
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UpdateCommand {
    /// Update a role mapping.
    Role(UpdateMapping),
    /// Update a user mapping.
    User(UpdateMapping),
}

#[derive(Debug, Args)]
pub(crate) struct UpdateMapping {
    /// The ARN.
    pub(crate) arn: String,
    /// The new Kubernetes user name.
    #[arg(long, short = 'u')]
    pub(crate) username: Option<String>,
    /// The new groups (repeatable, or comma-separated); they replace the old ones.
    #[arg(long = "group", short = 'g', value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// Add the --group values to the existing groups instead of replacing them.
    #[arg(long, requires = "groups")]
    pub(crate) append: bool,
    /// Remove every group.
    #[arg(long, conflicts_with = "groups")]
    pub(crate) no_groups: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RemoveArgs {
    #[command(subcommand)]
    pub(crate) what: Option<RemoveCommand>,
    /// Remove every role and user mapping with exactly this username.
    #[arg(long, short = 'u')]
    pub(crate) username: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RemoveCommand {
    /// Remove every mapping of a role.
    Role(RemoveMapping),
    /// Remove every mapping of a user.
    User(RemoveMapping),
    /// Remove an account.
    Account(AccountArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RemoveMapping {
    /// The ARN.
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub(crate) arn: Option<String>,
    /// Read ARNs from a file, one per line.
    #[arg(long, value_name = "FILE")]
    pub(crate) from_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MigrateCommand {
    /// Show what moving the map to access entries takes; change nothing.
    Plan(MigrateArgs),
    /// Create the access entries and policy associations the plan calls for.
    Apply(ApplyArgs),
    /// Compare every migratable mapping with its access entry (exit 1 on drift).
    Verify(MigrateArgs),
    /// Switch the cluster to authentication mode API (access entries only).
    Finalize(FinalizeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The EKS cluster. Without it, `plan --file` plans offline against an
    /// empty cluster.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: Option<String>,
    /// The AWS region (default: the usual AWS configuration).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The AWS profile (default: $AWS_PROFILE, then default).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Full role ARNs, one per line, for roles IAM cannot be asked about (other
    /// accounts): each stands for the map's ARN of the same account and name.
    #[arg(long, value_name = "FILE")]
    pub(crate) role_arn_map: Option<PathBuf>,
    /// Plan updates of existing entries that differ instead of reporting
    /// conflicts.
    #[arg(long)]
    pub(crate) update_existing: bool,
    /// Seconds between polls of a cluster update.
    #[arg(long, default_value = "5", value_parser = seconds_or_zero, hide = true)]
    pub(crate) poll_interval: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) common: MigrateArgs,
    /// Switch a CONFIG_MAP cluster to API_AND_CONFIG_MAP first (one way: it
    /// cannot be switched back).
    #[arg(long)]
    pub(crate) enable_api_mode: bool,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) concurrency: u32,
}

#[derive(Debug, Args)]
pub(crate) struct FinalizeArgs {
    #[command(flatten)]
    pub(crate) common: MigrateArgs,
    /// After the switch, back the aws-auth ConfigMap up and delete it.
    #[arg(long)]
    pub(crate) delete_configmap: bool,
}

/// Parses the command line, with each command's help showing only the options
/// that apply to it and its examples. Run as `kubectl-aws_auth` (a kubectl
/// plugin), usage lines say `kubectl aws-auth`.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let plugin = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().starts_with("kubectl-"))
        })
        .unwrap_or(false);
    let matches = command(plugin).try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    // A wide table is a table: only its cutting differs.
    if cli.global.output == Output::Wide {
        cli.global.output = Output::Table;
        cli.global.wide = true;
    }
    Ok(cli)
}

/// The clap command: [`Cli`] with the global options each command does not
/// use hidden from its help, per-command examples and wording.
pub(crate) fn command(plugin: bool) -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    if plugin {
        cmd = cmd
            .bin_name("kubectl aws-auth")
            .display_name("kubectl aws-auth");
    }
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let cmd = shape(cmd, &globals, &mut Vec::new());
    if plugin {
        // The examples, in the words kubectl users type.
        return plugin_examples(cmd);
    }
    cmd
}

fn plugin_examples(mut cmd: clap::Command) -> clap::Command {
    if let Some(text) = cmd.get_after_help().map(|t| t.to_string()) {
        cmd = cmd.after_help(text.replace("\n  aws-auth ", "\n  kubectl aws-auth "));
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, plugin_examples);
    }
    cmd
}

/// Options every command that reads the map takes.
const READ: &[&str] = &[
    "file",
    "output",
    "verbose",
    "kubeconfig",
    "context",
    "contexts",
    "all_contexts",
    "context_pattern",
    "parallel",
    "namespace",
    "name",
    "request_timeout",
    "timeout",
];
/// What an edit adds to them.
const EDIT: &[&str] = &["dry_run", "force", "yes", "protect"];

/// The global options shown in the help of the command at `path`.
fn shown(path: &[String]) -> Vec<&'static str> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let mut ids: Vec<&str> = READ.to_vec();
    match path.as_slice() {
        [] => {
            return READ
                .iter()
                .chain(EDIT)
                .chain(&["no_headers", "create"])
                .copied()
                .collect();
        }
        ["get", ..] => ids.push("no_headers"),
        ["lint" | "explain", ..] => {}
        ["add", ..] => ids.extend(EDIT.iter().chain(&["create"])),
        ["update" | "remove", ..] => ids.extend(EDIT),
        ["sync", ..] => ids.extend(EDIT.iter().chain(&["create"])),
        // grant's --namespace is where it grants.
        ["grant", ..] => {
            ids.retain(|&i| i != "namespace");
            ids.extend(EDIT);
        }
        ["revoke", ..] => ids.extend(EDIT),
        ["backup", ..] => ids.retain(|&i| i != "file"),
        ["protect" | "unprotect", ..] => {
            ids.retain(|&i| i != "file");
            ids.extend(["force", "yes"]);
        }
        ["restore", ..] => {
            ids.retain(|&i| i != "file");
            ids.extend(EDIT);
        }
        ["migrate", "apply", ..] => ids.extend(["dry_run", "yes", "no_headers"]),
        ["migrate", "finalize", ..] => ids.extend(["dry_run", "force", "yes"]),
        ["migrate", ..] => ids.push("no_headers"),
        ["completions", ..] => ids.clear(),
        ["check", ..] => ids = vec!["output", "verbose", "protect"],
        ["access", "get"] => {
            ids = vec![
                "output",
                "verbose",
                "request_timeout",
                "timeout",
                "no_headers",
                "kubeconfig",
                "context",
            ]
        }
        ["access", ..] => {
            ids = vec![
                "output",
                "verbose",
                "request_timeout",
                "timeout",
                "dry_run",
                "force",
                "protect",
                "kubeconfig",
                "context",
            ]
        }
        ["webhook", "serve"] => ids = vec!["verbose", "protect"],
        ["webhook", ..] => ids = vec!["output"],
        _ => {}
    }
    ids
}

/// Examples shown at the end of a command's help.
fn examples(path: &[String]) -> Option<&'static str> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match path.as_slice() {
        ["get"] => {
            "Examples:\n  aws-auth get\n  aws-auth get -o json\n  aws-auth --file aws-auth.yaml get --no-headers"
        }
        ["lint"] => "Examples:\n  aws-auth lint\n  aws-auth --file aws-auth.yaml lint --strict",
        ["explain"] => {
            "Examples:\n  aws-auth explain arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com\n  aws-auth explain arn:aws:iam::111122223333:user/bob -o json"
        }
        ["add", "role"] => {
            "Examples:\n  aws-auth add role arn:aws:iam::111122223333:role/Deployer -u 'deploy:{{SessionName}}' -g deployers\n  aws-auth --file aws-auth.yaml add role arn:aws:iam::111122223333:role/Dev -g dev --dry-run"
        }
        ["add", "user"] => {
            "Examples:\n  aws-auth add user arn:aws:iam::111122223333:user/alice -g developers,view\n  aws-auth add user --from-file team.txt -g developers"
        }
        ["add", "account"] => "Examples:\n  aws-auth add account 012345678901",
        ["update", "role"] => {
            "Examples:\n  aws-auth update role arn:aws:iam::111122223333:role/Deployer -g release --append\n  aws-auth update role arn:aws:iam::111122223333:role/Deployer -u 'deploy:{{SessionName}}'"
        }
        ["update", "user"] => {
            "Examples:\n  aws-auth update user arn:aws:iam::111122223333:user/alice --no-groups"
        }
        ["remove"] => {
            "Examples:\n  aws-auth remove user arn:aws:iam::111122223333:user/alice\n  aws-auth remove --username ci-bot\n  aws-auth remove account 012345678901"
        }
        ["remove", "role"] => {
            "Examples:\n  aws-auth remove role arn:aws:iam::111122223333:role/Old --dry-run"
        }
        ["remove", "user"] => "Examples:\n  aws-auth remove user --from-file leavers.txt",
        ["remove", "account"] => "Examples:\n  aws-auth remove account 012345678901",
        ["sync"] => {
            "Examples:\n  aws-auth sync team-a.yaml --owner team-a --dry-run\n  aws-auth sync team-a.yaml --owner team-a --prune\n  aws-auth --file aws-auth.yaml sync team-a.yaml --owner team-a --adopt"
        }
        ["backup"] => {
            "Examples:\n  aws-auth backup\n  aws-auth backup --out aws-auth-before-upgrade.yaml"
        }
        ["restore"] => {
            "Examples:\n  aws-auth restore aws-auth-before-upgrade.yaml --dry-run\n  aws-auth restore aws-auth-before-upgrade.yaml --yes"
        }
        ["migrate", "plan"] => {
            "Examples:\n  aws-auth migrate plan --cluster prod\n  aws-auth --file aws-auth.yaml migrate plan -o json"
        }
        ["migrate", "apply"] => {
            "Examples:\n  aws-auth migrate apply --cluster prod --dry-run\n  aws-auth migrate apply --cluster prod --enable-api-mode"
        }
        ["migrate", "verify"] => "Examples:\n  aws-auth migrate verify --cluster prod",
        ["migrate", "finalize"] => {
            "Examples:\n  aws-auth migrate finalize --cluster prod\n  aws-auth migrate finalize --cluster prod --delete-configmap --yes"
        }
        ["check"] => {
            "Examples:\n  aws-auth check --base main/aws-auth.yaml aws-auth.yaml\n  aws-auth check --base-ref origin/main aws-auth.yaml -o json"
        }
        ["webhook", "serve"] => {
            "Examples:\n  aws-auth webhook serve --cert /tls/tls.crt --key /tls/tls.key\n  aws-auth webhook serve --cert tls.crt --key tls.key --listen 127.0.0.1:8443 --protect arn:aws:iam::111122223333:role/BreakGlass"
        }
        ["webhook", "manifests"] => {
            "Examples:\n  aws-auth webhook certs --ca-out ca.crt | kubectl apply -f -\n  aws-auth webhook manifests --ca-bundle ca.crt | kubectl apply -f -\n  aws-auth webhook manifests --cert-manager --failure-policy Fail"
        }
        ["webhook", "certs"] => {
            "Examples:\n  aws-auth webhook certs --ca-out ca.crt | kubectl apply -f -"
        }
        ["protect"] => "Examples:\n  aws-auth protect arn:aws:iam::111122223333:role/BreakGlass",
        ["unprotect"] => {
            "Examples:\n  aws-auth unprotect arn:aws:iam::111122223333:role/OldAdmin --force"
        }
        ["access", "get"] => {
            "Examples:\n  aws-auth access get --cluster prod -o json\n  aws-auth access get --cluster prod --as-file > entries.yaml   # then: aws-auth access sync entries.yaml"
        }
        ["access", "add"] => {
            "Examples:\n  aws-auth access add arn:aws:iam::111122223333:user/alice --cluster prod --policy cluster-admin\n  aws-auth access add --from-file team.txt --cluster prod --policy view --namespace dev"
        }
        ["access", "update"] => {
            "Examples:\n  aws-auth access update arn:aws:iam::111122223333:user/alice --cluster prod --add-policy view --namespace dev\n  aws-auth access update arn:aws:iam::111122223333:user/alice --cluster prod --remove-policy cluster-admin"
        }
        ["access", "sync"] => {
            "Examples:\n  aws-auth access sync entries.yaml --cluster prod --dry-run\n  aws-auth access sync entries.yaml --cluster prod --prune"
        }
        ["access", "remove"] => {
            "Examples:\n  aws-auth access remove arn:aws:iam::111122223333:user/leaver --cluster prod"
        }
        ["grant"] => {
            "Examples:\n  aws-auth grant user arn:aws:iam::111122223333:user/alice --clusterrole view -n dev -n staging\n  aws-auth grant role arn:aws:iam::111122223333:role/ci/Deployer --role deployer -n apps --dry-run\n  aws-auth --file aws-auth.yaml grant user arn:aws:iam::111122223333:user/alice --clusterrole edit -n dev --rbac-out rbac/"
        }
        ["revoke"] => {
            "Examples:\n  aws-auth revoke user arn:aws:iam::111122223333:user/leaver\n  aws-auth --file aws-auth.yaml revoke user arn:aws:iam::111122223333:user/leaver --rbac-out rbac/"
        }
        ["completions"] => {
            "Examples:\n  aws-auth completions bash > /etc/bash_completion.d/aws-auth\n  aws-auth completions zsh > \"${fpath[1]}/_aws-auth\"\n  aws-auth completions fish > ~/.config/fish/completions/aws-auth.fish"
        }
        _ => return None,
    })
}

/// `--cluster` in the words of each migrate command.
fn cluster_help(path: &[String]) -> Option<&'static str> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match path.as_slice() {
        ["migrate", "plan"] => {
            "The EKS cluster whose access entries and IAM principals the plan is made against. Without it, `plan --file` plans offline against an empty cluster"
        }
        ["migrate", "apply"] => {
            "The EKS cluster to create the access entries and policy associations in"
        }
        ["migrate", "verify"] => "The EKS cluster whose access entries are compared with the map",
        ["migrate", "finalize"] => "The EKS cluster to switch to authentication mode API",
        _ => return None,
    })
}

/// A global option's help in the words of the command at `path`, where the
/// map's words would mislead (access entries have no diff, no mappings).
fn reworded(path: &[String], id: &str) -> Option<&'static str> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match (path.as_slice(), id) {
        (["access", ..], "dry_run") => {
            "Show the plan (the calls that would be made) and send nothing"
        }
        (["access", ..], "force") => {
            "Carry out what a guard refused: deleting or rewriting a node entry, your own or a protected principal's entry, or the last cluster-admin"
        }
        (["access", ..], "kubeconfig") => {
            "The kubeconfig whose context names the EKS cluster when --cluster is not given (default: $KUBECONFIG, then ~/.kube/config)"
        }
        (["access", ..], "context") => {
            "The kubeconfig context that names the EKS cluster when --cluster is not given (default: its current context)"
        }
        (["access", ..], "protect") => {
            "Protect this principal's access entry from deletion or rewriting (repeatable); the caller's own entry is protected too"
        }
        (["migrate", ..], "dry_run") => "Show the plan (or the decision) and change nothing",
        (["migrate", "finalize"], "force") => {
            "Switch although verify fails or mappings are blocked (their principals lose access)"
        }
        _ => return None,
    })
}

/// The global options the command at `path` shows: its own, or for a group
/// of commands every one its commands show (a copy hidden in the group would
/// be the one they inherit).
fn kept(cmd: &clap::Command, path: &mut Vec<String>) -> Vec<&'static str> {
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .collect();
    if subs.is_empty() {
        return shown(path);
    }
    let mut all = Vec::new();
    for sc in subs {
        path.push(sc.get_name().to_owned());
        for id in kept(sc, path) {
            if !all.contains(&id) {
                all.push(id);
            }
        }
        path.pop();
    }
    all
}

/// Where the options a command inherits start in its help: after its own,
/// before `--help` and `--version` (clap lists those at 999).
const INHERITED_ORDER: usize = 500;

/// Gives the command at `path` a hidden copy of each global option it does
/// not use (clap then propagates the global to it no more: it keeps the copy),
/// and its examples and wording; then its subcommands.
fn shape(mut cmd: clap::Command, globals: &[clap::Arg], path: &mut Vec<String>) -> clap::Command {
    let keep = kept(&cmd, path);
    if !path.is_empty() {
        for arg in globals {
            if !keep.contains(&arg.get_id().as_str()) && !arg.is_hide_set() {
                let copy = hidden_copy(&cmd, arg);
                cmd = cmd.arg(copy);
            }
        }
    }
    if !path.is_empty() {
        for arg in globals {
            let id = arg.get_id().as_str();
            if !keep.contains(&id) || arg.is_hide_set() {
                continue;
            }
            // A visible copy, listed after the command's own options (clap
            // numbers each command's options from 0: the inherited ones
            // would be shuffled in among them).
            let mut copy = arg
                .clone()
                .display_order(INHERITED_ORDER + arg.get_display_order());
            if let Some(text) = reworded(path, id) {
                // In the command's own words. (`--dry-run`'s values speak
                // of diffs and the API server.)
                copy = copy.help(text).long_help(text);
                if id == "dry_run" {
                    copy = copy.hide_possible_values(true);
                }
            }
            cmd = cmd.arg(copy);
        }
    }
    if let Some(text) = examples(path) {
        cmd = cmd.after_help(text);
    }
    if let Some(text) = cluster_help(path) {
        cmd = cmd.mut_arg("cluster", |a| a.help(text));
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        path.push(name.clone());
        cmd = cmd.mut_subcommand(name, |sc| shape(sc, globals, path));
        path.pop();
    }
    cmd
}

/// A hidden copy of the global option `arg` for `cmd`. Where the command
/// spells one of its own options the same way (`access add --namespace` is
/// the policies' scope, not the ConfigMap's namespace), the copy gives the
/// spelling up: a global that silently took `--namespace dev` there would
/// grant at cluster scope what was asked for one namespace.
fn hidden_copy(cmd: &clap::Command, arg: &clap::Arg) -> clap::Arg {
    let mut copy = arg.clone().hide(true);
    let own = |a: &clap::Arg| a.get_id() != arg.get_id();
    if let Some(long) = arg.get_long()
        && cmd
            .get_arguments()
            .any(|a| own(a) && a.get_long() == Some(long))
    {
        // Kept reachable under a name no command uses for itself.
        copy = copy.long(match long {
            "namespace" => "configmap-namespace",
            other => unreachable!("no command spells --{other} for itself"),
        });
    }
    if let Some(short) = arg.get_short()
        && cmd
            .get_arguments()
            .any(|a| own(a) && a.get_short() == Some(short))
    {
        copy = copy.short(None);
    }
    copy
}

/// The longest wait any option may ask for.
const MAX_SECONDS: f64 = 86_400.0;

/// A positive number of seconds, at most a day.
fn seconds(s: &str) -> Result<Duration, String> {
    match seconds_or_zero(s)? {
        d if d.is_zero() => Err("must be more than 0 seconds".to_owned()),
        d => Ok(d),
    }
}

/// A number of seconds from 0 to a day.
fn seconds_or_zero(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(format!("{s} is not between 0 and {MAX_SECONDS} seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_bounded_and_never_panic() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["1e20", "-1", "0", "nan", "inf", "-inf", "", "x", "86401"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds_or_zero("0"), Ok(Duration::ZERO));
    }

    /// clap's own checks of every (sub)command, as both binaries build them
    /// (a reworded copy of a global must still be a valid argument).
    #[test]
    fn the_shaped_commands_pass_claps_checks() {
        for plugin in [false, true] {
            command(plugin).debug_assert();
        }
    }

    /// Every command's help lists its own options first, then the ones it
    /// inherits, then --help and --version.
    #[test]
    fn own_options_come_first_in_every_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            let order = |global: bool| {
                cmd.get_arguments()
                    .filter(|a| !a.is_hide_set() && !a.is_positional())
                    .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
                    .filter(move |a| a.is_global_set() == global)
                    .map(|a| (a.get_display_order(), a.get_id().to_string()))
                    .collect::<Vec<_>>()
            };
            let (own, inherited) = (order(false), order(true));
            if let (Some(last), Some(first)) = (own.iter().max(), inherited.iter().min()) {
                assert!(last.0 < first.0, "{path}: {last:?} after {first:?}");
            }
            if let Some(last) = inherited.iter().max() {
                assert!(last.0 < 999, "{path}: {last:?} after --help");
            }
            for sc in cmd.get_subcommands() {
                walk(sc, &format!("{path} {}", sc.get_name()));
            }
        }
        let mut cmd = command(false);
        cmd.build();
        for sc in cmd.get_subcommands() {
            walk(sc, sc.get_name());
        }
    }

    #[test]
    fn access_commands_speak_of_entries_not_mappings() {
        let mut cmd = command(false);
        let help = cmd
            .find_subcommand_mut("access")
            .and_then(|a| a.find_subcommand_mut("remove"))
            .map(|r| r.render_long_help().to_string())
            .unwrap_or_default();
        assert!(
            help.contains("deleting or rewriting a node entry"),
            "{help}"
        );
        assert!(!help.contains("mapping"), "{help}");
        assert!(!help.contains("diff"), "{help}");
    }
}
