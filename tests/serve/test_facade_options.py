"""What the server asks of the facade: ``fieldValidation``, the client's actor and the
field manager's ``managedFields``, through ``Cluster``'s verbs down to the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servicecidr import Cluster
from servicecidr.api.users import ADMIN_USER, client_actor, identity_of
from servicecidr.clock import SimulatedClock
from servicecidr.errors import BadRequestError


def _svc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80}], **spec},
    }


def _cidr(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": ["10.97.0.0/24"], **spec},
    }


@pytest.mark.parametrize("obj", [_svc("s", bogus=1), _cidr("c", bogus=1)])
def test_field_validation_reaches_the_registry(obj: dict[str, Any]) -> None:
    c = Cluster("10.96.0.0/24", seed=1)
    kind = obj["kind"]
    with pytest.raises(BadRequestError) as e:
        c.create_with_warnings(obj, field_validation="Strict")
    assert e.value.message == (
        f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: '
        'unknown field "spec.bogus"'
    )
    made, warnings = c.create_with_warnings(obj, dry_run=True, field_validation="Ignore")
    assert warnings == [] and "bogus" not in made["spec"]
    made, warnings = c.create_with_warnings(obj)  # Warn, the default
    assert warnings == ['unknown field "spec.bogus"']
    upd = {**made, "spec": {**made["spec"], "bogus": 2}}
    with pytest.raises(BadRequestError):
        c.update_with_warnings(upd, field_validation="Strict")
    _, warnings = c.update_with_warnings(upd, field_validation="Ignore")
    assert warnings == []


def test_requests_carry_the_clients_actor(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    c = Cluster("10.96.0.0/24", seed=1, clock=SimulatedClock(), audit_log=log)
    c.create_with_warnings(_svc("web"), actor=client_actor("alice"))
    c.delete_with_warnings("Service", "web", actor=client_actor(ADMIN_USER))
    entries = [e for e in c.events() if e.kind == "Service" and e.name == "web"]
    assert [(e.verb, e.actor) for e in entries] == [
        ("create", "client:alice"),
        ("delete", "client:kubernetes-admin"),
    ]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [e for e in events if (e.get("objectRef") or {}).get("name") == "web"]
    assert [(e["verb"], e["user"]["username"]) for e in mine] == [
        ("create", "alice"),
        ("delete", "kubernetes-admin"),
    ]
    assert mine[0]["annotations"]["servicecidr.io/actor"] == "client:alice"
    admin = identity_of(client_actor(ADMIN_USER))
    assert admin.groups == identity_of("user").groups  # the kubeconfig's user is the admin
    assert identity_of("user").username == ADMIN_USER
    assert identity_of(client_actor("alice")).groups == ["system:authenticated"]


def test_managed_fields_are_stored_as_the_field_manager_computed_them() -> None:
    c = Cluster("10.96.0.0/24", seed=1)
    entry = {
        "manager": "m",
        "operation": "Update",
        "apiVersion": "networking.k8s.io/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:cidrs": {}}},
    }
    made, _ = c.create_with_warnings(_cidr("c"), managed_fields=[entry])
    assert made["metadata"]["managedFields"] == [entry]
    assert c.get("ServiceCIDR", "c")["metadata"]["managedFields"] == [entry]
    # without a field manager an update keeps them; [] removes them
    live = c.get("ServiceCIDR", "c")
    live["metadata"]["labels"] = {"a": "b"}
    c.update_with_warnings(live)
    assert c.get("ServiceCIDR", "c")["metadata"]["managedFields"] == [entry]
    c.update_with_warnings(c.get("ServiceCIDR", "c"), managed_fields=[])
    assert "managedFields" not in c.get("ServiceCIDR", "c")["metadata"]
    # the facade's own creates store none (the request's are dropped, as before)
    plain = c.create({**_cidr("d"), "metadata": {"name": "d", "managedFields": [entry]}})
    assert "managedFields" not in plain["metadata"]
