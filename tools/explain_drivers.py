"""The arithmetic of explain: split one key's cost delta into drivers that add up exactly.

For one key (a workload, or a non-workload bucket such as ``__idle__``) and one window,
``allocation_hours`` gives the costs per resource and the quantities behind them:

* ``P``  pod-hours;
* CPU: ``R`` requested core-hours, ``C`` charged core-hours (max(request, usage) per pod-hour),
  ``A = C - R`` the part charged above requests, ``X`` CPU cost;
* memory: the same in GiB-hours;
* GPU: ``G`` GPU-hours, ``Y`` GPU cost.

The CPU cost factors as ``X = p * C = p * (P * r + A)`` with the unit price ``p = X / C`` and
the average request per pod-hour ``r = R / P``. Between baseline (0) and current (1) the
change is split with the two-factor Shapley rule (the average of both orders, so nothing
depends on which factor is changed first), applied level by level with bars for midpoints
(``p̄ = (p0 + p1) / 2``):

    ΔX = Δp · C̄                      -> unit_price
       + p̄ · ΔP · r̄                  -> pod_hours              (more pods / replicas)
       + p̄ · P̄ · Δr                  -> requests               (higher requests per pod)
       + p̄ · ΔA                      -> usage_above_requests

This is exact because ``Δ(ab) = Δa·b̄ + ā·Δb`` holds identically. Memory is split the same
way into the same drivers. GPU cost ``Y = g · G`` splits into ``gpu_hours = ḡ · ΔG`` and
``unit_price += Δg · Ḡ``. When one window has zero quantity (and zero cost), its missing
ratio (``p`` or ``r``) is taken from the other window, which keeps the identity exact.

Idle rows carry no pods: their quantity is the node pool's unclaimed capacity (charged
core-hours, GiB-hours, GPU-hours). Their cost ``Z = u · K`` splits into ``unit_price += Δu · K̄``
and ``idle_capacity = ū · ΔK`` (more or less capacity that no pod pays for).

Everything else goes to explicit drivers so the sum is exact:

* ``new_or_removed``: the key has rows in only one of the two windows -> the whole delta;
* ``other``: storage, network, observability and other cost changes, plus the delta of any
  resource whose quantities are missing (NULL) or inconsistent (cost without charged
  quantity), e.g. idle capacity rows. It is computed as ``delta - sum(other drivers)`` so
  floating-point rounding never breaks the sum.

A namespace's drivers are the sums of its workloads' drivers (so a new workload inside an
existing namespace counts as ``new_or_removed``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

DRIVERS: tuple[str, ...] = (
    "pod_hours", "requests", "usage_above_requests", "gpu_hours", "unit_price", "idle_capacity",
    "new_or_removed", "other",
)


@dataclass(frozen=True)
class KeyWindow:
    """One key's sums over one window (``allocation_hours`` columns; None = not measured)."""

    rows: int = 0
    cost: float = 0.0
    cpu_cost: float = 0.0
    memory_cost: float = 0.0
    gpu_cost: float = 0.0
    storage_cost: float = 0.0
    network_cost: float = 0.0
    observability_cost: float = 0.0
    other_cost: float = 0.0
    pod_hours: float | None = None
    cpu_request_hours: float | None = None
    cpu_charged_hours: float | None = None
    memory_request_gib_hours: float | None = None
    memory_charged_gib_hours: float | None = None
    gpu_hours: float | None = None

    @classmethod
    def from_mapping(cls, values: dict) -> "KeyWindow":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _mid(a: float, b: float) -> float:
    return (a + b) / 2.0


def _ratio(num: float, den: float | None) -> float | None:
    return num / den if den else None


def _fill(a: float | None, b: float | None) -> tuple[float, float]:
    """Ratios for both windows; a missing one borrows the other's (both missing -> 0)."""
    if a is None and b is None:
        return 0.0, 0.0
    return (b if a is None else a), (a if b is None else b)


EPS = 1e-9


def _compute_split(
    cost0: float, cost1: float,
    pods0: float | None, pods1: float | None,
    req0: float | None, req1: float | None,
    chg0: float | None, chg1: float | None,
) -> dict[str, float] | None:
    """Split one compute resource's cost change; None when the quantities cannot carry it."""
    if None in (pods0, pods1, req0, req1, chg0, chg1):
        return None
    for cost, pods, req, chg in ((cost0, pods0, req0, chg0), (cost1, pods1, req1, chg1)):
        if chg <= EPS and abs(cost) > EPS:  # cost without a charged quantity: no unit price
            return None
        if pods <= EPS and req > EPS:  # requests without pod-hours: no request per pod
            return None
    p0, p1 = _fill(_ratio(cost0, chg0), _ratio(cost1, chg1))
    r0, r1 = _fill(_ratio(req0, pods0), _ratio(req1, pods1))
    a0, a1 = chg0 - req0, chg1 - req1
    pm = _mid(p0, p1)
    return {
        "unit_price": (p1 - p0) * _mid(chg0, chg1),
        "pod_hours": pm * (pods1 - pods0) * _mid(r0, r1),
        "requests": pm * _mid(pods0, pods1) * (r1 - r0),
        "usage_above_requests": pm * (a1 - a0),
    }


