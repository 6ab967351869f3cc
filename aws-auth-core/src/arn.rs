//! IAM and STS principal ARNs, as the authenticator compares them.
//!
//! aws-iam-authenticator learns the caller's ARN from `sts:GetCallerIdentity` and
//! canonicalises it before looking it up: a role session
//! `arn:P:sts::ACCT:assumed-role/NAME/SESSION` becomes `arn:P:iam::ACCT:role/NAME`,
//! without any IAM path. This module parses principal ARNs, says precisely what is
//! wrong with malformed ones and performs that canonicalisation.

use std::fmt;
use std::str::FromStr;

/// An AWS partition that IAM principals can live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// `aws`: the commercial regions.
    Aws,
    /// `aws-cn`: China.
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso`: US ISO East/West.
    AwsIso,
    /// `aws-iso-b`: US ISOB.
    AwsIsoB,
    /// `aws-iso-e`: EU ISOE.
    AwsIsoE,
    /// `aws-iso-f`: US ISOF.
    AwsIsoF,
    /// `aws-eusc`: AWS European Sovereign Cloud.
    AwsEusc,
}

impl Partition {
    /// Every partition, in a stable order.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The partition's name as written in an ARN.
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// Looks a partition up by its exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of principal an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// An IAM role: `arn:P:iam::ACCT:role/PATH/NAME`.
    Role,
    /// An IAM user: `arn:P:iam::ACCT:user/PATH/NAME`.
    User,
    /// The account root: `arn:P:iam::ACCT:root`.
    Root,
    /// A role session: `arn:P:sts::ACCT:assumed-role/NAME/SESSION`.
    AssumedRole,
    /// A federated user session: `arn:P:sts::ACCT:federated-user/NAME`.
    FederatedUser,
}

impl PrincipalKind {
    /// A short lower-case word for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
            PrincipalKind::Root => "root",
            PrincipalKind::AssumedRole => "assumed-role",
            PrincipalKind::FederatedUser => "federated-user",
        }
    }
}

/// A parsed IAM or STS principal ARN.
///
/// ```
/// use aws_auth_core::arn::{Arn, PrincipalKind};
///
/// let arn: Arn = "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com".parse()?;
/// assert_eq!(arn.kind(), PrincipalKind::AssumedRole);
/// assert_eq!(arn.session(), Some("alice@example.com"));
/// assert_eq!(arn.canonical().to_string(), "arn:aws:iam::111122223333:role/Admin");
/// # Ok::<(), aws_auth_core::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    partition: Partition,
    account: String,
    kind: PrincipalKind,
    /// IAM path including its leading and trailing `/`; `/` when absent.
    path: String,
    name: String,
    session: Option<String>,
}

/// Why a string is not a usable principal ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ArnError {
    kind: ArnErrorKind,
    message: String,
}

/// The category of an [`ArnError`], for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArnErrorKind {
    /// Empty, or surrounded by white space.
    Blank,
    /// Still a documentation placeholder such as `<ARN of the role>`.
    Placeholder,
    /// Does not have the `arn:partition:service:region:account:resource` shape.
    Shape,
    /// The partition is not one of the eight AWS partitions.
    Partition,
    /// The service is not `iam` or `sts`, e.g. an EKS Fargate profile ARN.
    Service,
    /// An IAM or STS ARN with a region in it.
    Region,
    /// The account is not twelve digits.
    Account,
    /// The resource is not a role, user, root or session.
    Resource,
    /// Contains `*` or `?`: the authenticator compares literally.
    Wildcard,
    /// A role, user or session name, or an IAM path, that IAM never gives a
    /// principal (a character outside `[\w+=,.@-]`, such as an unrendered
    /// `${var.name}`, or a name over 64 characters): no caller has it.
    Name,
}

impl ArnError {
    fn new(kind: ArnErrorKind, message: impl Into<String>) -> Self {
        ArnError {
            kind,
            message: message.into(),
        }
    }

    /// The category of the problem.
    pub fn kind(&self) -> ArnErrorKind {
        self.kind
    }
}

impl Arn {
    /// The partition.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The twelve-digit account ID.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The kind of principal.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The IAM path, with leading and trailing `/` (just `/` when there is none).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// True when the ARN carries an IAM path other than `/`.
    pub fn has_path(&self) -> bool {
        self.path != "/"
    }

