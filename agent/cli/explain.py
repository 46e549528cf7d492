"""``allot explain``, ``allot node-pools``, ``allot usage``, ``allot changes``: why a cluster's cost moved."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json, print_table
from tools.windows import WINDOW_HELP

ClusterOption = Annotated[str, typer.Option("--cluster", help="Cluster name as stored in the warehouse.")]
CurrentOption = Annotated[str, typer.Option("--current", help=f"Window explained: {WINDOW_HELP}.")]
BaselineOption = Annotated[str, typer.Option(
    "--baseline", help="Window compared against (previous-week = the 7 days before --current).")]
DRIVER_LABELS = {
    "pod_hours": "pod-hours", "requests": "requests", "usage_above_requests": "usage>req", "gpu_hours": "GPU-hours",
    "unit_price": "unit price", "idle_capacity": "idle capacity", "new_or_removed": "new/removed", "other": "other",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _signed(value: float) -> str:
    return f"{value:+,.2f}"


def _driver(row, name: str) -> str:
    text = f"{DRIVER_LABELS[name]} {_signed(row.drivers[name])}"
    if name == "other" and row.other_detail:
        part, value = max(row.other_detail.items(), key=lambda kv: abs(kv[1]))
        text += f" ({part} {_signed(value)})"
    return text


@app.command("explain")
def explain(
    cluster: ClusterOption,
    current: CurrentOption = "this-week",
    baseline: BaselineOption = "previous-week",
    by: Annotated[str, typer.Option("--by", help="namespace or workload.")] = "namespace",
    key: Annotated[str | None, typer.Option("--key", help="Only this namespace (or ns/kind/name).")] = None,
    limit: Annotated[int, typer.Option(help="Rows shown in the table (JSON has all).")] = 15,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Which namespaces or workloads explain a cluster's cost change, with drivers and evidence."""
    from tools.explain import ExplainInput, explain_change
    from tools.errors import InputError

    if by not in ("namespace", "workload"):
        raise InputError(f"--by {by!r}: use namespace or workload")
    with open_context(db) as ctx:
        out = explain_change(ctx, ExplainInput(cluster=cluster, current=current, baseline=baseline, by=by, key=key))
    if json_out:
        print_json(out)
        return
    if out.status != "ok":
        typer.echo(f"no data: {out.reason}")
        return
    if out.headline:
        typer.echo(out.headline)
    typer.echo(f"{out.baseline.label} {out.baseline.start[:16]} .. {out.baseline.end[:16]}  vs  "
               f"{out.current.label} {out.current.start[:16]} .. {out.current.end[:16]}"
               + (f"; billed delta {_signed(out.billed_delta)}" if out.billed_delta is not None else ""))
    rows = []
    for r in out.rows[:limit]:
        drivers = ", ".join(_driver(r, d) for d in r.main_drivers[:3]) or "—"
        pools = ", ".join(f"{p.node_pool}{' (GPU)' if p.gpu else ''} {_signed(p.delta)}" for p in r.node_pools[:2]) or "—"
        who = r.owner if not r.team or r.team == r.owner else f"{r.owner} / {r.team}"
        rows.append([r.key, r.baseline_cost, r.current_cost, _signed(r.delta), _pct(r.share_of_increase), drivers,
                     pools, who or "—"])
    if len(out.rows) > limit:
        rest = out.rows[limit:]
        rows.append([f"({len(rest)} more)", sum(r.baseline_cost for r in rest), sum(r.current_cost for r in rest),
                     _signed(sum(r.delta for r in rest)), _pct(sum(r.share_of_increase or 0 for r in rest)), "", "", ""])
    rows.append(["TOTAL", out.baseline_total, out.current_total, _signed(out.total_delta), "100.0%", "", "", ""])
    print_table(f"Cost change of {out.cluster} by {out.by}",
                [out.by, "baseline", "current", "delta", "share", "main drivers", "node pools", "owner"], rows)
    for r in out.rows[:3]:
        if r.changes:
            typer.echo(f"changes lining up with {r.key}:")
            for c in r.changes[:6]:
                typer.echo(f"  {c.describe()}")
    for caveat in out.caveats:
        typer.echo(f"caveat: {caveat}")


