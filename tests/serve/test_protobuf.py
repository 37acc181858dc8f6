"""Decoding Kubernetes protobuf request bodies into the JSON kube-apiserver would see."""

from __future__ import annotations

from typing import Any

import pytest
from tests.serve.pbenc import (
    ZERO_TIME,
    entry,
    key,
    kubectl_create_service_clusterip,
    ld,
    m,
    object_meta,
    s,
    service_port,
    timestamp,
    unknown,
    varint,
    vi,
)

from servicecidr.errors import BadRequestError
from servicecidr.serve import protobuf


def svc(spec: bytes = b"", meta: bytes | None = None, status: bytes = b"") -> bytes:
    parts = [m(1, meta if meta is not None else object_meta("x")), m(2, spec)]
    if status:
        parts.append(m(3, status))
    return unknown("v1", "Service", b"".join(parts))


def decode_service(body: bytes) -> dict[str, Any]:
    return protobuf.decode(body, api_version="v1", kind="Service")


def bad(body: bytes, kind: str = "Service", api_version: str = "v1") -> str:
    with pytest.raises(BadRequestError) as e:
        protobuf.decode(body, api_version=api_version, kind=kind)
    assert e.value.code == 400
    assert e.value.reason == "BadRequest"
    return e.value.message


# --------------------------------------------------------------------------- kubectl


# The body kubectl v1.37.1 sent for `kubectl create service clusterip test-1 --tcp 80`,
# captured on the wire.
KUBECTL_1_37_BODY = bytes.fromhex(
    "6b3873000a0d0a027631120753657276696365126c0a250a06746573742d3112001a0022002a00320038"
    "0042005a0d0a036170701206746573742d31123f0a150a023830120354435018502206080010501a0028"
    "00120d0a036170701206746573742d311a002209436c757374657249503a00420052005a00600068001a"
    "020a001a002200"
)


def test_fixture_encoder_writes_what_kubectl_writes() -> None:
    assert kubectl_create_service_clusterip("test-1", 80) == KUBECTL_1_37_BODY


def test_kubectl_create_service_clusterip_body() -> None:
    body = KUBECTL_1_37_BODY
    assert decode_service(body) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "test-1", "labels": {"app": "test-1"}},
        "spec": {
            "ports": [{"name": "80", "protocol": "TCP", "port": 80, "targetPort": 80}],
            "selector": {"app": "test-1"},
            "type": "ClusterIP",
        },
    }


def test_empty_cluster_ip_means_allocate() -> None:
    # gogo writes clusterIP "" explicitly; kube-apiserver's Go struct cannot tell it from
    # absent, so the JSON form must not carry it (or defaulting would see a set value).
    out = decode_service(kubectl_create_service_clusterip("a", 8080))
    assert "clusterIP" not in out["spec"]
    assert "healthCheckNodePort" not in out["spec"]
    assert "publishNotReadyAddresses" not in out["spec"]
    assert "creationTimestamp" not in out["metadata"]
    assert "status" not in out


# --------------------------------------------------------------------------- fields


