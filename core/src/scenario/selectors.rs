//! `labelSelector` tables → [`LabelSelector`]: the one parser for every
//! place a scenario takes a `metav1.LabelSelector` (topology spread
//! constraints, pod affinity and anti-affinity terms, PodDisruptionBudgets).
//!
//! Key decision: apimachinery's validation
//! (`staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go`,
//! `ValidateLabelSelector`, `ValidateLabelSelectorRequirement`, `ValidateLabels`)
//! is applied here, so a selector the API server would refuse is one located
//! error: `In`/`NotIn` need values, `Exists`/`DoesNotExist` take none, keys
//! are qualified names, values valid label values, and `Gt`/`Lt` (node
//! selector operators) are not label selector operators.

use std::ops::Range;

use toml::Spanned;

use super::schema::{LabelSelectorFile, RequirementFile, SelectorOpFile};
use super::{Ctx, InputError};
use crate::labels::LabelSelector;
use crate::model::{SelectorOp, SelectorRequirement};

/// Parses `labelSelector` at `at` (e.g. `services.web.topologySpreadConstraints[0].labelSelector`).
pub(crate) fn label_selector(
    s: &Spanned<LabelSelectorFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<LabelSelector, InputError> {
    let span = s.span();
    let f = s.get_ref();
    for (k, v) in &f.match_labels {
        let p = format!("{at}.matchLabels.{k}");
        check_label_key(k).map_err(|m| ctx.err(span.clone(), p.clone(), m))?;
        check_label_value(v).map_err(|m| ctx.err(span.clone(), p, m))?;
    }
    let match_expressions = f
        .match_expressions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            requirement(
                r.get_ref(),
                r.span(),
                &format!("{at}.matchExpressions[{i}]"),
                ctx,
            )
        })
        .collect::<Result<_, _>>()?;
    Ok(LabelSelector {
        match_labels: f.match_labels.clone(),
        match_expressions,
    })
}

/// `ValidateLabelSelectorRequirement`, with `Gt`/`Lt` refused.
fn requirement(
    r: &RequirementFile,
    span: Range<usize>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<SelectorRequirement, InputError> {
    check_label_key(&r.key).map_err(|m| ctx.err(span.clone(), format!("{at}.key"), m))?;
    let (values, vspan) = match &r.values {
        Some(v) => (v.get_ref().clone(), v.span()),
        None => (Vec::new(), span.clone()),
    };
    let vat = format!("{at}.values");
    let op = match r.operator {
        SelectorOpFile::In => SelectorOp::In,
        SelectorOpFile::NotIn => SelectorOp::NotIn,
        SelectorOpFile::Exists => SelectorOp::Exists,
        SelectorOpFile::DoesNotExist => SelectorOp::DoesNotExist,
        SelectorOpFile::Gt | SelectorOpFile::Lt => {
            return Err(ctx.err(
                span,
                format!("{at}.operator"),
                format!(
                    "{:?} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist); Gt and Lt apply to node selectors only",
                    r.operator
                ),
            ));
        }
    };
    match op {
        SelectorOp::In | SelectorOp::NotIn if values.is_empty() => {
            return Err(ctx.err(
                vspan,
                vat,
                format!("must be specified when operator is {:?}", r.operator),
            ));
        }
        SelectorOp::Exists | SelectorOp::DoesNotExist if !values.is_empty() => {
            return Err(ctx.err(
                vspan,
                vat,
                format!("may not be specified when operator is {:?}", r.operator),
            ));
        }
        _ => {}
    }
    for v in &values {
        check_label_value(v).map_err(|m| ctx.err(vspan.clone(), vat.clone(), m))?;
    }
    Ok(SelectorRequirement {
        key: r.key.clone(),
        op,
        values,
    })
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A lower-case DNS subdomain (`[a-z0-9]([-a-z0-9.]*[a-z0-9])?`, ≤ 253).
fn is_dns_subdomain(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.'))
}

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain.
pub(crate) fn check_label_key(k: &str) -> Result<(), String> {
    let ok = match k.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_label_name(name),
        None => is_label_name(k),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{k}' is not a valid label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

/// `IsValidLabelValue`: empty, or a label name.
pub(crate) fn check_label_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_label_name(v) {
        Ok(())
    } else {
        Err(format!(
            "'{v}' is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(rename = "labelSelector")]
        label_selector: Spanned<LabelSelectorFile>,
    }

    fn parse(text: &str) -> Result<LabelSelector, InputError> {
        let d: Doc = toml::from_str(text).expect("test TOML parses");
        let ctx = Ctx {
            file: "t.toml",
            text,
        };
        label_selector(&d.label_selector, "labelSelector", &ctx)
    }

    #[test]
    fn parses_labels_and_expressions() {
        let s = parse(
            r#"labelSelector = { matchLabels = { app = "web" }, matchExpressions = [
                { key = "tier", operator = "In", values = ["front", "edge"] },
                { key = "example.com/canary", operator = "DoesNotExist" },
            ] }"#,
        )
        .unwrap();
        assert_eq!(s.match_labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(s.match_expressions.len(), 2);
        assert_eq!(s.match_expressions[0].op, SelectorOp::In);
        assert_eq!(s.match_expressions[0].values, ["front", "edge"]);
        assert_eq!(s.match_expressions[1].key, "example.com/canary");
        // An empty table is the empty selector (matches everything).
        assert!(parse("labelSelector = {}").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_apimachinery_refuses() {
        let e = parse(
            "labelSelector = { matchExpressions = [\n  { key = \"n\", operator = \"Gt\", values = [\"1\"] },\n] }",
        )
        .unwrap_err();
        assert_eq!(e.path, "labelSelector.matchExpressions[0].operator");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not a valid label selector operator"));
        let e = parse(r#"labelSelector = { matchExpressions = [{ key = "a", operator = "In" }] }"#)
            .unwrap_err();
        assert_eq!(e.path, "labelSelector.matchExpressions[0].values");
        assert_eq!(e.message, "must be specified when operator is In");
        let e = parse(
            r#"labelSelector = { matchExpressions = [{ key = "a", operator = "Exists", values = ["x"] }] }"#,
        )
        .unwrap_err();
        assert_eq!(e.message, "may not be specified when operator is Exists");
        let e = parse(r#"labelSelector = { matchLabels = { "-bad" = "x" } }"#).unwrap_err();
        assert_eq!(e.path, "labelSelector.matchLabels.-bad");
        let e = parse(r#"labelSelector = { matchLabels = { app = "a b" } }"#).unwrap_err();
        assert!(e.message.contains("not a valid label value"));
        // An unknown operator is refused by the schema (serde's unknown variant).
        let bad: Result<Doc, _> = toml::from_str(
            r#"labelSelector = { matchExpressions = [{ key = "a", operator = "Near" }] }"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(check_label_key("app").is_ok());
        assert!(check_label_key("app.kubernetes.io/name").is_ok());
        assert!(check_label_key("").is_err());
        assert!(check_label_key("Example.com/x").is_err());
        assert!(check_label_key(&"a".repeat(64)).is_err());
        assert!(check_label_value("").is_ok());
        assert!(check_label_value("v1.2_x").is_ok());
        assert!(check_label_value("-x").is_err());
    }
}