@app.command("node-pools")
def node_pools(
    cluster: ClusterOption,
    current: CurrentOption = "this-week",
    baseline: BaselineOption = "previous-week",
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Cost per node pool, instance type and capacity type, two windows compared; spikes flagged."""
    from tools.node_pool_breakdown import NodePoolInput, node_pool_breakdown

    with open_context(db) as ctx:
        out = node_pool_breakdown(ctx, NodePoolInput(cluster=cluster, current=current, baseline=baseline))
    if json_out:
        print_json(out)
        return
    if out.status != "ok":
        typer.echo(f"no data: {out.reason}")
        return
    if out.headline:
        typer.echo(out.headline)
    rows = []
    for p in out.pools:
        types = ", ".join(sorted({f"{g.instance_type} {g.capacity_type}" for g in p.groups})) or "—"
        bounds = "unknown" if p.autoscaling_max is None else (
            f"{'?' if p.autoscaling_min is None else p.autoscaling_min}..{p.autoscaling_max}")
        rows.append([p.node_pool + (" (spike)" if p.spike else ""), types,
                     "—" if p.baseline_cost is None else p.baseline_cost,
                     "—" if p.current_cost is None else p.current_cost, _signed(p.delta), _pct(p.delta_share),
                     f"{p.baseline_node_hours:.0f} -> {p.current_node_hours:.0f}",
                     f"{p.baseline_gpu_node_hours:.0f} -> {p.current_gpu_node_hours:.0f}",
                     f"{_pct(p.baseline_idle_share)} -> {_pct(p.current_idle_share)}", bounds])
    print_table(f"Node pools of {out.cluster}: {out.baseline.describe()} vs {out.current.describe()}",
                ["node pool", "instance / capacity", "baseline", "current", "delta", "share of increase",
                 "node-hours", "GPU node-hours", "idle share", "autoscaling"], rows)


@app.command("usage")
def usage(
    cluster: ClusterOption,
    window: Annotated[str, typer.Option("--window", help=f"Window: {WINDOW_HELP}.")] = "this-week",
    by: Annotated[str, typer.Option("--by", help="namespace or workload.")] = "namespace",
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only this namespace.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Replicas, pod-hours, requests vs usage (p50/p95/max), allocated cost and owners."""
    from tools.errors import InputError
    from tools.workload_usage import UsageInput, workload_usage

    if by not in ("namespace", "workload"):
        raise InputError(f"--by {by!r}: use namespace or workload")
    with open_context(db) as ctx:
        out = workload_usage(ctx, UsageInput(cluster=cluster, window=window, by=by, namespace=namespace))
    if json_out:
        print_json(out)
        return
    if out.status != "ok":
        typer.echo(f"no data: {out.reason}")
        return

    def res(r, unit: str) -> str:
        if r is None:
            return "—"
        used = "unknown" if r.usage_p50 is None else f"{r.usage_p50:.2f}/{r.usage_p95:.2f}/{r.usage_max:.2f}"
        return f"{r.request_p50:.2f}{unit} | {used}"

    rows = [[r.key, f"{r.replicas_avg:.1f} / {r.replicas_max:.1f}", r.pod_hours, res(r.cpu, ""), res(r.memory, "Gi"),
             res(r.gpu, ""), "—" if r.allocated_cost is None else r.allocated_cost,
             r.owner or (", ".join(r.owners) if r.owners else "—")] for r in out.rows]
    print_table(f"Usage in {out.cluster}, {out.window.describe()} (request p50 | usage p50/p95/max)",
                [out.by, "replicas avg / max", "pod-hours", "CPU cores", "memory GiB", "GPUs", "cost", "owner"], rows)
    for caveat in out.caveats:
        typer.echo(f"caveat: {caveat}")


@app.command("changes")
def changes(
    cluster: ClusterOption,
    window: Annotated[str, typer.Option("--window", help=f"Window: {WINDOW_HELP}.")] = "this-week",
    namespace: Annotated[str | None, typer.Option("--namespace", help="Only this namespace.")] = None,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Include scaling events.")] = True,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Deploys, replica / HPA / parallelism / schedule changes, new and deleted workloads, scaling events."""
    from tools.deploy_history import DeployHistoryInput, deploy_history

    with open_context(db) as ctx:
        out = deploy_history(ctx, DeployHistoryInput(cluster=cluster, window=window, namespace=namespace,
                                                     include_events=events))
    if json_out:
        print_json(out)
        return
    if out.status != "ok":
        typer.echo(f"no data: {out.reason}")
        return
    rows = [[f"{c.timestamp:%Y-%m-%d %H:%M}", c.namespace or "—", f"{c.kind}/{c.name}", c.field,
             c.from_value if c.from_value is not None else "—", c.to_value if c.to_value is not None else "—"]
            for c in out.changes]
    print_table(f"Changes in {out.cluster}, {out.window.describe()}",
                ["time", "namespace", "object", "field", "from", "to"], rows)