def test_every_service_spec_field() -> None:
    spec = b"".join(
        [
            m(1, service_port("http", "TCP", 80, "web", 30080), s(6, "kubernetes.io/h2c")),
            m(1, service_port("dns", "UDP", 53, 5353)),
            entry(2, "app", "x"),
            entry(2, "tier", "db"),
            s(3, "10.0.0.10"),
            s(4, "LoadBalancer"),
            s(5, "192.0.2.1"),
            s(5, "192.0.2.2"),
            s(7, "ClientIP"),
            s(8, "198.51.100.1"),
            s(9, "10.0.0.0/8"),
            s(10, ""),
            s(11, "Local"),
            vi(12, 31000),
            vi(13, True),
            m(14, m(1, vi(1, 600))),
            s(17, "PreferDualStack"),
            s(18, "10.0.0.10"),
            s(18, "fd00::10"),
            s(19, "IPv4"),
            s(19, "IPv6"),
            vi(20, False),
            s(21, "example.com/lb"),
            s(22, "Cluster"),
            s(23, "PreferClose"),
        ]
    )
    out = decode_service(svc(spec))
    assert out["spec"] == {
        "ports": [
            {
                "name": "http",
                "protocol": "TCP",
                "appProtocol": "kubernetes.io/h2c",
                "port": 80,
                "targetPort": "web",
                "nodePort": 30080,
            },
            {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 5353},
        ],
        "selector": {"app": "x", "tier": "db"},
        "clusterIP": "10.0.0.10",
        "clusterIPs": ["10.0.0.10", "fd00::10"],
        "type": "LoadBalancer",
        "externalIPs": ["192.0.2.1", "192.0.2.2"],
        "sessionAffinity": "ClientIP",
        "loadBalancerIP": "198.51.100.1",
        "loadBalancerSourceRanges": ["10.0.0.0/8"],
        "externalTrafficPolicy": "Local",
        "healthCheckNodePort": 31000,
        "publishNotReadyAddresses": True,
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}},
        "ipFamilies": ["IPv4", "IPv6"],
        "ipFamilyPolicy": "PreferDualStack",
        # A pointer is written only when set: false and "" survive.
        "allocateLoadBalancerNodePorts": False,
        "loadBalancerClass": "example.com/lb",
        "internalTrafficPolicy": "Cluster",
        "trafficDistribution": "PreferClose",
    }


def test_pointer_fields_keep_their_zero_values() -> None:
    spec = s(17, "") + vi(20, 0) + m(14, m(1, vi(1, 0))) + s(21, "")
    out = decode_service(svc(spec))
    assert out["spec"] == {
        "ipFamilyPolicy": "",
        "allocateLoadBalancerNodePorts": False,
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}},
        "loadBalancerClass": "",
    }


def test_port_without_omitempty_is_written_as_zero() -> None:
    # ServicePort.port has no omitempty: Go writes "port": 0 when it is unset.
    out = decode_service(svc(m(1, s(1, "p"))))
    assert out["spec"]["ports"] == [{"name": "p", "port": 0}]


def test_target_port_zero_values_are_unset() -> None:
    # SetDefaults_Service treats FromInt32(0) and FromString("") as unset.
    for target in (0, ""):
        out = decode_service(svc(m(1, service_port("", "TCP", 80, target))))
        assert out["spec"]["ports"] == [{"protocol": "TCP", "port": 80}]


def test_object_meta_fields() -> None:
    meta = b"".join(
        [
            s(1, "web"),
            s(2, "web-"),
            s(3, "prod"),
            s(4, "/api/v1/x"),
            s(5, "0b6e8e3c-0000-4000-8000-000000000001"),
            s(6, "42"),
            vi(7, 3),
            timestamp(8, 1735689600, 999_999_999),
            timestamp(9, 1735689660),
            vi(10, 0),
            entry(11, "a", "1"),
            entry(12, "note", "x=y"),
            m(13, s(1, "Deployment"), s(3, "d"), s(4, "uid-1"), s(5, "apps/v1"), vi(6, True)),
            s(14, "example.com/f"),
            s(14, "example.com/g"),
            m(
                17,
                s(1, "kubectl"),
                s(2, "Update"),
                s(3, "v1"),
                timestamp(4, 1735689600),
                s(6, "FieldsV1"),
                m(7, ld(1, b'{"f:spec":{}}')),
                s(8, ""),
            ),
        ]
    )
    out = decode_service(svc(meta=meta))
    assert out["metadata"] == {
        "name": "web",
        "generateName": "web-",
        "namespace": "prod",
        "selfLink": "/api/v1/x",
        "uid": "0b6e8e3c-0000-4000-8000-000000000001",
        "resourceVersion": "42",
        "generation": 3,
        # metav1.Time.Unmarshal drops the nanoseconds.
        "creationTimestamp": "2025-01-01T00:00:00Z",
        "deletionTimestamp": "2025-01-01T00:01:00Z",
        "deletionGracePeriodSeconds": 0,
        "labels": {"a": "1"},
        "annotations": {"note": "x=y"},
        "ownerReferences": [
            {
                "kind": "Deployment",
                "name": "d",
                "uid": "uid-1",
                "apiVersion": "apps/v1",
                "controller": True,
            }
        ],
        "finalizers": ["example.com/f", "example.com/g"],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2025-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {}},
            }
        ],
    }


