"""Ready-made workload models (``servicecidr simulate --preset NAME``).

``servicecidr simulate --preset NAME --show-model`` prints one as YAML, a starting point
for a ``--model FILE`` of your own.
"""

from __future__ import annotations

from servicecidr.errors import InvalidInputError
from servicecidr.sim.workload import Burst, Lifetime, Model, Operator, Stream

__all__ = ["PRESETS", "preset", "preset_names"]

H = 3600.0
M = 60.0

PRESETS: dict[str, Model] = {
    m.name: m
    for m in (
        Model(
            name="seed",
            description=(
                "The seed document as a simulation: a /28 (14 addresses) fills up, the "
                "operator adds newcidr1 10.96.0.0/24 over it, new Services get its addresses."
            ),
            service_cluster_ip_range="10.96.0.0/28",
            duration=1 * H,
            sample_every=1 * M,
            streams=(
                Stream("test", rate=1 / 30, arrival="constant", lifetime=Lifetime("forever", 0)),
            ),
            operator=Operator(threshold=0.9, cidrs=("10.96.0.0/24",)),
        ),
        Model(
            name="seed-at-scale",
            description=(
                "The seed's story at scale: a cluster starts with a /24 and keeps growing "
                "(0.5 Services/s, lognormal lifetimes with a 2 h mean, 50 namespaces); an "
                "operator watching every 10 s adds the next /24 whenever utilization passes "
                "90% and reconciles so it becomes Ready."
            ),
            service_cluster_ip_range="10.96.0.0/24",
            duration=6 * H,
            sample_every=1 * M,
            namespaces=50,
            namespace_skew=1.0,
            streams=(Stream("app", rate=0.5, lifetime=Lifetime("lognormal", 2 * H, 1.0)),),
            operator=Operator(threshold=0.9, prefix_length=24, check_every=10.0),
        ),
        Model(
            name="steady-churn",
            description=(
                "Steady churn: 2 Services/s with exponential lifetimes (6 min mean) in a /22, "
                "about 70% full on average, over 200 namespaces with Zipf-skewed sizes; the "
                "controllers (ServiceCIDR controller, repair loop) run every 10 minutes."
            ),
            service_cluster_ip_range="10.96.0.0/22",
            duration=2 * H,
            sample_every=1 * M,
            namespaces=200,
            namespace_skew=1.1,
            reconcile_every=10 * M,
            streams=(Stream("churn", rate=2.0, lifetime=Lifetime("exponential", 6 * M)),),
            operator=Operator(threshold=0.9, prefix_length=24),
        ),
        Model(
            name="burst",
            description=(
                "Bursts against a slow operator: background Services (0.25/s, 1 h mean "
                "lifetime) in a /23, plus a rollout of 250 Services in 20 s every 45 "
                "minutes. The operator looks once a minute and needs 2 minutes to act, so "
                "a burst can run the range full before the new /24 arrives."
            ),
            service_cluster_ip_range="10.96.0.0/23",
            duration=3 * H,
            sample_every=30.0,
            namespaces=20,
            streams=(Stream("background", rate=0.25, lifetime=Lifetime("exponential", 1 * H)),),
            bursts=(
                Burst(
                    "rollout",
                    at=30 * M,
                    count=250,
                    over=20.0,
                    every=45 * M,
                    lifetime=Lifetime("fixed", 15 * M),
                ),
            ),
            operator=Operator(threshold=0.9, prefix_length=24, check_every=1 * M, delay=2 * M),
        ),
        Model(
            name="dual-stack",
            description=(
                "A dual-stack cluster (10.96.0.0/24 and fd00:10:96::/120) with a policy mix: "
                "40% SingleStack IPv4, 10% SingleStack IPv6, 30% PreferDualStack, 20% "
                "RequireDualStack with IPv6 first. The operator grows each family on its own."
            ),
            service_cluster_ip_range="10.96.0.0/24,fd00:10:96::/120",
            duration=2 * H,
            sample_every=1 * M,
            namespaces=30,
            streams=(
                Stream(
                    "app",
                    rate=0.5,
                    lifetime=Lifetime("lognormal", 1 * H, 0.8),
                    policy_mix=(
                        ("SingleStack", 0.4),
                        ("SingleStack:IPv6", 0.1),
                        ("PreferDualStack", 0.3),
                        ("RequireDualStack:IPv6", 0.2),
                    ),
                ),
            ),
            operator=Operator(
                threshold=0.9, prefix_length=24, ipv6_prefix_length=120, check_every=10.0
            ),
        ),
    )
}


def preset_names() -> list[str]:
    """The preset names, in the order they are listed."""
    return list(PRESETS)


def preset(name: str) -> Model:
    """The preset called ``name``; InvalidInputError naming the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidInputError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
