"""The HTTP surface as a client sees it: security, limits, errors, write options, lists
and watches, with plain requests to a real server."""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from http.client import HTTPConnection
from typing import Any

import pytest
from tests.serve.server_kit import Running

from servicecidr import Cluster
from servicecidr.clock import SimulatedClock


def _svc(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}], **spec}}


def _cidr(name: str, cidr: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"cidrs": [cidr]}}


SVCS = "/api/v1/namespaces/default/services"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
CIDRS = "/apis/networking.k8s.io/v1/servicecidrs"


# --------------------------------------------------------------------------- security


def test_tls_and_token_beyond_loopback(serve: Any) -> None:
    s: Running = serve(listen="127.0.0.2:0")
    assert s.url.startswith("https://127.0.0.2:")
    assert s.server.token
    kc = s.kubeconfig.read_text()
    assert "certificate-authority-data" in kc and s.server.token in kc
    assert oct(s.kubeconfig.stat().st_mode & 0o777) == "0o600"
    # kubectl trusts the pinned CA and sends the token
    r = s.kubectl("get", "servicecidr", "-o", "name")
    assert r.stdout.split() == ["servicecidr.networking.k8s.io/kubernetes"], r.stderr
    # without the token: 401 as kube-apiserver words it
    r2 = s.http("GET", CIDRS, token="")
    assert r2.status == 401
    assert r2.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert s.http("GET", "/version", token="wrong").status == 401
    assert s.http("GET", CIDRS).status == 200
    # plain HTTP is not served there
    with pytest.raises((ConnectionError, OSError)):
        urllib.request.urlopen(s.url.replace("https", "http") + "/version", timeout=5).read()
    # and the certificate is for that address only when verified
    ctx = ssl.create_default_context()
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(s.url + "/version", context=ctx, timeout=5)
    assert isinstance(e.value.reason, ssl.SSLCertVerificationError)


def test_loopback_is_plain_http_without_credentials(serve: Any) -> None:
    s: Running = serve()
    assert s.url.startswith("http://127.0.0.1:")
    assert "token" not in s.kubeconfig.read_text()
    assert s.http("GET", "/version").json()["gitVersion"].startswith("v1.")


def test_request_bodies_over_3_mib_get_413(serve: Any) -> None:
    s: Running = serve()
    big = json.dumps({"metadata": {"name": "big", "annotations": {"a": "x" * (3 * 1024 * 1024)}}})
    r = s.http("POST", SVCS, big, {"Content-Type": "application/json"})
    assert r.status == 413
    assert r.json()["message"] == "Request entity too large: limit is 3145728"
    assert r.json()["reason"] == "RequestEntityTooLarge"
    assert s.http("GET", f"{SVCS}/big").status == 404


