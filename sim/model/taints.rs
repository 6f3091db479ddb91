//! Node taints and pod tolerations.
//!
//! Follows k8s.io/api/core/v1/toleration.go (`ToleratesTaint`),
//! k8s.io/api/core/v1/taint.go (`ToString`),
//! k8s.io/component-helpers/scheduling/corev1/helpers.go
//! (`FindMatchingUntoleratedTaint`), the TaintToleration plugin's filter
//! message, and pkg/apis/core/validation (`ValidateTolerations`,
//! `validateNodeTaints`) (v1.35). The alpha `Lt`/`Gt` toleration operators
//! (feature gate TaintTolerationComparisonOperators, off by default) are
//! rejected, as an API server with default gates rejects them.

use std::fmt;

use k8s_openapi::api::core::v1 as core;

use super::labels::{validate_label_key, validate_label_value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }

    fn parse(s: &str, path: &str) -> Result<TaintEffect, String> {
        match s {
            "NoSchedule" => Ok(TaintEffect::NoSchedule),
            "PreferNoSchedule" => Ok(TaintEffect::PreferNoSchedule),
            "NoExecute" => Ok(TaintEffect::NoExecute),
            other => Err(format!(
                "{path}: Unsupported value: {other:?}: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
            )),
        }
    }
}

impl fmt::Display for TaintEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

impl Taint {
    /// Same key and effect (`Taint.MatchTaint`): a node holds at most one
    /// taint per pair.
    pub fn matches_key_effect(&self, other: &Taint) -> bool {
        self.key == other.key && self.effect == other.effect
    }
}

impl fmt::Display for Taint {
    /// `Taint.ToString`: `key=value:Effect`, or `key:Effect` without a value
    /// (the form `kubectl taint` takes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect)
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

/// The TaintToleration filter's reason for a node it rejects:
/// `node(s) had untolerated taint {key: value}`.
pub fn untolerated_taint_reason(t: &Taint) -> String {
    format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value)
}

/// The taints the scheduler's filter considers (`DoNotScheduleTaintsFilterFunc`):
/// `NoSchedule` and `NoExecute`.
pub fn is_do_not_schedule(t: &Taint) -> bool {
    matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOp {
    Equal,
    Exists,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    /// Empty means every key (only with `Exists`).
    pub key: String,
    pub op: TolerationOp,
    pub value: String,
    /// `None` means every effect.
    pub effect: Option<TaintEffect>,
    /// For `NoExecute`: how long a running pod stays after the taint appears;
    /// `None` means forever; zero or negative means evict at once.
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// `Toleration.ToleratesTaint`: the effect must match unless the
    /// toleration's is empty, the key must match unless the toleration's is
    /// empty, and then `Exists` matches any value and `Equal` the same value.
    pub fn tolerates(&self, t: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != t.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        match self.op {
            TolerationOp::Exists => true,
            TolerationOp::Equal => self.value == t.value,
        }
    }
}

/// Whether any toleration tolerates the taint (`TolerationsTolerateTaint`).
pub fn tolerated(tols: &[Toleration], t: &Taint) -> bool {
    tols.iter().any(|tol| tol.tolerates(t))
}

/// First taint (with the given effects filter) not tolerated by any toleration; upstream v1helper.FindMatchingUntoleratedTaint.
pub fn find_untolerated<'a>(
    taints: &'a [Taint],
    tols: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints.iter().find(|t| filter(t) && !tolerated(tols, t))
}

/// Converts and validates a node's taint as `validateNodeTaints` does for
/// one entry: a qualified-name key, a label value, a known effect.
pub fn taint_from_k8s(t: &core::Taint) -> Result<Taint, String> {
    let mut errs = Vec::new();
    if let Err(e) = validate_label_key(&t.key) {
        errs.push(format!("key: Invalid value: {:?}: {e}", t.key));
    }
    let value = t.value.clone().unwrap_or_default();
    if let Err(e) = validate_label_value(&value) {
        errs.push(format!("value: Invalid value: {value:?}: {e}"));
    }
    let effect = if t.effect.is_empty() {
        Err("effect: Required value".to_string())
    } else {
        TaintEffect::parse(&t.effect, "effect")
    };
    let effect = effect.map_err(|e| errs.push(e)).ok();
    match effect {
        Some(effect) if errs.is_empty() => Ok(Taint {
            key: t.key.clone(),
            value,
            effect,
        }),
        _ => Err(errs.join("; ")),
    }
}

/// Converts a node's taint list; taints must be unique by key and effect.
pub fn taints_from_k8s(taints: &[core::Taint]) -> Result<Vec<Taint>, String> {
    let mut out: Vec<Taint> = Vec::with_capacity(taints.len());
    let mut errs = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        match taint_from_k8s(t) {
            Ok(t) if out.iter().any(|o| o.matches_key_effect(&t)) => errs.push(format!(
                "taints[{i}]: Duplicate value: \"{t}\": taints must be unique by key and effect pair"
            )),
            Ok(t) => out.push(t),
            Err(e) => errs.push(format!("taints[{i}].{e}")),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs.join("; "))
    }
}

