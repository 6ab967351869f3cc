//! Credentials from the kubeconfig that must never be printed, and the exec
//! credential plugin (`aws eks get-token`, kubelogin...), run here rather
//! than by kube: under a deadline, and with errors that name the command
//! only (kube's error dumps the plugin's command line, environment,
//! arguments and output).

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode, Kubeconfig};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::exit::{CONFIG, fail};

/// What stands in for a credential in output.
const REDACTED: &str = "[redacted]";

/// Remembers the secret parts of AWS credentials a provider resolved (a
/// profile's keys, a `credential_process`'s answer), for [`redact_known`].
pub(crate) fn remember_aws(credentials: &aws_sdk_eks::config::Credentials) {
    remember_secret(credentials.secret_access_key());
    if let Some(token) = credentials.session_token() {
        remember_secret(token);
    }
}

/// A provider's error without what a `credential_process` printed on
/// stderr (the AWS SDK quotes it after `Stderr:`): that may be the secret it
/// failed to hand over, so it is logged (redacted, for `-v`) and the
/// message says where to see it.
pub(crate) fn without_process_output(message: &str) -> String {
    match message.split_once(" Stderr: ") {
        Some((head, said)) => {
            tracing::info!("the credential_process said:\n{}", said.trim_end());
            format!(
                "{}; run with -v to see what it said",
                head.trim_end_matches(['.', ' '])
            )
        }
        None => message.to_owned(),
    }
}

/// The secrets of the kubeconfig in use, for the last look at every error
/// message before it is printed.
static KNOWN: std::sync::Mutex<Option<Secrets>> = std::sync::Mutex::new(None);

/// Remembers `secrets` for [`redact_known`], beside those already known:
/// a run over several contexts holds each one's credentials at once, and a
/// cluster's error is printed after the others connected.
pub(crate) fn remember(secrets: &Secrets) {
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let all = known.get_or_insert_with(Secrets::default);
    for value in &secrets.0 {
        all.0.insert(value.clone());
    }
}

/// Adds a credential learnt while running (an exec plugin's token, the AWS
/// credentials a profile resolved to) to those [`redact_known`] removes.
pub(crate) fn remember_secret(value: &str) {
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    known.get_or_insert_with(|| Secrets::of(None)).add(value);
}

/// `text` without any secret of the kubeconfig in use (and of the AWS
/// environment, and those learnt since), and without the credential of any
/// `Authorization` value (`Bearer ...`, `Basic ...`): a server or proxy
/// that echoes the request's header in its error must not get it printed.
pub(crate) fn redact_known(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let text = match known.as_ref() {
        Some(s) => s.redact(text),
        None => Secrets::of(None).redact(text),
    };
    redact_schemes(&text)
}

