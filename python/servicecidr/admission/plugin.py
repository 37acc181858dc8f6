"""The ValidatingAdmissionPolicy admission plugin (``plugin/policy/validating``).

:class:`ValidatingAdmissionPolicyPlugin` is the ``Cluster.admission`` hook: the registries
call it with every create, update and delete of every kind, after defaulting and field
validation (and, for Services, after ClusterIP allocation), exactly where kube-apiserver
runs validating admission. For each policy that has bindings (policies in name order,
bindings in name order) it matches the request against the policy's
``matchConstraints`` and the binding's ``matchResources``, collects the binding's params,
and evaluates the compiled policy (in Rust: :class:`servicecidr._core.CompiledPolicy`)
once per param. Deny decisions go to the binding's ``validationActions``: ``Deny`` fails
the request with the first one, ``Warn`` returns a warning, ``Audit`` records the
``validation.policy.admission.k8s.io/validation_failure`` annotation. Audit annotations
(``<policy>/<key>``) and warnings are kept with the request's event.

Policies are read from the cluster's store; the compiled form of each is cached by
``(uid, resourceVersion)``, so a policy compiles once however many requests, restarts or
clusters see it. ValidatingAdmissionPolicies and their bindings are never subject to
policies themselves.

Namespaces: NamespaceLifecycle (:mod:`.lifecycle`) refuses a create in a namespace that
has no Namespace object, so the stored object is normally there and is used as it is
(with the label ``kubernetes.io/metadata.name`` added if missing). The requests that can
still name a namespace without one (an update or delete of an object imported into it, a
cluster with NamespaceLifecycle turned off) see an existing namespace with only that
label. This is the one place that decides it: :meth:`ValidatingAdmissionPolicyPlugin.namespace`.

The request's version is the one the client used (``networking.k8s.io/v1beta1`` is a
v1beta1 request), while the objects come in the version they are stored in; a policy
matched under ``matchPolicy: Equivalent`` through another version sees them converted to
it, ``request.kind``/``request.resource`` name the matched version and
``request.requestKind``/``requestResource`` what the client sent (``matching.go``,
``plugin/cel/condition.go``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from servicecidr._core import AdmissionInput, CompiledPolicy
from servicecidr.admission.matching import GVK, GVR, Criteria, Request, Selector
from servicecidr.admission.messages import denial_error, validation_failure_annotation
from servicecidr.api.kinds import KINDS, KindInfo
from servicecidr.api.users import identity_of
from servicecidr.store import Store, decode_object, object_key

__all__ = ["EXEMPT_KINDS", "Admitted", "ValidatingAdmissionPolicyPlugin"]

Obj = dict[str, Any]

POLICY = "ValidatingAdmissionPolicy"
BINDING = "ValidatingAdmissionPolicyBinding"
EXEMPT_KINDS = frozenset({POLICY, BINDING, "Event"})
METADATA_NAME_LABEL = "kubernetes.io/metadata.name"
_NAMESPACE_META_FIELDS = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "finalizers",
)
_OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


class ConfigError(Exception):
    """A policy or binding that cannot be applied (``failed to configure ...``)."""


@dataclass(slots=True)
class _Binding:
    name: str
    criteria: Criteria | None
    actions: tuple[str, ...]
    param_ref: dict[str, Any] | None


@dataclass(slots=True)
class _Hook:
    name: str
    compiled: CompiledPolicy
    criteria: Criteria
    fail: bool
    param_kind: KindInfo | None
    config_error: str | None
    bindings: list[_Binding]


_Simple = tuple[tuple[CompiledPolicy, ...], str]


@dataclass(slots=True)
class _Config:
    signature: tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]
    hooks: list[_Hook]
    # (kind, operation, subresource, request version, object version) -> the policies to
    # evaluate when every matching policy and binding is decided by the request's kind
    # alone and reads nothing but the objects (in the version they are in); None otherwise.
    plans: dict[tuple[str, str, str | None, str, str], _Simple | None] = field(default_factory=dict)


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _no_labels() -> None:
    return None


def _user_info(actor: str) -> dict[str, Any]:
    """``request.userInfo``: the authenticated user kube-apiserver would see."""
    ident = identity_of(actor)
    return {"username": ident.username, "groups": list(ident.groups)}


def _param_kind(spec: dict[str, Any]) -> tuple[KindInfo | None, str | None]:
    pk = spec.get("paramKind")
    if not isinstance(pk, dict):
        return None, None
    api_version = str(pk.get("apiVersion") or "")
    kind = str(pk.get("kind") or "")
    info = KINDS.get(kind)
    if info is not None and kind != "Event" and api_version in info.api_versions():
        return info, None
    group, _, version = api_version.rpartition("/")
    return (
        None,
        f"failed to find resource referenced by paramKind: '{group}/{version}, Kind={kind}'",
    )


@dataclass(frozen=True, slots=True)
class Admitted:
    """What admission let through: the warnings for the client, and the notes (audit
    annotations, warnings) kept with the request's journal entry (None: nothing)."""

    warnings: list[str] = field(default_factory=list)
    extra: Obj | None = None


