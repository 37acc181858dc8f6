"""The seed document ("Extend Service IP Ranges") typed verbatim into real kubectl 1.37
against ``servicecidr serve``, compared with the document's output.

Allowed differences, each asserted as what it is: random ClusterIPs (checked to be in the
right range, distinct), kubectl 1.37's own wording (``deleted from default namespace``;
``delete servicecidr`` waits for the finalizer unless ``--wait=false``, which the current
page adds), the preferred version ``networking.k8s.io/v1`` in ``-o yaml`` (the document
predates v1), and ``Terminating`` as the reason. Ages match: the cluster is 17 days old on
a simulated clock, and ten simulated seconds pass (``servicecidr advance 10s``) for the
controller's deletion grace once the Services are gone.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import yaml
from tests.serve.server_kit import Running, condition, seed_cluster, squash

SEED_FILE = "seed/000_cf194f36585b9e69.txt"

NEWCIDR = """apiVersion: networking.k8s.io/v1beta1
kind: ServiceCIDR
metadata:
  name: newcidr1
spec:
  cidrs:
  - 10.96.0.0/24
"""

# The validation of the document's first policy (one line there).
ALL = (
    "object.spec.cidrs.all(newCIDR, variables.allowed.exists(allowedCIDR, "
    "cidr(allowedCIDR).containsCIDR(newCIDR)))"
)
RESTRICT = """apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "servicecidrs.default"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["networking.k8s.io"]
      apiVersions: ["v1","v1beta1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["servicecidrs"]
  matchConditions:
  - name: 'exclude-default-servicecidr'
    expression: "object.metadata.name != 'kubernetes'"
  variables:
  - name: allowed
    expression: "['10.96.0.0/16','2001:db8::/64']"
  validations:
  - expression: "{ALL}"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "servicecidrs-binding"
spec:
  policyName: "servicecidrs.default"
  validationActions: [Deny,Audit]
""".replace("{ALL}", ALL)

DENY = """apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "servicecidrs.deny"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["networking.k8s.io"]
      apiVersions: ["v1","v1beta1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["servicecidrs"]
  validations:
  - expression: "object.metadata.name == 'kubernetes'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "servicecidrs-deny-binding"
spec:
  policyName: "servicecidrs.deny"
  validationActions: [Deny,Audit]
"""


def _cidr(name: str, *cidrs: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "ServiceCIDR",
            "metadata": {"name": name},
            "spec": {"cidrs": list(cidrs)},
        }
    )


def _in_doc(doc: str, text: str) -> str:
    """``text`` as the document shows it (it must be there: the expectation is the
    document's, not ours)."""
    assert squash(text) in doc, f"not in the seed document: {text!r}"
    return squash(text)


def _create_loop(s: Running, first: int, last: int) -> tuple[list[str], list[str]]:
    """``for i in $(seq FIRST LAST); do kubectl create service clusterip "test-$i" --tcp 80
    -o json | jq -r .spec.clusterIP; done``: the addresses, and the error lines."""
    ips, errors = [], []
    for i in range(first, last + 1):
        r = s.kubectl("create", "service", "clusterip", f"test-{i}", "--tcp", "80", "-o", "json")
        if r.stdout.strip():
            ips.append(json.loads(r.stdout)["spec"]["clusterIP"])  # jq -r .spec.clusterIP
        errors += [line for line in r.stderr.splitlines() if line.strip()]
    return ips, errors


def test_the_seed_walkthrough_with_kubectl(serve: Any, shared: Path) -> None:
    doc = squash((shared / SEED_FILE).read_text())
    s: Running = serve(seed_cluster())

    r = s.kubectl("get", "servicecidr")
    assert r.returncode == 0, r.stderr
    assert squash(r.stdout) == _in_doc(doc, "NAME CIDRS AGE kubernetes 10.96.0.0/28 17d")

    r = s.kubectl("get", "service", "kubernetes")
    assert squash(r.stdout) == _in_doc(
        doc,
        "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE "
        "kubernetes ClusterIP 10.96.0.1 <none> 443/TCP 17d",
    )

    r = s.kubectl("get", "ipaddress", "10.96.0.1")
    assert squash(r.stdout) == _in_doc(doc, "NAME PARENTREF 10.96.0.1 services/default/kubernetes")

    # 13 creates in a /28 holding .1 and .10: twelve addresses, then range is full.
    ips, errors = _create_loop(s, 1, 13)
    range_28 = ipaddress.ip_network("10.96.0.0/28")
    assert len(ips) == 12 and len(set(ips)) == 12
    assert all(ipaddress.ip_address(ip) in range_28 for ip in ips)
    assert not {"10.96.0.1", "10.96.0.10"} & set(ips)
    assert errors == [
        _in_doc(
            doc,
            "error: failed to create ClusterIP service: Internal error occurred: failed to "
            "allocate a serviceIP: range is full",
        )
    ]

    r = s.kubectl("apply", "-f", "-", stdin=NEWCIDR)
    assert r.returncode == 0, r.stderr
    assert squash(r.stdout) == _in_doc(doc, "servicecidr.networking.k8s.io/newcidr1 created")

    ips, errors = _create_loop(s, 13, 16)
    assert errors == []
    assert len(set(ips)) == 4
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/24") for ip in ips)
    assert not any(ipaddress.ip_address(ip) in range_28 for ip in ips)

    # kubectl 1.37 waits for the finalizer by default; the current page adds --wait=false.
    r = s.kubectl("delete", "servicecidr", "newcidr1", "--wait=false")
    assert squash(r.stdout) == _in_doc(doc, 'servicecidr.networking.k8s.io "newcidr1" deleted')

    s.until(
        "the controller to mark newcidr1 Terminating",
        lambda c: condition(c, "ServiceCIDR", "newcidr1").get("reason") == "Terminating",
    )
    r = s.kubectl("get", "servicecidr", "newcidr1", "-o", "yaml")
    got = yaml.safe_load(r.stdout)
    assert got["apiVersion"] == "networking.k8s.io/v1"  # the document predates v1
    assert got["kind"] == "ServiceCIDR"
    meta = got["metadata"]
    assert meta["name"] == "newcidr1"
    assert meta["deletionGracePeriodSeconds"] == 0
    assert meta["deletionTimestamp"] and meta["creationTimestamp"] and meta["uid"]
    assert meta["finalizers"] == ["networking.k8s.io/service-cidr-finalizer"]
    assert got["spec"] == {"cidrs": ["10.96.0.0/24"]}
    [cond] = got["status"]["conditions"]
    assert cond["type"] == "Ready" and cond["status"] == "False"
    assert cond["reason"] == "Terminating"  # the document shows OrphanIPAddress (SPEC.md)
    assert _in_doc(doc, f"message: {cond['message']}")
    assert cond["lastTransitionTime"]

    out = []
    for i in range(13, 17):
        r = s.kubectl("delete", "service", f"test-{i}")
        assert r.returncode == 0, r.stderr
        out.append(r.stdout.strip())
    # kubectl 1.37 adds "from default namespace"
    assert " ".join(o.replace(" from default namespace", "") for o in out) == _in_doc(
        doc,
        'service "test-13" deleted service "test-14" deleted service "test-15" deleted '
        'service "test-16" deleted',
    )
    assert all(o.endswith("deleted from default namespace") for o in out)

    s.advance("10s")  # the ServiceCIDR controller's deletion grace
    r = s.kubectl("get", "servicecidr", "newcidr1")
    assert r.returncode == 1
    assert r.stderr.strip() == _in_doc(
        doc,
        'Error from server (NotFound): servicecidrs.networking.k8s.io "newcidr1" not found',
    )


def test_the_seed_admission_policies_with_kubectl(serve: Any) -> None:
    s: Running = serve(seed_cluster())
    r = s.kubectl("apply", "-f", "-", stdin=RESTRICT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "validatingadmissionpolicy.admissionregistration.k8s.io/servicecidrs.default created",
        "validatingadmissionpolicybinding.admissionregistration.k8s.io/servicecidrs-binding "
        "created",
    ]
    # The document's examples: allowed inside the list, refused outside it.
    r = s.kubectl("apply", "-f", "-", stdin=_cidr("inside", "10.96.1.0/24"))
    assert r.stdout.strip() == "servicecidr.networking.k8s.io/inside created", r.stderr
    r = s.kubectl("apply", "-f", "-", stdin=_cidr("dual", "2001:db8:0:0:ffff::/80", "10.96.0.0/20"))
    assert r.stdout.strip() == "servicecidr.networking.k8s.io/dual created", r.stderr
    r = s.kubectl("apply", "-f", "-", stdin=_cidr("outside", "172.20.0.0/16"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        'The servicecidrs "outside" is invalid: : ValidatingAdmissionPolicy '
        "'servicecidrs.default' with binding 'servicecidrs-binding' denied request: failed "
        "expression: object.spec.cidrs.all(newCIDR, variables.allowed.exists(allowedCIDR, "
        "cidr(allowedCIDR).containsCIDR(newCIDR)))"
    )
    r = s.kubectl("get", "servicecidr", "outside")
    assert r.returncode == 1

    # The second policy: no ServiceCIDR but the default one.
    r = s.kubectl("apply", "-f", "-", stdin=DENY)
    assert r.returncode == 0, r.stderr
    r = s.kubectl("apply", "-f", "-", stdin=_cidr("another", "10.96.2.0/24"))
    assert r.returncode == 1
    assert "ValidatingAdmissionPolicy 'servicecidrs.deny' with binding " in r.stderr
    assert "failed expression: object.metadata.name == 'kubernetes'" in r.stderr
    r = s.kubectl("get", "servicecidr", "-o", "name")
    assert r.stdout.split() == [
        "servicecidr.networking.k8s.io/dual",
        "servicecidr.networking.k8s.io/inside",
        "servicecidr.networking.k8s.io/kubernetes",
    ]