def _gpu_split(cost0: float, cost1: float, g0: float | None, g1: float | None) -> dict[str, float] | None:
    if g0 is None or g1 is None:
        return None if (abs(cost0) > EPS or abs(cost1) > EPS) else {}
    for cost, g in ((cost0, g0), (cost1, g1)):
        if g <= EPS and abs(cost) > EPS:
            return None
    u0, u1 = _fill(_ratio(cost0, g0), _ratio(cost1, g1))
    return {"unit_price": (u1 - u0) * _mid(g0, g1), "gpu_hours": _mid(u0, u1) * (g1 - g0)}


def _capacity_split(cost0: float, cost1: float, k0: float | None, k1: float | None) -> dict[str, float] | None:
    """Idle capacity: cost = unit price x unclaimed quantity."""
    split = _gpu_split(cost0, cost1, k0, k1)
    if split is None:
        return None
    return {"unit_price": split.get("unit_price", 0.0), "idle_capacity": split.get("gpu_hours", 0.0)}


def decompose(base: KeyWindow | None, cur: KeyWindow | None, *, idle: bool = False) -> dict[str, float]:
    """Drivers of ``cur.cost - base.cost``; the values sum exactly to the delta.

    Args:
        base: The key's sums in the baseline window (None or rows=0 when absent).
        cur: The key's sums in the current window (None or rows=0 when absent).
        idle: The key is idle capacity (quantities are unclaimed capacity, no pods).

    Returns:
        A value for every name in :data:`DRIVERS`.
    """
    base = base or KeyWindow()
    cur = cur or KeyWindow()
    delta = cur.cost - base.cost
    drivers = dict.fromkeys(DRIVERS, 0.0)
    if base.rows == 0 or cur.rows == 0:
        drivers["new_or_removed"] = delta
        return drivers
    if idle:
        parts = [
            _capacity_split(base.cpu_cost, cur.cpu_cost, base.cpu_charged_hours, cur.cpu_charged_hours),
            _capacity_split(base.memory_cost, cur.memory_cost, base.memory_charged_gib_hours,
                            cur.memory_charged_gib_hours),
            _capacity_split(base.gpu_cost, cur.gpu_cost, base.gpu_hours, cur.gpu_hours),
        ]
    else:
        parts = [
            _compute_split(base.cpu_cost, cur.cpu_cost, base.pod_hours, cur.pod_hours,
                           base.cpu_request_hours, cur.cpu_request_hours,
                           base.cpu_charged_hours, cur.cpu_charged_hours),
            _compute_split(base.memory_cost, cur.memory_cost, base.pod_hours, cur.pod_hours,
                           base.memory_request_gib_hours, cur.memory_request_gib_hours,
                           base.memory_charged_gib_hours, cur.memory_charged_gib_hours),
            _gpu_split(base.gpu_cost, cur.gpu_cost, base.gpu_hours, cur.gpu_hours),
        ]
    for part in parts:
        for name, value in (part or {}).items():
            drivers[name] += value
    drivers["other"] = delta - sum(v for k, v in drivers.items() if k != "other")
    # Floating-point dust (|x| < 1e-9) from the Shapley midpoints is shown as 0.
    return {k: (0.0 if abs(v) < 1e-9 else v) for k, v in drivers.items()}


NON_COMPUTE = ("storage_cost", "network_cost", "observability_cost", "other_cost")


def other_detail(base: KeyWindow | None, cur: KeyWindow | None) -> dict[str, float]:
    """The non-compute cost changes inside ``other`` (storage, network, observability, other)."""
    base, cur = base or KeyWindow(), cur or KeyWindow()
    if base.rows == 0 or cur.rows == 0:
        return {}
    return {name.removesuffix("_cost"): getattr(cur, name) - getattr(base, name) for name in NON_COMPUTE}


def add_drivers(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    """Sum two driver maps (for rolling workloads up to a namespace)."""
    return {name: total.get(name, 0.0) + part.get(name, 0.0) for name in DRIVERS}


def significant_drivers(drivers: dict[str, float], delta: float, threshold: float = 0.1) -> list[str]:
    """Drivers that move with the delta and carry at least ``threshold`` of it, largest first.

    A delta under half a cent has no main driver.
    """
    if abs(delta) < 0.005:
        return []
    picked = [(v / delta, k) for k, v in drivers.items() if v / delta >= threshold]
    return [k for _, k in sorted(picked, reverse=True)]
