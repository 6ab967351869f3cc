//! What EKS refuses in an access entry, said before any call: the rules
//! the migrator and the access commands share.

use super::BlockedCode as Code;
use crate::arn::Arn;

/// Username prefixes only EKS may give.
pub(crate) const FORBIDDEN_PREFIXES: [&str; 5] = ["system:", "eks:", "aws:", "amazon:", "iam:"];

/// Why EKS refuses an access entry for `arn` although it is an IAM role:
/// a service-linked role.
pub(crate) fn service_linked(arn: &Arn) -> Result<(), (Code, String)> {
    // aws-auth drops the path (/aws-service-role/...), the name still tells.
    if arn.is_service_linked() || arn.name().starts_with("AWSServiceRoleFor") {
        return Err((
            Code::ServiceLinkedRole,
            "a service-linked role: EKS refuses access entries for service-linked roles".to_owned(),
        ));
    }
    Ok(())
}

/// Why EKS refuses `username` on a STANDARD access entry: a reserved
/// prefix, a template other than the session's, a session template on a
/// user (only role sessions fill it) or without a `:` before it.
pub(crate) fn entry_username(username: &str, is_role: bool) -> Result<(), (Code, String)> {
    if let Some(p) = FORBIDDEN_PREFIXES.iter().find(|p| username.starts_with(*p)) {
        return Err((
            Code::ForbiddenUsername,
            format!("the username {username:?} starts with {p}, which access entries refuse"),
        ));
    }
    let templates = crate::template::placeholders(username);
    if let Some((_, name)) = templates
        .iter()
        .find(|(_, n)| !matches!(*n, "SessionName" | "SessionNameRaw"))
    {
        return Err((
            Code::UnsupportedTemplate,
            format!(
                "the username {username:?} uses {{{{{name}}}}}; access entries accept only {{{{SessionName}}}} and {{{{SessionNameRaw}}}}"
            ),
        ));
    }
    if let Some(&(at, _)) = templates.first() {
        if !is_role {
            return Err((
                Code::UserSessionTemplate,
                format!(
                    "the username {username:?} of an IAM user holds a session template, which only role sessions fill"
                ),
            ));
        }
        if !username[..at].contains(':') {
            return Err((
                Code::TemplateWithoutColon,
                format!(
                    "the username {username:?} has a template without a `:` before it, which access entries require (e.g. \"dev:{{{{SessionName}}}}\")"
                ),
            ));
        }
    }
    Ok(())
}
