"""A tiny protobuf encoder for test fixtures, written from the field numbers of
kubernetes/api ``core/v1/generated.proto``, ``networking/v1/generated.proto`` and
apimachinery ``pkg/apis/meta/v1/generated.proto`` / ``pkg/runtime/generated.proto``.

It writes what gogo-proto's generated ``MarshalToSizedBuffer`` writes: every non-pointer
field (empty strings and zeros included) in ascending field order.
"""

from __future__ import annotations

ZERO_TIME = -62135596800  # time.Time{}.Unix()


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def vi(number: int, value: int | bool) -> bytes:
    """A varint field (int32, int64, bool)."""
    return key(number, 0) + varint(int(value))


def ld(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return key(number, 2) + varint(len(payload)) + payload


def s(number: int, text: str) -> bytes:
    return ld(number, text.encode())


def m(number: int, *parts: bytes) -> bytes:
    """A message field made of its encoded fields."""
    return ld(number, b"".join(parts))


def entry(number: int, k: str, v: str) -> bytes:
    """One map<string,string> entry."""
    return m(number, s(1, k), s(2, v))


def timestamp(number: int, seconds: int, nanos: int = 0) -> bytes:
    if seconds == ZERO_TIME and not nanos:
        return m(number)  # metav1.Time writes nothing for the zero time
    return m(number, vi(1, seconds), vi(2, nanos))


def unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    """``k8s\\0`` + runtime.Unknown, as the protobuf serializer's NestedMarshalTo writes it."""
    return b"k8s\x00" + m(1, s(1, api_version), s(2, kind)) + ld(2, raw) + s(3, "") + s(4, "")


def object_meta(
    name: str = "",
    *,
    namespace: str = "",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    finalizers: tuple[str, ...] = (),
    generate_name: str = "",
) -> bytes:
    """ObjectMeta as gogo writes a Go value with only these fields set."""
    return b"".join(
        [
            s(1, name),
            s(2, generate_name),
            s(3, namespace),
            s(4, ""),
            s(5, ""),
            s(6, ""),
            vi(7, 0),
            timestamp(8, ZERO_TIME),
            *(entry(11, k, v) for k, v in sorted((labels or {}).items())),
            *(entry(12, k, v) for k, v in sorted((annotations or {}).items())),
            *(s(14, f) for f in finalizers),
        ]
    )


def int_or_string(number: int, value: int | str) -> bytes:
    if isinstance(value, str):
        return m(number, vi(1, 1), vi(2, 0), s(3, value))
    return m(number, vi(1, 0), vi(2, value), s(3, ""))


def service_port(
    name: str, protocol: str, port: int, target: int | str, node_port: int = 0
) -> bytes:
    return b"".join(
        [s(1, name), s(2, protocol), vi(3, port), int_or_string(4, target), vi(5, node_port)]
    )


def kubectl_create_service_clusterip(name: str, port: int) -> bytes:
    """The body kubectl 1.37 sends for ``kubectl create service clusterip NAME --tcp PORT``
    (SPEC-serve §1.4): a v1.Service with labels and selector ``app=NAME``, one TCP port
    named after the number, type ClusterIP; every other non-pointer field empty."""
    spec = b"".join(
        [
            m(1, service_port(str(port), "TCP", port, port)),
            entry(2, "app", name),
            s(3, ""),  # clusterIP
            s(4, "ClusterIP"),
            s(7, ""),  # sessionAffinity
            s(8, ""),  # loadBalancerIP
            s(10, ""),  # externalName
            s(11, ""),  # externalTrafficPolicy
            vi(12, 0),  # healthCheckNodePort
            vi(13, False),  # publishNotReadyAddresses
        ]
    )
    service = b"".join(
        [
            m(1, object_meta(name, labels={"app": name})),
            m(2, spec),
            m(3, m(1)),  # status: an empty loadBalancer
        ]
    )
    return unknown("v1", "Service", service)