    /// The role, user or federated-user name (the account ID for root).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The session name of an assumed-role ARN.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// True for an IAM role or user (the principals aws-auth maps).
    pub fn is_iam_principal(&self) -> bool {
        matches!(self.kind, PrincipalKind::Role | PrincipalKind::User)
    }

    /// True for a service-linked role (`role/aws-service-role/...`).
    pub fn is_service_linked(&self) -> bool {
        self.kind == PrincipalKind::Role && self.path.starts_with("/aws-service-role/")
    }

    /// True for a role created by IAM Identity Center (`AWSReservedSSO_...`).
    pub fn is_sso_role(&self) -> bool {
        self.kind == PrincipalKind::Role && self.name.starts_with("AWSReservedSSO_")
    }

    /// The same ARN without its IAM path.
    pub fn without_path(&self) -> Arn {
        Arn {
            path: "/".to_owned(),
            ..self.clone()
        }
    }

    /// The ARN the authenticator compares against the map for a caller with this ARN.
    ///
    /// A role session becomes its role without any path; a role ARN given directly
    /// also loses its path, because a caller using that role always arrives as a
    /// session, whose ARN carries none. Users, root and federated users are kept as
    /// written.
    pub fn canonical(&self) -> Arn {
        match self.kind {
            PrincipalKind::AssumedRole => Arn {
                kind: PrincipalKind::Role,
                path: "/".to_owned(),
                session: None,
                ..self.clone()
            },
            PrincipalKind::Role => self.without_path(),
            _ => self.clone(),
        }
    }

    /// Builds a role ARN from its parts.
    pub fn role(
        partition: Partition,
        account: &str,
        path: &str,
        name: &str,
    ) -> Result<Arn, ArnError> {
        format!(
            "arn:{partition}:iam::{account}:role{}{name}",
            normalise_path(path)
        )
        .parse()
    }
}

fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.partition;
        let a = &self.account;
        match self.kind {
            PrincipalKind::Role => write!(f, "arn:{p}:iam::{a}:role{}{}", self.path, self.name),
            PrincipalKind::User => write!(f, "arn:{p}:iam::{a}:user{}{}", self.path, self.name),
            PrincipalKind::Root => write!(f, "arn:{p}:iam::{a}:root"),
            PrincipalKind::AssumedRole => write!(
                f,
                "arn:{p}:sts::{a}:assumed-role/{}/{}",
                self.name,
                self.session.as_deref().unwrap_or_default()
            ),
            PrincipalKind::FederatedUser => {
                write!(f, "arn:{p}:sts::{a}:federated-user/{}", self.name)
            }
        }
    }
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Arn, ArnError> {
        use ArnErrorKind as K;
        if s.is_empty() {
            return Err(ArnError::new(K::Blank, "the ARN is empty"));
        }
        if s.trim() != s {
            return Err(ArnError::new(
                K::Blank,
                format!("the ARN {s:?} has leading or trailing white space"),
            ));
        }
        if s.starts_with('<') || s.ends_with('>') {
            return Err(ArnError::new(
                K::Placeholder,
                format!("{s:?} is a documentation placeholder, not an ARN"),
            ));
        }
        if s.contains(char::is_whitespace) {
            return Err(ArnError::new(
                K::Shape,
                format!("the ARN {s:?} contains white space"),
            ));
        }
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(ArnError::new(
                K::Shape,
                format!(
                    "{s:?} is not an ARN (expected arn:PARTITION:iam::ACCOUNT:role/NAME or user/NAME)"
                ),
            ));
        }
        let (partition_name, service, region, account, resource) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        let partition = Partition::from_name(partition_name).ok_or_else(|| {
            let known: Vec<&str> = Partition::ALL.iter().map(|p| p.as_str()).collect();
            ArnError::new(
                K::Partition,
                format!(
                    "{s:?} has the unknown partition {partition_name:?} (known: {})",
                    known.join(", ")
                ),
            )
        })?;
        if service == "eks" && resource.starts_with("fargateprofile/") {
            return Err(ArnError::new(
                K::Service,
                format!("{s:?} is a Fargate profile ARN; map its pod execution role ARN instead"),
            ));
        }
        if service != "iam" && service != "sts" {
            return Err(ArnError::new(
                K::Service,
                format!("{s:?} is an ARN of the {service:?} service, not an IAM principal"),
            ));
        }
        if !region.is_empty() {
            return Err(ArnError::new(
                K::Region,
                format!(
                    "{s:?} has the region {region:?}, but IAM and STS ARNs have an empty region field (arn:{partition_name}:{service}::...)"
                ),
            ));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ArnError::new(
                K::Account,
                format!("{s:?} has the account {account:?}, which is not 12 digits"),
            ));
        }
        if resource.contains(['*', '?']) {
            return Err(ArnError::new(
                K::Wildcard,
                format!("{s:?} contains a wildcard, but ARNs are compared literally"),
            ));
        }
        let account = account.to_owned();
        let bad_resource = |what: &str| ArnError::new(K::Resource, format!("{s:?} {what}"));
        match service {
            "iam" => {
                if resource == "root" {
                    return Ok(Arn {
                        partition,
                        name: account.clone(),
                        account,
                        kind: PrincipalKind::Root,
                        path: "/".to_owned(),
                        session: None,
                    });
                }
                let (kind, rest) = if let Some(rest) = resource.strip_prefix("role/") {
                    (PrincipalKind::Role, rest)
                } else if let Some(rest) = resource.strip_prefix("user/") {
                    (PrincipalKind::User, rest)
                } else if resource.starts_with("instance-profile/") {
                    return Err(bad_resource(
                        "is an instance profile ARN; map the role in the instance profile instead",
                    ));
                } else if resource.starts_with("group/") {
                    return Err(bad_resource(
                        "is an IAM group ARN; groups cannot be mapped, map their users or a role",
                    ));
                } else {
                    return Err(bad_resource("names neither a role/ nor a user/"));
                };
                let (path, name) = match rest.rfind('/') {
                    Some(i) => (&rest[..=i], &rest[i + 1..]),
                    None => ("", rest),
                };
                if name.is_empty() {
                    return Err(bad_resource("has no name after its path"));
                }
                if rest.contains("//") {
                    return Err(bad_resource("has an empty path segment"));
                }
                check_name(s, kind.as_str(), name)?;
                check_path(s, path)?;
                Ok(Arn {
                    partition,
                    account,
                    kind,
                    path: format!("/{path}"),
                    name: name.to_owned(),
                    session: None,
                })
            }
            _ => {
                if let Some(rest) = resource.strip_prefix("assumed-role/") {
                    let Some((name, session)) = rest.split_once('/') else {
                        return Err(bad_resource(
                            "has no session name (assumed-role/NAME/SESSION)",
                        ));
                    };
                    if name.is_empty() || session.is_empty() || session.contains('/') {
                        return Err(bad_resource("is not of the form assumed-role/NAME/SESSION"));
                    }
                    check_name(s, "role", name)?;
                    check_name(s, "session", session)?;
                    Ok(Arn {
                        partition,
                        account,
                        kind: PrincipalKind::AssumedRole,
                        path: "/".to_owned(),
                        name: name.to_owned(),
                        session: Some(session.to_owned()),
                    })
                } else if let Some(name) = resource.strip_prefix("federated-user/") {
                    if name.is_empty() || name.contains('/') {
                        return Err(bad_resource("is not of the form federated-user/NAME"));
                    }
                    check_name(s, "federated user", name)?;
                    Ok(Arn {
                        partition,
                        account,
                        kind: PrincipalKind::FederatedUser,
                        path: "/".to_owned(),
                        name: name.to_owned(),
                        session: None,
                    })
                } else {
                    Err(bad_resource(
                        "is an STS ARN that is neither assumed-role/ nor federated-user/",
                    ))
                }
            }
        }
    }
}

/// The longest role, user or session name IAM and STS give.
pub const MAX_NAME: usize = 64;

/// The longest IAM path (its slashes included).
pub const MAX_PATH: usize = 512;

/// True for a byte IAM allows in a role, user or session name:
/// `[\w+=,.@-]`, ASCII only.
pub const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'_' | b'-')
}

