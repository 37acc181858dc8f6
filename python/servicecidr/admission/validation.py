"""Defaulting and API validation of ValidatingAdmissionPolicy and its bindings.

Sources: ``pkg/apis/admissionregistration/v1/defaults.go`` (``failurePolicy: Fail``,
``matchPolicy: Equivalent``, empty selectors, rule ``scope: "*"``),
``pkg/apis/admissionregistration/validation/validation.go``
(``ValidateValidatingAdmissionPolicy``, ``...Binding``, their ``...Update`` variants, with
the same messages and field order), ``apimachinery/pkg/apis/meta/v1/validation``
(``ValidateLabelSelector``), and ``pkg/registry/admissionregistration/
validatingadmissionpolicy/strategy.go`` (``generation`` starts at 1 and grows when the spec
changes; the status is kept by updates).

Every CEL expression is compiled while validating, as kube-apiserver does: an expression
that does not parse or type-check, or returns the wrong type, is ``Invalid`` with the
compiler's text (``compilation failed: ERROR: <input>:1:1: undeclared reference to
'params' (in container '')`` ...; ``must evaluate to bool``).

The engine's generic registry has no defaulting step for these kinds, so the validators
below default the object in place first (``PrepareForCreate`` and defaulting both run
before validation in kube-apiserver, so the order is the same).
"""

from __future__ import annotations

import re
from typing import Any, Final

from servicecidr._core import CompiledPolicy
from servicecidr.api.field_errors import (
    FieldError,
    JSONString,
    Path,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    too_many,
)
from servicecidr.api.validation import (
    is_dns1035_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    name_is_dns_subdomain,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
    validate_path_segment_name,
)

__all__ = [
    "default_binding",
    "default_policy",
    "validate_binding",
    "validate_binding_update",
    "validate_label_selector",
    "validate_policy",
    "validate_policy_status_update",
    "validate_policy_update",
]

Obj = dict[str, Any]

FAILURE_POLICIES: Final = ("Fail", "Ignore")
MATCH_POLICIES: Final = ("Equivalent", "Exact")
OPERATIONS: Final = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
SCOPES: Final = ("*", "Cluster", "Namespaced")
REASONS: Final = ("Forbidden", "Invalid", "RequestEntityTooLarge")
VALIDATION_ACTIONS: Final = ("Audit", "Deny", "Warn")
NOT_FOUND_ACTIONS: Final = ("Deny", "Allow")
MAX_AUDIT_ANNOTATIONS: Final = 20
MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH: Final = 5 * 1024
MAX_MATCH_CONDITIONS: Final = 64

_CEL_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_CEL_RESERVED: Final = frozenset(
    {
        *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for"),
        *("function", "if", "import", "let", "loop", "package", "namespace", "return", "var"),
        *("void", "while"),
    }
)
_NEWLINES = re.compile(r"[\n\r]+")


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _strs(v: Any) -> list[str]:
    return [_s(x) for x in _l(v)]


# --------------------------------------------------------------------------------------
# Defaulting
# --------------------------------------------------------------------------------------


def _default_rules(rules: Any) -> None:
    for rule in _l(rules):
        if isinstance(rule, dict) and rule.get("scope") is None:
            rule["scope"] = "*"


def _default_match_resources(mr: Any) -> None:
    """``SetDefaults_MatchResources`` and ``SetDefaults_Rule``."""
    if not isinstance(mr, dict):
        return
    if mr.get("matchPolicy") is None:
        mr["matchPolicy"] = "Equivalent"
    if mr.get("namespaceSelector") is None:
        mr["namespaceSelector"] = {}
    if mr.get("objectSelector") is None:
        mr["objectSelector"] = {}
    _default_rules(mr.get("resourceRules"))
    _default_rules(mr.get("excludeResourceRules"))