/// Converts and validates a pod's toleration as `ValidateTolerations` does:
/// an empty key needs `Exists`; `Exists` takes no value; `Equal` (the
/// default) takes a label value; `tolerationSeconds` needs `NoExecute`.
pub fn toleration_from_k8s(t: &core::Toleration) -> Result<Toleration, String> {
    let mut errs = Vec::new();
    let key = t.key.clone().unwrap_or_default();
    let value = t.value.clone().unwrap_or_default();
    let operator = t.operator.as_deref().unwrap_or("");
    let effect_str = t.effect.as_deref().unwrap_or("");
    if !key.is_empty()
        && let Err(e) = validate_label_key(&key)
    {
        errs.push(format!("key: Invalid value: {key:?}: {e}"));
    }
    if key.is_empty() && operator != "Exists" {
        errs.push(format!(
            "operator: Invalid value: {operator:?}: operator must be Exists when `key` is empty, which means \"match all values and all keys\""
        ));
    }
    if t.toleration_seconds.is_some() && effect_str != "NoExecute" {
        errs.push(format!(
            "effect: Invalid value: {effect_str:?}: effect must be 'NoExecute' when `tolerationSeconds` is set"
        ));
    }
    let op = match operator {
        "" | "Equal" => {
            if let Err(e) = validate_label_value(&value) {
                errs.push(format!("operator: Invalid value: {value:?}: {e}"));
            }
            Some(TolerationOp::Equal)
        }
        "Exists" => {
            if !value.is_empty() {
                errs.push(
                    "operator: Invalid value: value must be empty when `operator` is 'Exists'"
                        .into(),
                );
            }
            Some(TolerationOp::Exists)
        }
        "Lt" | "Gt" => {
            errs.push(format!(
                "operator: Unsupported value: {operator:?}: needs the alpha feature gate TaintTolerationComparisonOperators, which kubesim does not enable; supported values: \"Equal\", \"Exists\""
            ));
            None
        }
        other => {
            errs.push(format!(
                "operator: Unsupported value: {other:?}: supported values: \"Equal\", \"Exists\""
            ));
            None
        }
    };
    let effect = if effect_str.is_empty() {
        None
    } else {
        TaintEffect::parse(effect_str, "effect")
            .map_err(|e| errs.push(e))
            .ok()
    };
    match op {
        Some(op) if errs.is_empty() => Ok(Toleration {
            key,
            op,
            value,
            effect,
            toleration_seconds: t.toleration_seconds,
        }),
        _ => Err(errs.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaintEffect::*;

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    fn tol(key: &str, op: TolerationOp, value: &str, effect: Option<TaintEffect>) -> Toleration {
        Toleration {
            key: key.into(),
            op,
            value: value.into(),
            effect,
            toleration_seconds: None,
        }
    }

    fn k8s_tol(
        key: Option<&str>,
        op: Option<&str>,
        value: Option<&str>,
        effect: Option<&str>,
        secs: Option<i64>,
    ) -> core::Toleration {
        core::Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: secs,
        }
    }

    #[test]
    fn empty_key_exists_tolerates_everything() {
        let all = tol("", TolerationOp::Exists, "", None);
        for t in [
            taint("a", "", NoSchedule),
            taint("b", "x", PreferNoSchedule),
            taint("c", "y", NoExecute),
        ] {
            assert!(all.tolerates(&t), "{t}");
        }
        let all_no_execute = tol("", TolerationOp::Exists, "", Some(NoExecute));
        assert!(all_no_execute.tolerates(&taint("c", "y", NoExecute)));
        assert!(!all_no_execute.tolerates(&taint("a", "", NoSchedule)));
    }

    #[test]
    fn key_value_and_effect_matching() {
        let t = taint("dedicated", "gpu", NoSchedule);
        assert!(tol("dedicated", TolerationOp::Equal, "gpu", None).tolerates(&t));
        assert!(tol("dedicated", TolerationOp::Equal, "gpu", Some(NoSchedule)).tolerates(&t));
        assert!(!tol("dedicated", TolerationOp::Equal, "gpu", Some(NoExecute)).tolerates(&t));
        assert!(!tol("dedicated", TolerationOp::Equal, "cpu", None).tolerates(&t));
        assert!(!tol("dedicated", TolerationOp::Equal, "", None).tolerates(&t));
        assert!(tol("dedicated", TolerationOp::Exists, "", None).tolerates(&t));
        assert!(!tol("other", TolerationOp::Exists, "", None).tolerates(&t));
        // Equal with an empty value matches a taint without a value.
        assert!(tol("k", TolerationOp::Equal, "", None).tolerates(&taint("k", "", NoExecute)));
    }

    #[test]
    fn find_untolerated_returns_first_filtered_untolerated_taint() {
        let taints = [
            taint("soft", "", PreferNoSchedule),
            taint("a", "1", NoSchedule),
            taint("b", "2", NoExecute),
        ];
        let tols = [tol("a", TolerationOp::Exists, "", None)];
        assert_eq!(
            find_untolerated(&taints, &tols, is_do_not_schedule),
            Some(&taints[2])
        );
        assert_eq!(find_untolerated(&taints, &[], |_| true), Some(&taints[0]));
        assert_eq!(
            find_untolerated(&taints, &[], is_do_not_schedule),
            Some(&taints[1])
        );
        let both = [
            tols[0].clone(),
            tol("b", TolerationOp::Equal, "2", Some(NoExecute)),
        ];
        assert_eq!(find_untolerated(&taints, &both, is_do_not_schedule), None);
        assert_eq!(find_untolerated(&[], &[], |_| true), None);
    }

    #[test]
    fn display_forms() {
        assert_eq!(taint("k", "v", NoSchedule).to_string(), "k=v:NoSchedule");
        assert_eq!(
            taint("node.kubernetes.io/unreachable", "", NoExecute).to_string(),
            "node.kubernetes.io/unreachable:NoExecute"
        );
        assert_eq!(
            untolerated_taint_reason(&taint("dedicated", "gpu", NoSchedule)),
            "node(s) had untolerated taint {dedicated: gpu}"
        );
        assert_eq!(
            untolerated_taint_reason(&taint("node.kubernetes.io/not-ready", "", NoExecute)),
            "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
        );
    }

    #[test]
    fn taint_conversion_and_validation() {
        let k = |key: &str, value: Option<&str>, effect: &str| core::Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            time_added: None,
        };
        assert_eq!(
            taint_from_k8s(&k("gpu", Some("true"), "NoSchedule")),
            Ok(taint("gpu", "true", NoSchedule))
        );
        assert_eq!(
            taint_from_k8s(&k("gpu", None, "NoExecute")),
            Ok(taint("gpu", "", NoExecute))
        );
        assert!(taint_from_k8s(&k("", None, "NoSchedule")).is_err());
        assert!(taint_from_k8s(&k("gpu", Some("a b"), "NoSchedule")).is_err());
        assert!(
            taint_from_k8s(&k("gpu", None, ""))
                .unwrap_err()
                .contains("Required value")
        );
        assert!(
            taint_from_k8s(&k("gpu", None, "NoScheduleNoAdmit"))
                .unwrap_err()
                .contains("Unsupported value")
        );
        assert!(taint_from_k8s(&k("gpu", None, "noschedule")).is_err());

        let list = [k("a", None, "NoSchedule"), k("a", Some("x"), "NoExecute")];
        assert_eq!(taints_from_k8s(&list).unwrap().len(), 2);
        let dup = [k("a", None, "NoSchedule"), k("a", Some("x"), "NoSchedule")];
        let e = taints_from_k8s(&dup).unwrap_err();
        assert!(
            e.contains("taints[1]: Duplicate value") && e.contains("unique by key and effect"),
            "{e}"
        );
    }

    #[test]
    fn toleration_conversion_and_validation() {
        let ok = toleration_from_k8s(&k8s_tol(Some("k"), None, Some("v"), None, None)).unwrap();
        assert_eq!(ok, tol("k", TolerationOp::Equal, "v", None));
        let all = toleration_from_k8s(&k8s_tol(None, Some("Exists"), None, None, None)).unwrap();
        assert_eq!(all, tol("", TolerationOp::Exists, "", None));
        let evict = toleration_from_k8s(&k8s_tol(
            Some("node.kubernetes.io/unreachable"),
            Some("Exists"),
            None,
            Some("NoExecute"),
            Some(300),
        ))
        .unwrap();
        assert_eq!(evict.toleration_seconds, Some(300));
        assert_eq!(evict.effect, Some(NoExecute));

        let err = |t| toleration_from_k8s(&t).unwrap_err();
        assert!(
            err(k8s_tol(Some("k"), Some("Exists"), Some("v"), None, None))
                .contains("value must be empty")
        );
        assert!(
            err(k8s_tol(None, None, None, None, None))
                .contains("operator must be Exists when `key` is empty")
        );
        assert!(
            err(k8s_tol(None, Some("Equal"), Some("v"), None, None))
                .contains("operator must be Exists")
        );
        assert!(
            err(k8s_tol(
                Some("k"),
                Some("Exists"),
                None,
                Some("NoSchedule"),
                Some(5)
            ))
            .contains("effect must be 'NoExecute'")
        );
        assert!(
            err(k8s_tol(Some("k"), Some("Exists"), None, None, Some(5)))
                .contains("effect must be 'NoExecute'")
        );
        assert!(
            err(k8s_tol(
                Some("k"),
                Some("Exists"),
                None,
                Some("Sometimes"),
                None
            ))
            .contains("Unsupported value")
        );
        assert!(
            err(k8s_tol(Some("k"), Some("Gt"), Some("5"), None, None))
                .contains("TaintTolerationComparisonOperators")
        );
        assert!(
            err(k8s_tol(Some("k"), Some("Matches"), Some("5"), None, None))
                .contains("Unsupported value")
        );
        assert!(
            err(k8s_tol(Some("bad key"), Some("Exists"), None, None, None))
                .contains("key: Invalid value")
        );
        assert!(
            err(k8s_tol(
                Some("k"),
                Some("Equal"),
                Some("bad value"),
                None,
                None
            ))
            .contains("Invalid value")
        );
    }
}