/// A name IAM could have given: 1 to [`MAX_NAME`] bytes of
/// [`is_name_byte`]. Anything else (an unrendered `${var.x}`, a `:`, a
/// non-ASCII letter) names no principal, so no caller ever matches it.
fn check_name(arn: &str, what: &str, name: &str) -> Result<(), ArnError> {
    if let Some(c) = name
        .chars()
        .find(|c| !c.is_ascii() || !is_name_byte(*c as u8))
    {
        return Err(ArnError::new(
            ArnErrorKind::Name,
            format!(
                "{arn:?} has the {what} name {name:?}, which no IAM principal can have: {c:?} is not allowed (names are letters, digits and + = , . @ _ -)"
            ),
        ));
    }
    if name.len() > MAX_NAME {
        return Err(ArnError::new(
            ArnErrorKind::Name,
            format!(
                "{arn:?} has a {what} name of {} characters, which no IAM principal can have (at most {MAX_NAME})",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// An IAM path: printable ASCII without spaces, at most [`MAX_PATH`] bytes
/// with its slashes.
fn check_path(arn: &str, path: &str) -> Result<(), ArnError> {
    // `path` is what stands between `role/` and the name, its last `/` included.
    if let Some(c) = path.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(ArnError::new(
            ArnErrorKind::Name,
            format!(
                "{arn:?} has the IAM path /{path}, which no IAM principal can have: {c:?} is not allowed (paths are printable ASCII)"
            ),
        ));
    }
    if path.len() + 1 > MAX_PATH {
        return Err(ArnError::new(
            ArnErrorKind::Name,
            format!(
                "{arn:?} has an IAM path of {} characters, which no IAM principal can have (at most {MAX_PATH})",
                path.len() + 1
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Arn {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> ArnError {
        s.parse::<Arn>().expect_err(s)
    }

    #[test]
    fn every_partition_round_trips() {
        for p in Partition::ALL {
            let s = format!("arn:{p}:iam::111122223333:role/Admin");
            let arn = parse(&s);
            assert_eq!(arn.partition(), p);
            assert_eq!(arn.to_string(), s);
        }
        assert_eq!(
            err("arn:aws-xx:iam::111122223333:role/A").kind(),
            ArnErrorKind::Partition
        );
    }

    #[test]
    fn roles_keep_their_path_until_canonicalised() {
        let arn = parse(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
        );
        assert_eq!(arn.path(), "/aws-reserved/sso.amazonaws.com/");
        assert!(arn.has_path() && arn.is_sso_role());
        assert_eq!(
            arn.canonical().to_string(),
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
        );
        assert_eq!(
            arn.to_string(),
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"
        );
    }

    #[test]
    fn sessions_canonicalise_to_pathless_roles() {
        let arn = parse("arn:aws-us-gov:sts::111122223333:assumed-role/Deploy/i-0123456789abcdef0");
        assert_eq!(arn.kind(), PrincipalKind::AssumedRole);
        assert_eq!(
            arn.canonical().to_string(),
            "arn:aws-us-gov:iam::111122223333:role/Deploy"
        );
    }

    #[test]
    fn users_root_and_federated_users_stay_as_written() {
        let user = parse("arn:aws:iam::111122223333:user/ops/Alice");
        assert_eq!(user.canonical(), user);
        assert_eq!(user.name(), "Alice");
        let root = parse("arn:aws:iam::111122223333:root");
        assert_eq!(root.kind(), PrincipalKind::Root);
        assert_eq!(
            root.canonical().to_string(),
            "arn:aws:iam::111122223333:root"
        );
        let fed = parse("arn:aws:sts::111122223333:federated-user/bob");
        assert_eq!(fed.canonical(), fed);
    }

    #[test]
    fn service_linked_roles_are_recognised() {
        let arn = parse(
            "arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
        );
        assert!(arn.is_service_linked());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("", ArnErrorKind::Blank, "empty"),
            (
                " arn:aws:iam::111122223333:role/A",
                ArnErrorKind::Blank,
                "white space",
            ),
            (
                "<arn:aws:iam::111122223333:role/A>",
                ArnErrorKind::Placeholder,
                "placeholder",
            ),
            (
                "ARN of instance role (not instance profile)",
                ArnErrorKind::Shape,
                "white space",
            ),
            ("my-role", ArnErrorKind::Shape, "not an ARN"),
            (
                "arn:aws:iam:us-east-1:111122223333:user/A",
                ArnErrorKind::Region,
                "region",
            ),
            (
                "arn:aws:iam::11112222333:role/A",
                ArnErrorKind::Account,
                "12 digits",
            ),
            (
                "arn:aws:iam::111122223333:role/teams/*",
                ArnErrorKind::Wildcard,
                "wildcard",
            ),
            (
                "arn:aws:eks:us-east-1:111122223333:fargateprofile/c/p/1",
                ArnErrorKind::Service,
                "pod execution role",
            ),
            ("arn:aws:s3:::bucket", ArnErrorKind::Service, "s3"),
            (
                "arn:aws:iam::111122223333:instance-profile/Nodes",
                ArnErrorKind::Resource,
                "instance profile",
            ),
            (
                "arn:aws:iam::111122223333:group/devs",
                ArnErrorKind::Resource,
                "group",
            ),
            (
                "arn:aws:iam::111122223333:role/",
                ArnErrorKind::Resource,
                "no name",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/Admin",
                ArnErrorKind::Resource,
                "session",
            ),
            (
                "arn:aws:iam::111122223333:role/${var.admin_role}",
                ArnErrorKind::Name,
                "'$' is not allowed",
            ),
            (
                "arn:aws:iam::111122223333:role/a:b",
                ArnErrorKind::Name,
                "':' is not allowed",
            ),
            (
                "arn:aws:iam::111122223333:user/J\u{f6}rg",
                ArnErrorKind::Name,
                "no IAM principal can have",
            ),
            (
                "arn:aws:iam::111122223333:role/teams/[x]",
                ArnErrorKind::Name,
                "'[' is not allowed",
            ),
            (
                "arn:aws:iam::111122223333:role/a'b",
                ArnErrorKind::Name,
                "not allowed",
            ),
            (
                "arn:aws:iam::111122223333:role/100%",
                ArnErrorKind::Name,
                "not allowed",
            ),
            (
                "arn:aws:iam::111122223333:role/a\\b",
                ArnErrorKind::Name,
                "not allowed",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/${role}/s",
                ArnErrorKind::Name,
                "role name",
            ),
            (
                "arn:aws:iam::111122223333:role/p\u{e4}th/Admin",
                ArnErrorKind::Name,
                "IAM path",
            ),
        ];
        for (input, kind, needle) in cases {
            let e = err(input);
            assert_eq!(e.kind(), kind, "{input}: {e}");
            assert!(e.to_string().contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn names_and_paths_keep_to_iam_limits() {
        let name = |n: usize| "a".repeat(n);
        parse(&format!("arn:aws:iam::111122223333:role/{}", name(64)));
        parse(&format!("arn:aws:iam::111122223333:user/{}", name(64)));
        let e = err(&format!("arn:aws:iam::111122223333:role/{}", name(65)));
        assert_eq!(e.kind(), ArnErrorKind::Name);
        assert!(e.to_string().contains("65 characters"), "{e}");
        // A path of 512 with its slashes is IAM's longest.
        let path = format!("{}/", name(510));
        parse(&format!("arn:aws:iam::111122223333:role/{path}Admin"));
        let e = err(&format!("arn:aws:iam::111122223333:role/a{path}Admin"));
        assert_eq!(e.kind(), ArnErrorKind::Name);
        // Every byte IAM allows, and a path of printable ASCII.
        parse("arn:aws:iam::111122223333:role/a-z_A+Z=0,9.x@y");
        parse("arn:aws:iam::111122223333:role/odd!#$%/path~/Admin");
        parse("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com");
    }

    #[test]
    fn role_builder_normalises_paths() {
        let arn = Arn::role(Partition::Aws, "111122223333", "teams/platform", "Dev").unwrap();
        assert_eq!(
            arn.to_string(),
            "arn:aws:iam::111122223333:role/teams/platform/Dev"
        );
        let arn = Arn::role(Partition::AwsCn, "111122223333", "/", "Dev").unwrap();
        assert_eq!(arn.to_string(), "arn:aws-cn:iam::111122223333:role/Dev");
    }
}
