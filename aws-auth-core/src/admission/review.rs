//! The `AdmissionReview` (v1) wire format: what the webhook reads of a
//! review, and the answer it sends.
//!
//! A review is read into the few fields the decision needs: the request's
//! identity and operation, and of each object its `mapRoles`, `mapUsers` and
//! `mapAccounts` strings and the two annotations the rules read. Every other
//! field (the other data keys, `managedFields`, a `last-applied-configuration`
//! copy) is skipped as it is parsed, never held: a review's memory is its
//! body and the maps, however many keys the objects carry.

use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

use super::{ALLOW_ANNOTATION, Annotations, PROTECTED_ANNOTATION, decide_annotated};
use crate::arn::Arn;
use crate::document::Document;
use crate::model::DataKey;

/// The webhook's answer to one `AdmissionReview` (v1) request, and the line
/// it logs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Review {
    /// The `AdmissionReview` to send back.
    pub response: Value,
    /// Whether the change is allowed.
    pub allowed: bool,
    /// One JSON object describing the decision, for the log.
    pub log: Value,
}

/// A review that cannot be answered: not an `AdmissionReview`, no request,
/// or a request for this object without the object the operation needs (an
/// UPDATE without `oldObject`). The webhook answers it with an HTTP error,
/// so that the API server applies the configuration's failure policy rather
/// than take a decision made on nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed AdmissionReview: {0}")]
pub struct MalformedReview(pub String);

/// Answers an `AdmissionReview` (v1) given as JSON bytes: see [`review`].
///
/// ```
/// let body = br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": null}"#;
/// let e = aws_auth_core::admission::review_bytes(body, &[]).unwrap_err();
/// assert!(e.to_string().contains("no request"));
/// ```
pub fn review_bytes(body: &[u8], protected: &[Arn]) -> Result<Review, MalformedReview> {
    // serde takes a struct from an array too; a review is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(MalformedReview(
            "not an AdmissionReview (not a JSON object)".to_owned(),
        ));
    }
    let parsed: ReviewIn = serde_json::from_slice(body)
        .map_err(|e| MalformedReview(format!("not an AdmissionReview ({e})")))?;
    answer(parsed, protected, SystemTime::now())
}

/// Answers an `AdmissionReview` (v1) as a validating webhook for
/// `kube-system/aws-auth`: CREATE, UPDATE and DELETE of that ConfigMap are
/// decided by [`decide`](super::decide); anything else is allowed at once.
/// The objects' data strings and annotations are read; the API server has
/// validated the rest. A review without a request, or without the object
/// its operation needs, is a [`MalformedReview`].
///
/// ```
/// use serde_json::json;
/// let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
///     "uid": "1", "operation": "DELETE", "namespace": "kube-system", "name": "aws-auth",
///     "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
///     "oldObject": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"}},
///     "userInfo": {"username": "alice"}}});
/// let answer = aws_auth_core::admission::review(&review, &[])?;
/// assert!(!answer.allowed);
/// assert_eq!(answer.response["response"]["uid"], "1");
/// assert_eq!(answer.response["response"]["status"]["code"], 403);
/// # Ok::<(), aws_auth_core::admission::MalformedReview>(())
/// ```
pub fn review(review: &Value, protected: &[Arn]) -> Result<Review, MalformedReview> {
    if !review.is_object() {
        return Err(MalformedReview(
            "not an AdmissionReview (not a JSON object)".to_owned(),
        ));
    }
    let parsed = ReviewIn::deserialize(review)
        .map_err(|e| MalformedReview(format!("not an AdmissionReview ({e})")))?;
    answer(parsed, protected, SystemTime::now())
}

#[derive(Deserialize)]
struct ReviewIn {
    #[serde(default)]
    request: Option<RequestIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<KindIn>,
    #[serde(default)]
    user_info: Option<UserInfoIn>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    object: Option<ObjectIn>,
    #[serde(default)]
    old_object: Option<ObjectIn>,
}

