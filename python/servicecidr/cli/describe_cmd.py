"""``servicecidr describe``: kubectl's describe output for the served kinds."""

from __future__ import annotations

import argparse

from servicecidr.cli.common import IO, Obj, filter_objects, finish, opt, read_request, session
from servicecidr.cli.describe import describe_object, events_for
from servicecidr.errors import ApiError, NotFoundError

__all__ = ["run_describe"]


def run_describe(args: argparse.Namespace, io: IO) -> int:
    sel, fsel, targets, prepared, all_ns, ns = read_request(args, io, "describe")
    show_events = opt(args, "show_events", "true") == "true"
    found: list[Obj] = []
    errors: list[Exception] = []
    prefix_mode = False
    resources = list(opt(args, "resources", []))
    with session(args) as state:
        c = state.cluster
        now = c.clock.now()
        for kind, names in targets.items:
            if not names:
                found.extend(filter_objects(c.list(kind, None if all_ns else ns), sel, fsel))
                continue
            for n in names:
                try:
                    found.append(c.get(kind, n, ns))
                except NotFoundError as e:
                    # `describe TYPE PREFIX` (exactly two arguments): describe every
                    # object whose name starts with PREFIX (DescribeMatchingResources).
                    matches = [
                        o
                        for o in c.list(kind, ns)
                        if str((o.get("metadata") or {}).get("name", "")).startswith(n)
                    ]
                    if len(resources) == 2 and "/" not in resources[0] and matches:
                        found.extend(matches)
                        prefix_mode = True
                    else:
                        errors.append(e)
        for m, info in prepared:
            meta = m.obj["metadata"]
            try:
                found.append(c.get(info.kind, meta.get("name", ""), meta.get("namespace")))
            except ApiError as e:
                errors.append(e)
        events = c.list("Event") if show_events else []
    texts = [describe_object(o, events_for(o, events) if show_events else None, now) for o in found]
    for i, t in enumerate(texts):
        if prefix_mode:
            io.out.write(t + "\n")
        else:
            io.out.write(t if i == 0 else "\n\n" + t)
    if not found and not errors:
        if all_ns:
            io.err.write("No resources found\n")
        else:
            io.err.write(f"No resources found in {ns} namespace.\n")
    return finish(io, errors)