def test_a_slow_client_times_out(serve: Any) -> None:
    s: Running = serve(request_timeout=1.0)
    host, port = s.server.host, s.server.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST {SVCS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 504"), data[:200]
    assert s.http("GET", SVCS).status == 200  # the server is fine


# --------------------------------------------------------------------------- errors


def test_unknown_paths(serve: Any) -> None:
    s: Running = serve()
    r = s.http("GET", "/nothing/here")
    assert r.status == 404 and r.body == b"404 page not found\n"
    r = s.http("GET", "/apis/networking.k8s.io/v1/widgets")
    assert r.status == 404
    assert r.json()["message"] == "the server could not find the requested resource"
    r = s.http("GET", "/apis/example.com/v1/things")
    assert r.status == 404 and r.body == b"404 page not found\n"
    r = s.http("POST", "/api/v1/events", {"metadata": {"name": "x"}})
    assert r.status == 405


def test_not_found_and_conflict_statuses(serve: Any) -> None:
    s: Running = serve()
    r = s.http("GET", f"{CIDRS}/nope")
    assert r.status == 404
    assert r.json()["message"] == 'servicecidrs.networking.k8s.io "nope" not found'
    assert r.json()["details"] == {
        "name": "nope",
        "group": "networking.k8s.io",
        "kind": "servicecidrs",
    }
    made = s.http("POST", SVCS, _svc("a")).json()
    stale = {**made, "metadata": {**made["metadata"], "resourceVersion": "1"}}
    r = s.http("PUT", f"{SVCS}/a", stale)
    assert r.status == 409
    assert r.json()["message"] == (
        'Operation cannot be fulfilled on services "a": the object has been modified; please '
        "apply your changes to the latest version and try again"
    )


# --------------------------------------------------------------------------- write options


def test_field_validation(serve: Any) -> None:
    s: Running = serve()
    body = {"metadata": {"name": "fv"}, "spec": {"ports": [{"port": 80}], "bogus": 1}}
    r = s.http("POST", SVCS + "?fieldValidation=Strict", body)
    assert r.status == 400
    assert r.json()["message"] == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.bogus"'
    )
    r = s.http("POST", SVCS, body)  # Warn is the default
    assert r.status == 201
    assert r.headers["warning"] == ['299 - "unknown field \\"spec.bogus\\""']
    r = s.http(
        "POST",
        SVCS + "?fieldValidation=Ignore",
        {"metadata": {"name": "fv2"}, "spec": {"ports": [{"port": 80}], "bogus": 1}},
    )
    assert r.status == 201 and "warning" not in r.headers
    dup = '{"metadata":{"name":"d","name":"dup"},"spec":{"ports":[{"port":80}]}}'
    r = s.http("POST", SVCS + "?fieldValidation=Strict", dup, {"Content-Type": "application/json"})
    assert r.status == 400
    assert r.json()["message"].endswith('strict decoding error: duplicate field "metadata.name"')
    r = s.http("POST", SVCS + "?fieldValidation=Bogus", _svc("x"))
    assert r.status == 422
    assert r.json()["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": '
        'supported values: "", "Ignore", "Strict", "Warn"'
    )
    # A patch that adds an unknown field: 422, as kube-apiserver's patch handler says it.
    r = s.http(
        "PATCH",
        f"{SVCS}/fv?fieldValidation=Strict",
        {"spec": {"alsoBogus": True}},
        {"Content-Type": "application/merge-patch+json"},
    )
    assert r.status == 422
    assert 'strict decoding error: unknown field "spec.alsoBogus"' in r.json()["message"]


def test_dry_run_changes_nothing(serve: Any) -> None:
    s: Running = serve()
    before = s.server.call(lambda: s.cluster.revision)
    r = s.http("POST", SVCS + "?dryRun=All", _svc("dry"))
    assert r.status == 201 and r.json()["spec"]["clusterIP"]
    r = s.http("DELETE", f"{SVCS}/kubernetes?dryRun=All")
    assert r.status == 200
    assert s.server.call(lambda: s.cluster.revision) == before
    assert s.http("GET", f"{SVCS}/dry").status == 404
    r = s.http("POST", SVCS + "?dryRun=Some", _svc("dry"))
    assert r.status == 422
    assert "dryRun: Unsupported value" in r.json()["message"]