def test_map_entry_missing_value_or_key_is_empty_string() -> None:
    meta = s(1, "x") + m(11, s(1, "only-key")) + m(11, s(2, "only-value"))
    out = decode_service(svc(meta=meta))
    assert out["metadata"]["labels"] == {"only-key": "", "": "only-value"}


def test_map_entry_skips_unknown_fields() -> None:
    meta = s(1, "x") + m(11, vi(3, 7), s(1, "k"), s(2, "v"))
    assert decode_service(svc(meta=meta))["metadata"]["labels"] == {"k": "v"}


def test_repeated_message_field_merges_and_scalar_last_wins() -> None:
    spec = s(4, "NodePort") + s(4, "ClusterIP")
    body = unknown(
        "v1",
        "Service",
        m(1, s(1, "a")) + m(2, spec) + m(1, entry(11, "k", "v")) + m(1, s(1, "b")),
    )
    out = decode_service(body)
    assert out["metadata"] == {"name": "b", "labels": {"k": "v"}}
    assert out["spec"] == {"type": "ClusterIP"}


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    junk = (
        vi(99, 5)
        + key(98, 1)
        + b"\x00" * 8
        + ld(97, b"whatever")
        + key(96, 3)
        + vi(1, 1)
        + key(96, 4)
        + key(95, 5)
        + b"\x00" * 4
    )
    out = decode_service(svc(spec=junk + s(4, "ClusterIP")))
    assert out["spec"] == {"type": "ClusterIP"}


def test_invalid_utf8_becomes_replacement_character() -> None:
    out = decode_service(svc(meta=ld(1, b"a\xffb")))
    assert out["metadata"]["name"] == "a\ufffdb"


def test_int32_keeps_low_bits_as_go_does() -> None:
    # A negative int32 is sent as a 10-byte varint; Go keeps the low 32 bits.
    out = decode_service(svc(m(1, vi(3, -1))))
    assert out["spec"]["ports"][0]["port"] == -1
    out = decode_service(svc(m(1, key(3, 0) + varint(2**32 + 7))))
    assert out["spec"]["ports"][0]["port"] == 7


def test_kind_and_version_default_from_the_endpoint() -> None:
    raw = m(1, object_meta("c")) + m(2, s(1, "10.0.0.0/24"))
    body = b"k8s\x00" + m(1) + ld(2, raw)
    out = protobuf.decode(body, api_version="networking.k8s.io/v1beta1", kind="ServiceCIDR")
    assert out == {
        "apiVersion": "networking.k8s.io/v1beta1",
        "kind": "ServiceCIDR",
        "metadata": {"name": "c"},
        "spec": {"cidrs": ["10.0.0.0/24"]},
    }


def test_servicecidr_with_status_conditions() -> None:
    cond = m(
        1,
        s(1, "Ready"),
        s(2, "False"),
        vi(3, 0),
        timestamp(4, 1735689600),
        s(5, "Terminating"),
        s(6, "There are still IPAddresses referencing the ServiceCIDR"),
    )
    raw = m(1, object_meta("c")) + m(2, s(1, "10.0.0.0/24"), s(1, "fd00::/64")) + m(3, cond)
    body = unknown("networking.k8s.io/v1", "ServiceCIDR", raw)
    out = protobuf.decode(body, api_version="networking.k8s.io/v1", kind="ServiceCIDR")
    assert out["spec"] == {"cidrs": ["10.0.0.0/24", "fd00::/64"]}
    assert out["status"] == {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "reason": "Terminating",
                "message": "There are still IPAddresses referencing the ServiceCIDR",
            }
        ]
    }


