"""Structural decoding (kube-apiserver's JSON decoder texts) and SetDefaults_Service.

Sources: apiserver/pkg/endpoints/handlers/rest.go (transformDecodeError), sigs.k8s.io/json
(UnmarshalTypeError and strict ``unknown field`` errors), apimachinery runtime errors
(missing kind/version, unregistered kind), metav1.Time / intstr.IntOrString UnmarshalJSON,
time.Parse(RFC3339) errors, pkg/apis/core/v1/defaults.go SetDefaults_Service and
defaults_test.go.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicecidr.api import decode as d
from servicecidr.api import defaults as df
from servicecidr.api import field_errors as fe
from servicecidr.api import validation as v
from servicecidr.errors import BadRequestError

SVC_PREFIX = 'Service in version "v1" cannot be handled as a Service: '


def service(spec: Any = None, **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", **meta},
    }
    if spec is not None:
        obj["spec"] = spec
    return obj


def bad_request(obj: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(BadRequestError) as info:
        d.decode(obj, **kw)
    assert info.value.code == 400 and info.value.reason == "BadRequest"
    return info.value.message


# ======================================================================================
# Type errors
# ======================================================================================

TYPE_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "ports is a string": (
        service({"ports": "80"}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports "
        "of type []v1.ServicePort",
    ),
    "port entry is a string": (
        service({"ports": ["80"]}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports "
        "of type v1.ServicePort",
    ),
    "port number is a string": (
        service({"ports": [{"port": "80"}]}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "ServicePort.spec.ports.port of type int32",
    ),
    "port number is fractional": (
        service({"ports": [{"port": 80.5}]}),
        SVC_PREFIX + "json: cannot unmarshal number 80.5 into Go struct field "
        "ServicePort.spec.ports.port of type int32",
    ),
    "port number overflows int32": (
        service({"ports": [{"port": 2**31}]}),
        SVC_PREFIX + "json: cannot unmarshal number 2147483648 into Go struct field "
        "ServicePort.spec.ports.port of type int32",
    ),
    "targetPort is a bool": (
        service({"ports": [{"port": 80, "targetPort": True}]}),
        SVC_PREFIX + "json: cannot unmarshal bool into Go value of type int32",
    ),
    "targetPort is an object": (
        service({"ports": [{"port": 80, "targetPort": {}}]}),
        SVC_PREFIX + "json: cannot unmarshal object into Go value of type int32",
    ),
    "spec is a list": (
        service([]),
        SVC_PREFIX + "json: cannot unmarshal array into Go struct field Service.spec of type "
        "v1.ServiceSpec",
    ),
    "metadata is a string": (
        {"apiVersion": "v1", "kind": "Service", "metadata": "web"},
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field Service.metadata of "
        "type v1.ObjectMeta",
    ),
    "label value is a number": (
        service({}, labels={"app": 1}),
        SVC_PREFIX + "json: cannot unmarshal number into Go struct field "
        "ObjectMeta.metadata.labels of type string",
    ),
    "labels is a list": (
        service({}, labels=["a"]),
        SVC_PREFIX + "json: cannot unmarshal array into Go struct field "
        "ObjectMeta.metadata.labels of type map[string]string",
    ),
    "generation is a string": (
        service({}, generation="1"),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "ObjectMeta.metadata.generation of type int64",
    ),
    "finalizer is a number": (
        service({}, finalizers=[1]),
        SVC_PREFIX + "json: cannot unmarshal number into Go struct field "
        "ObjectMeta.metadata.finalizers of type string",
    ),
    "ownerReference controller is a string": (
        service({}, ownerReferences=[{"controller": "yes"}]),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "OwnerReference.metadata.ownerReferences.controller of type bool",
    ),
    "creationTimestamp is a number": (
        service({}, creationTimestamp=5),
        SVC_PREFIX + "json: cannot unmarshal number into Go value of type string",
    ),
    "clusterIPs is a string": (
        service({"clusterIPs": "10.0.0.1"}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "ServiceSpec.spec.clusterIPs of type []string",
    ),
    "ipFamilyPolicy is a list": (
        service({"ipFamilyPolicy": ["SingleStack"]}),
        SVC_PREFIX + "json: cannot unmarshal array into Go struct field "
        "ServiceSpec.spec.ipFamilyPolicy of type string",
    ),
    "publishNotReadyAddresses is a string": (
        service({"publishNotReadyAddresses": "true"}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "ServiceSpec.spec.publishNotReadyAddresses of type bool",
    ),
    "sessionAffinityConfig.clientIP is a string": (
        service({"sessionAffinityConfig": {"clientIP": "x"}}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "SessionAffinityConfig.spec.sessionAffinityConfig.clientIP of type v1.ClientIPConfig",
    ),
    "timeoutSeconds is a string": (
        service({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": "10"}}}),
        SVC_PREFIX + "json: cannot unmarshal string into Go struct field "
        "ClientIPConfig.spec.sessionAffinityConfig.clientIP.timeoutSeconds of type int32",
    ),
    "status ingress ip is a number": (
        {**service({}), "status": {"loadBalancer": {"ingress": [{"ip": 1}]}}},
        SVC_PREFIX + "json: cannot unmarshal number into Go struct field "
        "LoadBalancerIngress.status.loadBalancer.ingress.ip of type string",
    ),
    "condition observedGeneration is a bool": (
        {**service({}), "status": {"conditions": [{"observedGeneration": True}]}},
        SVC_PREFIX + "json: cannot unmarshal bool into Go struct field "
        "Condition.status.conditions.observedGeneration of type int64",
    ),
    "servicecidr cidrs is a string (v1beta1)": (
        {
            "apiVersion": "networking.k8s.io/v1beta1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "a"},
            "spec": {"cidrs": "10.0.0.0/8"},
        },
        'ServiceCIDR in version "v1beta1" cannot be handled as a ServiceCIDR: json: cannot '
        "unmarshal string into Go struct field ServiceCIDRSpec.spec.cidrs of type []string",
    ),
    "servicecidr spec is a string (v1)": (
        {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "spec": "x"},
        'ServiceCIDR in version "v1" cannot be handled as a ServiceCIDR: json: cannot '
        "unmarshal string into Go struct field ServiceCIDR.spec of type v1.ServiceCIDRSpec",
    ),
    "ipaddress parentRef resource is a number": (
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {"name": "a"},
            "spec": {"parentRef": {"resource": 5}},
        },
        'IPAddress in version "v1" cannot be handled as a IPAddress: json: cannot unmarshal '
        "number into Go struct field ParentReference.spec.parentRef.resource of type string",
    ),
    "ipaddress parentRef is a list (v1beta1)": (
        {"apiVersion": "networking.k8s.io/v1beta1", "kind": "IPAddress", "spec": {"parentRef": []}},
        'IPAddress in version "v1beta1" cannot be handled as a IPAddress: json: cannot '
        "unmarshal array into Go struct field IPAddressSpec.spec.parentRef of type "
        "v1beta1.ParentReference",
    ),
    "first error in document order wins": (
        service({"type": 1, "ports": "x"}),
        SVC_PREFIX + "json: cannot unmarshal number into Go struct field ServiceSpec.spec.type "
        "of type string",
    ),
    "an unmarshaller error overrides an earlier type error": (
        service({"type": 1, "ports": [{"targetPort": False}]}),
        SVC_PREFIX + "json: cannot unmarshal bool into Go value of type int32",
    ),
}


@pytest.mark.parametrize(("obj", "message"), TYPE_ERRORS.values(), ids=TYPE_ERRORS)
def test_type_errors(obj: dict[str, Any], message: str) -> None:
    assert bad_request(obj) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-13-01T00:00:00Z", 'parsing time "2025-13-01T00:00:00Z": month out of range'),
        ("2025-02-30T00:00:00Z", 'parsing time "2025-02-30T00:00:00Z": day out of range'),
        ("2025-01-01T25:00:00Z", 'parsing time "2025-01-01T25:00:00Z": hour out of range'),
        (
            "yesterday",
            'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse '
            '"yesterday" as "2006"',
        ),
        (
            "2025-01-01",
            'parsing time "2025-01-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"',
        ),
        (
            "2025-1-01T00:00:00Z",
            'parsing time "2025-1-01T00:00:00Z" as '
            '"2006-01-02T15:04:05Z07:00": cannot parse "1-01T00:00:00Z" as "01"',
        ),
        (
            "2025-01-01T00:00:00",
            'parsing time "2025-01-01T00:00:00" as '
            '"2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
        ),
        ("2025-01-01T00:00:00Zjunk", 'parsing time "2025-01-01T00:00:00Zjunk": extra text: "junk"'),
    ],
)
def test_time_parse_errors(value: str, message: str) -> None:
    assert bad_request(service({}, creationTimestamp=value)) == SVC_PREFIX + message


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("2025-01-01T02:30:00+02:00", "2025-01-01T00:30:00Z"),
        ("2025-01-01T00:00:00.123456789Z", "2025-01-01T00:00:00Z"),
        ("2024-02-29T23:59:59-00:30", "2024-03-01T00:29:59Z"),
    ],
)
def test_times_are_normalised(value: str, normal: str) -> None:
    out, _ = d.decode(service({}, creationTimestamp=value, deletionTimestamp=value))
    assert out["metadata"]["creationTimestamp"] == normal
    assert out["metadata"]["deletionTimestamp"] == normal


# ======================================================================================
# Unknown fields
# ======================================================================================

UNKNOWN = service(
    {"ports": [{"port": 80, "bar": 2}], "Type": "NodePort", "foo": {"x": 1}},
    unknownMeta=1,
)
UNKNOWN["extra"] = True


def test_unknown_fields_warn_by_default() -> None:
    out, warnings = d.decode(UNKNOWN)
    assert warnings == [
        'unknown field "metadata.unknownMeta"',
        'unknown field "spec.ports[0].bar"',
        'unknown field "spec.Type"',
        'unknown field "spec.foo"',
        'unknown field "extra"',
    ]
    assert out == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}]},
    }


def test_unknown_fields_strict_and_ignore() -> None:
    assert bad_request(UNKNOWN, field_validation="Strict") == (
        SVC_PREFIX + 'strict decoding error: unknown field "metadata.unknownMeta", unknown field '
        '"spec.ports[0].bar", unknown field "spec.Type", unknown field "spec.foo", unknown field '
        '"extra"'
    )
    assert d.decode(UNKNOWN, field_validation="Ignore")[1] == []
    assert bad_request(UNKNOWN, field_validation="Loose") == (
        'fieldValidation parameter unsupported: "Loose", must be one of Ignore, Warn, Strict'
    )


def test_type_error_wins_over_unknown_fields() -> None:
    obj = service({"foo": 1, "ports": "x"})
    assert bad_request(obj, field_validation="Strict").startswith(
        SVC_PREFIX + "json: cannot unmarshal string"
    )


# ======================================================================================
# Type meta
# ======================================================================================


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"kind": "Service"}, "Object 'apiVersion' is missing in '{\"kind\":\"Service\"}'"),
        ({"apiVersion": "v1"}, "Object 'Kind' is missing in '{\"apiVersion\":\"v1\"}'"),
        (
            {"apiVersion": "v1", "kind": ""},
            'Object \'Kind\' is missing in \'{"apiVersion":"v1","kind":""}\'',
        ),
        (
            {"apiVersion": "v1", "kind": "Foo"},
            'no kind "Foo" is registered for version "v1" in scheme '
            '"pkg/api/legacyscheme/scheme.go:30"',
        ),
        (
            {"apiVersion": "v1", "kind": "ServiceCIDR"},
            'no kind "ServiceCIDR" is registered for version "v1" in scheme '
            '"pkg/api/legacyscheme/scheme.go:30"',
        ),
        (
            {"apiVersion": "networking.k8s.io/v2", "kind": "IPAddress"},
            'no kind "IPAddress" is registered for version "networking.k8s.io/v2" in scheme '
            '"pkg/api/legacyscheme/scheme.go:30"',
        ),
        (
            {"apiVersion": "v1", "kind": 5},
            "couldn't get version/kind; json parse error: json: cannot unmarshal number into Go "
            "struct field .kind of type string",
        ),
    ],
)
def test_type_meta_errors(obj: dict[str, Any], message: str) -> None:
    assert bad_request(obj) == message


def test_passthrough_kinds_are_copied() -> None:
    ev = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"anything": [1, {"x": None}]},
    }
    out, warnings = d.decode(ev)
    assert out == ev and out is not ev and out["spec"] is not ev["spec"] and warnings == []


def test_admission_kinds_are_decoded_with_kube_apiserver_errors() -> None:
    vap = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "p"},
        "spec": {"validations": "not a list", "extra": 1},
    }
    with pytest.raises(BadRequestError, match="cannot be handled as a ValidatingAdmissionPolicy"):
        d.decode(vap)
    vap["spec"] = {"validations": [{"expression": "true"}], "extra": 1}
    out, warnings = d.decode(vap)
    assert "extra" not in out["spec"]
    assert warnings == ['unknown field "spec.extra"']


def test_go_type_names() -> None:
    assert d.go_type("[]ServicePort") == "[]v1.ServicePort"
    assert d.go_type("ParentReference", "v1beta1") == "v1beta1.ParentReference"
    assert d.go_type("ObjectMeta", "v1beta1") == "v1.ObjectMeta"
    assert d.go_type("map[string]string") == "map[string]string"


# ======================================================================================
# Normalisation: every schema field survives, nulls and unknowns go
# ======================================================================================

FULL_SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "web",
        "generateName": "web-",
        "namespace": "default",
        "selfLink": "/api/v1/namespaces/default/services/web",
        "uid": "1234",
        "resourceVersion": "7",
        "generation": 3,
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "deletionTimestamp": "2025-01-02T00:00:00Z",
        "deletionGracePeriodSeconds": 30,
        "labels": {"app": "web"},
        "annotations": {"a": "b"},
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": "p",
                "uid": "u",
                "controller": True,
                "blockOwnerDeletion": False,
            }
        ],
        "finalizers": ["example.com/f"],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "v1",
                "time": "2025-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {}},
                "subresource": "",
            }
        ],
    },
    "spec": {
        "ports": [
            {
                "name": "http",
                "protocol": "TCP",
                "appProtocol": "http",
                "port": 80,
                "targetPort": "http",
                "nodePort": 30080,
            }
        ],
        "selector": {"app": "web"},
        "clusterIP": "10.0.0.1",
        "clusterIPs": ["10.0.0.1"],
        "type": "LoadBalancer",
        "externalIPs": ["1.2.3.4"],
        "sessionAffinity": "ClientIP",
        "loadBalancerIP": "5.6.7.8",
        "loadBalancerSourceRanges": ["10.0.0.0/8"],
        "externalName": "",
        "externalTrafficPolicy": "Local",
        "healthCheckNodePort": 30000,
        "publishNotReadyAddresses": True,
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 100}},
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "allocateLoadBalancerNodePorts": False,
        "loadBalancerClass": "example.com/lb",
        "internalTrafficPolicy": "Local",
        "trafficDistribution": "PreferClose",
    },
    "status": {
        "loadBalancer": {
            "ingress": [
                {
                    "ip": "5.6.7.8",
                    "hostname": "lb",
                    "ipMode": "VIP",
                    "ports": [{"port": 80, "protocol": "TCP", "error": "x"}],
                }
            ]
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "observedGeneration": 1,
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "reason": "R",
                "message": "m",
            }
        ],
    },
}


@pytest.mark.parametrize(
    "obj",
    [
        FULL_SERVICE,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": "c"},
            "spec": {"cidrs": ["10.0.0.0/24", "fd00::/64"]},
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "lastTransitionTime": "2025-01-01T00:00:00Z",
                        "reason": "",
                        "message": "ok",
                    }
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1beta1",
            "kind": "IPAddress",
            "metadata": {"name": "10.0.0.1", "labels": {"x": "y"}},
            "spec": {
                "parentRef": {
                    "group": "",
                    "resource": "services",
                    "namespace": "default",
                    "name": "web",
                }
            },
        },
    ],
    ids=["Service", "ServiceCIDR", "IPAddress"],
)
def test_every_known_field_round_trips(obj: dict[str, Any]) -> None:
    out, warnings = d.decode(obj)
    assert warnings == []
    assert out == obj
    assert out is not obj


def test_nulls_are_dropped_and_input_untouched() -> None:
    obj = service(
        {"clusterIP": None, "ports": [{"port": 80, "targetPort": None}], "selector": {"a": None}},
        labels=None,
    )
    before = copy.deepcopy(obj)
    out, _ = d.decode(obj)
    assert obj == before
    assert out["spec"] == {"ports": [{"port": 80}], "selector": {"a": ""}}
    assert out["metadata"] == {"name": "web"}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=12,
    )
)
def test_decode_only_ever_raises_bad_request(spec: Any) -> None:
    try:
        out, _ = d.decode(service(spec))
    except BadRequestError:
        return
    # whatever decodes can be defaulted and validated without raising
    df.default_service(out)
    v.validate_service(out)


# ======================================================================================
# SetDefaults_Service
# ======================================================================================


def defaulted(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = service(copy.deepcopy(spec))
    if status is not None:
        obj["status"] = copy.deepcopy(status)
    df.default_service(obj)
    return obj


DEFAULT_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "empty": (
        {},
        {"sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"},
    ),
    "ports get protocol and targetPort": (
        {
            "ports": [
                {"port": 80},
                {"port": 53, "protocol": "UDP", "targetPort": 0},
                {"port": 8080, "targetPort": ""},
                {"port": 9090, "targetPort": "metrics"},
            ]
        },
        {
            "ports": [
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 53, "protocol": "UDP", "targetPort": 53},
                {"port": 8080, "targetPort": 8080, "protocol": "TCP"},
                {"port": 9090, "targetPort": "metrics", "protocol": "TCP"},
            ],
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
        },
    ),
    "session affinity None drops its config": (
        {"sessionAffinity": "None", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}},
        {"sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"},
    ),
    "session affinity ClientIP gets a timeout": (
        {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {}}},
        {
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
        },
    ),
    "session affinity ClientIP keeps its timeout": (
        {
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
        },
        {
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
        },
    ),
    "NodePort": (
        {"type": "NodePort"},
        {
            "type": "NodePort",
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
        },
    ),
    "LoadBalancer": (
        {"type": "LoadBalancer"},
        {
            "type": "LoadBalancer",
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": True,
        },
    ),
    "LoadBalancer keeps explicit values": (
        {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local",
            "allocateLoadBalancerNodePorts": False,
        },
        {
            "type": "LoadBalancer",
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local",
            "allocateLoadBalancerNodePorts": False,
        },
    ),
    "ClusterIP with externalIPs is externally accessible": (
        {"externalIPs": ["1.2.3.4"]},
        {
            "externalIPs": ["1.2.3.4"],
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
        },
    ),
    "ExternalName gets no traffic policies": (
        {"type": "ExternalName", "externalName": "x.example.com"},
        {"type": "ExternalName", "externalName": "x.example.com", "sessionAffinity": "None"},
    ),
    "no IP family or clusterIPs defaulting": (
        {"clusterIP": "10.0.0.1"},
        {
            "clusterIP": "10.0.0.1",
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "internalTrafficPolicy": "Cluster",
        },
    ),
}


@pytest.mark.parametrize(("spec", "want"), DEFAULT_CASES.values(), ids=DEFAULT_CASES)
def test_default_service(spec: dict[str, Any], want: dict[str, Any]) -> None:
    out = defaulted(spec)
    assert out["spec"] == want
    again = copy.deepcopy(out)
    df.default_service(again)
    assert again == out  # idempotent


def test_default_load_balancer_ingress_ip_mode() -> None:
    status = {
        "loadBalancer": {
            "ingress": [
                {"ip": "1.2.3.4"},
                {"hostname": "lb.example.com"},
                {"ip": "5.6.7.8", "ipMode": "Proxy"},
            ]
        }
    }
    out = defaulted({"type": "LoadBalancer"}, status)
    assert out["status"]["loadBalancer"]["ingress"] == [
        {"ip": "1.2.3.4", "ipMode": "VIP"},
        {"hostname": "lb.example.com"},
        {"ip": "5.6.7.8", "ipMode": "Proxy"},
    ]
    assert defaulted({}, status)["status"] == status  # only for LoadBalancer


def test_default_missing_spec_and_other_kinds() -> None:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}
    df.default_object(obj)
    assert obj["spec"]["type"] == "ClusterIP"
    cidr = {"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "spec": {"cidrs": []}}
    before = copy.deepcopy(cidr)
    df.default_object(cidr)
    df.default_service_cidr(cidr)
    df.default_ip_address(cidr)
    assert cidr == before


def test_defaulting_tolerates_garbage() -> None:
    for spec in (
        {"ports": ["x", {"targetPort": None, "port": "80"}]},
        {"sessionAffinity": "ClientIP", "sessionAffinityConfig": 5},
    ):
        df.default_service(service(spec))
    df.default_service({"spec": "nonsense"})


# ======================================================================================
# decode -> default -> validate, as the registry chains them
# ======================================================================================


def test_pipeline_valid_service() -> None:
    obj, warnings = d.decode(
        service(
            {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}, namespace="default"
        )
    )
    df.default_service(obj)
    obj["spec"].update(
        clusterIP="10.96.0.20",
        clusterIPs=["10.96.0.20"],
        ipFamilies=["IPv4"],
        ipFamilyPolicy="SingleStack",
    )
    assert warnings == [] and v.validate_service(obj) == []


def test_pipeline_invalid_service_message() -> None:
    obj, _ = d.decode(service({"ports": [{"port": 70000, "name": "Web"}]}, namespace="default"))
    df.default_service(obj)
    errs = v.validate_service(obj)
    err = fe.to_invalid_error(v.QUALIFIED_KIND["Service"], "web", errs)
    assert err.message == (
        'Service "web" is invalid: [spec.ports[0].name: Invalid value: "Web": a lowercase RFC '
        "1123 label must consist of lower case alphanumeric characters or '-', and must start "
        "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'), spec.ports[0].port: Invalid value: "
        "70000: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: "
        "70000: must be between 1 and 65535, inclusive]"
    )
