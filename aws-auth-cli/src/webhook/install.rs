//! What installing the webhook takes: `webhook manifests` and `webhook certs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::cli::{CertsArgs, FailurePolicy, ManifestsArgs, Placement};
use crate::exit::{INTERNAL, IO, fail};
use crate::output;
use crate::report::{Report, Text};

/// The port the container listens on.
const PORT: u16 = 8443;
/// The Secret holding the serving certificate.
fn secret_name(p: &Placement) -> String {
    format!("{}-tls", p.service)
}

/// The webhook's namespace, held to the `restricted` Pod Security Standard
/// (what its Deployment meets). Both `certs` and `manifests` write it, so
/// either may be applied first on an empty cluster.
fn namespace(ns: &str) -> Value {
    let level = "restricted";
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/warn": level,
    }}})
}

/// The documents to apply, in order.
pub(crate) fn documents(args: &ManifestsArgs, ca_pem: Option<&str>) -> Vec<Value> {
    let p = &args.placement;
    let (ns, name) = (p.webhook_namespace.as_str(), p.service.as_str());
    let labels = json!({"app.kubernetes.io/name": name});
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": PORT, "scheme": "HTTPS"}, "periodSeconds": 10});
    let mut docs = vec![
        namespace(ns),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": name,
                // The preStop pause, then the drain (at most 20 s), with room.
                "terminationGracePeriodSeconds": 40,
                // The webhook reads only the review it is sent.
                "automountServiceAccountToken": false,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels}}],
                "containers": [{
                    "name": "webhook",
                    "image": args.image,
                    "args": ["webhook", "serve", "--cert", "/tls/tls.crt", "--key", "/tls/tls.key", "--listen", format!("0.0.0.0:{PORT}")],
                    "ports": [{"name": "https", "containerPort": PORT}],
                    // The Service's endpoints drop the pod before SIGTERM,
                    // so that no new connection arrives while it drains.
                    "lifecycle": {"preStop": {"sleep": {"seconds": 10}}},
                    "readinessProbe": probe("/readyz"),
                    "livenessProbe": probe("/healthz"),
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": true}],
                }],
                "volumes": [{"name": "tls", "secret": {"secretName": secret_name(p)}}],
            },
        }}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": ns},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": PORT}]}}),
        network_policy(args, &labels),
    ];
    let mut client =
        json!({"service": {"namespace": ns, "name": name, "path": "/validate", "port": 443}});
    let mut meta = json!({"name": "aws-auth"});
    if args.cert_manager {
        docs.push(json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": name, "namespace": ns}, "spec": {"selfSigned": {}}}));
        docs.push(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": secret_name(p), "dnsNames": [format!("{name}.{ns}.svc"), format!("{name}.{ns}.svc.cluster.local")],
                "issuerRef": {"name": name, "kind": "Issuer"}}}));
        meta["annotations"] = json!({"cert-manager.io/inject-ca-from": format!("{ns}/{name}")});
    } else if let Some(pem) = ca_pem {
        client["caBundle"] = json!(BASE64.encode(pem.as_bytes()));
    }
    let policy = match args.failure_policy {
        FailurePolicy::Ignore => "Ignore",
        FailurePolicy::Fail => "Fail",
    };
    docs.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": meta,
        "webhooks": [{
            "name": "aws-auth.validate.aws-auth.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "timeoutSeconds": 5,
            "failurePolicy": policy,
            "clientConfig": client,
            "rules": [{"operations": ["CREATE", "UPDATE", "DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            // Only kube-system/aws-auth is sent; a DELETE has no object.
            "matchConditions": [{"name": "aws-auth-only", "expression": "(object != null ? object.metadata.name : oldObject.metadata.name) == 'aws-auth'"}],
        }]}));
    docs
}

/// Only the webhook's port is reachable, from `--api-server-cidr` (the
/// cluster VPC's CIDR on EKS, where the control plane's network interfaces
/// and the kubelets' probes come from) or, without it, from anywhere; the
/// webhook itself calls nothing, so no egress. Enforced only where the CNI
/// enforces NetworkPolicies.
fn network_policy(args: &ManifestsArgs, labels: &Value) -> Value {
    let p = &args.placement;
    let mut rule = json!({"ports": [{"protocol": "TCP", "port": PORT}]});
    if !args.api_server_cidr.is_empty() {
        rule["from"] = Value::Array(
            args.api_server_cidr
                .iter()
                .map(|c| json!({"ipBlock": {"cidr": c}}))
                .collect(),
        );
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": p.service, "namespace": p.webhook_namespace},
        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [rule], "egress": []}})
}

/// Kubernetes objects: a `List` as data, a stream of YAML documents as text,
/// as `kubectl apply -f -` takes either.
struct Objects(Vec<Value>);

impl serde::Serialize for Objects {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({"apiVersion": "v1", "kind": "List", "items": self.0}).serialize(s)
    }
}

impl Text for Objects {
    fn text(&self) -> String {
        self.0
            .iter()
            .map(output::yaml)
            .collect::<Vec<_>>()
            .join("---\n")
    }

    fn yaml(&self, _: &Value) -> String {
        self.text()
    }
}

pub(crate) fn manifests(args: &ManifestsArgs) -> anyhow::Result<Report> {
    let ca = match &args.ca_bundle {
        Some(path) => Some(crate::commands::read_text(path)?),
        None => None,
    };
    Ok(Report::new(Objects(documents(args, ca.as_deref()))))
}

pub(crate) fn certs(args: &CertsArgs) -> anyhow::Result<Report> {
    let p = &args.placement;
    let (ns, name) = (p.webhook_namespace.as_str(), p.service.as_str());
    let internal = |e: rcgen::Error| fail(INTERNAL, format!("cannot make the certificates: {e}"));
    let now = time_now();
    let until = now + u64::from(args.days) * 86_400;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(internal)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} CA"));
    set_validity(&mut ca_params, now, until);
    let ca_key = rcgen::KeyPair::generate().map_err(internal)?;
    let ca = ca_params.self_signed(&ca_key).map_err(internal)?;
    let mut params = rcgen::CertificateParams::new(vec![
        format!("{name}.{ns}.svc"),
        format!("{name}.{ns}.svc.cluster.local"),
    ])
    .map_err(internal)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name}.{ns}.svc"));
    set_validity(&mut params, now, until);
    let key = rcgen::KeyPair::generate().map_err(internal)?;
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).map_err(internal)?;
    std::fs::write(&args.ca_out, ca.pem())
        .map_err(|e| fail(IO, format!("cannot write {}: {e}", args.ca_out.display())))?;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": secret_name(p), "namespace": ns},
        "stringData": {"tls.crt": format!("{}{}", cert.pem(), ca.pem()), "tls.key": key.serialize_pem(), "ca.crt": ca.pem()}});
    Ok(
        Report::new(Objects(vec![namespace(ns), secret])).note(format!(
            "wrote the CA to {} (for `webhook manifests --ca-bundle`)",
            args.ca_out.display()
        )),
    )
}

fn time_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn set_validity(params: &mut rcgen::CertificateParams, from: u64, until: u64) {
    let at = |secs: u64| {
        let days = (secs / 86_400) as i64;
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
        rcgen::date_time_ymd(y, m, d)
    };
    // From yesterday: clocks drift.
    params.not_before = at(from.saturating_sub(86_400));
    params.not_after = at(until);
}
