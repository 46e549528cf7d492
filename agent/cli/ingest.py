"""``allot ingest ...``: load bills, cluster state and history into the warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, open_context
from tools.sources.report import IngestReport

ingest_app = typer.Typer(help="Load billing, Kubernetes state and metric history.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")


def _print(report: IngestReport) -> None:
    for line in report.lines():
        typer.echo(line)


@ingest_app.command("focus")
def ingest_focus(
    paths: Annotated[list[Path], typer.Argument(help="FOCUS files: CSV, CSV.gz or Parquet.", exists=True)],
    db: DbOption = None,
) -> None:
    """Ingest FOCUS 1.0-1.3 billing exports (one delivery; restated periods replace older rows)."""
    from tools.sources.focus import ingest_focus_files

    with open_context(db) as ctx:
        _print(ingest_focus_files(ctx, paths))


@ingest_app.command("metrics")
def ingest_metrics(
    paths: Annotated[list[Path], typer.Argument(
        help="OpenMetrics / Prometheus text with timestamps, plain or gzip (several: one after another).",
        exists=True, dir_okay=False)],
    cluster: Annotated[str | None, typer.Option(help="Cluster name (else the series' `cluster` label).")] = None,
    db: DbOption = None,
) -> None:
    """Ingest kube-state-metrics, cAdvisor, kubelet and DCGM history from metrics files.

    Each file is ingested whole or not at all; the allocation is rebuilt once, after the last.
    If a file fails, the files before it stay ingested (and allocated) and the ones after it are
    not read.
    """
    from agent.cli.progress import progress_reporter
    from tools.errors import AllotError
    from tools.sources.after_ingest import allocation_deferred, refresh_allocation
    from tools.sources.metrics_file import ingest_metrics_file
    from tools.warehouse.room import room_errors

    reports, failure = [], None
    with open_context(db) as ctx, progress_reporter("metrics") as progress:
        with allocation_deferred(ctx):
            for path in paths:
                try:
                    with room_errors(ctx, f"Ingesting {path}"):
                        reports.append(ingest_metrics_file(ctx, path, cluster=cluster, progress=progress))
                except AllotError as err:
                    failure = err
                    break
                except BaseException:      # interrupted, or a fault: nothing more is done, say what is in
                    if reports:
                        typer.echo(f"note: stopped after {len(reports)} of {len(paths)} files, which are ingested "
                                   "but not allocated: run `allot allocate --rebuild`", err=True)
                    raise
        if reports:
            refresh_allocation(ctx, progress)
    for report in reports:
        _print(report)
    if failure is not None:
        if len(paths) > 1:
            left = [str(p) for p in paths[len(reports):]]
            typer.echo(f"note: {len(reports)} of {len(paths)} files ingested"
                       f"{' and allocated' if reports else ''}; not ingested: {', '.join(left)}", err=True)
        raise failure


@ingest_app.command("kubernetes")
def ingest_kubernetes(
    cluster: Annotated[
        str | None,
        typer.Option(help="Cluster name, as allocation and queries will call it (live mode: default the "
                          "kubeconfig's cluster name, an EKS ARN or gke_P_Z_NAME shortened to NAME)."),
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Folder of `kubectl get -o json` List dumps (*.json).", file_okay=False),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="Live mode: kubeconfig file (default $KUBECONFIG, else ~/.kube/config).", dir_okay=False),
    ] = None,
    context: Annotated[str | None, typer.Option(help="Live mode: kubeconfig context (default: current-context).")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(help="When the snapshot was taken (UTC; default: the newest dump file's mtime)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Ingest Kubernetes state: nodes, pods, controllers, volumes, services, HPAs, jobs, events.

    With --snapshot DIR it reads kubectl List dumps; otherwise the live cluster of a kubeconfig context.

    Live reads are read-only: deploy/rbac.yaml grants exactly the get/list/watch they need.
    """
    if snapshot is None:
        if at is not None:
            raise typer.BadParameter("--at applies to --snapshot only; a live read is taken now", param_hint="--at")
        from agent.cli.progress import progress_reporter
        from tools.sources.kubernetes_live import ingest_live_cluster

        with open_context(db) as ctx, progress_reporter("kubernetes") as progress:
            report = ingest_live_cluster(ctx, kubeconfig, context, cluster, progress=progress)
        _print(report)
        return
    if kubeconfig is not None or context is not None:
        raise typer.BadParameter("--kubeconfig/--context read a live cluster; drop them with --snapshot DIR",
                                 param_hint="--snapshot")
    if not cluster:
        raise typer.BadParameter("pass --cluster NAME with --snapshot DIR", param_hint="--cluster")
    from tools.sources.kubernetes_objects import ingest_objects
    from tools.sources.kubernetes_snapshot import read_snapshot_dir

    objects, files, written = read_snapshot_dir(snapshot)
    with open_context(db) as ctx:
        report = ingest_objects(ctx, cluster, objects, at or written)
    report.files = [str(f) for f in files]
    _print(report)


@ingest_app.command("prometheus")
def ingest_prometheus_command(
    url: Annotated[str, typer.Option(help="Prometheus server root, e.g. http://prometheus:9090.")],
    window: Annotated[
        str, typer.Option(help="14d, 48h, 2w (ending at the start of the current hour) or START..END (UTC).")
    ] = "14d",
    cluster: Annotated[
        str | None, typer.Option(help="Cluster name (else each series' `cluster` label; selects one of several).")
    ] = None,
    bearer_token_file: Annotated[
        Path | None, typer.Option(help="File holding a bearer token for Prometheus.", dir_okay=False)
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option(help="Extra HTTP header K=V (repeatable), e.g. X-Scope-OrgID=tenant1.")
    ] = None,
    series_budget: Annotated[int, typer.Option(help="Most series one query may select; bigger metrics are split.",
                                               min=1)] = 2000,
    db: DbOption = None,
) -> None:
    """Ingest hourly history (kube-state-metrics, cAdvisor, kubelet, DCGM) from a Prometheus server."""
    from agent.cli.progress import progress_reporter
    from tools.sources.prometheus import ingest_prometheus
    from tools.sources.prometheus_http import auth_headers

    headers = auth_headers(bearer_token_file, header)
    with open_context(db) as ctx, progress_reporter("prometheus") as progress:
        report = ingest_prometheus(ctx, url, window, cluster, headers=headers, series_budget=series_budget,
                                   progress=progress)
    _print(report)
