"""Validation and field-error texts, table-driven from Kubernetes' own test tables.

Sources: staging/src/k8s.io/apimachinery/pkg/util/validation/ip_test.go (TestIsValidIP,
TestIsValidCIDR, TestGetWarningsForIP, TestGetWarningsForCIDR);
pkg/apis/networking/validation/validation_test.go (TestValidateServiceCIDR,
TestValidateServiceCIDRUpdate, TestValidateIPAddress, TestValidateIPAddressUpdate);
pkg/apis/core/validation/validation_test.go (TestValidateServiceCreate/Update, subset);
staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors_test.go.
Every expectation is the exact message kube-apiserver prints.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import subprocess
import sys
import textwrap
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicecidr.api import field_errors as fe
from servicecidr.api import validation as v
from servicecidr.api.field_errors import Path
from servicecidr.errors import InvalidError

ROOT = FsPath(__file__).resolve().parents[2]

INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
INVALID_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_KEY_NAME = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def msgs(errs: list[fe.FieldError]) -> list[str]:
    return [str(e) for e in errs]


# ======================================================================================
# field.Error formatting
# ======================================================================================


@pytest.mark.parametrize(
    ("err", "text"),
    [
        (
            fe.required("spec.cidrs", "at least one CIDR required"),
            "spec.cidrs: Required value: at least one CIDR required",
        ),
        (fe.required(Path("spec", "parentRef")), "spec.parentRef: Required value"),
        (
            fe.invalid(
                Path("spec", "cidrs").index(0),
                "192.168.0.1/24",
                "must not have bits set beyond the prefix length",
            ),
            'spec.cidrs[0]: Invalid value: "192.168.0.1/24": must not have bits set beyond the '
            "prefix length",
        ),
        (
            fe.invalid("spec.port", 0, "must be between 1 and 65535, inclusive"),
            "spec.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ),
        (fe.invalid("x", True, "d"), "x: Invalid value: true: d"),
        (fe.invalid("x", None, "d"), "x: Invalid value: null: d"),
        (fe.invalid("x", ["a", "b"], "d"), 'x: Invalid value: ["a","b"]: d'),
        (fe.invalid("x", {"CIDRs": ["a"]}, "d"), 'x: Invalid value: {"CIDRs":["a"]}: d'),
        (fe.invalid("x", 'q"<&>\n\x01é', "d"), 'x: Invalid value: "q\\"<&>\\n\\x01é": d'),
        (
            fe.invalid("x", fe.JSONString('q"<&>'), "d"),
            'x: Invalid value: "q\\"\\u003c\\u0026\\u003e": d',
        ),
        (fe.invalid("x", [1.5, 2.0], "d"), "x: Invalid value: [1.5,2]: d"),
        (
            fe.not_supported("spec.type", fe.JSONString("Foo"), ["ClusterIP", "NodePort"]),
            'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "NodePort"',
        ),
        (fe.not_supported("x", "y", []), 'x: Unsupported value: "y"'),
        (
            fe.forbidden("metadata.namespace", "not allowed on this type"),
            "metadata.namespace: Forbidden: not allowed on this type",
        ),
        (fe.duplicate("spec.ports[1].name", "http"), 'spec.ports[1].name: Duplicate value: "http"'),
        (fe.too_many("spec.cidrs", 3, 2), "spec.cidrs: Too many: 3: must have at most 2 items"),
        (fe.too_many("spec.cidrs", 3, 1), "spec.cidrs: Too many: 3: must have at most 1 item"),
        (fe.too_many("spec.cidrs", -1, -1), "spec.cidrs: Too many: has too many items"),
        (
            fe.too_long("metadata.annotations", "", 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
        ),
        (fe.too_long("x", "", 1), "x: Too long: may not be more than 1 byte"),
        (fe.too_long("x"), "x: Too long: value is too long"),
        (fe.too_long_characters("x", 5), "x: Too long: may not be more than 5 characters"),
        (
            fe.immutable("spec.cidrs[0]", "10.0.0.0/24"),
            'spec.cidrs[0]: Invalid value: "10.0.0.0/24": field is immutable',
        ),
        (fe.internal_error("spec", "boom"), "spec: Internal error: boom"),
        (fe.not_found("spec.x", "y"), 'spec.x: Not found: "y"'),
        (
            fe.type_invalid("spec.x", 5, "must be a string"),
            "spec.x: Invalid value: 5: must be a string",
        ),
    ],
)
def test_field_error_text(err: fe.FieldError, text: str) -> None:
    assert str(err) == text


def test_path_building() -> None:
    p = Path("metadata").child("annotations").key("a.b/c")
    assert str(p) == "metadata.annotations[a.b/c]"
    assert str(Path("spec").child("ports").index(2).child("name")) == "spec.ports[2].name"
    assert str(Path()) == ""
    assert Path("spec", "cidrs") == "spec.cidrs"


def test_aggregate_dedups_and_brackets() -> None:
    a = fe.required("spec.ports")
    b = fe.invalid("spec.cidrs[0]", "x", "bad")
    assert fe.aggregate_message([]) == ""
    assert fe.aggregate_message([a]) == "spec.ports: Required value"
    assert fe.aggregate_message([a, a]) == "spec.ports: Required value"
    assert fe.aggregate_message([a, b, a]) == (
        '[spec.ports: Required value, spec.cidrs[0]: Invalid value: "x": bad]'
    )


def test_to_invalid_error_networking() -> None:
    errs = [fe.required("spec.cidrs", "at least one CIDR required")]
    e = fe.to_invalid_error("ServiceCIDR.networking.k8s.io", "empty", errs)
    assert isinstance(e, InvalidError)
    assert e.message == (
        'ServiceCIDR.networking.k8s.io "empty" is invalid: '
        "spec.cidrs: Required value: at least one CIDR required"
    )
    assert e.details == {
        "name": "empty",
        "group": "networking.k8s.io",
        "kind": "ServiceCIDR",
        "causes": [
            {
                "reason": "FieldValueRequired",
                "message": "Required value: at least one CIDR required",
                "field": "spec.cidrs",
            }
        ],
    }
    assert e.status()["code"] == 422 and e.status()["reason"] == "Invalid"


def test_to_invalid_error_core_group_and_duplicates() -> None:
    a = fe.required("spec.ports")
    e = fe.to_invalid_error("Service", "web", [a, a])
    assert e.message == 'Service "web" is invalid: spec.ports: Required value'
    assert e.details["kind"] == "Service" and "group" not in e.details
    assert len(e.details["causes"]) == 2  # causes are not de-duplicated
    assert fe.to_invalid_error("Service", "web", []).message == 'Service "web" is invalid'


def test_qualified_kinds() -> None:
    assert v.QUALIFIED_KIND["Service"] == "Service"
    assert v.QUALIFIED_KIND["ServiceCIDR"] == "ServiceCIDR.networking.k8s.io"
    assert v.QUALIFIED_KIND["IPAddress"] == "IPAddress.networking.k8s.io"


# ======================================================================================
# IsValidIP / IsValidCIDR (ip_test.go)
# ======================================================================================

# (input, strict IsValidIP detail, legacy non-strict detail, legacy strict detail)
IP_CASES: list[tuple[str, str, str, str]] = [
    ("1.2.3.4", "", "", ""),
    ("0.0.0.0", "", "", ""),
    ("255.255.255.255", "", "", ""),
    ("1234::abcd", "", "", ""),
    ("::", "", "", ""),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "", "", ""),
    ("0:0:0:0:0:0:0:0", 'must be in canonical form ("::")', "", ""),
    ("0001:002:03:4::", 'must be in canonical form ("1:2:3:4::")', "", ""),
    ("1234::ABCD", 'must be in canonical form ("1234::abcd")', "", ""),
    ("2001:4860:4860:0::8888", 'must be in canonical form ("2001:4860:4860::8888")', "", ""),
    ("1.1.1.01", "must not have leading 0s", "", "must not have leading 0s"),
    (
        "::ffff:1.1.1.1",
        "must not be an IPv4-mapped IPv6 address",
        "",
        "must not be an IPv4-mapped IPv6 address",
    ),
    ("", INVALID_IP, INVALID_IP, INVALID_IP),
    ("aaaaaaa", INVALID_IP, INVALID_IP, INVALID_IP),
    ("myhost.mydomain", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1.2.3.0/24", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1.2.3.400", INVALID_IP, INVALID_IP, INVALID_IP),
    ("-1.0.0.0", INVALID_IP, INVALID_IP, INVALID_IP),
    ("2001:db8::10005", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1.2.3.4:80", INVALID_IP, INVALID_IP, INVALID_IP),
    ("[2001:db8::1]", INVALID_IP, INVALID_IP, INVALID_IP),
    ("[2001:db8::1]:80", INVALID_IP, INVALID_IP, INVALID_IP),
    ("example.com:80", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1234::abcd%eth0", INVALID_IP, INVALID_IP, INVALID_IP),
    ("fe80::1%eth0", INVALID_IP, INVALID_IP, INVALID_IP),
    ("169.254.0.0%eth0", INVALID_IP, INVALID_IP, INVALID_IP),
    # Go 1.16 parser corner cases
    ("1::2::3", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1:2:3:4:5:6:7:8::", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1:2:3:4:5:6:7::", 'must be in canonical form ("1:2:3:4:5:6:7:0")', "", ""),
    ("00001::", "must not have leading 0s", "", "must not have leading 0s"),
    ("::ffff:010.1.1.1", "must not have leading 0s", "", "must not have leading 0s"),
    ("::1.2.3.4", 'must be in canonical form ("::102:304")', "", ""),
    ("1.2.3", INVALID_IP, INVALID_IP, INVALID_IP),
    ("1.2.3.4.", INVALID_IP, INVALID_IP, INVALID_IP),
]


def _detail(errs: list[fe.FieldError]) -> str:
    assert len(errs) <= 1, errs
    return errs[0].detail if errs else ""


@pytest.mark.parametrize(("value", "err", "legacy", "legacy_strict"), IP_CASES)
def test_is_valid_ip(value: str, err: str, legacy: str, legacy_strict: str) -> None:
    assert _detail(v.is_valid_ip(Path(), value)) == err
    assert _detail(v.is_valid_ip_for_legacy_field(Path(), value, False)) == legacy
    assert _detail(v.is_valid_ip_for_legacy_field(Path(), value, True)) == legacy_strict
    assert v.is_valid_ip_for_legacy_field(Path(), value, True, [value]) == []


CIDR_CASES: list[tuple[str, str, str, str]] = [
    ("1.0.0.0/8", "", "", ""),
    ("0.0.0.0/0", "", "", ""),
    ("1.1.1.1/32", "", "", ""),
    ("2001:4860:4860::/48", "", "", ""),
    ("::/0", "", "", ""),
    ("::1/128", "", "", ""),
    ("2a00:79e0:2:0::/64", 'must be in canonical form ("2a00:79e0:2::/64")', "", ""),
    ("2001:DB8::/64", 'must be in canonical form ("2001:db8::/64")', "", ""),
    ("FD00:1234::/64", 'must be in canonical form ("fd00:1234::/64")', "", ""),
    (
        "1.1.01.0/24",
        "must not have leading 0s in IP or prefix length",
        "",
        "must not have leading 0s in IP or prefix length",
    ),
    (
        "192.168.007.0/24",
        "must not have leading 0s in IP or prefix length",
        "",
        "must not have leading 0s in IP or prefix length",
    ),
    (
        "::ffff:1.1.1.0/24",
        "must not have an IPv4-mapped IPv6 address",
        "",
        "must not have an IPv4-mapped IPv6 address",
    ),
    (
        "::ffff:1.1.1.0/120",
        "must not have an IPv4-mapped IPv6 address",
        "",
        "must not have an IPv4-mapped IPv6 address",
    ),
    (
        "1.2.3.4/24",
        "must not have bits set beyond the prefix length",
        "",
        "must not have bits set beyond the prefix length",
    ),
    (
        "2001:db8::1/64",
        "must not have bits set beyond the prefix length",
        "",
        "must not have bits set beyond the prefix length",
    ),
    (
        "192.168.0.0/016",
        "must not have leading 0s in IP or prefix length",
        "",
        "must not have leading 0s in IP or prefix length",
    ),
    (
        "10.0.0.0/024",
        "must not have leading 0s in IP or prefix length",
        "",
        "must not have leading 0s in IP or prefix length",
    ),
    ("", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("aaaaaaa", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("1.2.3.4", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("192.168.0.1/healthz", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("192.168.0.1/0/99", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("192.168.0.0/-16", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("192.168.0.0/+16", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("192.168.0.0/33", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("fe80::/10%eth0", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
    ("fe80::%eth0/10", INVALID_CIDR, INVALID_CIDR, INVALID_CIDR),
]


@pytest.mark.parametrize(("value", "err", "legacy", "legacy_strict"), CIDR_CASES)
def test_is_valid_cidr(value: str, err: str, legacy: str, legacy_strict: str) -> None:
    assert _detail(v.is_valid_cidr(Path(), value)) == err
    assert _detail(v.is_valid_cidr_for_legacy_field(Path(), value, False)) == legacy
    assert _detail(v.is_valid_cidr_for_legacy_field(Path(), value, True)) == legacy_strict
    assert v.is_valid_cidr_for_legacy_field(Path(), value, True, [value]) == []


@pytest.mark.parametrize(
    ("path", "value", "want"),
    [
        (Path("spec", "clusterIPs").index(0), "192.12.2.2", []),
        (Path("spec", "clusterIPs").index(0), "2001:db8::2", []),
        (
            Path("spec", "clusterIPs").index(0),
            "192.012.2.2",
            [
                'spec.clusterIPs[0]: non-standard IP address "192.012.2.2" will be considered '
                'invalid in a future Kubernetes release: use "192.12.2.2"'
            ],
        ),
        (
            Path("spec", "clusterIPs").index(0),
            "::ffff:192.12.2.2",
            [
                'spec.clusterIPs[0]: non-standard IP address "::ffff:192.12.2.2" will '
                "be considered "
                'invalid in a future Kubernetes release: use "192.12.2.2"'
            ],
        ),
        (
            Path("spec", "loadBalancerIP"),
            "2001:db8:0:0::2",
            [
                'spec.loadBalancerIP: IPv6 address "2001:db8:0:0::2" should be in RFC 5952 '
                'canonical format ("2001:db8::2")'
            ],
        ),
    ],
)
def test_get_warnings_for_ip(path: Path, value: str, want: list[str]) -> None:
    assert v.get_warnings_for_ip(path, value) == want


LBSR = Path("spec", "loadBalancerSourceRanges").index(0)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("192.12.2.0/24", []),
        ("2001:db8::/64", []),
        (
            "192.012.2.0/24",
            [
                "spec.loadBalancerSourceRanges[0]: non-standard CIDR value "
                '"192.012.2.0/24" will be '
                'considered invalid in a future Kubernetes release: use "192.12.2.0/24"'
            ],
        ),
        (
            "192.12.2.0/024",
            [
                "spec.loadBalancerSourceRanges[0]: non-standard CIDR value "
                '"192.12.2.0/024" will be '
                'considered invalid in a future Kubernetes release: use "192.12.2.0/24"'
            ],
        ),
        (
            "::ffff:192.12.2.0/120",
            [
                'spec.loadBalancerSourceRanges[0]: non-standard CIDR value "::ffff:192.12.2.0/120" '
                'will be considered invalid in a future Kubernetes release: use "192.12.2.0/24"'
            ],
        ),
        (
            "192.12.2.8/24",
            [
                'spec.loadBalancerSourceRanges[0]: CIDR value "192.12.2.8/24" is ambiguous in this '
                'context (should be "192.12.2.0/24" or "192.12.2.8/32"?)'
            ],
        ),
        (
            "192.012.2.8/24",
            [
                'spec.loadBalancerSourceRanges[0]: CIDR value "192.012.2.8/24" is '
                "ambiguous in this "
                'context (should be "192.12.2.0/24" or "192.12.2.8/32"?)',
                "spec.loadBalancerSourceRanges[0]: non-standard CIDR value "
                '"192.012.2.8/24" will be '
                'considered invalid in a future Kubernetes release: use "192.12.2.0/24"',
            ],
        ),
        (
            "2001:db8:0:0::/64",
            [
                'spec.loadBalancerSourceRanges[0]: IPv6 CIDR value "2001:db8:0:0::/64" '
                "should be in "
                'RFC 5952 canonical format ("2001:db8::/64")'
            ],
        ),
    ],
)
def test_get_warnings_for_cidr(value: str, want: list[str]) -> None:
    assert v.get_warnings_for_cidr(LBSR, value) == want


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv4_canonical_roundtrip(n: int) -> None:
    text = str(ipaddress.IPv4Address(n))
    assert v.is_valid_ip(Path(), text) == []
    assert v.parse_ip_sloppy(text) == bytes(10) + b"\xff\xff" + n.to_bytes(4, "big")


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_ipv6_canonical_matches_rfc5952(n: int) -> None:
    addr = ipaddress.IPv6Address(n)
    if addr.ipv4_mapped is not None:
        return  # Go prints those as dotted IPv4
    text = addr.compressed
    assert v.is_valid_ip(Path(), text) == []
    assert v.is_valid_ip(Path(), addr.exploded) in (
        [],
        [fe.invalid(Path(), addr.exploded, f'must be in canonical form ("{text}")')],
    )


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=32))
def test_ipv4_networks_are_valid_cidrs(n: int, bits: int) -> None:
    net = ipaddress.IPv4Network((n, bits), strict=False)
    assert v.is_valid_cidr(Path(), str(net)) == []
    if net.network_address != ipaddress.IPv4Address(n):
        text = f"{ipaddress.IPv4Address(n)}/{bits}"
        assert _detail(v.is_valid_cidr(Path(), text)) == (
            "must not have bits set beyond the prefix length"
        )


@given(st.integers(min_value=0, max_value=2**128 - 1), st.integers(min_value=0, max_value=128))
def test_ipv6_networks_are_valid_cidrs(n: int, bits: int) -> None:
    net = ipaddress.IPv6Network((n, bits), strict=False)
    if net.network_address.ipv4_mapped is not None:
        return
    assert v.is_valid_cidr(Path(), net.compressed) == []


# ======================================================================================
# Names, labels, ports
# ======================================================================================


@pytest.mark.parametrize(
    ("fn", "value", "want"),
    [
        (v.is_dns1123_label, "a-1", []),
        (v.is_dns1123_label, "a.b", ["must not contain dots"]),
        (v.is_dns1123_label, "A", [DNS1123_LABEL]),
        (v.is_dns1123_label, "a" * 64, ["must be no more than 63 bytes"]),
        (v.is_dns1123_subdomain, "a.b-c", []),
        (v.is_dns1123_subdomain, "a..b", [DNS1123_SUBDOMAIN]),
        (v.is_dns1035_label, "1abc", [DNS1035]),
        (v.is_dns1035_label, "a" * 64, ["must be no more than 63 bytes"]),
        (v.is_qualified_name, "example.com/Name_1", []),
        (v.is_qualified_name, "/simple", ["prefix part must be non-empty"]),
        (v.is_qualified_name, "example.com/", ["name part must be non-empty", LABEL_KEY_NAME]),
        (v.is_qualified_name, "cantendwithadash-", [LABEL_KEY_NAME]),
        (v.is_qualified_name, "Example.com/abc", ["prefix part " + DNS1123_SUBDOMAIN]),
        (
            v.is_qualified_name,
            "only/one/slash",
            [
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
                "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                "[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. "
                "'example.com/MyName')"
            ],
        ),
        (v.is_valid_label_value, "", []),
        (v.is_valid_label_value, "-x", [LABEL_VALUE]),
        (v.is_valid_port_name, "http", []),
        (
            v.is_valid_port_name,
            "-a--b",
            ["must not contain consecutive hyphens", "must not begin or end with a hyphen"],
        ),
        (v.is_valid_port_name, "123", ["must contain at least one letter (a-z)"]),
        (
            v.is_valid_port_name,
            "Http",
            ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"],
        ),
        (v.is_path_segment_name, "..", ["may not be '..'"]),
        (v.is_path_segment_name, "a/b%c", ["may not contain '/'", "may not contain '%'"]),
    ],
)
def test_string_validators(fn: Any, value: str, want: list[str]) -> None:
    assert fn(value) == want


def test_name_functions_mask_trailing_dash_for_prefixes() -> None:
    assert v.name_is_dns1035_label("web-", True) == []
    assert v.name_is_dns1035_label("web-", False) == [DNS1035]
    assert v.name_is_dns_subdomain("gen-", True) == []
    assert v.validate_ip_address_name("10.0.0.1", True) == []


# ======================================================================================
# ObjectMeta
# ======================================================================================


def test_object_meta_name_and_namespace() -> None:
    assert msgs(v.validate_object_meta({}, namespaced=False, name_fn=v.name_is_dns_subdomain)) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    assert msgs(v.validate_object_meta({"name": "a"}, namespaced=True)) == [
        "metadata.namespace: Required value"
    ]
    assert msgs(v.validate_object_meta({"name": "a", "namespace": "x"}, namespaced=False)) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    assert msgs(v.validate_object_meta({"name": "a", "namespace": "Bad"}, namespaced=True)) == [
        f'metadata.namespace: Invalid value: "Bad": {DNS1123_LABEL}'
    ]
    assert msgs(
        v.validate_object_meta(
            {"generateName": "Gen-"}, namespaced=False, name_fn=v.name_is_dns_subdomain
        )
    ) == [
        f'metadata.generateName: Invalid value: "Gen-": {DNS1123_SUBDOMAIN}',
        "metadata.name: Required value: name or generateName is required",
    ]
    # the generic registry's default name check: path segments
    assert msgs(v.validate_object_meta({"name": "a/b"}, namespaced=False)) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"
    ]


def test_object_meta_labels_annotations_finalizers() -> None:
    meta = {
        "name": "a",
        "generation": -1,
        "labels": {"bad key!": "ok", "k": "-bad"},
        "annotations": {"Example.COM/Key": "v", "a" * 3: "x" * (256 * 1024)},
        "finalizers": ["example.com/ok", "kubernetes", "custom", "orphan", "foregroundDeletion"],
        "ownerReferences": [
            {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"},
            {"apiVersion": "", "kind": "", "name": "", "uid": ""},
        ],
        "managedFields": [{"manager": "m\x07", "operation": "Patch", "fieldsType": "X"}],
    }
    assert msgs(v.validate_object_meta(meta, namespaced=False)) == [
        "metadata.generation: Invalid value: -1: must be greater than or equal to 0",
        f'metadata.labels: Invalid value: "bad key!": {LABEL_KEY_NAME}',
        f'metadata.labels: Invalid value: "-bad": {LABEL_VALUE}',
        "metadata.annotations: Too long: may not be more than 262144 bytes",
        'metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e",'
        '"uid":"u"}: /v1, Kind=Event is disallowed from being an owner',
        'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
        'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
        'metadata.finalizers: Invalid value: ["example.com/ok","kubernetes","custom","orphan",'
        '"foregroundDeletion"]: finalizer orphan and foregroundDeletion cannot be both set',
        'metadata.managedFields[0].operation: Invalid value: "Patch": must be `Apply` or `Update`',
        'metadata.managedFields[0].fieldsType: Invalid value: "X": must be `FieldsV1`',
        'metadata.managedFields[0].manager: Invalid value: "m\\a": invalid character U+0007 '
        "(at position 1)",
        'metadata.finalizers[2]: Invalid value: "custom": name is neither a standard finalizer '
        "name nor is it fully qualified",
    ]


def test_object_meta_two_controllers() -> None:
    refs = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "a",
            "uid": "1",
            "controller": True,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "b",
            "uid": "2",
            "controller": True,
        },
    ]
    errs = msgs(v.validate_object_meta({"name": "x", "ownerReferences": refs}, namespaced=False))
    assert errs == [
        'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"ReplicaSet",'
        '"name":"a","uid":"1","controller":true},{"apiVersion":"apps/v1","kind":"ReplicaSet",'
        '"name":"b","uid":"2","controller":true}]: Only one reference can have Controller set '
        'to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b'
    ]


OLD_META: dict[str, Any] = {
    "name": "a",
    "uid": "u-1",
    "resourceVersion": "5",
    "generation": 2,
    "creationTimestamp": "2025-01-01T00:00:00Z",
}


@pytest.mark.parametrize(
    ("change", "want"),
    [
        ({}, []),
        (
            {"resourceVersion": ""},
            ['metadata.resourceVersion: Invalid value: "": must be specified for an update'],
        ),
        ({"generation": 1}, ["metadata.generation: Invalid value: 1: must not be decremented"]),
        ({"name": "b"}, ['metadata.name: Invalid value: "b": field is immutable']),
        ({"namespace": "x"}, ['metadata.namespace: Invalid value: "x": field is immutable']),
        ({"uid": "u-2"}, ['metadata.uid: Invalid value: "u-2": field is immutable']),
        (
            {"creationTimestamp": "2025-01-02T00:00:00Z"},
            [
                'metadata.creationTimestamp: Invalid value: "2025-01-02T00:00:00Z": field is '
                "immutable"
            ],
        ),
        (
            {"deletionTimestamp": "2025-01-02T00:00:00Z"},
            [
                'metadata.deletionTimestamp: Invalid value: "2025-01-02T00:00:00Z": field is '
                "immutable"
            ],
        ),
        (
            {"deletionGracePeriodSeconds": 30},
            ["metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
        ),
        (
            {"labels": {"a": "b"}, "finalizers": ["x"]},
            [
                'metadata.finalizers[0]: Invalid value: "x": name is neither a standard finalizer '
                "name nor is it fully qualified"
            ],
        ),
    ],
)
def test_object_meta_update(change: dict[str, Any], want: list[str]) -> None:
    new = {**OLD_META, **change}
    assert msgs(v.validate_object_meta_update(new, OLD_META)) == want


def test_object_meta_update_no_new_finalizers_while_deleting() -> None:
    old = {**OLD_META, "deletionTimestamp": "2025-01-02T00:00:00Z", "finalizers": ["a.io/x"]}
    new = {**old, "finalizers": ["a.io/x", "b.io/z", "a.io/y"]}
    assert msgs(v.validate_object_meta_update(new, old)) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"a.io/y", "b.io/z"}'
    ]
    assert v.validate_object_meta_update({**old, "finalizers": []}, old) == []


# ======================================================================================
# ServiceCIDR (TestValidateServiceCIDR, TestValidateServiceCIDRUpdate)
# ======================================================================================


def service_cidr(cidrs: list[str] | None, name: str = "test-name", **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name, **meta},
        "spec": {},
    }
    if cidrs is not None:
        obj["spec"]["cidrs"] = cidrs
    return obj


SERVICE_CIDR_CASES: dict[str, tuple[list[str] | None, list[str]]] = {
    "empty-iprange": (None, ["spec.cidrs: Required value: at least one CIDR required"]),
    "empty-list": ([], ["spec.cidrs: Required value: at least one CIDR required"]),
    "three-ipranges": (
        ["192.168.0.0/24", "fd00::/64", "10.0.0.0/16"],
        [
            'spec.cidrs: Invalid value: {"CIDRs":["192.168.0.0/24","fd00::/64","10.0.0.0/16"]}: '
            "may only hold up to 2 values"
        ],
    ),
    "good-iprange-ipv4": (["192.168.0.0/24"], []),
    "good-iprange-ipv6": (["fd00:1234::/64"], []),
    "good-iprange-ipv4-ipv6": (["192.168.0.0/24", "fd00:1234::/64"], []),
    "good-iprange-ipv6-ipv4": (["fd00:1234::/64", "192.168.0.0/24"], []),
    "good-ipv4-slash32": (["10.0.0.1/32"], []),
    "good-ipv6-slash48": (["fd00:1::/48"], []),
    "not-iprange-ipv4": (
        ["asdasdasd"],
        [f'spec.cidrs[0]: Invalid value: "asdasdasd": {INVALID_CIDR}'],
    ),
    "iponly-iprange-ipv4": (
        ["192.168.0.1"],
        [f'spec.cidrs[0]: Invalid value: "192.168.0.1": {INVALID_CIDR}'],
    ),
    "empty-string": ([""], [f'spec.cidrs[0]: Invalid value: "": {INVALID_CIDR}']),
    "badip-iprange-ipv4": (
        ["192.168.0.1/24"],
        [
            'spec.cidrs[0]: Invalid value: "192.168.0.1/24": must not have bits set beyond the '
            "prefix length"
        ],
    ),
    "badip-iprange-ipv6": (
        ["fd00:1234::2/64"],
        [
            'spec.cidrs[0]: Invalid value: "fd00:1234::2/64": must not have bits set beyond the '
            "prefix length"
        ],
    ),
    "badip-iprange-caps-ipv6": (
        ["FD00:1234::2/64"],
        [
            'spec.cidrs[0]: Invalid value: "FD00:1234::2/64": must not have bits set beyond the '
            "prefix length"
        ],
    ),
    "good-iprange-ipv4-bad-ipv6": (
        ["192.168.0.0/24", "FD00:1234::/64"],
        [
            'spec.cidrs[1]: Invalid value: "FD00:1234::/64": must be in canonical form '
            '("fd00:1234::/64")'
        ],
    ),
    "good-iprange-ipv6-bad-ipv4": (
        ["192.168.007.0/24", "fd00:1234::/64"],
        [
            'spec.cidrs[0]: Invalid value: "192.168.007.0/24": must not have leading 0s in IP or '
            "prefix length"
        ],
    ),
    "leading-zero-prefix": (
        ["10.0.0.0/024"],
        [
            'spec.cidrs[0]: Invalid value: "10.0.0.0/024": must not have leading 0s in IP or '
            "prefix length"
        ],
    ),
    "ipv4-mapped": (
        ["::ffff:10.0.0.0/104"],
        [
            'spec.cidrs[0]: Invalid value: "::ffff:10.0.0.0/104": must not have an IPv4-mapped '
            "IPv6 address"
        ],
    ),
    "two-ipv4": (
        ["192.168.0.0/24", "10.0.0.0/24"],
        [
            'spec.cidrs: Invalid value: ["192.168.0.0/24","10.0.0.0/24"]: may specify no more '
            "than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"
        ],
    ),
    "two-ipv6": (
        ["fd00:1::/64", "fd00:2::/64"],
        [
            'spec.cidrs: Invalid value: ["fd00:1::/64","fd00:2::/64"]: may specify no more than '
            "one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"
        ],
    ),
    "two-ipv4-one-bad": (
        ["192.168.0.1/24", "10.0.0.0/24"],
        [
            'spec.cidrs[0]: Invalid value: "192.168.0.1/24": must not have bits set beyond the '
            "prefix length",
            'spec.cidrs: Invalid value: ["192.168.0.1/24","10.0.0.0/24"]: may specify no more '
            "than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
        ],
    ),
    "second-entry-bad": (
        ["192.168.0.0/24", "fd00:1234::2/64"],
        [
            'spec.cidrs[1]: Invalid value: "fd00:1234::2/64": must not have bits set beyond the '
            "prefix length"
        ],
    ),
    "one-unparsable-no-family-error": (
        ["192.168.0.0/24", "garbage"],
        [f'spec.cidrs[1]: Invalid value: "garbage": {INVALID_CIDR}'],
    ),
}


@pytest.mark.parametrize(("cidrs", "want"), SERVICE_CIDR_CASES.values(), ids=SERVICE_CIDR_CASES)
def test_validate_service_cidr(cidrs: list[str] | None, want: list[str]) -> None:
    assert msgs(v.validate_service_cidr(service_cidr(cidrs))) == want


def test_service_cidr_metadata() -> None:
    assert msgs(v.validate_service_cidr(service_cidr(["10.0.0.0/24"], name="Bad_Name"))) == [
        f'metadata.name: Invalid value: "Bad_Name": {DNS1123_SUBDOMAIN}'
    ]
    assert msgs(v.validate_service_cidr(service_cidr(["10.0.0.0/24"], namespace="default"))) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    obj = service_cidr(["10.0.0.0/24"], name="")
    obj["metadata"] = {"generateName": "cidr-"}
    assert msgs(v.validate_service_cidr(obj)) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_service_cidr_invalid_error_message() -> None:
    errs = v.validate_service_cidr(service_cidr([]))
    err = fe.to_invalid_error(v.QUALIFIED_KIND["ServiceCIDR"], "empty", errs)
    assert err.message == (
        'ServiceCIDR.networking.k8s.io "empty" is invalid: spec.cidrs: Required value: at least '
        "one CIDR required"
    )


OLD_CIDR = service_cidr(["192.168.0.0/24"], resourceVersion="1")
OLD_DUAL = service_cidr(["192.168.0.0/24", "fd00:1234::/64"], resourceVersion="1")

SERVICE_CIDR_UPDATE_CASES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "no change": (OLD_DUAL, OLD_DUAL["spec"]["cidrs"], []),
    "labels may change": (OLD_DUAL, OLD_DUAL["spec"]["cidrs"], []),
    "update spec.CIDRs single stack": (
        OLD_CIDR,
        ["10.0.0.0/16"],
        ['spec.cidrs[0]: Invalid value: "10.0.0.0/16": field is immutable'],
    ),
    "update spec.CIDRs dual stack": (
        OLD_DUAL,
        ["10.0.0.0/24", "fd00:1234::/64"],
        ['spec.cidrs[0]: Invalid value: "10.0.0.0/24": field is immutable'],
    ),
    "update spec.CIDRs both entries": (
        OLD_DUAL,
        ["10.0.0.0/24", "fd00:1::/64"],
        [
            'spec.cidrs[0]: Invalid value: "10.0.0.0/24": field is immutable',
            'spec.cidrs[1]: Invalid value: "fd00:1::/64": field is immutable',
        ],
    ),
    "upgrade single to dual stack": (OLD_CIDR, ["192.168.0.0/24", "fd00:1234::/64"], []),
    "upgrade and change primary": (
        OLD_CIDR,
        ["10.0.0.0/24", "fd00:1234::/64"],
        ['spec.cidrs[0]: Invalid value: "10.0.0.0/24": field is immutable'],
    ),
    "upgrade with the same family twice": (
        OLD_CIDR,
        ["192.168.0.0/24", "10.0.0.0/24"],
        [
            'spec.cidrs: Invalid value: ["192.168.0.0/24","10.0.0.0/24"]: may specify no more '
            "than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"
        ]
        * 2,
    ),
    "downgrade dual to single": (
        OLD_DUAL,
        ["192.168.0.0/24"],
        ['spec.cidrs: Invalid value: ["192.168.0.0/24"]: field is immutable'],
    ),
    "remove all": (
        OLD_DUAL,
        [],
        [
            "spec.cidrs: Required value: at least one CIDR required",
            "spec.cidrs: Invalid value: []: field is immutable",
        ],
    ),
}


@pytest.mark.parametrize(
    ("old", "cidrs", "want"), SERVICE_CIDR_UPDATE_CASES.values(), ids=SERVICE_CIDR_UPDATE_CASES
)
def test_validate_service_cidr_update(
    old: dict[str, Any], cidrs: list[str], want: list[str]
) -> None:
    new = copy.deepcopy(old)
    new["spec"]["cidrs"] = cidrs
    new["metadata"]["labels"] = {"a": "b"}
    assert msgs(v.validate_service_cidr_update(new, old)) == want


def test_service_cidr_update_duplicates_collapse_in_message() -> None:
    new = copy.deepcopy(OLD_CIDR)
    new["spec"]["cidrs"] = ["192.168.0.0/24", "10.0.0.0/24"]
    errs = v.validate_service_cidr_update(new, OLD_CIDR)
    err = fe.to_invalid_error(v.QUALIFIED_KIND["ServiceCIDR"], "test-name", errs)
    assert err.message.count("may specify no more than one IP") == 1
    assert len(err.details["causes"]) == 2


def test_validate_service_cidr_status_update() -> None:
    new = copy.deepcopy(OLD_DUAL)
    new["status"] = {"conditions": [{"type": "whatever", "status": "bogus"}]}
    assert v.validate_service_cidr_status_update(new, OLD_DUAL) == []
    new["metadata"]["name"] = "other"
    assert msgs(v.validate_service_cidr_status_update(new, OLD_DUAL)) == [
        'metadata.name: Invalid value: "other": field is immutable'
    ]


# ======================================================================================
# IPAddress (TestValidateIPAddress, TestValidateIPAddressUpdate)
# ======================================================================================


def ip_address(name: str, parent: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {} if parent is None else {"parentRef": parent}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {"name": name},
        "spec": spec,
    }


SVC_REF = {"group": "", "resource": "services", "name": "foo", "namespace": "bar"}

IP_ADDRESS_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "empty-ipaddress-bad-name": (
        ip_address("test-name", SVC_REF),
        [f'metadata.name: Invalid value: "test-name": {INVALID_IP}'],
    ),
    "empty-ipaddress-bad-name-no-parent-reference": (
        ip_address("test-name", None),
        [
            f'metadata.name: Invalid value: "test-name": {INVALID_IP}',
            "spec.parentRef: Required value",
        ],
    ),
    "good-ipaddress": (ip_address("192.168.1.1", SVC_REF), []),
    "good-ipaddress-gateway": (
        ip_address(
            "192.168.1.1",
            {
                "group": "gateway.networking.k8s.io",
                "resource": "gateway",
                "name": "foo",
                "namespace": "bar",
            },
        ),
        [],
    ),
    "good-ipv6address": (ip_address("2001:4860:4860::8888", SVC_REF), []),
    "non-canonica-ipv6address": (
        ip_address("2001:4860:4860:0::8888", SVC_REF),
        [
            'metadata.name: Invalid value: "2001:4860:4860:0::8888": must be in canonical form '
            '("2001:4860:4860::8888")'
        ],
    ),
    "cidr-name": (
        ip_address("10.0.0.0/24", SVC_REF),
        [f'metadata.name: Invalid value: "10.0.0.0/24": {INVALID_IP}'],
    ),
    "zone-name": (
        ip_address("fe80::1%eth0", SVC_REF),
        [f'metadata.name: Invalid value: "fe80::1%eth0": {INVALID_IP}'],
    ),
    "leading-zeros-name": (
        ip_address("192.168.001.1", SVC_REF),
        ['metadata.name: Invalid value: "192.168.001.1": must not have leading 0s'],
    ),
    "mapped-name": (
        ip_address("::ffff:192.168.1.1", SVC_REF),
        [
            'metadata.name: Invalid value: "::ffff:192.168.1.1": must not be an IPv4-mapped IPv6 '
            "address"
        ],
    ),
    "missing-ipaddress-reference": (
        ip_address("192.168.1.1", None),
        ["spec.parentRef: Required value"],
    ),
    "wrong-ipaddress-reference": (
        ip_address(
            "192.168.1.1",
            {
                "group": "custom.resource.com",
                "resource": "services",
                "name": "foo$%&",
                "namespace": "",
            },
        ),
        ["spec.parentRef.name: Invalid value: \"foo$%&\": may not contain '%'"],
    ),
    "wrong-ipaddress-reference-multiple-errors": (
        ip_address(
            "192.168.1.1",
            {
                "group": ".cust@m.resource.com",
                "resource": "",
                "name": "",
                "namespace": "bar$$$$$%@",
            },
        ),
        [
            f'spec.parentRef.group: Invalid value: ".cust@m.resource.com": {DNS1123_SUBDOMAIN}',
            "spec.parentRef.resource: Required value",
            "spec.parentRef.name: Required value",
            "spec.parentRef.namespace: Invalid value: \"bar$$$$$%@\": may not contain '%'",
        ],
    ),
    "resource-dot": (
        ip_address("192.168.1.1", {"resource": "..", "name": "x"}),
        ["spec.parentRef.resource: Invalid value: \"..\": may not be '..'"],
    ),
}


@pytest.mark.parametrize(("obj", "want"), IP_ADDRESS_CASES.values(), ids=IP_ADDRESS_CASES)
def test_validate_ip_address(obj: dict[str, Any], want: list[str]) -> None:
    assert msgs(v.validate_ip_address(obj)) == want


OLD_IPA = ip_address(
    "192.168.1.1",
    {"group": "custom.resource.com", "resource": "services", "name": "foo", "namespace": "bar"},
)
OLD_IPA["metadata"]["resourceVersion"] = "1"


@pytest.mark.parametrize(
    ("parent", "want"),
    [
        (OLD_IPA["spec"]["parentRef"], []),
        (
            {
                "group": "custom.resource.com",
                "resource": "Gateway",
                "name": "foo",
                "namespace": "bar",
            },
            [
                "spec.parentRef: Invalid value: "
                '{"Group":"custom.resource.com","Resource":"Gateway",'
                '"Namespace":"bar","Name":"foo"}: field is immutable'
            ],
        ),
        (
            None,
            [
                "spec.parentRef: Required value",
                "spec.parentRef: Invalid value: null: field is immutable",
            ],
        ),
    ],
    ids=["no change", "update spec.ParentRef", "delete spec.ParentRef"],
)
def test_validate_ip_address_update(parent: dict[str, Any] | None, want: list[str]) -> None:
    new = copy.deepcopy(OLD_IPA)
    new["metadata"]["labels"] = {"relabelled": "yes"}
    if parent is None:
        del new["spec"]["parentRef"]
    else:
        new["spec"]["parentRef"] = copy.deepcopy(parent)
    assert msgs(v.validate_ip_address_update(new, OLD_IPA)) == want


# ======================================================================================
# Service (TestValidateServiceCreate / TestValidateServiceUpdate, subset)
# ======================================================================================


def make_service(**spec: Any) -> dict[str, Any]:
    """A valid defaulted, allocated ClusterIP Service (makeValidService in validation_test)."""
    base: dict[str, Any] = {
        "type": "ClusterIP",
        "selector": {"key": "val"},
        "sessionAffinity": "None",
        "clusterIP": "1.2.3.4",
        "clusterIPs": ["1.2.3.4"],
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
        "internalTrafficPolicy": "Cluster",
        "ports": [{"name": "p", "protocol": "TCP", "port": 8675, "targetPort": 8675}],
    }
    base.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "valid",
            "namespace": "default",
            "resourceVersion": "1",
            "labels": {},
            "annotations": {},
        },
        "spec": {k: val for k, val in base.items() if val is not None},
    }


def lb(**spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "LoadBalancer",
        "externalTrafficPolicy": "Cluster",
        "allocateLoadBalancerNodePorts": True,
    }
    fields.update(spec)
    return make_service(**fields)


def tweak_meta(svc: dict[str, Any], **meta: Any) -> dict[str, Any]:
    for k, val in meta.items():
        if val is None:
            svc["metadata"].pop(k, None)
        else:
            svc["metadata"][k] = val
    return svc


TWO_PORTS = [
    {"name": "p", "protocol": "TCP", "port": 8675, "targetPort": 8675},
    {"name": "q", "protocol": "TCP", "port": 12345, "targetPort": 12345},
]

SERVICE_CREATE_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "valid": (make_service(), []),
    "missing namespace": (
        tweak_meta(make_service(), namespace=None),
        ["metadata.namespace: Required value"],
    ),
    "invalid namespace": (
        tweak_meta(make_service(), namespace="-123"),
        [f'metadata.namespace: Invalid value: "-123": {DNS1123_LABEL}'],
    ),
    "missing name": (
        tweak_meta(make_service(), name=None),
        ["metadata.name: Required value: name or generateName is required"],
    ),
    "invalid name": (
        tweak_meta(make_service(), name="-123"),
        [f'metadata.name: Invalid value: "-123": {DNS1035}'],
    ),
    "name starting with a digit": (
        tweak_meta(make_service(), name="1abc"),
        [f'metadata.name: Invalid value: "1abc": {DNS1035}'],
    ),
    "too long name": (
        tweak_meta(make_service(), name="a" * 64),
        [f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 bytes'],
    ),
    "invalid generateName": (
        tweak_meta(make_service(), generateName="-123"),
        [f'metadata.generateName: Invalid value: "-123": {DNS1035}'],
    ),
    "invalid label": (
        tweak_meta(make_service(), labels={"NoUppercaseOrSpecialCharsLike=Equals": "bar"}),
        [
            f'metadata.labels: Invalid value: "NoUppercaseOrSpecialCharsLike=Equals": '
            f"{LABEL_KEY_NAME}"
        ],
    ),
    "invalid annotation": (
        tweak_meta(make_service(), annotations={"NoSpecialCharsLike=Equals": "bar"}),
        [f'metadata.annotations: Invalid value: "NoSpecialCharsLike=Equals": {LABEL_KEY_NAME}'],
    ),
    "nil selector": (make_service(selector=None), []),
    "invalid selector": (
        make_service(selector={"NoSpecialCharsLike=Equals": "bar"}),
        [f'spec.selector: Invalid value: "NoSpecialCharsLike=Equals": {LABEL_KEY_NAME}'],
    ),
    "missing session affinity": (
        make_service(sessionAffinity=None),
        ["spec.sessionAffinity: Required value"],
    ),
    "invalid session affinity": (
        make_service(sessionAffinity="Sticky"),
        ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
    ),
    "missing type": (
        make_service(type=None),
        ["spec.type: Required value"],
    ),
    "invalid type": (
        make_service(type="Foo"),
        [
            'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", '
            '"LoadBalancer", "NodePort"'
        ],
    ),
    "missing ports": (make_service(ports=[]), ["spec.ports: Required value"]),
    "missing ports but headless": (
        make_service(ports=[], clusterIP="None", clusterIPs=["None"]),
        [],
    ),
    "empty port[0] name": (
        make_service(ports=[{"protocol": "TCP", "port": 8675, "targetPort": 8675}]),
        [],
    ),
    "empty port[1] name": (
        make_service(ports=[TWO_PORTS[0], {**TWO_PORTS[1], "name": ""}]),
        ["spec.ports[1].name: Required value"],
    ),
    "invalid port name": (
        make_service(ports=[{**TWO_PORTS[0], "name": "INVALID"}]),
        [f'spec.ports[0].name: Invalid value: "INVALID": {DNS1123_LABEL}'],
    ),
    "duplicate port name": (
        make_service(ports=[TWO_PORTS[0], {**TWO_PORTS[1], "name": "p"}]),
        ['spec.ports[1].name: Duplicate value: "p"'],
    ),
    "missing protocol": (
        make_service(ports=[{"name": "p", "port": 80, "targetPort": 80}]),
        ["spec.ports[0].protocol: Required value"],
    ),
    "invalid protocol": (
        make_service(ports=[{**TWO_PORTS[0], "protocol": "INVALID"}]),
        [
            'spec.ports[0].protocol: Unsupported value: "INVALID": supported values: "SCTP", '
            '"TCP", "UDP"'
        ],
    ),
    "missing port": (
        make_service(ports=[{"name": "p", "protocol": "TCP", "targetPort": 80}]),
        ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
    ),
    "invalid port": (
        make_service(ports=[{**TWO_PORTS[0], "port": 65536}]),
        ["spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive"],
    ),
    "invalid target port number": (
        make_service(ports=[{**TWO_PORTS[0], "targetPort": 65536}]),
        ["spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"],
    ),
    "invalid target port name": (
        make_service(ports=[{**TWO_PORTS[0], "targetPort": "INVALID"}]),
        [
            'spec.ports[0].targetPort: Invalid value: "INVALID": must contain only alpha-numeric '
            "characters (a-z, 0-9), and hyphens (-)",
            'spec.ports[0].targetPort: Invalid value: "INVALID": must contain at least one letter '
            "(a-z)",
        ],
    ),
    "valid named target port": (make_service(ports=[{**TWO_PORTS[0], "targetPort": "http"}]), []),
    "invalid appProtocol": (
        make_service(ports=[{**TWO_PORTS[0], "appProtocol": "example.com/INVALID!"}]),
        [f'spec.ports[0].appProtocol: Invalid value: "example.com/INVALID!": {LABEL_KEY_NAME}'],
    ),
    "valid appProtocol": (
        make_service(ports=[{**TWO_PORTS[0], "appProtocol": "kubernetes.io/h2c"}]),
        [],
    ),
    "dup ports": (
        make_service(ports=[TWO_PORTS[0], {**TWO_PORTS[1], "port": 8675}]),
        [
            'spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,'
            '"Port":8675,"TargetPort":0,"NodePort":0}'
        ],
    ),
    "same port different protocol": (
        make_service(ports=[TWO_PORTS[0], {**TWO_PORTS[1], "port": 8675, "protocol": "UDP"}]),
        [],
    ),
    "nodePort with ClusterIP": (
        make_service(ports=[{**TWO_PORTS[0], "nodePort": 30001}]),
        ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    ),
    "duplicate nodeports": (
        make_service(
            type="NodePort",
            externalTrafficPolicy="Cluster",
            ports=[{**TWO_PORTS[0], "nodePort": 30001}, {**TWO_PORTS[1], "nodePort": 30001}],
        ),
        ["spec.ports[1].nodePort: Duplicate value: 30001"],
    ),
    "headless NodePort": (
        make_service(
            type="NodePort", externalTrafficPolicy="Cluster", clusterIP="None", clusterIPs=["None"]
        ),
        [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
            "services"
        ],
    ),
    "headless LoadBalancer": (
        lb(clusterIP="None", clusterIPs=["None"]),
        [
            "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for "
            "LoadBalancer services"
        ],
    ),
    "valid LoadBalancer": (lb(), []),
    "LoadBalancer missing allocateLoadBalancerNodePorts": (
        make_service(type="LoadBalancer", externalTrafficPolicy="Cluster"),
        ["allocateLoadBalancerNodePorts: Required value"],
    ),
    "allocateLoadBalancerNodePorts on ClusterIP": (
        make_service(allocateLoadBalancerNodePorts=True),
        [
            "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is "
            "'LoadBalancer'"
        ],
    ),
    "valid ExternalName": (
        make_service(
            type="ExternalName",
            externalName="foo.bar.example.com.",
            clusterIP=None,
            clusterIPs=None,
            ipFamilies=None,
            ipFamilyPolicy=None,
            internalTrafficPolicy=None,
            ports=None,
        ),
        [],
    ),
    "invalid ExternalName": (
        make_service(
            type="ExternalName",
            externalName="-123",
            clusterIP=None,
            clusterIPs=None,
            ipFamilies=None,
            ipFamilyPolicy=None,
        ),
        [f'spec.externalName: Invalid value: "-123": {DNS1123_SUBDOMAIN}'],
    ),
    "ExternalName without externalName and with IPs": (
        make_service(type="ExternalName"),
        [
            "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
            "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
            "spec.externalName: Required value",
        ],
    ),
    "invalid cluster ip": (
        make_service(clusterIP="invalid", clusterIPs=["invalid"]),
        [f'spec.clusterIPs[0]: Invalid value: "invalid": {INVALID_IP}'],
    ),
    "legacy cluster ip with leading zeros is accepted": (
        make_service(clusterIP="010.0.0.1", clusterIPs=["010.0.0.1"]),
        [],
    ),
    "clusterIP without clusterIPs": (
        make_service(clusterIPs=None),
        ["spec.clusterIPs: Required value"],
    ),
    "clusterIPs[0] != clusterIP": (
        make_service(clusterIPs=["1.2.3.5"]),
        ['spec.clusterIPs: Invalid value: ["1.2.3.5"]: first value must match `clusterIP`'],
    ),
    "clusterIPs without clusterIP": (
        make_service(clusterIP=None),
        [
            'spec.clusterIPs: Invalid value: ["1.2.3.4"]: must be empty when `clusterIP` is not '
            "specified"
        ],
    ),
    "None not alone": (
        make_service(
            clusterIP="None",
            clusterIPs=["None", "fd00::1"],
            ipFamilyPolicy="RequireDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        [
            'spec.clusterIPs: Invalid value: ["None","fd00::1"]: \'None\' must be the first and '
            "only value"
        ],
    ),
    "three cluster IPs": (
        make_service(
            clusterIPs=["1.2.3.4", "fd00::1", "1.2.3.5"],
            ipFamilyPolicy="RequireDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        [
            'spec.clusterIPs: Invalid value: ["1.2.3.4","fd00::1","1.2.3.5"]: may only hold up '
            "to 2 values"
        ],
    ),
    "two IPv4 cluster IPs": (
        make_service(
            clusterIPs=["1.2.3.4", "1.2.3.5"],
            ipFamilyPolicy="RequireDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        [
            'spec.clusterIPs: Invalid value: ["1.2.3.4","1.2.3.5"]: may specify no more than one '
            "IP for each IP family",
            'spec.clusterIPs[1]: Invalid value: "1.2.3.5": expected an IPv6 value as indicated '
            "by `ipFamilies[1]`",
        ],
    ),
    "valid dual-stack": (
        make_service(
            clusterIPs=["1.2.3.4", "2001::1"],
            ipFamilyPolicy="RequireDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        [],
    ),
    "family mismatch": (
        make_service(ipFamilies=["IPv6"]),
        [
            'spec.clusterIPs[0]: Invalid value: "1.2.3.4": expected an IPv6 value as indicated by '
            "`ipFamilies[0]`"
        ],
    ),
    "invalid and duplicate ipFamilies": (
        make_service(ipFamilies=["IPv4", "IPv4", "IPv5"]),
        [
            'spec.ipFamilies[1]: Duplicate value: "IPv4"',
            'spec.ipFamilies[2]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
        ],
    ),
    "invalid ipFamilyPolicy": (
        make_service(ipFamilyPolicy="Both"),
        [
            'spec.ipFamilyPolicy: Unsupported value: "Both": supported values: "PreferDualStack", '
            '"RequireDualStack", "SingleStack"'
        ],
    ),
    "invalid externalIPs": (
        make_service(
            externalIPs=[
                "127.0.0.1",
                "0.0.0.0",
                "::",
                "169.254.1.1",
                "fe80::1",
                "224.0.0.10",
                "ff02::1",
                "1.2.3.4.5",
                "1.1.1.1",
            ]
        ),
        [
            'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range '
            "(127.0.0.0/8, ::1/128)",
            'spec.externalIPs[1]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
            'spec.externalIPs[2]: Invalid value: "::": may not be unspecified (::)',
            'spec.externalIPs[3]: Invalid value: "169.254.1.1": may not be in the link-local range '
            "(169.254.0.0/16, fe80::/10)",
            'spec.externalIPs[4]: Invalid value: "fe80::1": may not be in the link-local range '
            "(169.254.0.0/16, fe80::/10)",
            'spec.externalIPs[5]: Invalid value: "224.0.0.10": may not be in the link-local '
            "multicast range (224.0.0.0/24, ff02::/10)",
            'spec.externalIPs[6]: Invalid value: "ff02::1": may not be in the link-local multicast '
            "range (224.0.0.0/24, ff02::/10)",
            f'spec.externalIPs[7]: Invalid value: "1.2.3.4.5": {INVALID_IP}',
            "spec.externalTrafficPolicy: Required value",
        ],
    ),
    "session affinity ClientIP without config": (
        make_service(sessionAffinity="ClientIP"),
        ["spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"],
    ),
    "session affinity ClientIP timeout out of range": (
        make_service(
            sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86401}},
        ),
        [
            "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be "
            "greater than 0 and less than 86400"
        ],
    ),
    "session affinity None with config": (
        make_service(sessionAffinityConfig={"clientIP": {"timeoutSeconds": 90}}),
        ["spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"],
    ),
    "externalTrafficPolicy on ClusterIP": (
        make_service(externalTrafficPolicy="Local"),
        [
            'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
            "externally-accessible services"
        ],
    ),
    "invalid externalTrafficPolicy": (
        lb(externalTrafficPolicy="Nearby"),
        [
            'spec.externalTrafficPolicy: Unsupported value: "Nearby": supported values: '
            '"Cluster", "Local"'
        ],
    ),
    "Local LoadBalancer needs healthCheckNodePort": (
        lb(externalTrafficPolicy="Local"),
        ["spec.healthCheckNodePort: Required value"],
    ),
    "healthCheckNodePort without Local": (
        lb(healthCheckNodePort=30000),
        [
            "spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is "
            "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
        ],
    ),
    "missing internalTrafficPolicy": (
        make_service(internalTrafficPolicy=None),
        ["spec.internalTrafficPolicy: Required value"],
    ),
    "invalid internalTrafficPolicy": (
        make_service(internalTrafficPolicy="Nearby"),
        [
            'spec.internalTrafficPolicy: Unsupported value: "Nearby": supported values: '
            '"Cluster", "Local"'
        ],
    ),
    "invalid trafficDistribution": (
        make_service(trafficDistribution="Nearby"),
        [
            'spec.trafficDistribution: Unsupported value: "Nearby": supported values: '
            '"PreferClose", "PreferSameZone", "PreferSameNode"'
        ],
    ),
    "loadBalancerSourceRanges on ClusterIP": (
        make_service(loadBalancerSourceRanges=["10.0.0.0/8"]),
        [
            "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is "
            "'LoadBalancer'"
        ],
    ),
    "invalid loadBalancerSourceRanges": (
        lb(loadBalancerSourceRanges=[" 10.0.0.0/8 ", "1.2.3.4/33"]),
        [f'spec.LoadBalancerSourceRanges[1]: Invalid value: "1.2.3.4/33": {INVALID_CIDR}'],
    ),
    "invalid loadBalancerClass": (
        lb(loadBalancerClass="Bad Class"),
        [f'spec.loadBalancerClass: Invalid value: "Bad Class": {LABEL_KEY_NAME}'],
    ),
    "loadBalancerClass on ClusterIP": (
        make_service(loadBalancerClass="example.com/lb"),
        ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"],
    ),
}


@pytest.mark.parametrize(("svc", "want"), SERVICE_CREATE_CASES.values(), ids=SERVICE_CREATE_CASES)
def test_validate_service_create(svc: dict[str, Any], want: list[str]) -> None:
    assert msgs(v.validate_service(svc)) == want


def test_service_annotation_source_ranges_and_topology() -> None:
    svc = make_service()
    svc["metadata"]["annotations"] = {
        "service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, bad",
        "service.kubernetes.io/topology-mode": "Auto",
        "service.kubernetes.io/topology-aware-hints": "auto",
    }
    assert msgs(v.validate_service(svc)) == [
        'metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Auto": must '
        "match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: "
        "Forbidden: may only be used when `type` is 'LoadBalancer'",
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: "
        f'Invalid value: "bad": {INVALID_CIDR}',
    ]


def _updated(old: dict[str, Any], **spec: Any) -> dict[str, Any]:
    new = copy.deepcopy(old)
    for k, val in spec.items():
        if val is None:
            new["spec"].pop(k, None)
        else:
            new["spec"][k] = val
    return new


DUAL = make_service(
    clusterIPs=["1.2.3.4", "2001::1"],
    ipFamilyPolicy="RequireDualStack",
    ipFamilies=["IPv4", "IPv6"],
)
SINGLE = make_service()
HEADLESS = make_service(
    clusterIP="None",
    clusterIPs=["None"],
    ipFamilyPolicy="RequireDualStack",
    ipFamilies=["IPv4", "IPv6"],
)

SERVICE_UPDATE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "no change": (SINGLE, _updated(SINGLE), []),
    "change port": (SINGLE, _updated(SINGLE, ports=[{**TWO_PORTS[1]}]), []),
    "change clusterIP": (
        SINGLE,
        _updated(SINGLE, clusterIP="1.2.3.5", clusterIPs=["1.2.3.5"]),
        ['spec.clusterIPs[0]: Invalid value: ["1.2.3.5"]: may not change once set'],
    ),
    "upgrade to dual-stack": (
        SINGLE,
        _updated(
            SINGLE,
            clusterIPs=["1.2.3.4", "2001::1"],
            ipFamilyPolicy="PreferDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        [],
    ),
    "upgrade changing primary": (
        SINGLE,
        _updated(
            SINGLE,
            clusterIP="1.2.3.5",
            clusterIPs=["1.2.3.5", "2001::1"],
            ipFamilyPolicy="PreferDualStack",
            ipFamilies=["IPv4", "IPv6"],
        ),
        ['spec.clusterIPs[0]: Invalid value: ["1.2.3.5","2001::1"]: may not change once set'],
    ),
    "downgrade with SingleStack": (
        DUAL,
        _updated(DUAL, clusterIPs=["1.2.3.4"], ipFamilyPolicy="SingleStack", ipFamilies=["IPv4"]),
        [],
    ),
    "downgrade without SingleStack": (
        DUAL,
        _updated(DUAL, clusterIPs=["1.2.3.4"], ipFamilies=["IPv4"]),
        [
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be set to '
            "'SingleStack' when releasing the secondary clusterIP",
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be set to '
            "'SingleStack' when releasing the secondary ipFamily",
        ],
    ),
    "change ipFamilies": (
        DUAL,
        _updated(
            DUAL,
            clusterIP="2001::1",
            clusterIPs=["2001::1", "1.2.3.4"],
            ipFamilies=["IPv6", "IPv4"],
        ),
        [
            'spec.clusterIPs[0]: Invalid value: ["2001::1","1.2.3.4"]: may not change once set',
            'spec.clusterIPs[1]: Invalid value: ["2001::1","1.2.3.4"]: may not change once set',
            'spec.ipFamilies[0]: Invalid value: ["IPv6","IPv4"]: may not change once set',
            'spec.ipFamilies[0]: Invalid value: ["IPv6","IPv4"]: may not change once set',
        ],
    ),
    "release the primary": (
        SINGLE,
        _updated(SINGLE, clusterIP=None, clusterIPs=None),
        ["spec.clusterIPs[0]: Invalid value: null: primary clusterIP can not be unset"],
    ),
    "headless may change families": (HEADLESS, _updated(HEADLESS, ipFamilies=["IPv6", "IPv4"]), []),
    "to ExternalName": (
        SINGLE,
        _updated(
            SINGLE,
            type="ExternalName",
            externalName="db.example.com",
            clusterIP=None,
            clusterIPs=None,
            ipFamilies=None,
            ipFamilyPolicy=None,
        ),
        [],
    ),
    "from ExternalName": (
        _updated(
            SINGLE,
            type="ExternalName",
            externalName="db.example.com",
            clusterIP=None,
            clusterIPs=None,
            ipFamilies=None,
            ipFamilyPolicy=None,
        ),
        _updated(SINGLE, clusterIP="1.2.3.9", clusterIPs=["1.2.3.9"]),
        [],
    ),
    "change loadBalancerClass": (
        lb(loadBalancerClass="example.com/a"),
        lb(loadBalancerClass="example.com/b"),
        ['spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set'],
    ),
    "unset loadBalancerClass": (
        lb(loadBalancerClass="example.com/a"),
        lb(),
        ["spec.loadBalancerClass: Invalid value: null: may not change once set"],
    ),
    "change healthCheckNodePort": (
        lb(externalTrafficPolicy="Local", healthCheckNodePort=30001),
        lb(externalTrafficPolicy="Local", healthCheckNodePort=30002),
        ["spec.healthCheckNodePort: Forbidden: field is immutable"],
    ),
    "rename": (
        SINGLE,
        tweak_meta(_updated(SINGLE), name="other"),
        ['metadata.name: Invalid value: "other": field is immutable'],
    ),
}


@pytest.mark.parametrize(
    ("old", "new", "want"), SERVICE_UPDATE_CASES.values(), ids=SERVICE_UPDATE_CASES
)
def test_validate_service_update(old: dict[str, Any], new: dict[str, Any], want: list[str]) -> None:
    assert msgs(v.validate_service_update(new, old)) == want


def test_service_update_invalid_error() -> None:
    new = _updated(SINGLE, clusterIP="1.2.3.5", clusterIPs=["1.2.3.5"])
    err = fe.to_invalid_error("Service", "valid", v.validate_service_update(new, SINGLE))
    assert err.message == (
        'Service "valid" is invalid: spec.clusterIPs[0]: Invalid value: ["1.2.3.5"]: may not '
        "change once set"
    )
    assert err.details == {
        "name": "valid",
        "kind": "Service",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": 'Invalid value: ["1.2.3.5"]: may not change once set',
                "field": "spec.clusterIPs[0]",
            }
        ],
    }


def test_cluster_ips_related_fields_skips_external_name() -> None:
    svc = make_service(type="ExternalName", clusterIPs=["bad"])
    assert v.validate_service_cluster_ips_related_fields(svc) == []


def test_old_ips_are_accepted_on_update() -> None:
    old = make_service(clusterIP="bad-ip", clusterIPs=["bad-ip"])
    assert v.validate_service_cluster_ips_related_fields(old, old) == []
    assert v.validate_service_cluster_ips_related_fields(old) != []


def test_service_warnings() -> None:
    svc = make_service(
        clusterIP="010.0.0.1",
        clusterIPs=["010.0.0.1"],
        externalIPs=["2001:db8:0::1"],
        externalName="x.example.com",
        loadBalancerSourceRanges=["10.0.0.1/8"],
    )
    assert v.get_warnings_for_service(svc) == [
        'spec.clusterIPs[0]: non-standard IP address "010.0.0.1" will be considered invalid in '
        'a future Kubernetes release: use "10.0.0.1"',
        'spec.externalIPs[0]: IPv6 address "2001:db8:0::1" should be in RFC 5952 canonical '
        'format ("2001:db8::1")',
        'spec.loadBalancerSourceRanges[0]: CIDR value "10.0.0.1/8" is ambiguous in this context '
        '(should be "10.0.0.0/8" or "10.0.0.1/32"?)',
        'spec.externalName is ignored when spec.type is not "ExternalName"',
    ]


def test_validation_never_raises_on_garbage() -> None:
    garbage: list[Any] = [
        {},
        {"metadata": "x", "spec": 5},
        {
            "metadata": {"name": 5, "labels": [1], "finalizers": "x"},
            "spec": {
                "ports": ["x", {"port": "80", "targetPort": [1]}],
                "clusterIPs": [None, 3],
                "cidrs": "10.0.0.0/8",
                "parentRef": "x",
                "sessionAffinityConfig": 7,
            },
        },
    ]
    for obj in garbage:
        for fn in (v.validate_service, v.validate_service_cidr, v.validate_ip_address):
            fn(obj)
        for upd in (
            v.validate_service_update,
            v.validate_service_cidr_update,
            v.validate_ip_address_update,
            v.validate_service_status_update,
        ):
            upd(obj, obj)


# ======================================================================================
# The package stays pure Python
# ======================================================================================


def test_api_modules_do_not_import_the_extension() -> None:
    code = textwrap.dedent(
        """
        import sys, types
        pkg = types.ModuleType("servicecidr")
        pkg.__path__ = [sys.argv[1]]
        sys.modules["servicecidr"] = pkg  # skip servicecidr/__init__.py
        import servicecidr.api.validation, servicecidr.api.decode, servicecidr.api.defaults
        import servicecidr.api.field_errors
        assert "servicecidr._core" not in sys.modules, sorted(sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "python" / "servicecidr")],
        check=True,
        env=env,
    )