#[derive(Deserialize)]
struct KindIn {
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct UserInfoIn {
    #[serde(default)]
    username: Option<String>,
}

/// What the rules read of a ConfigMap.
#[derive(Deserialize, Default)]
struct ObjectIn {
    #[serde(default)]
    metadata: Option<MetaIn>,
    #[serde(default)]
    data: Option<DataIn>,
}

#[derive(Deserialize, Default)]
struct MetaIn {
    #[serde(default)]
    annotations: Option<AnnotationsIn>,
}

/// The two annotations the rules read; the others are skipped.
#[derive(Default)]
struct AnnotationsIn(Annotations);

impl<'de> Deserialize<'de> for AnnotationsIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnnotationsIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("annotations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<AnnotationsIn, A::Error> {
                let mut out = Annotations::default();
                while let Some(key) = m.next_key::<KeyIn>()? {
                    match key.0.as_deref() {
                        Some(ALLOW_ANNOTATION) => out.allow = m.next_value::<Option<String>>()?,
                        Some(PROTECTED_ANNOTATION) => {
                            out.protected = m.next_value::<Option<String>>()?;
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(AnnotationsIn(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A map key, kept only when it is one the rules read (no allocation for
/// the others).
struct KeyIn(Option<String>);

impl<'de> Deserialize<'de> for KeyIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyIn, E> {
                let kept = DataKey::ALL.iter().any(|k| k.as_str() == s)
                    || s == ALLOW_ANNOTATION
                    || s == PROTECTED_ANNOTATION;
                Ok(KeyIn(kept.then(|| s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The data keys the authenticator reads, or why one is not a string.
#[derive(Default)]
struct DataIn {
    strings: Vec<(String, String)>,
    error: Option<String>,
}

impl<'de> Deserialize<'de> for DataIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DataIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of data keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<DataIn, A::Error> {
                let mut out = DataIn::default();
                while let Some(key) = m.next_key::<KeyIn>()? {
                    let Some(key) = key
                        .0
                        .filter(|k| DataKey::ALL.iter().any(|d| d.as_str() == k))
                    else {
                        m.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    match m.next_value::<Value>()? {
                        Value::String(s) => out.strings.push((key, s)),
                        _ => out.error = Some(format!("data.{key} is not a string")),
                    }
                }
                Ok(out)
            }
            // `data: null` is no data; anything else that is not a mapping
            // is unreadable.
            fn visit_unit<E: de::Error>(self) -> Result<DataIn, E> {
                Ok(DataIn::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<DataIn, E> {
                Ok(not_a_mapping())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<DataIn, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(not_a_mapping())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<DataIn, E> {
                Ok(not_a_mapping())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<DataIn, E> {
                Ok(not_a_mapping())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<DataIn, E> {
                Ok(not_a_mapping())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<DataIn, E> {
                Ok(not_a_mapping())
            }
        }
        d.deserialize_any(V)
    }
}

fn not_a_mapping() -> DataIn {
    DataIn {
        strings: Vec::new(),
        error: Some("data is not a mapping".to_owned()),
    }
}

impl ObjectIn {
    fn annotations(&self) -> Annotations {
        self.metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .map(|a| a.0.clone())
            .unwrap_or_default()
    }

    /// The object as the rules read it, or why it cannot be read.
    fn document(self) -> Result<Document, String> {
        let data = self.data.unwrap_or_default();
        match data.error {
            Some(e) => Err(e),
            None => Ok(Document::from_data(data.strings)),
        }
    }
}

fn answer(parsed: ReviewIn, protected: &[Arn], now: SystemTime) -> Result<Review, MalformedReview> {
    let bad = |why: &str| Err(MalformedReview(why.to_owned()));
    let Some(request) = parsed.request else {
        return bad("the review has no request");
    };
    let Some(uid) = request.uid.clone() else {
        return bad("the request has no uid");
    };
    let operation = request.operation.clone().unwrap_or_default();
    let user = request.user_info.as_ref().and_then(|u| u.username.clone());
    let ours = request.kind.as_ref().and_then(|k| k.kind.as_deref()) == Some("ConfigMap")
        && request.namespace.as_deref() == Some("kube-system")
        && request.name.as_deref() == Some("aws-auth");
    let respond = |allowed: bool, extra: Value| {
        let mut response = json!({"uid": uid, "allowed": allowed});
        if let (Value::Object(r), Value::Object(e)) = (&mut response, extra) {
            r.extend(e);
        }
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
    };
    if !ours || !matches!(operation.as_str(), "CREATE" | "UPDATE" | "DELETE") {
        return Ok(Review {
            response: respond(true, json!({})),
            allowed: true,
            log: json!({"uid": uid, "user": user, "operation": operation, "result": "ignored"}),
        });
    }
    // What each operation must carry: deciding without it would judge a
    // change against nothing.
    let (needs_old, needs_new) = match operation.as_str() {
        "CREATE" => (false, true),
        "UPDATE" => (true, true),
        _ => (true, false),
    };
    if needs_old && request.old_object.is_none() {
        return Err(MalformedReview(format!("{operation} without oldObject")));
    }
    if needs_new && request.object.is_none() {
        return Err(MalformedReview(format!("{operation} without object")));
    }
    let dry_run = request.dry_run;
    let old_notes = request
        .old_object
        .as_ref()
        .map(ObjectIn::annotations)
        .unwrap_or_default();
    let new_notes = request
        .object
        .as_ref()
        .map(ObjectIn::annotations)
        .unwrap_or_default();
    let read = |o: Option<ObjectIn>| o.map(ObjectIn::document).transpose();
    let (old, new) = match (read(request.old_object), read(request.object)) {
        (Ok(old), Ok(new)) => (old, if operation == "DELETE" { None } else { new }),
        (Err(e), _) | (_, Err(e)) => {
            // An object the API server holds that cannot be read as a
            // ConfigMap: nothing to judge, and blocking would help no one.
            return Ok(Review {
                response: respond(
                    true,
                    json!({"warnings": [format!("aws-auth: the object could not be read ({e}); not checked")]}),
                ),
                allowed: true,
                log: json!({"uid": uid, "user": user, "operation": operation, "result": "unreadable", "error": e}),
            });
        }
    };
    let decision = decide_annotated(
        old.as_ref(),
        new.as_ref(),
        protected,
        &old_notes,
        &new_notes,
        now,
    );
    // Warnings go back to the client (kubectl prints them), each short.
    let mut warnings: Vec<String> = decision
        .warnings
        .iter()
        .map(|w| truncate(&format!("aws-auth: {}: {}", w.code, w.message), 256))
        .collect();
    if decision.overridden.is_some() {
        for r in &decision.reasons {
            warnings.push(truncate(
                &format!("aws-auth: allowed by {ALLOW_ANNOTATION}: {}", r.message),
                256,
            ));
        }
    }
    let reasons: Vec<String> = decision.reasons.iter().map(|r| r.message.clone()).collect();
    let result = match (decision.allowed, &decision.overridden) {
        (true, Some(_)) => "overridden",
        (true, None) => "allowed",
        (false, _) => "denied",
    };
    let mut extra = json!({});
    if !warnings.is_empty() {
        extra["warnings"] = json!(warnings);
    }
    if !decision.allowed {
        extra["status"] = json!({
            "code": 403,
            "reason": "Forbidden",
            "message": match &decision.override_ignored {
                None => format!(
                    "aws-auth: this change {}; annotate the object with {ALLOW_ANNOTATION}: REASON to make it anyway",
                    reasons.join("; and ")
                ),
                Some(why) => format!(
                    "aws-auth: this change {}; {why}",
                    reasons.join("; and ")
                ),
            },
        });
    }
    if let Some(why) = &decision.overridden {
        extra["auditAnnotations"] = json!({"aws-auth/override-reason": why});
    }
    Ok(Review {
        response: respond(decision.allowed, extra),
        allowed: decision.allowed,
        log: json!({
            "uid": uid, "user": user, "operation": operation, "result": result,
            "reasons": reasons, "override": decision.overridden,
            "dryRun": dry_run,
        }),
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(operation: &str, object: Value, old: Value) -> Value {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "operation": operation, "namespace": "kube-system", "name": "aws-auth",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "userInfo": {"username": "alice"}, "object": object, "oldObject": old}})
    }

    /// Issue 20.10: a review that cannot be judged is an error, not an
    /// allowed change.
    #[test]
    fn malformed_reviews_are_errors() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth"}, "data": {}});
        for (body, why) in [
            (json!({"request": null}), "no request"),
            (json!({}), "no request"),
            (json!([]), "not an AdmissionReview"),
            (json!("x"), "not an AdmissionReview"),
            (json!({"request": {"operation": "UPDATE"}}), "no uid"),
            (
                request("UPDATE", cm.clone(), Value::Null),
                "UPDATE without oldObject",
            ),
            (
                request("UPDATE", Value::Null, cm.clone()),
                "UPDATE without object",
            ),
            (
                request("CREATE", Value::Null, Value::Null),
                "CREATE without object",
            ),
            (
                request("DELETE", Value::Null, Value::Null),
                "DELETE without oldObject",
            ),
        ] {
            let e = review(&body, &[]).expect_err(&body.to_string());
            assert!(e.0.contains(why), "{body}: {e}");
            let bytes = serde_json::to_vec(&body).unwrap();
            assert_eq!(review_bytes(&bytes, &[]).unwrap_err(), e);
        }
        assert!(review_bytes(b"{", &[]).is_err());
        // Another object, or a CONNECT: not ours to judge.
        let mut other = request("UPDATE", cm.clone(), Value::Null);
        other["request"]["name"] = json!("other");
        assert!(review(&other, &[]).unwrap().allowed);
        // A create of a healthy map, and data that is not a mapping.
        assert!(
            review(&request("CREATE", cm.clone(), Value::Null), &[])
                .unwrap()
                .allowed
        );
        let odd = json!({"metadata": {}, "data": ["x"]});
        let r = review(&request("UPDATE", odd, cm), &[]).unwrap();
        assert_eq!(r.log["result"], "unreadable");
    }

    #[test]
    fn only_what_the_rules_read_is_kept() {
        let mut data = serde_json::Map::new();
        for i in 0..1000 {
            data.insert(format!("k{i}"), json!("v"));
        }
        data.insert("mapRoles".into(), json!("- rolearn: arn:aws:iam::111122223333:role/A\n  username: a\n  groups: [system:masters]\n"));
        data.insert("binary".into(), json!({"nested": [1, 2]}));
        let object = json!({"metadata": {"annotations": {"other": "x", PROTECTED_ANNOTATION: "arn:aws:iam::111122223333:role/A"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}]}, "data": data});
        let parsed: ObjectIn = serde_json::from_value(object).unwrap();
        assert_eq!(
            parsed.annotations().protected.as_deref(),
            Some("arn:aws:iam::111122223333:role/A")
        );
        let data = parsed.data.as_ref().unwrap();
        assert_eq!(data.strings.len(), 1);
        assert_eq!(data.strings[0].0, "mapRoles");
    }
}
