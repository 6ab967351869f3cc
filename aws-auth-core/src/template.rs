//! The `{{...}}` templates aws-iam-authenticator fills into usernames and groups.

/// The placeholders the authenticator replaces (by literal, case-sensitive text).
pub(crate) const KNOWN: [&str; 5] = [
    "AccountID",
    "SessionName",
    "SessionNameRaw",
    "AccessKeyID",
    "EC2PrivateDNSName",
];

/// Every `{{...}}` in `s`, as (offset of `{{`, text between the braces).
pub(crate) fn placeholders(s: &str) -> Vec<(usize, &str)> {
    each_placeholder(s).collect()
}

/// [`placeholders`] one by one, without collecting them.
fn each_placeholder(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let open = pair(s, from, b'{')?;
        let close = pair(s, open + 2, b'}')?;
        from = close + 2;
        Some((open, &s[open + 2..close]))
    })
}

/// Where `c` first appears twice in a row in `s`, from `from` on (a `str::find`
/// of a two-byte pattern builds a searcher each time: slow on short values).
fn pair(s: &str, from: usize, c: u8) -> Option<usize> {
    let b = s.as_bytes().get(from..)?;
    memchr::memchr_iter(c, b)
        .find(|&i| b.get(i + 1) == Some(&c))
        .map(|i| from + i)
}

/// For an unknown placeholder, the known one it was probably meant to be.
pub(crate) fn meant(name: &str) -> Option<&'static str> {
    let norm: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    KNOWN
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(&norm))
}

/// Problems with the templates of one value: unknown or mis-cased names.
pub(crate) fn unknown(s: &str) -> Vec<String> {
    each_placeholder(s)
        .filter(|(_, name)| !KNOWN.contains(name))
        .map(|(_, name)| match meant(name) {
            Some(k) => format!("{{{{{name}}}}} is not a template the authenticator knows (they are case-sensitive and take no spaces): write {{{{{k}}}}}"),
            None => format!(
                "{{{{{name}}}}} is not a template the authenticator knows and stays as literal text (known: {})",
                KNOWN.map(|k| format!("{{{{{k}}}}}")).join(", ")
            ),
        })
        .collect()
}

/// What is known about a caller when templates are filled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Values<'a> {
    pub(crate) account_id: &'a str,
    pub(crate) session_name: Option<&'a str>,
    pub(crate) access_key_id: Option<&'a str>,
    pub(crate) private_dns_name: Option<&'a str>,
}

/// The result of filling one value's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filled {
    pub(crate) text: String,
    /// Placeholders left in because their value is only known at login.
    pub(crate) pending: Vec<&'static str>,
}

/// Fills templates as the authenticator does, in its order. `Err` when the login
/// fails (`{{EC2PrivateDNSName}}` for a session that is not an instance ID).
pub(crate) fn fill(template: &str, v: &Values<'_>) -> Result<Filled, String> {
    let mut text = template.to_owned();
    let mut pending = Vec::new();
    if text.contains("{{EC2PrivateDNSName}}") {
        let session = v.session_name.unwrap_or_default();
        if !is_instance_id(session) {
            return Err(format!(
                "{{{{EC2PrivateDNSName}}}} needs the session name to be an EC2 instance ID (i-...), but it is {session:?}: the login fails"
            ));
        }
        match v.private_dns_name {
            Some(dns) => text = text.replace("{{EC2PrivateDNSName}}", dns),
            None => pending.push("EC2PrivateDNSName"),
        }
    }
    text = text.replace("{{AccountID}}", v.account_id);
    if let Some(session) = v.session_name {
        text = text.replace("{{SessionName}}", &session.replace('@', "-"));
        text = text.replace("{{SessionNameRaw}}", session);
    } else {
        text = text
            .replace("{{SessionName}}", "")
            .replace("{{SessionNameRaw}}", "");
    }
    match v.access_key_id {
        Some(key) => text = text.replace("{{AccessKeyID}}", key),
        None if text.contains("{{AccessKeyID}}") => pending.push("AccessKeyID"),
        None => {}
    }
    Ok(Filled { text, pending })
}

/// The authenticator's `^i-(\w{8}|\w{17})$`.
pub(crate) fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|rest| {
        (rest.len() == 8 || rest.len() == 17)
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_like_the_authenticator() {
        let v = Values {
            account_id: "111122223333",
            session_name: Some("alice@example.com"),
            ..Values::default()
        };
        let f = fill(
            "admin:{{SessionName}}:{{SessionNameRaw}}:{{AccountID}}:{{sessionName}}",
            &v,
        )
        .unwrap();
        assert_eq!(
            f.text,
            "admin:alice-example.com:alice@example.com:111122223333:{{sessionName}}"
        );
        assert!(fill("system:node:{{EC2PrivateDNSName}}", &v).is_err());
        let v = Values {
            session_name: Some("i-0123456789abcdef0"),
            ..v
        };
        let f = fill("system:node:{{EC2PrivateDNSName}}", &v).unwrap();
        assert_eq!(f.pending, ["EC2PrivateDNSName"]);
    }

    #[test]
    fn unknown_templates_are_named() {
        assert!(unknown("x:{{SessionName}}").is_empty());
        assert!(unknown("{{sessionName}}")[0].contains("write {{SessionName}}"));
        assert!(unknown("{{ SessionName }}")[0].contains("write {{SessionName}}"));
        assert!(unknown("{{Email}}")[0].contains("literal text"));
    }
}