def test_ipaddress() -> None:
    raw = m(1, object_meta("10.96.0.1")) + m(
        2, m(1, s(1, ""), s(2, "services"), s(3, "default"), s(4, "kubernetes"))
    )
    body = unknown("networking.k8s.io/v1", "IPAddress", raw)
    out = protobuf.decode(body, api_version="networking.k8s.io/v1", kind="IPAddress")
    assert out == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": "10.96.0.1"},
        "spec": {
            "parentRef": {"resource": "services", "namespace": "default", "name": "kubernetes"}
        },
    }


def test_namespace() -> None:
    raw = m(1, object_meta("team-a")) + m(2, s(1, "kubernetes")) + m(3, s(1, "Active"))
    out = protobuf.decode(unknown("v1", "Namespace", raw), api_version="v1", kind="Namespace")
    assert out["spec"] == {"finalizers": ["kubernetes"]}
    assert out["status"] == {"phase": "Active"}


def test_empty_time_is_zero_but_explicit_epoch_is_not() -> None:
    meta = s(1, "x") + m(8) + timestamp(9, 0)
    out = decode_service(svc(meta=meta))
    assert "creationTimestamp" not in out["metadata"]
    assert out["metadata"]["deletionTimestamp"] == "1970-01-01T00:00:00Z"


def test_events_v1_event_micro_time() -> None:
    raw = b"".join(
        [
            m(1, object_meta("e1", namespace="default")),
            timestamp(2, 1735689600, 123_456_789),
            m(3, vi(1, 2), timestamp(2, 1735689601, 5_000)),
            s(4, "servicecidr-controller"),
            s(5, "kcm-1"),
            s(6, "ServiceCIDRReady"),
            s(7, "Ready"),
            m(8, s(1, "ServiceCIDR"), s(3, "kubernetes"), s(5, "networking.k8s.io/v1")),
            s(10, "ok"),
            s(11, "Normal"),
            m(12, s(1, ""), s(2, "")),
            timestamp(13, ZERO_TIME),
            timestamp(14, ZERO_TIME),
            vi(15, 0),
        ]
    )
    out = protobuf.decode(
        unknown("events.k8s.io/v1", "Event", raw), api_version="events.k8s.io/v1", kind="Event"
    )
    assert out == {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "e1", "namespace": "default"},
        "eventTime": "2025-01-01T00:00:00.123456Z",
        "series": {"count": 2, "lastObservedTime": "2025-01-01T00:00:01.000005Z"},
        "reportingController": "servicecidr-controller",
        "reportingInstance": "kcm-1",
        "action": "ServiceCIDRReady",
        "reason": "Ready",
        "regarding": {
            "kind": "ServiceCIDR",
            "name": "kubernetes",
            "apiVersion": "networking.k8s.io/v1",
        },
        "note": "ok",
        "type": "Normal",
    }


def test_micro_time_negative_nanos_truncate_toward_zero() -> None:
    raw = m(1, object_meta("e")) + timestamp(2, 1735689600, -1500)
    out = protobuf.decode(
        unknown("events.k8s.io/v1", "Event", raw), api_version="events.k8s.io/v1", kind="Event"
    )
    assert out["eventTime"] == "2024-12-31T23:59:59.999999Z"