def test_type_meta_comes_from_the_url_and_missing_content_type_is_json(serve: Any) -> None:
    s: Running = serve()
    # as the Python client sends it: no Content-Type, no apiVersion or kind
    conn = HTTPConnection(s.server.host, s.server.port, timeout=30)
    conn.request("POST", CIDRS, body=json.dumps(_cidr("plain", "10.99.0.0/24")).encode())
    resp = conn.getresponse()
    made = json.loads(resp.read())
    conn.close()
    assert resp.status == 201, made
    assert made["kind"] == "ServiceCIDR"
    assert made["apiVersion"] == "networking.k8s.io/v1"
    r = s.http(
        "POST", "/apis/networking.k8s.io/v1beta1/servicecidrs", _cidr("beta", "10.98.0.0/24")
    )
    assert r.json()["apiVersion"] == "networking.k8s.io/v1beta1"
    r = s.http(
        "POST", CIDRS, {"apiVersion": "networking.k8s.io/v1beta1", **_cidr("x", "10.97.0.0/24")}
    )
    assert r.status == 400
    assert r.json()["message"] == (
        "the API version in the data (networking.k8s.io/v1beta1) does not match the expected "
        "API version (networking.k8s.io/v1)"
    )
    r = s.http(
        "POST",
        "/api/v1/namespaces/other/services",
        {**_svc("n"), "metadata": {"name": "n", "namespace": "default"}},
    )
    assert r.status == 400
    assert r.json()["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )


def test_delete_preconditions_and_responses(serve: Any) -> None:
    s: Running = serve(Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock()))
    made = s.http("POST", CIDRS, _cidr("p", "10.99.0.0/24")).json()
    r = s.http("DELETE", f"{CIDRS}/p", {"preconditions": {"uid": "not-it"}})
    assert r.status == 409
    assert r.json()["message"] == (
        'Operation cannot be fulfilled on servicecidrs.networking.k8s.io "p": Precondition '
        f"failed: UID in precondition: not-it, UID in object meta: {made['metadata']['uid']}"
    )
    r = s.http("DELETE", f"{CIDRS}/p", {"propagationPolicy": "Sideways"})
    assert r.status == 422
    # Held by its finalizer (once the controller has added it): the object, with its
    # deletionTimestamp.
    end = time.monotonic() + 30
    while not s.http("GET", f"{CIDRS}/p").json()["metadata"].get("finalizers"):
        assert time.monotonic() < end, "the controller never added its finalizer"
        time.sleep(0.02)
    r = s.http("DELETE", f"{CIDRS}/p", {"propagationPolicy": "Background"})
    assert r.status == 200
    assert r.json()["kind"] == "ServiceCIDR" and r.json()["metadata"]["deletionTimestamp"]
    # Gone at once: a Status for most kinds, the object for Services.
    s.http("POST", SVCS, _svc("gone"))
    r = s.http("DELETE", f"{SVCS}/gone")
    assert r.json()["kind"] == "Service"
    pol = {
        "metadata": {"name": "pol"},
        "spec": {
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["servicecidrs"],
                    }
                ]
            },
            "validations": [{"expression": "true"}],
        },
    }
    r = s.http("POST", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", pol)
    assert r.status == 201, r.body
    r = s.http("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/pol")
    body = r.json()
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "pol"
    assert body["details"]["kind"] == "validatingadmissionpolicies"


def test_patch_types(serve: Any) -> None:
    s: Running = serve()
    ports = [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]
    assert s.http("POST", SVCS, {"metadata": {"name": "p"}, "spec": {"ports": ports}}).status == 201
    smp = {"spec": {"ports": [{"port": 53, "targetPort": 5353}]}}
    r = s.http(
        "PATCH", f"{SVCS}/p", smp, {"Content-Type": "application/strategic-merge-patch+json"}
    )
    assert r.status == 200
    ports = r.json()["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in ports] == [(80, 80), (53, 5353)]
    jp = [{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]
    r = s.http("PATCH", f"{SVCS}/p", jp, {"Content-Type": "application/json-patch+json"})
    assert r.json()["metadata"]["labels"] == {"x": "y"}
    r = s.http(
        "PATCH",
        f"{SVCS}/p",
        {"metadata": {"labels": None}},
        {"Content-Type": "application/merge-patch+json"},
    )
    assert "labels" not in r.json()["metadata"]
    r = s.http("PATCH", f"{SVCS}/p", {"a": 1}, {"Content-Type": "text/plain"})
    assert r.status == 415
    # the status subresource: only status changes
    r = s.http(
        "PATCH",
        f"{SVCS}/p/status",
        {
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
            "spec": {"type": "NodePort"},
        },
        {"Content-Type": "application/merge-patch+json"},
    )
    assert r.status == 200
    assert r.json()["status"]["loadBalancer"]["ingress"] == [{"ip": "1.2.3.4"}]
    assert r.json()["spec"]["type"] == "ClusterIP"


# --------------------------------------------------------------------------- lists and watches


def test_list_paging_selectors_and_tables(serve: Any) -> None:
    s: Running = serve(Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock()))
    for i in range(5):
        s.http(
            "POST",
            SVCS,
            {
                "metadata": {"name": f"s{i}", "labels": {"i": str(i % 2)}},
                "spec": {"ports": [{"port": 80}]},
            },
        )
    page = s.http("GET", f"{SVCS}?limit=2").json()
    names = [x["metadata"]["name"] for x in page["items"]]
    rv = page["metadata"]["resourceVersion"]
    while page["metadata"].get("continue"):
        page = s.http("GET", f"{SVCS}?limit=2&continue={page['metadata']['continue']}").json()
        assert page["metadata"]["resourceVersion"] == rv
        names += [x["metadata"]["name"] for x in page["items"]]
    assert names == ["kubernetes", "s0", "s1", "s2", "s3", "s4"]
    assert all("kind" not in x for x in page["items"])
    r = s.http("GET", f"{SVCS}?continue=garbage!")
    assert r.status == 400 and r.json()["message"].startswith("invalid continue token")
    odd = s.http("GET", f"{SVCS}?labelSelector=i%3D1").json()
    assert [x["metadata"]["name"] for x in odd["items"]] == ["s1", "s3"]
    r = s.http("GET", f"{SVCS}?fieldSelector=spec.bogus%3D1")
    assert r.status == 400 and r.json()["message"] == "field label not supported: spec.bogus"
    t = s.http(
        "GET",
        f"{SVCS}?fieldSelector=metadata.name%3Ds0",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert t.headers["content-type"] == ["application/json;as=Table;v=v1;g=meta.k8s.io"]
    table = t.json()
    assert [c["name"] for c in table["columnDefinitions"]][:3] == ["Name", "Type", "Cluster-IP"]
    assert [row["cells"][0] for row in table["rows"]] == ["s0"]
    r = s.http("GET", f"{SVCS}?resourceVersion=999999")
    assert r.status == 504
    r = s.http("GET", f"{SVCS}?resourceVersionMatch=Exact")
    assert r.status == 422


def _watch_lines(s: Running, path: str, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The first ``n`` events of a watch, read as a client reads the stream."""
    req = urllib.request.Request(s.url + path)
    out: list[dict[str, Any]] = []
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        assert resp.headers["Content-Type"].startswith("application/json")
        while len(out) < n:
            line = resp.readline()
            if not line:
                break
            out.append(json.loads(line))
    return out


def test_watch_list_and_bookmarks(serve: Any) -> None:
    s: Running = serve(
        Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock()), bookmark_interval=0.2
    )
    s.http("POST", SVCS, _svc("w"))
    events = _watch_lines(
        s,
        f"{SVCS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dw",
        2,
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[0]["object"]["metadata"]["name"] == "w"
    assert events[0]["object"]["kind"] == "Service"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    rv = int(events[1]["object"]["metadata"]["resourceVersion"])
    # a plain watch from that revision with bookmarks: only bookmarks until something changes
    events = _watch_lines(s, f"{SVCS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true", 1)
    assert events[0]["type"] == "BOOKMARK"
    r = s.http("GET", f"{SVCS}?watch=true&sendInitialEvents=true")
    assert r.status == 422
    assert (
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
        in r.json()["message"]
    )


def test_watch_timeout_ends_the_stream(serve: Any) -> None:
    s: Running = serve()
    start = time.monotonic()
    events = _watch_lines(s, f"{CIDRS}?watch=true&timeoutSeconds=1", 10)
    assert [e["type"] for e in events] == ["ADDED"]  # then the stream ended
    assert time.monotonic() - start < 15


def test_watch_table_events(serve: Any) -> None:
    s: Running = serve()
    req = urllib.request.Request(
        s.url + f"{CIDRS}?watch=true&timeoutSeconds=1",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        assert resp.headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
        ev = json.loads(resp.readline())
    assert ev["type"] == "ADDED" and ev["object"]["kind"] == "Table"
    assert ev["object"]["rows"][0]["cells"][:2] == ["kubernetes", "10.96.0.0/24"]


def test_discovery_and_openapi(serve: Any) -> None:
    s: Running = serve()
    agg = s.http(
        "GET",
        "/apis",
        headers={"Accept": AGGREGATED + ",application/json"},
    )
    assert agg.headers["content-type"] == [AGGREGATED]
    groups = [g["metadata"]["name"] for g in agg.json()["items"]]
    assert "networking.k8s.io" in groups
    legacy = s.http("GET", "/apis").json()
    assert legacy["kind"] == "APIGroupList"
    assert s.http("GET", "/api/v1").json()["kind"] == "APIResourceList"
    index = s.http("GET", "/openapi/v3").json()
    assert "apis/networking.k8s.io/v1beta1" in index["paths"]
    url = index["paths"]["apis/networking.k8s.io/v1"]["serverRelativeURL"]
    doc = s.http("GET", url).json()
    assert doc["openapi"].startswith("3.")
    assert s.http("GET", "/healthz").body == b"ok"


def test_a_body_whose_type_meta_is_not_text_is_a_bad_request(serve: Any) -> None:
    """Found by ./dev fuzz through the facade: an apiVersion nested deeper than repr can
    go was formatted into the error; the server answers 400 and stays well."""
    s: Running = serve()
    deep: Any = "v1"
    for _ in range(900):
        deep = [deep]
    for field, value, kind in (("apiVersion", deep, "array"), ("kind", 5, "number")):
        body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
        r = s.http("POST", SVCS, {**body, field: value})
        assert r.status == 400, r.body[:300]
        assert r.json()["message"] == (
            "the object provided is unrecognized (must be of type Service): couldn't get "
            f"version/kind; json parse error: json: cannot unmarshal {kind} into Go struct "
            f"field .{field} of type string"
        )
    assert s.http("GET", SVCS).status == 200