/// The credential after an HTTP authentication scheme (`Bearer`, `Basic`,
/// `Negotiate`, `Digest`, `AWS4-HMAC-SHA256`), whatever surrounds it.
fn redact_schemes(text: &str) -> String {
    const SCHEMES: [&str; 5] = ["bearer", "basic", "negotiate", "digest", "aws4-hmac-sha256"];
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut i = 0;
    while i < text.len() {
        let found = SCHEMES.iter().find(|s| {
            lower[i..].starts_with(*s)
                // A word of its own: `Basic` in `BasicAuth` is not one.
                && (i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
                && lower.as_bytes().get(i + s.len()).is_some_and(|&b| b == b' ')
        });
        let Some(scheme) = found else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let value_start = i + scheme.len() + 1;
        let rest = &text[value_start..];
        let len = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | ']' | ')' | '}')
            })
            .unwrap_or(rest.len());
        // `Basic auth is off` names the scheme; a credential is one token of
        // its alphabet (base64, a JWT, a SigV4 credential).
        let value = &rest[..len];
        if value.len() >= 4
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=._-~:".contains(c))
            && value
                .chars()
                .any(|c| c.is_ascii_digit() || c == '=' || c == '.')
        {
            out.push_str(&text[at..value_start]);
            out.push_str(REDACTED);
            at = value_start + len;
        }
        i = value_start + len;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` without any known secret and without anything that looks like a
/// credential: for text others wrote (a credential process's output, the
/// log lines of the layers below us).
pub(crate) fn redact_untrusted(text: &str) -> String {
    redact_patterns(&redact_known(text))
}

/// Strings known to be credentials: the kubeconfig user's token, password and
/// client key, its exec plugin's environment values and secret-looking
/// arguments, and the AWS secrets in our environment.
#[derive(Debug, Default, Clone)]
pub(crate) struct Secrets(BTreeSet<String>);

impl Secrets {
    /// The secrets of one kubeconfig user, and of the process environment.
    pub(crate) fn of(auth: Option<&AuthInfo>) -> Secrets {
        let mut s = Secrets::default();
        for var in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
        ] {
            if let Ok(v) = std::env::var(var) {
                s.add(&v);
            }
        }
        for var in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            if let Ok(v) = std::env::var(var) {
                s.add_url_password(&v);
            }
        }
        let Some(auth) = auth else { return s };
        for secret in [&auth.token, &auth.password, &auth.client_key_data]
            .into_iter()
            .flatten()
        {
            s.add(secret.expose_secret());
        }
        // What goes on the wire for basic auth: base64 of `user:password`.
        if let Some(password) = &auth.password {
            let user = auth.username.as_deref().unwrap_or_default();
            s.add(&BASE64.encode(format!("{user}:{}", password.expose_secret())));
        }
        if let Some(exec) = &auth.exec {
            for env in exec.env.iter().flatten() {
                if let Some(v) = env.get("value") {
                    s.add(v);
                }
            }
            let args = exec.args.as_deref().unwrap_or_default();
            for (i, arg) in args.iter().enumerate() {
                let after_flag = i > 0 && secret_flag(&args[i - 1]);
                if after_flag || looks_secret(arg) {
                    s.add(arg);
                }
                if let Some((flag, value)) = arg.split_once('=')
                    && secret_flag(flag)
                {
                    s.add(value);
                }
            }
        }
        s
    }

    /// The password of a URL's user information (a proxy's).
    pub(crate) fn add_url_password(&mut self, url: &str) {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        if let Some((userinfo, _)) = rest.split_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            self.add(password);
        }
    }

    fn add(&mut self, value: &str) {
        // Short values would blank out ordinary words.
        if value.len() >= 4 {
            self.0.insert(value.to_owned());
        }
    }

    /// `text` with every known secret replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest first: a secret that contains another goes whole.
        let mut all: Vec<&String> = self.0.iter().collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in all {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// [`Secrets::redact`], then anything that looks like a credential.
    fn redact_all(&self, text: &str) -> String {
        redact_patterns(&self.redact(text))
    }
}

/// A command-line flag whose value is a secret (`--token`, `--password`).
fn secret_flag(flag: &str) -> bool {
    let f = flag.trim_start_matches('-').to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "key", "credential"]
        .iter()
        .any(|w| f.contains(w))
}

/// A word that looks like a credential: an AWS access key ID, a JWT, an EKS
/// token, or a long run of letters and digits with both.
fn looks_secret(word: &str) -> bool {
    let w = word.trim_matches(|c: char| "\"',;()[]{}".contains(c));
    // A value's word is judged alone (`path=/tmp/x`), and a file path is
    // none: the logs name backups and config files.
    // (Base64's `=` padding is no assignment.)
    let w = w
        .split_once('=')
        .filter(|(_, v)| !v.is_empty() && !v.starts_with('='))
        .map_or(w, |(_, v)| v);
    if ["/", "./", "~/"].iter().any(|p| w.starts_with(p)) {
        return false;
    }
    if w.starts_with("k8s-aws-v1.") || w.starts_with("eyJ") && w.len() > 20 {
        return true;
    }
    if (w.starts_with("AKIA") || w.starts_with("ASIA")) && w.len() == 20 {
        return true;
    }
    w.len() >= 24
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-.".contains(c))
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_alphabetic())
        && !w.contains("::")
}

/// `text` with credential-looking words, and the values of `key=value` or
/// `"key": "value"` pairs whose key names a secret, replaced.
fn redact_patterns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut redact_next = false;
        let mut first = true;
        for part in line.split_inclusive(|c: char| c.is_whitespace()) {
            let word = part.trim_end();
            let tail = &part[word.len()..];
            // What follows a credential's name is hidden unless it is plain
            // prose (`credentials: failed to load`, `token: service error`):
            // every secret the process holds is hidden wherever it stands
            // anyway; this catches what it does not hold.
            if !first && redact_next && !word.is_empty() && !prose(word) {
                out.push_str(REDACTED);
                out.push_str(tail);
                redact_next = false;
                continue;
            }
            first = false;
            let assigned = word
                .split_once('=')
                .or_else(|| word.split_once(':'))
                .filter(|(k, v)| secret_flag(k.trim_matches('"')) && !v.is_empty());
            if let Some((key, _)) = assigned {
                let sep = &word[key.len()..=key.len()];
                out.push_str(key);
                out.push_str(sep);
                out.push_str(REDACTED);
            } else if looks_secret(word) {
                out.push_str(REDACTED);
            } else {
                out.push_str(word);
            }
            out.push_str(tail);
            // `token: x`, `"token": "x"`, `--token x`, `token x`: the next
            // word.
            redact_next = ((word.ends_with(':') || word.starts_with("--"))
                && secret_flag(word.trim_end_matches(':').trim_matches('"')))
                || ["token", "password", "passwd", "secret"]
                    .contains(&word.to_ascii_lowercase().as_str());
        }
    }
    out
}

/// A short word of lower-case letters, as error messages are written: not
/// the shape of a token, key or generated password.
fn prose(word: &str) -> bool {
    let w = word.trim_end_matches([',', '.', ';', ':']);
    !w.is_empty() && w.len() < 12 && w.bytes().all(|b| b.is_ascii_lowercase())
}

/// The credential a plugin prints.
#[derive(Debug, Deserialize)]
struct ExecCredential {
    status: Option<ExecStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Runs the exec credential plugin of `user` in `kubeconfig`, if it has
/// one, within `deadline`, and puts the credential it prints in its place.
pub(crate) async fn resolve_exec(
    kubeconfig: &mut Kubeconfig,
    user: &str,
    server: Option<&str>,
    deadline: Duration,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let Some(auth) = kubeconfig
        .auth_infos
        .iter_mut()
        .find(|a| a.name == user)
        .and_then(|a| a.auth_info.as_mut())
    else {
        return Ok(());
    };
    let Some(exec) = auth.exec.take() else {
        return Ok(());
    };
    let status = run(&exec, server, deadline, secrets).await?;
    for secret in [&status.token, &status.client_key_data]
        .into_iter()
        .flatten()
    {
        remember_secret(secret);
    }
    match status {
        ExecStatus { token: Some(t), .. } => auth.token = Some(SecretString::from(t)),
        ExecStatus {
            client_certificate_data: Some(cert),
            client_key_data: Some(key),
            ..
        } => {
            auth.client_certificate_data = Some(BASE64.encode(cert.as_bytes()));
            auth.client_key_data = Some(SecretString::from(BASE64.encode(key.as_bytes())));
        }
        _ => {
            return Err(fail(
                CONFIG,
                format!(
                    "the credential plugin {} printed neither a token nor a client certificate",
                    name(&exec)
                ),
            ));
        }
    }
    Ok(())
}

/// Every value a plugin printed on stdout, as secrets: the string values of
/// its JSON, or its words when it printed no JSON.
fn remember_output(stdout: &[u8]) {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(stdout);
    let mut values = Vec::new();
    match serde_json::from_str::<serde_json::Value>(&text) {
        // An ExecCredential's secrets are in its status; its apiVersion and
        // kind are words our own messages use.
        Ok(v) if v.get("status").is_some() => strings(&v["status"], &mut values),
        Ok(v) => strings(&v, &mut values),
        Err(_) => values.extend(text.split_whitespace().map(str::to_owned)),
    }
    for v in values.iter().filter(|v| v.len() >= 8) {
        remember_secret(v);
    }
}

/// The plugin's command, for messages: the program only, never arguments.
fn name(exec: &ExecConfig) -> String {
    format!("`{}`", exec.command.as_deref().unwrap_or("(none)"))
}

async fn run(
    exec: &ExecConfig,
    server: Option<&str>,
    deadline: Duration,
    secrets: &Secrets,
) -> anyhow::Result<ExecStatus> {
    let Some(program) = &exec.command else {
        return Err(fail(
            CONFIG,
            "the kubeconfig's exec credential plugin has no command",
        ));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(exec.args.iter().flatten());
    for env in exec.env.iter().flatten() {
        if let (Some(k), Some(v)) = (env.get("name"), env.get("value")) {
            cmd.env(k, v);
        }
    }
    for var in exec.drop_env.iter().flatten() {
        cmd.env_remove(var);
    }
    // A prompt (a login, an MFA code) needs someone to answer it: only on a
    // terminal, and only when the kubeconfig allows it.
    let interactive = exec.interactive_mode != Some(ExecInteractiveMode::Never)
        && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let mut spec = serde_json::json!({ "interactive": interactive });
    if exec.provide_cluster_info
        && let Some(server) = server
    {
        spec["cluster"] = serde_json::json!({ "server": server });
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version.as_deref().unwrap_or("client.authentication.k8s.io/v1beta1"),
        "kind": "ExecCredential",
        "spec": spec,
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    if interactive {
        cmd.stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit());
    } else {
        cmd.stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
    }
    let plugin = name(exec);
    let child = cmd.spawn().map_err(|e| {
        fail(
            CONFIG,
            format!("cannot run the kubeconfig's credential plugin {plugin}: {e}"),
        )
    })?;
    let pid = child.id();
    // Pinned here, so that the plugin is still alive (and its children
    // still its own) when the deadline kills them all.
    let waiting = child.wait_with_output();
    tokio::pin!(waiting);
    let out = match tokio::time::timeout(deadline, &mut waiting).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(fail(
                CONFIG,
                format!("the kubeconfig's credential plugin {plugin} failed to run: {e}"),
            ));
        }
        // The plugin and what it started.
        Err(_) => {
            if let Some(pid) = pid {
                crate::reap::kill_tree(pid);
            }
            return Err(fail(
                CONFIG,
                format!(
                    "the kubeconfig's credential plugin {plugin} did not finish within {} s (--request-timeout); it may be waiting for a login",
                    deadline.as_secs_f64()
                ),
            ));
        }
    };
    if !out.status.success() {
        // A plugin that fails may still have printed its credential (or
        // half of one): whatever it printed is a secret from here on.
        remember_output(&out.stdout);
    }
    let said = String::from_utf8_lossy(&out.stderr);
    if !said.trim().is_empty() {
        tracing::info!(
            "the credential plugin {plugin} said:\n{}",
            secrets.redact_all(said.trim_end())
        );
    }
    if !out.status.success() {
        let how = match out.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
        return Err(fail(
            CONFIG,
            format!(
                "the kubeconfig's credential plugin {plugin} failed ({how}){}",
                if said.trim().is_empty() {
                    ""
                } else {
                    "; run with -v to see what it said"
                }
            ),
        ));
    }
    let credential: ExecCredential = serde_json::from_slice(&out.stdout).map_err(|_| {
        fail(
            CONFIG,
            format!(
                "the kubeconfig's credential plugin {plugin} did not print an ExecCredential (JSON)"
            ),
        )
    })?;
    credential.status.ok_or_else(|| {
        fail(
            CONFIG,
            format!("the kubeconfig's credential plugin {plugin} printed an ExecCredential without status"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_redacted_wherever_they_stand() {
        for (said, want) in [
            (
                "Unauthorized: the credentials Basic Ym9iOlNFQ1JFVA== were refused",
                "Unauthorized: the credentials Basic [redacted] were refused",
            ),
            (
                "{\"message\":\"bad Authorization: Bearer k8s-aws-v1.abc_123\"}",
                "{\"message\":\"bad Authorization: Bearer [redacted]\"}",
            ),
            ("bearer eyJhbGciOi.x.y, retry", "bearer [redacted], retry"),
            // The scheme named in prose, not a credential: kept.
            (
                "Basic auth is off; use a Bearer token",
                "Basic auth is off; use a Bearer token",
            ),
            ("BasicAuth Ym9iOlNFQ1JFVA==", "BasicAuth Ym9iOlNFQ1JFVA=="),
        ] {
            assert_eq!(redact_schemes(said), want, "{said}");
        }
    }

    #[test]
    fn a_bare_secret_word_hides_the_next() {
        assert_eq!(
            redact_patterns("refreshing: token plain-words-value expired"),
            "refreshing: token [redacted] expired"
        );
        assert_eq!(
            redact_patterns("the Password hunter2x was wrong"),
            "the Password [redacted] was wrong"
        );
        // Prose after a credential's name stays: the SDK's own messages.
        assert_eq!(
            redact_patterns(
                "loading credentials: failed to load IMDS session token: service error"
            ),
            "loading credentials: failed to load IMDS session token: service error"
        );
    }

    #[test]
    fn a_process_output_is_cut_from_the_message() {
        let said = "Error retrieving credentials: external process exited with code exit status: 1. Stderr: token=x";
        assert_eq!(
            without_process_output(said),
            "Error retrieving credentials: external process exited with code exit status: 1; run with -v to see what it said"
        );
        assert_eq!(without_process_output("no profile"), "no profile");
    }

    #[test]
    fn credential_looking_words_and_secret_values_are_redacted() {
        let said = concat!(
            "error: token=tok-abc expired for user arn:aws:iam::111122223333:role/NodeInstanceRole-74RF4UBDUKL6\n",
            "  AccessKeyId: AKIAIOSFODNN7EXAMPLE, SecretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            "  --token k8s-aws-v1.aHR0cHM6Ly9zdHM \"password\": \"hunter2hunter2\" jwt eyJhbGciOiJIUzI1NiJ9.e30.x\n",
        );
        let got = redact_patterns(said);
        for secret in [
            "tok-abc",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI",
            "k8s-aws-v1.",
            "hunter2",
            "eyJhbGci",
        ] {
            assert!(!got.contains(secret), "{secret} in {got}");
        }
        // ARNs and ordinary words stay readable.
        assert!(
            got.contains("arn:aws:iam::111122223333:role/NodeInstanceRole-74RF4UBDUKL6"),
            "{got}"
        );
        assert!(
            got.starts_with("error: token=[redacted] expired for user"),
            "{got}"
        );
    }

    #[test]
    fn paths_stay_and_padded_or_assigned_secrets_go() {
        let said = "wrote path=/home/u/.local/state/aws-auth/backups/ctx/aws-auth-20261123T101500Z-rv123.json \
            and /tmp/.tmpU1bmKr/no-aws-credentials; session=ZXlKaGJHY2lPaUpJVXpJMU5pSjkuZTMwLng5OQ== \
            raw ZXlKaGJHY2lPaUpJVXpJMU5pSjkuZTMwLng5OQ==";
        let got = redact_patterns(said);
        assert!(got.contains("path=/home/u/.local/state/aws-auth/backups/ctx/aws-auth-20261123T101500Z-rv123.json"), "{got}");
        assert!(got.contains("/tmp/.tmpU1bmKr/no-aws-credentials"), "{got}");
        assert!(!got.contains("ZXlKaGJHY2lPaUpJ"), "{got}");
    }

    #[test]
    fn known_secrets_go_wherever_they_appear() {
        let mut s = Secrets::default();
        s.add("s3cr3t-value");
        s.add("ab");
        assert_eq!(s.redact("x=s3cr3t-value; ab"), "x=[redacted]; ab");
    }
}