def test_core_v1_event_writes_fields_without_omitempty() -> None:
    raw = m(1, object_meta("e")) + m(2, s(1, "Service"), s(3, "x")) + s(3, "Created")
    out = protobuf.decode(unknown("v1", "Event", raw), api_version="v1", kind="Event")
    assert out == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Service", "name": "x"},
        "reason": "Created",
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_delete_options() -> None:
    raw = vi(1, 0) + m(2, s(1, "uid-1"), s(2, "7")) + s(4, "Foreground") + s(5, "All")
    out = protobuf.decode(
        unknown("meta.k8s.io/v1", "DeleteOptions", raw), api_version="v1", kind="DeleteOptions"
    )
    assert out == {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1", "resourceVersion": "7"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }


# --------------------------------------------------------------------------- errors


def test_not_protobuf() -> None:
    assert bad(b'{"kind":"Service"}') == (
        "the object provided is unrecognized (must be of type Service): provided data does "
        'not appear to be a protobuf message, expected prefix [107 56 115 0] ({"kind":"Service"})'
    )
    assert bad(b"\x01\x02") == (
        "the object provided is unrecognized (must be of type Service): provided data does "
        "not appear to be a protobuf message, expected prefix [107 56 115 0] (0102)"
    )


def test_empty_bodies() -> None:
    assert bad(b"") == "the object provided is unrecognized (must be of type Service): " + (
        "empty data (<empty>)"
    )
    assert bad(b"k8s\x00") == (
        "the object provided is unrecognized (must be of type Service): empty body (6b387300)"
    )


def test_long_body_summary_is_cut_at_30_bytes() -> None:
    body = b"k8s\x00" + key(1, 2) + b"\x7f" + b"\x00" * 40
    assert bad(body) == (
        "the object provided is unrecognized (must be of type Service): unexpected EOF "
        f"({body[:30].hex()} ...)"
    )


def test_truncated_object() -> None:
    body = kubectl_create_service_clusterip("test-1", 80)
    # Cut the raw Service short but keep the envelope consistent.
    raw = m(1, object_meta("test-1"))[:-3]
    assert bad(unknown("v1", "Service", raw)) == (
        'Service in version "v1" cannot be handled as a Service: unexpected EOF'
    )
    assert "unexpected EOF" in bad(body[:-10])


def test_wrong_wire_type_names_the_go_field() -> None:
    assert bad(svc(meta=vi(1, 5))) == (
        'Service in version "v1" cannot be handled as a Service: '
        "proto: wrong wireType = 0 for field Name"
    )
    assert bad(svc(spec=s(13, "yes"))) == (
        'Service in version "v1" cannot be handled as a Service: '
        "proto: wrong wireType = 2 for field PublishNotReadyAddresses"
    )
    assert bad(svc(spec=vi(18, 1))).endswith("proto: wrong wireType = 0 for field ClusterIPs")


def test_illegal_tag_and_end_group() -> None:
    assert bad(svc(spec=key(0, 2) + b"\x00")).endswith(
        "proto: ServiceSpec: illegal tag 0 (wire type 2)"
    )
    assert bad(svc(spec=key(7, 4))).endswith("proto: ServiceSpec: wiretype end group for non-group")
    assert bad(svc(spec=key(99, 4))).endswith(
        "proto: ServiceSpec: wiretype end group for non-group"
    )


def test_unknown_field_errors() -> None:
    assert bad(svc(spec=key(99, 7))).endswith("proto: illegal wireType 7")
    assert bad(svc(spec=key(99, 3) + vi(1, 1))).endswith("unexpected EOF")
    assert bad(svc(spec=key(99, 1) + b"\x00")).endswith("unexpected EOF")


def test_integer_overflow_and_negative_length() -> None:
    assert bad(svc(spec=key(12, 0) + b"\xff" * 10 + b"\x01")).endswith("proto: integer overflow")
    negative = key(1, 2) + varint(-1)
    assert bad(svc(meta=negative)).endswith("proto: negative length found during unmarshaling")


def test_unknown_kind() -> None:
    body = unknown("v1", "Pod", b"")
    assert bad(body) == (
        'Pod in version "v1" cannot be handled as a Service: no kind "Pod" is registered for '
        'version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30"'
    )
    body = unknown("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", b"")
    assert "no kind" in bad(body, "ValidatingAdmissionPolicy")


def test_bad_fields_v1_json() -> None:
    meta = s(1, "x") + m(17, s(1, "m"), m(7, ld(1, b"{not json")))
    assert "invalid fieldsV1 JSON" in bad(svc(meta=meta))


def test_time_outside_go_json_range() -> None:
    meta = s(1, "x") + timestamp(8, 2**40)
    assert "year outside of range" in bad(svc(meta=meta))


def test_deep_nesting_is_refused_not_a_crash() -> None:
    # An unknown field nested as a group, deep: skipGenerated walks groups iteratively.
    deep = key(50, 3) * 10_000 + key(50, 4) * 10_000
    out = decode_service(svc(spec=deep + s(4, "ClusterIP")))
    assert out["spec"] == {"type": "ClusterIP"}


# --------------------------------------------------------------------------- fuzz
