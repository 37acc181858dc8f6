"""metav1.Status bodies as kube-apiserver writes them."""

from __future__ import annotations

import json

from servicecidr import Cluster, SimulatedClock
from servicecidr.errors import (
    AlreadyExistsError,
    ApiError,
    BadRequestError,
    ConflictError,
    InternalError,
    InvalidError,
    NotFoundError,
    ServiceCIDRError,
)
from servicecidr.serve import status as s
from servicecidr.serve.patch import apply_patch


def body(err: ApiError) -> str:
    return json.dumps(s.status_body(err), separators=(",", ":"))


def engine_error(fn: object) -> ApiError:
    try:
        fn()  # type: ignore[operator]
    except ApiError as e:
        return e
    raise AssertionError("no error")


def test_not_found_from_the_engine_as_kube_apiserver_sends_it() -> None:
    c = Cluster(service_cluster_ip_range="10.96.0.0/28", seed=1, clock=SimulatedClock())
    err = engine_error(lambda: c.get("ServiceCIDR", "newcidr1"))
    assert body(err) == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"servicecidrs.networking.k8s.io \\"newcidr1\\" not found","reason":"NotFound",'
        '"details":{"name":"newcidr1","group":"networking.k8s.io","kind":"servicecidrs"},'
        '"code":404}'
    )
    # The core group is omitted, not sent empty.
    err = engine_error(lambda: c.get("Service", "nope", namespace="default"))
    assert s.status_body(err)["details"] == {"name": "nope", "kind": "services"}


def test_range_full_internal_error_carries_its_cause() -> None:
    err = InternalError("Internal error occurred: failed to allocate a serviceIP: range is full")
    assert s.status_body(err) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Internal error occurred: failed to allocate a serviceIP: range is full",
        "reason": "InternalError",
        "details": {"causes": [{"message": "failed to allocate a serviceIP: range is full"}]},
        "code": 500,
    }


def test_details_present_exactly_when_go_sets_them() -> None:
    assert "details" not in s.status_body(BadRequestError("x"))
    assert s.status_body(InvalidError("x"))["details"] == {}
    assert s.status_body(AlreadyExistsError("x"))["details"] == {}
    assert s.status_body(NotFoundError("x"))["details"] == {}
    conflict = ConflictError(
        "m", details={"causes": [{"reason": "R", "message": "", "field": ".a"}]}
    )
    assert s.status_body(conflict)["details"] == {"causes": [{"reason": "R", "field": ".a"}]}


def test_plain_errors_have_no_reason() -> None:
    assert s.status_body(ApiError("unable to find api field")) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "unable to find api field",
        "code": 500,
    }


def test_patch_errors_render() -> None:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}
    try:
        apply_patch(obj, b"[]", "application/json-patch+json", api_version="v1", kind="Service")
        apply_patch(
            obj,
            b'[{"op":"remove","path":"/x"}]',
            "application/json-patch+json",
            api_version="v1",
            kind="Service",
        )
    except ApiError as e:
        assert s.status_body(e) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server rejected our request due to an error in our request",
            "reason": "Invalid",
            "details": {},
            "code": 422,
        }
    else:
        raise AssertionError("no error")


def test_http_errors() -> None:
    cases = [
        (s.unauthorized(), 401, "Unauthorized", "Unauthorized", None),
        (
            s.resource_not_found(),
            404,
            "NotFound",
            "the server could not find the requested resource",
            {},
        ),
        (
            s.method_not_allowed(),
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            {},
        ),
        (
            s.method_not_supported(
                "events.events.k8s.io", "events.k8s.io", "events", "deletecollection"
            ),
            405,
            "MethodNotAllowed",
            'deletecollection is not supported on resources of kind "events.events.k8s.io"',
            {"group": "events.k8s.io", "kind": "events"},
        ),
        (
            s.not_acceptable(["application/json", "application/yaml"]),
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
            None,
        ),
        (
            s.unsupported_media_type(["application/json"]),
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json",
            None,
        ),
        (
            s.request_entity_too_large(),
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
            None,
        ),
    ]
    for err, code, reason, message, details in cases:
        b = s.status_body(err)
        assert (b["code"], b["reason"], b["message"]) == (code, reason, message)
        assert b.get("details") == details
        assert isinstance(err, ServiceCIDRError)


def test_expired_and_success() -> None:
    assert s.expired("too old resource version: 5 (120)") == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "too old resource version: 5 (120)",
        "reason": "Expired",
        "code": 410,
    }
    assert s.success({"name": "x", "group": "", "kind": "services", "uid": "u"}) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "x", "kind": "services", "uid": "u"},
    }
    assert s.NOT_FOUND_TEXT == "404 page not found\n"
