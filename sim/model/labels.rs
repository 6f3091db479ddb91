//! Labels, label selectors and node selectors, with Kubernetes' validation.
//!
//! Follows k8s.io/apimachinery/pkg/labels/selector.go (`Requirement.Matches`,
//! `NewRequirement`), k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go
//! (`LabelSelectorAsSelector`) and validation/validation.go
//! (`ValidateLabelSelectorRequirement`),
//! k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go
//! (`NodeSelector`, `nodeSelectorTerm.match`), pkg/apis/core/validation
//! (`ValidateNodeSelectorRequirement`, `ValidateNodeFieldSelectorRequirement`)
//! and k8s.io/apimachinery/pkg/util/validation/validation.go for names (v1.35).
//! Errors use the API server's `field.Error` wording with a path relative to
//! the converted object (`matchExpressions[0].values`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

pub type Labels = BTreeMap<String, String>;

/// The only field a node selector term may match (`metav1.ObjectNameField`).
pub const NODE_NAME_FIELD: &str = "metadata.name";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// Node affinity only: the label value, as an integer, is greater.
    Gt,
    /// Node affinity only: the label value, as an integer, is less.
    Lt,
}

impl Operator {
    /// A node selector requirement's operator (`v1.NodeSelectorOperator`).
    pub fn node_selector(s: &str) -> Option<Operator> {
        Some(match s {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
            Operator::Gt => "Gt",
            Operator::Lt => "Lt",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// `labels.Requirement.Matches`. A missing key matches only `NotIn` and
    /// `DoesNotExist`; `Gt`/`Lt` need exactly one value, and both it and the
    /// label value must parse as `i64` (`strconv.ParseInt`), else no match.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.key).map(String::as_str))
    }

    fn matches_value(&self, value: Option<&str>) -> bool {
        match (self.op, value) {
            (Operator::In, Some(v)) => self.values.iter().any(|x| x == v),
            (Operator::In, None) => false,
            (Operator::NotIn, Some(v)) => !self.values.iter().any(|x| x == v),
            (Operator::NotIn, None) => true,
            (Operator::Exists, v) => v.is_some(),
            (Operator::DoesNotExist, v) => v.is_none(),
            (Operator::Gt | Operator::Lt, None) => false,
            (op @ (Operator::Gt | Operator::Lt), Some(v)) => {
                let (Ok(have), [want]) = (v.parse::<i64>(), self.values.as_slice()) else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if op == Operator::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

/// metav1.LabelSelector: matchLabels become In requirements. An empty selector matches everything.
///
/// (A *missing* selector, which matches nothing, is the caller's `Option::None`.)
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// One `In` requirement per entry, as a Service's or ReplicaSet's
    /// `matchLabels` becomes.
    pub fn from_map(m: &Labels) -> Self {
        LabelSelector {
            requirements: m
                .iter()
                .map(|(k, v)| Requirement {
                    key: k.clone(),
                    op: Operator::In,
                    values: vec![v.clone()],
                })
                .collect(),
        }
    }
}

/// Converts and validates a `metav1.LabelSelector` as the API server does
/// (`ValidateLabelSelector`): keys are qualified names, values label values,
/// only `In`/`NotIn` (≥ 1 value) and `Exists`/`DoesNotExist` (no values).
pub fn selector_from_k8s(s: &meta::LabelSelector) -> Result<LabelSelector, String> {
    let mut errs = Vec::new();
    let mut requirements = Vec::new();
    for (k, v) in s.match_labels.iter().flatten() {
        let path = format!("matchLabels[{k}]");
        qualified_name_errors(k, &format!("{path}.key"), &mut errs);
        label_value_errors(v, &path, &mut errs);
        requirements.push(Requirement {
            key: k.clone(),
            op: Operator::In,
            values: vec![v.clone()],
        });
    }
    for (i, e) in s.match_expressions.iter().flatten().enumerate() {
        let path = format!("matchExpressions[{i}]");
        let values = e.values.clone().unwrap_or_default();
        let op = match e.operator.as_str() {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            other => {
                errs.push(format!(
                    "{path}.operator: Invalid value: {other:?}: not a valid selector operator"
                ));
                None
            }
        };
        match op {
            Some(Operator::In | Operator::NotIn) if values.is_empty() => errs.push(format!(
                "{path}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
            )),
            Some(Operator::Exists | Operator::DoesNotExist) if !values.is_empty() => errs.push(format!(
                "{path}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )),
            _ => {}
        }
        qualified_name_errors(&e.key, &format!("{path}.key"), &mut errs);
        for (j, v) in values.iter().enumerate() {
            label_value_errors(v, &format!("{path}.values[{j}]"), &mut errs);
        }
        if let Some(op) = op {
            requirements.push(Requirement {
                key: e.key.clone(),
                op,
                values,
            });
        }
    }
    finish(errs, LabelSelector { requirements })
}

/// core/v1 NodeSelector: terms are ORed, requirements inside a term ANDed; an empty term list matches nothing; a term with no expressions and no fields matches nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<Requirement>,
    /// Only `metadata.name` with `In`/`NotIn` and one value.
    pub match_fields: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelector {
    pub terms: Vec<NodeSelectorTerm>,
}

impl NodeSelectorTerm {
    pub fn is_empty(&self) -> bool {
        self.match_expressions.is_empty() && self.match_fields.is_empty()
    }

    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        !self.is_empty()
            && self.match_expressions.iter().all(|r| r.matches(labels))
            && self.match_fields.iter().all(|r| {
                let field = (r.key == NODE_NAME_FIELD).then_some(node_name);
                r.matches_value(field)
            })
    }
}

impl NodeSelector {
    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        self.terms.iter().any(|t| t.matches(node_name, labels))
    }
}

/// Converts and validates one term (`ValidateNodeSelectorTerm`, plus the
/// scheduler's `NewRequirement`, which rejects a non-integer `Gt`/`Lt` value).
/// An empty term is valid and matches nothing.
pub fn node_selector_term_from_k8s(t: &core::NodeSelectorTerm) -> Result<NodeSelectorTerm, String> {
    let mut errs = Vec::new();
    let term = term_with_errors(t, "", &mut errs);
    finish(errs, term)
}

/// Converts and validates a required node selector (`ValidateNodeSelector`:
/// at least one term).
pub fn node_selector_from_k8s(s: &core::NodeSelector) -> Result<NodeSelector, String> {
    let mut errs = Vec::new();
    if s.node_selector_terms.is_empty() {
        errs.push(
            "nodeSelectorTerms: Required value: must have at least one node selector term".into(),
        );
    }
    let terms = s
        .node_selector_terms
        .iter()
        .enumerate()
        .map(|(i, t)| term_with_errors(t, &format!("nodeSelectorTerms[{i}]."), &mut errs))
        .collect();
    finish(errs, NodeSelector { terms })
}

fn term_with_errors(
    t: &core::NodeSelectorTerm,
    prefix: &str,
    errs: &mut Vec<String>,
) -> NodeSelectorTerm {
    let mut match_expressions = Vec::new();
    for (i, e) in t.match_expressions.iter().flatten().enumerate() {
        let path = format!("{prefix}matchExpressions[{i}]");
        let values = e.values.clone().unwrap_or_default();
        let Some(op) = Operator::node_selector(&e.operator) else {
            errs.push(format!(
                "{path}.operator: Invalid value: {:?}: not a valid selector operator",
                e.operator
            ));
            qualified_name_errors(&e.key, &format!("{path}.key"), errs);
            continue;
        };
        match op {
            Operator::In | Operator::NotIn if values.is_empty() => errs.push(format!(
                "{path}.values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
            )),
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errs.push(format!(
                "{path}.values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )),
            Operator::Gt | Operator::Lt if values.len() != 1 => errs.push(format!(
                "{path}.values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"
            )),
            Operator::Gt | Operator::Lt
                if values[0].parse::<i64>().is_err() => {
                    errs.push(format!(
                        "{path}.values[0]: Invalid value: {:?}: for 'Gt', 'Lt' operators, the value must be an integer",
                        values[0]
                    ));
                }
            _ => {}
        }
        qualified_name_errors(&e.key, &format!("{path}.key"), errs);
        for (j, v) in values.iter().enumerate() {
            label_value_errors(v, &format!("{path}.values[{j}]"), errs);
        }
        match_expressions.push(Requirement {
            key: e.key.clone(),
            op,
            values,
        });
    }
    let mut match_fields = Vec::new();
    for (i, e) in t.match_fields.iter().flatten().enumerate() {
        let path = format!("{prefix}matchFields[{i}]");
        let values = e.values.clone().unwrap_or_default();
        let op = match e.operator.as_str() {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            other => {
                errs.push(format!(
                    "{path}.operator: Invalid value: {other:?}: not a valid selector operator"
                ));
                None
            }
        };
        if op.is_some() && values.len() != 1 {
            errs.push(format!(
                "{path}.values: Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector"
            ));
        }
        if e.key != NODE_NAME_FIELD {
            errs.push(format!(
                "{path}.key: Invalid value: {:?}: not a valid field selector key",
                e.key
            ));
        } else {
            for (j, v) in values.iter().enumerate() {
                if let Err(msg) = validate_dns1123_subdomain(v) {
                    errs.push(format!("{path}.values[{j}]: Invalid value: {v:?}: {msg}"));
                }
            }
        }
        if let Some(op) = op {
            match_fields.push(Requirement {
                key: e.key.clone(),
                op,
                values,
            });
        }
    }
    NodeSelectorTerm {
        match_expressions,
        match_fields,
    }
}

fn finish<T>(errs: Vec<String>, value: T) -> Result<T, String> {
    if errs.is_empty() {
        Ok(value)
    } else {
        Err(errs.join("; "))
    }
}

fn qualified_name_errors(key: &str, path: &str, errs: &mut Vec<String>) {
    for msg in is_qualified_name(key) {
        errs.push(format!("{path}: Invalid value: {key:?}: {msg}"));
    }
}

fn label_value_errors(value: &str, path: &str, errs: &mut Vec<String>) {
    for msg in is_valid_label_value(value) {
        errs.push(format!("{path}: Invalid value: {value:?}: {msg}"));
    }
}

// --- k8s.io/apimachinery/pkg/util/validation/validation.go ---

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX: usize = 63;
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// `RegexError`: the message, examples and the regular expression.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    // Upstream appends "'x', " and joins with " or ", hence the double spaces.
    let examples: String = examples
        .iter()
        .map(|e| format!("'{e}', "))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("{msg} (e.g. {examples}regex used for validation is '{fmt}')")
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => alnum(f) && alnum(l) && b.iter().all(|c| alnum(c) || *c == b'-'),
        _ => false,
    }
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// `IsQualifiedName`: error messages, empty when valid.
fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let regex_msg = || {
        regex_error(
            QUALIFIED_NAME_ERR,
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if let Err(msgs) = dns1123_subdomain_errors(prefix) {
                errs.extend(msgs.into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_msg()
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {}", regex_msg()));
    }
    errs
}

/// `IsValidLabelValue`: error messages, empty when valid.
fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errs.push(max_len_error(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            &format!("({QUALIFIED_NAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn dns1123_subdomain_errors(value: &str) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !is_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            &format!("{DNS1123_LABEL_FMT}(\\.{DNS1123_LABEL_FMT})*"),
            &["example.com"],
        ));
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// A label (or annotation, taint, selector) key: a qualified name, optionally
/// prefixed by a DNS subdomain of at most 253 characters and `/`; the name
/// part is at most 63 characters.
pub fn validate_label_key(k: &str) -> Result<(), String> {
    finish(is_qualified_name(k), ())
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9._-]`
/// starting and ending with an alphanumeric.
pub fn validate_label_value(v: &str) -> Result<(), String> {
    finish(is_valid_label_value(v), ())
}

/// Labels as `ValidateLabels` checks them, every key and value.
pub fn validate_labels(labels: &Labels) -> Result<(), String> {
    let mut errs = Vec::new();
    for (k, v) in labels {
        qualified_name_errors(k, &format!("labels[{k}]"), &mut errs);
        label_value_errors(v, &format!("labels[{k}]"), &mut errs);
    }
    finish(errs, ())
}

/// Most object names (Deployments, Services, Nodes…): lower-case RFC 1123
/// labels joined by dots, at most 253 characters.
pub fn validate_dns1123_subdomain(name: &str) -> Result<(), String> {
    dns1123_subdomain_errors(name).map_err(|e| e.join("; "))
}

/// Namespace names and some others: one lower-case RFC 1123 label, at most
/// 63 characters.
pub fn validate_dns1123_label(name: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if name.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_error(DNS1123_LABEL_MAX));
    }
    if !is_dns1123_label(name) {
        if is_dns1123_subdomain(name) {
            // A valid subdomain whose length was already checked: it has dots.
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    finish(errs, ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn k8s_req(key: &str, op: &str, values: Option<&[&str]>) -> core::NodeSelectorRequirement {
        core::NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn requirement_semantics() {
        let l = labels(&[("zone", "a"), ("gen", "5"), ("bad", "x")]);
        assert!(req("zone", Operator::In, &["a", "b"]).matches(&l));
        assert!(!req("zone", Operator::In, &["b"]).matches(&l));
        assert!(!req("missing", Operator::In, &["a"]).matches(&l));
        assert!(req("zone", Operator::NotIn, &["b"]).matches(&l));
        assert!(!req("zone", Operator::NotIn, &["a"]).matches(&l));
        assert!(req("missing", Operator::NotIn, &["a"]).matches(&l));
        assert!(req("zone", Operator::Exists, &[]).matches(&l));
        assert!(!req("missing", Operator::Exists, &[]).matches(&l));
        assert!(req("missing", Operator::DoesNotExist, &[]).matches(&l));
        assert!(!req("zone", Operator::DoesNotExist, &[]).matches(&l));
        // Gt/Lt compare as i64.
        assert!(req("gen", Operator::Gt, &["4"]).matches(&l));
        assert!(!req("gen", Operator::Gt, &["5"]).matches(&l));
        assert!(req("gen", Operator::Lt, &["10"]).matches(&l)); // numeric, not "10" < "5" as text
        assert!(req("gen", Operator::Gt, &["-3"]).matches(&l));
        assert!(!req("bad", Operator::Gt, &["1"]).matches(&l)); // label value not an integer
        assert!(!req("missing", Operator::Lt, &["1"]).matches(&l));
        assert!(!req("gen", Operator::Gt, &["1", "2"]).matches(&l)); // needs exactly one value
    }

    #[test]
    fn label_selector_matching() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        assert!(LabelSelector::default().matches(&l));
        assert!(LabelSelector::default().is_empty());
        let sel = LabelSelector::from_map(&labels(&[("app", "web")]));
        assert!(sel.matches(&l));
        assert!(!sel.matches(&labels(&[("app", "db")])));
        let both = LabelSelector::from_map(&labels(&[("app", "web"), ("tier", "back")]));
        assert!(!both.matches(&l)); // requirements are ANDed
    }

    #[test]
    fn selector_from_k8s_converts_and_validates() {
        let ok = meta::LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![meta::LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["db".into()]),
            }]),
        };
        let sel = selector_from_k8s(&ok).unwrap();
        assert_eq!(sel.requirements.len(), 2);
        assert!(sel.matches(&labels(&[("app", "web")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(
            selector_from_k8s(&meta::LabelSelector::default())
                .unwrap()
                .is_empty()
        );

        let bad = |op: &str, values: Option<Vec<&str>>| meta::LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![meta::LabelSelectorRequirement {
                key: "k".into(),
                operator: op.into(),
                values: values.map(|v| v.into_iter().map(String::from).collect()),
            }]),
        };
        let e = selector_from_k8s(&bad("In", None)).unwrap_err();
        assert!(
            e.contains("matchExpressions[0].values: Required value"),
            "{e}"
        );
        assert!(selector_from_k8s(&bad("NotIn", Some(vec![]))).is_err());
        let e = selector_from_k8s(&bad("Exists", Some(vec!["x"]))).unwrap_err();
        assert!(e.contains("Forbidden"), "{e}");
        let e = selector_from_k8s(&bad("Gt", Some(vec!["1"]))).unwrap_err();
        assert!(e.contains("not a valid selector operator"), "{e}");
        assert!(selector_from_k8s(&bad("in", Some(vec!["x"]))).is_err()); // case-sensitive
        assert!(selector_from_k8s(&bad("In", Some(vec!["bad value"]))).is_err());
        let bad_key = meta::LabelSelector {
            match_labels: Some(labels(&[("-app", "web")])),
            match_expressions: None,
        };
        assert!(
            selector_from_k8s(&bad_key)
                .unwrap_err()
                .contains("matchLabels[-app].key")
        );
    }

    #[test]
    fn node_selector_terms_or_and_and() {
        let l = labels(&[("zone", "a"), ("disk", "ssd")]);
        let term = |exprs: Vec<Requirement>, fields: Vec<Requirement>| NodeSelectorTerm {
            match_expressions: exprs,
            match_fields: fields,
        };
        let zone_b = term(vec![req("zone", Operator::In, &["b"])], vec![]);
        let ssd_a = term(
            vec![
                req("disk", Operator::In, &["ssd"]),
                req("zone", Operator::In, &["a"]),
            ],
            vec![],
        );
        let ssd_b = term(
            vec![
                req("disk", Operator::In, &["ssd"]),
                req("zone", Operator::In, &["b"]),
            ],
            vec![],
        );
        assert!(!zone_b.matches("n1", &l));
        assert!(ssd_a.matches("n1", &l));
        assert!(!ssd_b.matches("n1", &l)); // ANDed inside a term
        assert!(
            NodeSelector {
                terms: vec![zone_b.clone(), ssd_a]
            }
            .matches("n1", &l)
        ); // ORed
        assert!(
            !NodeSelector {
                terms: vec![zone_b, ssd_b]
            }
            .matches("n1", &l)
        );
        assert!(!NodeSelector { terms: vec![] }.matches("n1", &l));
        assert!(!term(vec![], vec![]).matches("n1", &l));
        assert!(
            !NodeSelector {
                terms: vec![term(vec![], vec![])]
            }
            .matches("n1", &l)
        );

        let by_name = term(vec![], vec![req(NODE_NAME_FIELD, Operator::In, &["n1"])]);
        assert!(by_name.matches("n1", &l));
        assert!(!by_name.matches("n2", &l));
        let not_name = term(
            vec![req("zone", Operator::In, &["a"])],
            vec![req(NODE_NAME_FIELD, Operator::NotIn, &["n1"])],
        );
        assert!(!not_name.matches("n1", &l));
        assert!(not_name.matches("n2", &l));
    }

    #[test]
    fn node_selector_from_k8s_converts_and_validates() {
        let term = |exprs: Vec<core::NodeSelectorRequirement>,
                    fields: Vec<core::NodeSelectorRequirement>| {
            core::NodeSelectorTerm {
                match_expressions: Some(exprs),
                match_fields: Some(fields),
            }
        };
        let ok = core::NodeSelector {
            node_selector_terms: vec![
                term(vec![k8s_req("gpu-count", "Gt", Some(&["1"]))], vec![]),
                term(
                    vec![],
                    vec![k8s_req("metadata.name", "In", Some(&["node-7"]))],
                ),
            ],
        };
        let sel = node_selector_from_k8s(&ok).unwrap();
        assert!(sel.matches("x", &labels(&[("gpu-count", "2")])));
        assert!(sel.matches("node-7", &labels(&[])));
        assert!(!sel.matches("node-8", &labels(&[("gpu-count", "1")])));

        let empty_term = node_selector_term_from_k8s(&core::NodeSelectorTerm::default()).unwrap();
        assert!(!empty_term.matches("n", &labels(&[])));
        let e = node_selector_from_k8s(&core::NodeSelector {
            node_selector_terms: vec![],
        })
        .unwrap_err();
        assert!(e.contains("at least one node selector term"), "{e}");

        let one = |r| node_selector_term_from_k8s(&term(vec![r], vec![]));
        assert!(
            one(k8s_req("k", "Gt", Some(&["abc"])))
                .unwrap_err()
                .contains("must be an integer")
        );
        assert!(one(k8s_req("k", "Lt", Some(&["1", "2"]))).is_err());
        assert!(one(k8s_req("k", "Lt", None)).is_err());
        assert!(one(k8s_req("k", "In", Some(&[]))).is_err());
        assert!(one(k8s_req("k", "DoesNotExist", Some(&["x"]))).is_err());
        assert!(one(k8s_req("k", "Equals", Some(&["x"]))).is_err());
        assert!(one(k8s_req("a/b/c", "Exists", None)).is_err());
        assert!(one(k8s_req("k", "Exists", None)).is_ok());

        let field = |r| node_selector_term_from_k8s(&term(vec![], vec![r]));
        let e = field(k8s_req("metadata.namespace", "In", Some(&["x"]))).unwrap_err();
        assert!(e.contains("not a valid field selector key"), "{e}");
        assert!(field(k8s_req("metadata.name", "Exists", None)).is_err());
        assert!(field(k8s_req("metadata.name", "In", Some(&["a", "b"]))).is_err());
        assert!(field(k8s_req("metadata.name", "In", Some(&["Node_1"]))).is_err());
        assert!(field(k8s_req("metadata.name", "NotIn", Some(&["node-1"]))).is_ok());
    }

    #[test]
    fn label_key_rules() {
        for ok in [
            "app",
            "App.Name_1",
            "kubernetes.io/hostname",
            "a",
            "1",
            "x/y",
            &"a".repeat(63),
        ] {
            assert!(validate_label_key(ok).is_ok(), "{ok}");
        }
        let long_prefix = format!("{}/x", "a".repeat(254));
        for bad in [
            "",
            "-app",
            "app-",
            "a b",
            "/x",
            "x/",
            "a/b/c",
            "Example.com/x",
            &"a".repeat(64),
            &long_prefix,
        ] {
            assert!(validate_label_key(bad).is_err(), "{bad}");
        }
        let e = validate_label_key("a/b/c").unwrap_err();
        assert!(e.contains("with an optional DNS subdomain prefix"), "{e}");
        let e = validate_label_key("/x").unwrap_err();
        assert_eq!(e, "prefix part must be non-empty");
    }

    #[test]
    fn label_value_rules() {
        for ok in ["", "v1", "my_value", "12345", "A.b-c", &"a".repeat(63)] {
            assert!(validate_label_value(ok).is_ok(), "{ok}");
        }
        for bad in ["-v", "v-", "a b", "a/b", "é", &"a".repeat(64)] {
            assert!(validate_label_value(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_label_value("-v").unwrap_err(),
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert!(validate_labels(&labels(&[("app", "web")])).is_ok());
        assert!(validate_labels(&labels(&[("app", "we b")])).is_err());
    }

    #[test]
    fn dns1123_rules() {
        for ok in ["a", "node-1", "a.b.c", "1abc", &"a".repeat(63)] {
            assert!(validate_dns1123_subdomain(ok).is_ok(), "{ok}");
            assert_eq!(
                validate_dns1123_label(ok).is_ok(),
                !ok.contains('.'),
                "{ok}"
            );
        }
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(long.len(), 255);
        for bad in ["", "A", "-a", "a-", "a..b", ".a", "a.", "a_b", &long] {
            assert!(validate_dns1123_subdomain(bad).is_err(), "{bad}");
            assert!(validate_dns1123_label(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_dns1123_label("a.b").unwrap_err(),
            "must not contain dots"
        );
        assert!(validate_dns1123_label(&"a".repeat(64)).is_err());
    }
}