def default_policy(obj: Obj) -> None:
    """``SetDefaults_ValidatingAdmissionPolicySpec`` and the nested defaults."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("failurePolicy") is None:
        spec["failurePolicy"] = "Fail"
    _default_match_resources(spec.get("matchConstraints"))


def default_binding(obj: Obj) -> None:
    """The defaults of a binding's ``matchResources``."""
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _default_match_resources(spec.get("matchResources"))


# --------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------


def _qualified_name_errors(value: str, path: Path) -> list[FieldError]:
    """``apivalidation.ValidateQualifiedName``."""
    return [invalid(path, value, msg) for msg in is_qualified_name(value)]


def validate_label_selector(selector: Any, path: Path) -> list[FieldError]:
    """``metav1validation.ValidateLabelSelector`` (strict label values)."""
    sel = _d(selector)
    errs = validate_labels(
        {str(k): _s(v) for k, v in _d(sel.get("matchLabels")).items()},
        path.child("matchLabels"),
    )
    for i, expr in enumerate(_l(sel.get("matchExpressions"))):
        p = path.child("matchExpressions").index(i)
        e = _d(expr)
        op = e.get("operator")
        values = _strs(e.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(
                        p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(
                invalid(p.child("operator"), JSONString(_s(op)), "not a valid selector operator")
            )
        key = _s(e.get("key"))
        errs.extend(invalid(p.child("key"), key, msg) for msg in is_qualified_name(key))
        for vi, value in enumerate(values):
            errs.extend(
                invalid(p.child("values").index(vi), value, msg)
                for msg in is_valid_label_value(value)
            )
    return errs


def _validate_resources(resources: list[str], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if not resources:
        errs.append(required(path))
    with_wildcard_sub: set[str] = set()
    sub_with_wildcard_res: set[str] = set()
    double = single = without_sub = False
    for i, res_sub in enumerate(resources):
        if res_sub == "":
            errs.append(required(path.index(i)))
            continue
        if res_sub == "*/*":
            double = True
        if res_sub == "*":
            single = True
        parts = res_sub.split("/", 1)
        if len(parts) == 1:
            without_sub = res_sub != "*"
            continue
        res, sub = parts
        if res in with_wildcard_sub:
            errs.append(
                invalid(
                    path.index(i), res_sub, f"if '{res}/*' is present, must not specify {res_sub}"
                )
            )
        if sub in sub_with_wildcard_res:
            errs.append(
                invalid(
                    path.index(i), res_sub, f"if '*/{sub}' is present, must not specify {res_sub}"
                )
            )
        if sub == "*":
            with_wildcard_sub.add(res)
        if res == "*":
            sub_with_wildcard_res.add(sub)
    if len(resources) > 1 and double:
        errs.append(
            invalid(path, resources, "if '*/*' is present, must not specify other resources")
        )
    if single and without_sub:
        errs.append(
            invalid(
                path,
                resources,
                "if '*' is present, must not specify other resources without subresources",
            )
        )
    return errs


def _validate_rule_with_operations(rule: dict[str, Any], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    ops = _strs(rule.get("operations"))
    if not ops:
        errs.append(required(path.child("operations")))
    if len(ops) > 1 and "*" in ops:
        errs.append(
            invalid(
                path.child("operations"),
                ops,
                "if '*' is present, must not specify other operations",
            )
        )
    for i, op in enumerate(ops):
        if op not in OPERATIONS:
            errs.append(
                not_supported(path.child("operations").index(i), JSONString(op), OPERATIONS)
            )
    groups = _strs(rule.get("apiGroups"))
    if not groups:
        errs.append(required(path.child("apiGroups")))
    if len(groups) > 1 and "*" in groups:
        errs.append(
            invalid(
                path.child("apiGroups"),
                groups,
                "if '*' is present, must not specify other API groups",
            )
        )
    versions = _strs(rule.get("apiVersions"))
    if not versions:
        errs.append(required(path.child("apiVersions")))
    if len(versions) > 1 and "*" in versions:
        errs.append(
            invalid(
                path.child("apiVersions"),
                versions,
                "if '*' is present, must not specify other API versions",
            )
        )
    for i, v in enumerate(versions):
        if v == "":
            errs.append(required(path.child("apiVersions").index(i)))
    errs.extend(_validate_resources(_strs(rule.get("resources")), path.child("resources")))
    scope = rule.get("scope")
    if scope is not None and scope not in SCOPES:
        errs.append(not_supported(path.child("scope"), JSONString(_s(scope)), SCOPES))
    return errs


def _validate_named_rule(rule: Any, path: Path) -> list[FieldError]:
    r = _d(rule)
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, name in enumerate(_strs(r.get("resourceNames"))):
        p = path.child("resourceNames").index(i)
        errs.extend(invalid(p, name, msg) for msg in validate_path_segment_name(name, False))
        if name in seen:
            errs.append(duplicate(p, name))
        else:
            seen.add(name)
    errs.extend(_validate_rule_with_operations(r, path))
    return errs


def _validate_match_resources(mr: Any, path: Path) -> list[FieldError]:
    if mr is None:
        return []
    m = _d(mr)
    errs: list[FieldError] = []
    policy = m.get("matchPolicy")
    if policy is None:
        errs.append(required(path.child("matchPolicy")))
    elif policy not in MATCH_POLICIES:
        errs.append(
            not_supported(path.child("matchPolicy"), JSONString(_s(policy)), MATCH_POLICIES)
        )
    for key in ("namespaceSelector", "objectSelector"):
        if m.get(key) is None:
            errs.append(required(path.child(key)))
        else:
            errs.extend(validate_label_selector(m[key], path.child(key)))
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in enumerate(_l(m.get(key))):
            errs.extend(_validate_named_rule(rule, path.child(key).index(i)))
    return errs


def _is_cel_identifier(name: str) -> bool:
    return bool(_CEL_IDENT.fullmatch(name)) and name not in _CEL_RESERVED


def _parse_group_version(gv: str) -> tuple[str, str] | None:
    if gv in ("", "/"):
        return "", ""
    n = gv.count("/")
    if n == 0:
        return "", gv
    if n == 1:
        g, _, v = gv.partition("/")
        return g, v
    return None


def _validate_param_kind(pk: Any, path: Path) -> list[FieldError]:
    p = _d(pk)
    errs: list[FieldError] = []
    api_version = _s(p.get("apiVersion"))
    if not api_version:
        errs.append(required(path.child("apiVersion")))
    else:
        gv = _parse_group_version(api_version)
        if gv is None:
            errs.append(
                invalid(
                    path.child("apiVersion"),
                    api_version,
                    f"unexpected GroupVersion string: {api_version}",
                )
            )
        else:
            group, version = gv
            if group:
                msgs = is_dns1123_subdomain(group)
                if msgs:
                    errs.append(invalid(path.child("apiVersion"), group, ",".join(msgs)))
            if not version:
                errs.append(
                    invalid(path.child("apiVersion"), api_version, "version must be specified")
                )
            else:
                msgs = is_dns1035_label(version)
                if msgs:
                    errs.append(invalid(path.child("apiVersion"), version, ",".join(msgs)))
    kind = _s(p.get("kind"))
    if not kind:
        errs.append(required(path.child("kind")))
    else:
        msgs = is_dns1035_label(kind.lower())
        if msgs:
            errs.append(
                invalid(
                    path.child("kind"),
                    kind,
                    "may have mixed case, but should otherwise match: " + ",".join(msgs),
                )
            )
    return errs


# --------------------------------------------------------------------------------------
# ValidatingAdmissionPolicy
# --------------------------------------------------------------------------------------


def _validate_policy_spec(
    meta: dict[str, Any], spec: dict[str, Any], *, ignore_match_conditions: bool
) -> list[FieldError]:
    path = Path("spec")
    compiled = dict(CompiledPolicy(spec).errors)
    errs: list[FieldError] = []
    fp = spec.get("failurePolicy")
    if fp is None:
        errs.append(required(path.child("failurePolicy")))
    elif fp not in FAILURE_POLICIES:
        errs.append(
            not_supported(path.child("failurePolicy"), JSONString(_s(fp)), FAILURE_POLICIES)
        )
    if spec.get("paramKind") is not None:
        errs.extend(_validate_param_kind(spec["paramKind"], path.child("paramKind")))
    mc = spec.get("matchConstraints")
    if mc is None:
        errs.append(required(path.child("matchConstraints")))
    else:
        errs.extend(_validate_match_resources(mc, path.child("matchConstraints")))
        if not _l(_d(mc).get("resourceRules")):
            errs.append(required(path.child("matchConstraints", "resourceRules")))
    if not ignore_match_conditions:
        conditions = _l(spec.get("matchConditions"))
        mp = path.child("matchConditions")
        if len(conditions) > MAX_MATCH_CONDITIONS:
            errs.append(too_many(mp, len(conditions), MAX_MATCH_CONDITIONS))
        names: set[str] = set()
        for i, cond in enumerate(conditions):
            c = _d(cond)
            expression = _s(c.get("expression")).strip()
            if not expression:
                errs.append(required(mp.index(i).child("expression")))
            else:
                detail = compiled.get(f"spec.matchConditions[{i}].expression")
                if detail is not None:
                    errs.append(invalid(mp.index(i).child("expression"), expression, detail))
            name = _s(c.get("name"))
            if not name:
                errs.append(required(mp.index(i).child("name")))
            else:
                errs.extend(_qualified_name_errors(name, mp.index(i).child("name")))
                if name in names:
                    errs.append(duplicate(mp.index(i).child("name"), name))
                else:
                    names.add(name)
    for i, var in enumerate(_l(spec.get("variables"))):
        v = _d(var)
        vp = path.child("variables").index(i)
        name = _s(v.get("name"))
        if not name.strip():
            errs.append(required(vp.child("name"), "name is not specified"))
        elif not _is_cel_identifier(name):
            errs.append(invalid(vp.child("name"), name, "name is not a valid CEL identifier"))
        expression = _s(v.get("expression"))
        if not expression.strip():
            errs.append(required(vp.child("expression"), "expression is not specified"))
        else:
            detail = compiled.get(f"spec.variables[{i}].expression")
            if detail is not None:
                errs.append(invalid(vp.child("expression"), expression, detail))
    validations = _l(spec.get("validations"))
    annotations = _l(spec.get("auditAnnotations"))
    if not validations and not annotations:
        msg = "validations or auditAnnotations must contain at least one item"
        errs.append(required(path.child("validations"), msg))
        errs.append(required(path.child("auditAnnotations"), msg))
        return errs
    for i, val in enumerate(validations):
        errs.extend(_validate_validation(_d(val), path.child("validations").index(i), compiled, i))
    if spec.get("auditAnnotations") is not None:
        ap = path.child("auditAnnotations")
        if len(annotations) > MAX_AUDIT_ANNOTATIONS:
            errs.append(
                invalid(
                    ap,
                    annotations,
                    f"must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations",
                )
            )
        keys: set[str] = set()
        for i, ann in enumerate(annotations):
            a = _d(ann)
            errs.extend(_validate_audit_annotation(meta, a, ap.index(i), compiled, i))
            key = _s(a.get("key"))
            if key in keys:
                errs.append(duplicate(ap.index(i).child("key"), key))
            keys.add(key)
    return errs


def _validate_validation(
    v: dict[str, Any], path: Path, compiled: dict[str, str], i: int
) -> list[FieldError]:
    errs: list[FieldError] = []
    expression = _s(v.get("expression"))
    message = _s(v.get("message"))
    message_expression = _s(v.get("messageExpression"))
    if not expression.strip():
        errs.append(required(path.child("expression"), "expression is not specified"))
    else:
        detail = compiled.get(f"spec.validations[{i}].expression")
        if detail is not None:
            errs.append(invalid(path.child("expression"), expression, detail))
    if message_expression and not message_expression.strip():
        errs.append(
            invalid(
                path.child("messageExpression"),
                message_expression,
                "must be non-empty if specified",
            )
        )
    elif message_expression.strip():
        detail = compiled.get(f"spec.validations[{i}].messageExpression")
        if detail is not None:
            errs.append(invalid(path.child("messageExpression"), message_expression, detail))
    trimmed = message.strip()
    if message and not trimmed:
        errs.append(
            invalid(path.child("message"), message, "message must be non-empty if specified")
        )
    elif _NEWLINES.search(trimmed):
        errs.append(invalid(path.child("message"), message, "message must not contain line breaks"))
    reason = v.get("reason")
    if reason is not None and reason not in REASONS:
        errs.append(not_supported(path.child("reason"), JSONString(_s(reason)), REASONS))
    return errs


def _validate_audit_annotation(
    meta: dict[str, Any], a: dict[str, Any], path: Path, compiled: dict[str, str], i: int
) -> list[FieldError]:
    errs: list[FieldError] = []
    key = _s(a.get("key"))
    name = _s(meta.get("name"))
    if name:
        errs.extend(_qualified_name_errors(f"{name}/{key}", path.child("key")))
    else:
        errs.append(invalid(path.child("key"), key, "requires metadata.name be non-empty"))
    value_expression = _s(a.get("valueExpression"))
    trimmed = value_expression.strip()
    if not trimmed:
        errs.append(required(path.child("valueExpression"), "valueExpression is not specified"))
    elif len(trimmed.encode()) > MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH:
        errs.append(
            required(
                path.child("valueExpression"),
                f"must not exceed {MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH} bytes in length",
            )
        )
    else:
        detail = compiled.get(f"spec.auditAnnotations[{i}].valueExpression")
        if detail is not None:
            errs.append(invalid(path.child("valueExpression"), value_expression, detail))
    return errs


def _spec(obj: Obj) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
        obj["spec"] = spec
    return spec


def validate_policy(obj: Obj) -> list[FieldError]:
    """``ValidateValidatingAdmissionPolicy`` (after defaulting ``obj`` in place, and
    setting ``metadata.generation`` to 1)."""
    default_policy(obj)
    meta = obj.setdefault("metadata", {})
    meta["generation"] = 1
    errs = validate_object_meta(meta, namespaced=False, name_fn=name_is_dns_subdomain)
    errs.extend(_validate_policy_spec(meta, _spec(obj), ignore_match_conditions=False))
    return errs


def validate_policy_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateValidatingAdmissionPolicyUpdate``; match conditions are checked only
    when they or ``paramKind`` changed. ``metadata.generation`` grows when the spec
    changed."""
    default_policy(new)
    meta = new.setdefault("metadata", {})
    old_meta = _d(old.get("metadata"))
    old_generation = old_meta.get("generation")
    generation = old_generation if isinstance(old_generation, int) else 1
    spec, old_spec = _spec(new), _d(old.get("spec"))
    meta["generation"] = generation + 1 if spec != old_spec else generation
    errs = validate_object_meta_update(meta, old_meta)
    ignore = spec.get("paramKind") == old_spec.get("paramKind") and spec.get(
        "matchConditions"
    ) == old_spec.get("matchConditions")
    errs.extend(_validate_policy_spec(meta, spec, ignore_match_conditions=ignore))
    return errs


def validate_policy_status_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateValidatingAdmissionPolicyStatusUpdate``: expression warnings need a
    warning and a field reference."""
    errs = validate_object_meta_update(_d(new.get("metadata")), _d(old.get("metadata")))
    warnings = _l(_d(_d(new.get("status")).get("typeChecking")).get("expressionWarnings"))
    path = Path("status", "typeChecking", "expressionWarnings")
    for i, w in enumerate(warnings):
        ww = _d(w)
        if not _s(ww.get("warning")):
            errs.append(required(path.index(i).child("warning")))
        if not _s(ww.get("fieldRef")).strip():
            errs.append(required(path.index(i).child("fieldRef")))
    return errs


# --------------------------------------------------------------------------------------
# ValidatingAdmissionPolicyBinding
# --------------------------------------------------------------------------------------


def _validate_param_ref(pr: Any, path: Path) -> list[FieldError]:
    if pr is None:
        return []
    p = _d(pr)
    errs: list[FieldError] = []
    name = _s(p.get("name"))
    selector = p.get("selector")
    if name:
        errs.extend(
            invalid(path.child("name"), name, msg)
            for msg in validate_path_segment_name(name, False)
        )
        if selector is not None:
            errs.append(forbidden(path.child("name"), "name and selector are mutually exclusive"))
    if selector is not None:
        errs.extend(validate_label_selector(selector, path.child("selector")))
        if name:
            errs.append(
                forbidden(path.child("selector"), "name and selector are mutually exclusive")
            )
    if not name and selector is None:
        errs.append(required(path, "one of name or selector must be specified"))
    action = p.get("parameterNotFoundAction")
    if not action:
        errs.append(required(path.child("parameterNotFoundAction")))
    elif action not in NOT_FOUND_ACTIONS:
        errs.append(
            not_supported(
                path.child("parameterNotFoundAction"), JSONString(_s(action)), NOT_FOUND_ACTIONS
            )
        )
    return errs


def _validate_validation_actions(actions: list[str], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, a in enumerate(actions):
        if a not in VALIDATION_ACTIONS:
            errs.append(not_supported(path.index(i), JSONString(a), VALIDATION_ACTIONS))
        if a in seen:
            errs.append(duplicate(path.index(i), JSONString(a)))
        seen.add(a)
    if "Deny" in seen and "Warn" in seen:
        errs.append(
            invalid(
                path,
                actions,
                "must not contain both Deny and Warn (repeating the same validation failure "
                "information in the API response and headers serves no purpose)",
            )
        )
    if not seen:
        errs.append(required(path, "at least one validation action is required"))
    return errs


def _validate_binding_spec(spec: dict[str, Any]) -> list[FieldError]:
    path = Path("spec")
    errs: list[FieldError] = []
    policy_name = _s(spec.get("policyName"))
    if not policy_name:
        errs.append(required(path.child("policyName")))
    else:
        errs.extend(
            invalid(path.child("policyName"), policy_name, msg)
            for msg in name_is_dns_subdomain(policy_name, False)
        )
    errs.extend(_validate_param_ref(spec.get("paramRef"), path.child("paramRef")))
    # "matchResouces": kube-apiserver's own spelling of this path.
    errs.extend(_validate_match_resources(spec.get("matchResources"), path.child("matchResouces")))
    errs.extend(
        _validate_validation_actions(
            _strs(spec.get("validationActions")), path.child("validationActions")
        )
    )
    return errs


def validate_binding(obj: Obj) -> list[FieldError]:
    """``ValidateValidatingAdmissionPolicyBinding`` (after defaulting ``obj``)."""
    default_binding(obj)
    meta = obj.setdefault("metadata", {})
    meta["generation"] = 1
    errs = validate_object_meta(meta, namespaced=False, name_fn=name_is_dns_subdomain)
    errs.extend(_validate_binding_spec(_spec(obj)))
    return errs


def validate_binding_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateValidatingAdmissionPolicyBindingUpdate``."""
    default_binding(new)
    meta = new.setdefault("metadata", {})
    old_meta = _d(old.get("metadata"))
    old_generation = old_meta.get("generation")
    generation = old_generation if isinstance(old_generation, int) else 1
    meta["generation"] = generation + 1 if _spec(new) != _d(old.get("spec")) else generation
    errs = validate_object_meta_update(meta, old_meta)
    errs.extend(_validate_binding_spec(_spec(new)))
    return errs