NOTHING = Admitted()


class ValidatingAdmissionPolicyPlugin:
    """The admission hook. One instance may serve several clusters (a restart builds a
    new Cluster and keeps the plugin); everything it caches is keyed by what it reads."""

    def __init__(self) -> None:
        self._config: _Config | None = None
        self._compiled: dict[tuple[str, str], CompiledPolicy] = {}

    # ------------------------------------------------------------------ configuration

    def compiled(self, policy: Obj) -> CompiledPolicy:
        """The compiled CEL of a stored policy, cached by (uid, resourceVersion)."""
        meta = _d(policy.get("metadata"))
        key = (str(meta.get("uid", "")), str(meta.get("resourceVersion", "")))
        c = self._compiled.get(key)
        if c is None:
            c = CompiledPolicy(_d(policy.get("spec")))
            self._compiled[key] = c
        return c

    def _sync(self, store: Store) -> _Config:
        signature = (store.items(POLICY), store.items(BINDING))
        config = self._config
        if config is not None and config.signature == signature:
            return config
        config = _Config(signature, self._build(signature))
        self._config = config
        return config

    @staticmethod
    def _plan(config: _Config, req: Request, obj_version: str) -> _Simple | None:
        """The fast path for requests like ``req`` about objects in ``obj_version`` (see
        :attr:`_Config.plans`)."""
        policies: list[CompiledPolicy] = []
        version = req.version
        for hook in config.hooks:
            if not hook.criteria.static:
                return None
            matched, _, gvk = hook.criteria.matches(req, _no_labels)
            if not matched:
                continue
            if hook.config_error is not None or gvk[1] != obj_version:
                return None
            c = hook.compiled
            if c.uses_request or c.uses_namespace_object:
                return None
            for b in hook.bindings:
                if b.criteria is not None and not b.criteria.static:
                    return None
                if b.param_ref is not None and hook.param_kind is not None:
                    return None
                if b.criteria is None or b.criteria.matches(req, _no_labels)[0]:
                    policies.append(c)
        return tuple(policies), version

    def _build(
        self, signature: tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]
    ) -> list[_Hook]:
        policies, bindings = signature
        by_policy: dict[str, list[_Binding]] = {}
        for key, blob in sorted(bindings):
            b = decode_object(blob)
            spec = _d(b.get("spec"))
            mr = spec.get("matchResources")
            by_policy.setdefault(str(spec.get("policyName", "")), []).append(
                _Binding(
                    key,
                    Criteria.parse(mr) if isinstance(mr, dict) else None,
                    tuple(a for a in spec.get("validationActions") or [] if isinstance(a, str)),
                    spec.get("paramRef") if isinstance(spec.get("paramRef"), dict) else None,
                )
            )
        hooks: list[_Hook] = []
        live: set[tuple[str, str]] = set()
        for key, blob in sorted(policies):
            if key not in by_policy:
                continue
            p = decode_object(blob)
            spec = _d(p.get("spec"))
            meta = _d(p.get("metadata"))
            live.add((str(meta.get("uid", "")), str(meta.get("resourceVersion", ""))))
            info, error = _param_kind(spec)
            hooks.append(
                _Hook(
                    key,
                    self.compiled(p),
                    Criteria.parse(spec.get("matchConstraints")),
                    spec.get("failurePolicy") != "Ignore",
                    info,
                    error,
                    by_policy[key],
                )
            )
        for k in [k for k in self._compiled if k not in live]:
            del self._compiled[k]
        return hooks

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def namespace(store: Store, name: str) -> Obj:
        """The Namespace ``name`` as admission sees it: the stored object, or, when there
        is none, an existing namespace with only the automatic label."""
        blob = store.get("Namespace", name)
        if blob is None:
            return {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {METADATA_NAME_LABEL: name}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        ns = decode_object(blob)
        labels = ns.setdefault("metadata", {}).setdefault("labels", {})
        if isinstance(labels, dict):
            labels.setdefault(METADATA_NAME_LABEL, name)
        return ns

    @classmethod
    def namespace_object(cls, store: Store, name: str) -> Obj:
        """``CreateNamespaceObject``: metadata reduced to the fields CEL may read."""
        ns = cls.namespace(store, name)
        meta = _d(ns.get("metadata"))
        out: Obj = {"metadata": {k: meta[k] for k in _NAMESPACE_META_FIELDS if k in meta}}
        for k in ("spec", "status"):
            if k in ns:
                out[k] = ns[k]
        return out

    @staticmethod
    def params(store: Store, hook: _Hook, binding: _Binding, namespace: str) -> list[Obj | None]:
        """``CollectParams``."""
        info, ref = hook.param_kind, binding.param_ref
        if info is None or ref is None:
            return [None]
        ref_ns = str(ref.get("namespace") or "")
        if info.namespaced:
            ns = ref_ns or namespace
            if not ns:
                raise ConfigError(
                    "cannot use namespaced paramRef in policy binding that matches "
                    "cluster-scoped resources"
                )
        else:
            if ref_ns:
                raise ConfigError(
                    "paramRef.namespace must not be provided for a cluster-scoped `paramKind`"
                )
            ns = ""
        params: list[Obj | None] = []
        name = ref.get("name")
        if name:
            if ref.get("selector") is not None:
                raise ConfigError("paramRef.name and paramRef.selector are mutually exclusive")
            blob = store.get(info.kind, object_key(info.namespaced, ns, str(name)))
            if blob is not None:
                params.append(decode_object(blob))
        elif ref.get("selector") is not None:
            selector = Selector(ref["selector"])
            prefix = f"{ns}/" if info.namespaced else ""
            for _key, blob in store.items(info.kind, prefix):
                obj = decode_object(blob)
                if selector.matches(_d(obj.get("metadata")).get("labels")):
                    params.append(obj)
        else:
            raise ConfigError("one of name or selector must be provided")
        if not params and ref.get("parameterNotFoundAction") == "Deny":
            raise ConfigError(
                "no params found for policy binding with `Deny` parameterNotFoundAction"
            )
        return params

    # ------------------------------------------------------------------ the hook

    def __call__(
        self,
        store: Store,
        actor: str,
        operation: str,
        info: KindInfo,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
        subresource: str | None = None,
        api_version: Any = None,
    ) -> Admitted:
        """Admit or deny one request (made by ``actor`` through ``api_version`` of the API,
        None: the version the objects are in, against ``store``); returns the warnings
        and audit notes, raises the denial."""
        if info.kind in EXEMPT_KINDS:
            return NOTHING
        config = self._sync(store)
        if not config.hooks:
            return NOTHING
        obj_version = _object_version(info, obj if obj is not None else old)
        version = api_version.rpartition("/")[2] if isinstance(api_version, str) else None
        req_version = version if version in info.versions else obj_version
        key = (info.kind, operation, subresource, req_version, obj_version)
        try:
            plan = config.plans[key]
        except KeyError:
            req = self._request(info, operation, obj, old, subresource, req_version)
            plan = self._plan(config, req, obj_version)
            config.plans[key] = plan
        if plan is not None:
            # Fast path: evaluate; only a policy that has something to say (a denial,
            # a warning, an annotation) sends the request through the full dispatch.
            policies, _ = plan
            if not policies:
                return NOTHING
            inp = AdmissionInput(obj, old)
            for compiled in policies:
                if compiled.evaluate(inp) is not None:
                    break
            else:
                return NOTHING
        req = self._request(info, operation, obj, old, subresource, req_version)
        run = _Run(self, store, actor, req, obj, old, dry_run, obj_version)
        for hook in config.hooks:
            run.dispatch(hook)
        return run.finish()

    @staticmethod
    def _request(
        info: KindInfo,
        operation: str,
        obj: Obj | None,
        old: Obj | None,
        subresource: str | None,
        version: str,
    ) -> Request:
        subject = obj if obj is not None else old
        meta = _d(subject.get("metadata")) if subject is not None else {}
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace", "")) if info.namespaced else ""
        return Request(
            info.group,
            version,
            info.kind,
            info.resource,
            subresource or "",
            operation,
            name,
            namespace,
            _d(obj.get("metadata")).get("labels") if obj is not None else None,
            _d(old.get("metadata")).get("labels") if old is not None else None,
        )


def _object_version(info: KindInfo, obj: Obj | None) -> str:
    """The version an object (as stored, or as the registry made it) is in."""
    api_version = obj.get("apiVersion") if obj is not None else None
    if isinstance(api_version, str) and api_version in info.api_versions():
        return api_version.rpartition("/")[2]
    return info.versions[0]


class _Run:
    """One request's trip through every policy (``dispatcher.Dispatch``)."""

    __slots__ = (
        "actor",
        "annotations",
        "denied",
        "dry_run",
        "failure_annotation",
        "inputs",
        "ns_labels",
        "obj",
        "obj_version",
        "old",
        "plugin",
        "req",
        "store",
        "warnings",
    )

    def __init__(
        self,
        plugin: ValidatingAdmissionPolicyPlugin,
        store: Store,
        actor: str,
        req: Request,
        obj: Obj | None,
        old: Obj | None,
        dry_run: bool,
        obj_version: str,
    ) -> None:
        self.plugin, self.store, self.actor, self.req = plugin, store, actor, req
        self.obj, self.old, self.dry_run = obj, old, dry_run
        self.obj_version = obj_version
        self.denied: list[tuple[str, str | None, str, str | None]] = []
        self.warnings: list[str] = []
        self.annotations: dict[str, list[str]] = {}
        self.failure_annotation: str | None = None
        self.inputs: dict[str, AdmissionInput] = {}
        self.ns_labels: Any = None

    def _namespace_labels(self) -> Any:
        if self.ns_labels is None:
            req = self.req
            if req.resource == "namespaces":
                # A Namespace request is matched on the namespace's own labels.
                subject = self.obj if self.obj is not None else self.old
                labels = _d(_d(subject).get("metadata")).get("labels") or {}
                self.ns_labels = {**labels, METADATA_NAME_LABEL: req.name}
            else:
                ns = self.plugin.namespace(self.store, req.namespace)
                self.ns_labels = _d(ns.get("metadata")).get("labels") or {}
        return self.ns_labels

    def _input(self, gvk: GVK) -> AdmissionInput:
        version = gvk[1]
        inp = self.inputs.get(version)
        if inp is None:
            obj, old = self.obj, self.old
            if version != self.obj_version:
                # The objects converted to the matched version (every served version
                # of these kinds has the same schema: only apiVersion changes).
                api_version = f"{gvk[0]}/{version}" if gvk[0] else version
                obj = {**obj, "apiVersion": api_version} if obj is not None else None
                old = {**old, "apiVersion": api_version} if old is not None else None
            inp = AdmissionInput(obj, old)
            self.inputs[version] = inp
        return inp

    def _request(self, gvr: GVR, gvk: GVK) -> Callable[[], Obj]:
        req, dry_run, actor = self.req, self.dry_run, self.actor

        def build() -> Obj:
            r: Obj = {
                "uid": "",
                "kind": {"group": gvk[0], "version": gvk[1], "kind": gvk[2]},
                "resource": {"group": gvr[0], "version": gvr[1], "resource": gvr[2]},
            }
            if req.subresource:
                r["subResource"] = req.subresource
            r["requestKind"] = {"group": req.group, "version": req.version, "kind": req.kind}
            r["requestResource"] = {
                "group": req.group,
                "version": req.version,
                "resource": req.resource,
            }
            if req.subresource:
                r["requestSubResource"] = req.subresource
            if req.name:
                r["name"] = req.name
            if req.namespace:
                r["namespace"] = req.namespace
            r["operation"] = req.operation
            r["userInfo"] = _user_info(actor)
            r["dryRun"] = dry_run
            options: Obj = {
                "kind": _OPTIONS_KIND.get(req.operation, ""),
                "apiVersion": "meta.k8s.io/v1",
            }
            if dry_run:
                options["dryRun"] = ["All"]
            r["options"] = options
            return r

        return build

    def _config_error(self, hook: _Hook, binding: _Binding | None, err: str) -> None:
        if not hook.fail:
            return
        what = "binding" if binding is not None else "policy"
        self.denied.append(
            (
                hook.name,
                binding.name if binding else None,
                f"failed to configure {what}: {err}",
                None,
            )
        )

    def dispatch(self, hook: _Hook) -> None:
        req = self.req
        matched, gvr, gvk = hook.criteria.matches(req, self._namespace_labels)
        if not matched:
            return
        if hook.config_error is not None:
            self._config_error(hook, None, hook.config_error)
            return
        compiled = hook.compiled
        published: dict[str, list[str]] = {}
        for binding in hook.bindings:
            if (
                binding.criteria is not None
                and not binding.criteria.matches(req, self._namespace_labels)[0]
            ):
                continue
            try:
                params = self.plugin.params(self.store, hook, binding, req.namespace)
            except ConfigError as e:
                self._config_error(hook, binding, str(e))
                continue
            if not params:
                continue
            inp = self._input(gvk)
            request = self._request(gvr, gvk) if compiled.uses_request else None
            ns_obj = None
            if compiled.uses_namespace_object and req.namespace:
                ns_obj = self.plugin.namespace_object(self.store, req.namespace)
            for param in params:
                result = compiled.evaluate(inp, param, request, ns_obj)
                if result is None:
                    continue
                decisions, annotations, annotation_errors = result
                for index, message, reason in decisions:
                    for action in binding.actions:
                        if action == "Deny":
                            self.denied.append((hook.name, binding.name, message, reason))
                        elif action == "Audit":
                            if self.failure_annotation is None:
                                self.failure_annotation = validation_failure_annotation(
                                    message, hook.name, binding.name, index, binding.actions
                                )
                        elif action == "Warn":
                            self.warnings.append(
                                f"Validation failed for ValidatingAdmissionPolicy "
                                f"'{hook.name}' with binding '{binding.name}': {message}"
                            )
                for key, value in annotations:
                    values = published.setdefault(key, [])
                    if value[: 10 * 1024] not in values:
                        values.append(value[: 10 * 1024])
                for message in annotation_errors:
                    self.denied.append((hook.name, binding.name, message, None))
        for key, values in published.items():
            self.annotations[f"{hook.name}/{key}"] = values

    def finish(self) -> Admitted:
        if self.denied:
            policy, binding, message, reason = self.denied[0]
            raise denial_error(self.req, policy, binding, message, reason)
        extra: Obj | None = None
        if not self.dry_run and (self.annotations or self.failure_annotation or self.warnings):
            annotations = {k: ", ".join(v) for k, v in self.annotations.items()}
            if self.failure_annotation is not None:
                annotations["validation.policy.admission.k8s.io/validation_failure"] = (
                    self.failure_annotation
                )
            extra = {}
            if annotations:
                extra["annotations"] = annotations
            if self.warnings:
                extra["warnings"] = list(self.warnings)
        return Admitted(list(self.warnings), copy.deepcopy(extra) if extra else None)
