"""Read a live cluster through a kubeconfig, read-only, and store it like a snapshot.

``fetch_objects`` lists every kind in :mod:`tools.sources.kubernetes_kinds` at cluster scope
with the official ``kubernetes`` client (its kubeconfig loading, auth plugins and TLS), as
plain JSON dicts, paginating with ``limit``/``continue``. ``ingest_live_cluster`` hands the
result to :func:`tools.sources.kubernetes_objects.ingest_objects`, so the data lands in the
same tables as ``allot ingest kubernetes --snapshot DIR``.

What goes wrong, and what happens:

* 401: the credentials are expired or invalid -> :class:`ConfigError` naming the context and
  how to refresh them; nothing is written.
* 403 on one kind: that kind is skipped with a caveat naming the missing RBAC verb and
  resource (``missing RBAC: list cronjobs.batch (cluster scope)``); the rest is read.
* 404: the server does not serve that kind/version -> caveat, carry on.
* 410 Gone on a continue token: the list restarts from the beginning once; a second 410
  skips the kind with a caveat.
* timeouts, connection errors, 429 and 5xx: retried with exponential backoff, then a
  :class:`SourceError`; nothing is written.

Secrets are never requested (``kubernetes_kinds.list_path`` refuses them).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from tools.context import Context
from tools.errors import ConfigError, SourceError
from tools.progress import ProgressCallback, no_progress
from tools.sources.ingest_log import record_caveats
from tools.sources.kubernetes_kinds import KINDS, Kind, list_path
from tools.sources.report import IngestReport

log = logging.getLogger(__name__)

REFRESH_HINT = (
    "refresh the credentials (EKS: `aws eks update-kubeconfig --name CLUSTER`; GKE: "
    "`gcloud container clusters get-credentials CLUSTER`; AKS: `az aks get-credentials -n CLUSTER "
    "-g GROUP`; a ServiceAccount: a new token)"
)
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass
class FetchCaveat:
    code: str
    message: str


@dataclass
class LiveSnapshot:
    """What one live read returned: objects per kind and what could not be read."""

    context: str
    server: str
    cluster_name: str                      # from the kubeconfig's cluster entry
    objects_by_kind: dict[str, list[dict]] = field(default_factory=dict)
    caveats: list[FetchCaveat] = field(default_factory=list)
    requests: int = 0


class _KindSkipped(Exception):
    def __init__(self, caveat: FetchCaveat):
        super().__init__(caveat.message)
        self.caveat = caveat


def cluster_name_from_kubeconfig(name: str) -> str:
    """The short cluster name in a kubeconfig cluster entry.

    ``arn:aws:eks:eu-west-1:123:cluster/prod`` -> ``prod`` (aws eks update-kubeconfig),
    ``gke_project_zone_prod`` -> ``prod`` (gcloud), anything else unchanged (AKS uses the name).
    """
    if name.startswith("arn:aws:eks:") and "/" in name:
        return name.rsplit("/", 1)[1]
    if name.startswith("gke_") and name.count("_") >= 3:
        return name.split("_", 3)[3]
    return name


def _load_client(kubeconfig: Path | None, context: str | None) -> tuple[k8s_client.ApiClient, str, str, str]:
    """An ApiClient for ``context`` in ``kubeconfig``; returns (client, context, server, cluster name)."""
    if kubeconfig is not None:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"kubeconfig {path} does not exist; pass --kubeconfig PATH to a kubeconfig file")
        config_file: str | None = str(path)
    else:
        config_file = None
        env = os.environ.get("KUBECONFIG")
        default = Path.home() / ".kube" / "config"
        if not env and not default.is_file():
            raise ConfigError(
                f"no kubeconfig: $KUBECONFIG is not set and {default} does not exist; "
                "pass --kubeconfig PATH, or `allot ingest kubernetes --snapshot DIR` for kubectl dumps"
            )
    where = config_file or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    try:
        contexts, active = k8s_config.list_kube_config_contexts(config_file=config_file)
    except (ConfigException, OSError, ValueError) as err:
        raise ConfigError(f"kubeconfig {where} cannot be read: {err}") from None
    names = [c["name"] for c in contexts or []]
    chosen = next((c for c in contexts or [] if c["name"] == context), None) if context else active
    if chosen is None:
        if context:
            raise ConfigError(
                f"context {context!r} is not in kubeconfig {where}; pass --context with one of: "
                + (", ".join(names) or "(none)")
            )
        raise ConfigError(f"kubeconfig {where} has no current-context; pass --context with one of: {', '.join(names)}")
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=config_file, context=chosen["name"], client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, OSError, ValueError) as err:
        raise ConfigError(f"context {chosen['name']!r} in kubeconfig {where} cannot be used: {err}") from None
    configuration.retries = False          # retries and backoff are ours, below
    cluster_entry = (chosen.get("context") or {}).get("cluster") or chosen["name"]
    return k8s_client.ApiClient(configuration), chosen["name"], configuration.host, cluster_entry


def _status_message(body: bytes) -> str:
    """The ``message`` of a Kubernetes Status body, else the body's first 200 characters."""
    try:
        doc = json.loads(body or b"{}")
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])
    except ValueError:
        pass
    return (body or b"").decode("utf-8", "replace")[:200].strip()


class _Lister:
    def __init__(self, api: k8s_client.ApiClient, context: str, server: str, *, page_size: int,
                 timeout: float, attempts: int, backoff: float):
        self.api = api
        self.context = context
        self.server = server
        self.page_size = page_size
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.requests = 0

    def _get(self, path: str, query: list[tuple[str, str | int]]) -> tuple[int, bytes]:
        """One GET with retries for timeouts, connection errors, 429 and 5xx."""
        last = ""
        for attempt in range(1, self.attempts + 1):
            method, url, headers, _body, _post = self.api.param_serialize(
                "GET", path, query_params=list(query), header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            self.requests += 1
            try:
                response = self.api.call_api(method, url, headers, _request_timeout=self.timeout)
                data = response.read()
            except urllib3.exceptions.HTTPError as err:
                reason = getattr(err, "reason", None) or err
                kind = "timed out" if isinstance(reason, urllib3.exceptions.TimeoutError) else "failed"
                last = f"{kind} ({type(reason).__name__}: {reason})"
            except k8s_client.ApiException as err:   # TLS problems surface as status 0
                last = f"failed ({err.reason})"
            else:
                if response.status not in TRANSIENT_STATUS:
                    return response.status, data
                last = f"answered {response.status} {_status_message(data)}"
                retry_after = response.headers.get("Retry-After")
                if retry_after and retry_after.isdigit() and attempt < self.attempts:
                    time.sleep(min(float(retry_after), 30.0))
                    continue
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                log.info("GET %s %s; retrying in %.1fs (attempt %d/%d)", path, last, delay, attempt, self.attempts)
                time.sleep(delay)
        raise SourceError(
            f"the API server {self.server} (context {self.context!r}) {last} on GET {path} after "
            f"{self.attempts} attempts; check that it is reachable (VPN, firewall, the kubeconfig's "
            f"server address) and rerun, or use `allot ingest kubernetes --snapshot DIR`"
        )

    def list_kind(self, kind: Kind, on_page) -> list[dict]:
        """All items of ``kind``, page by page; restarts once on 410 Gone."""
        path = list_path(kind)
        for restart in range(2):
            items: list[dict] = []
            token = ""
            while True:
                query: list[tuple[str, str | int]] = [("limit", self.page_size)]
                if token:
                    query.append(("continue", token))
                status, body = self._get(path, query)
                if status == 200:
                    doc = json.loads(body)
                    for item in doc.get("items") or []:
                        # list items carry no kind/apiVersion; kubectl adds them, so do we
                        item.setdefault("kind", kind.kind)
                        item.setdefault("apiVersion", kind.group_version)
                        items.append(item)
                    on_page(kind, len(items))
                    token = (doc.get("metadata") or {}).get("continue") or ""
                    if not token:
                        return items
                    continue
                message = _status_message(body)
                if status == 410 and token:
                    if restart == 0:
                        log.info("continue token for %s expired (410 Gone); restarting the list", kind.rbac_name)
                        break
                    raise _KindSkipped(FetchCaveat(
                        f"expired_continue:{kind.rbac_name}",
                        f"{kind.kind} objects were not read: the list's continue token expired twice "
                        f"(410 Gone: {message}); rerun the ingest, ideally with a larger --page-size",
                    ))
                if status == 401:
                    raise ConfigError(
                        f"the API server {self.server} rejected the credentials of context {self.context!r} "
                        f"(401 Unauthorized on GET {path}: {message}); the token is expired or invalid: "
                        f"{REFRESH_HINT}, then rerun `allot ingest kubernetes --context {self.context}`"
                    )
                if status == 403:
                    raise _KindSkipped(FetchCaveat(
                        f"rbac_forbidden:{kind.rbac_name}",
                        f"missing RBAC: list {kind.rbac_name} (cluster scope); apply deploy/rbac.yaml "
                        f"(`kubectl apply -f deploy/rbac.yaml`) or grant get/list/watch on {kind.rbac_name}; "
                        f"{kind.kind} objects were not read (server said: {message})",
                    ))
                if status == 404:
                    raise _KindSkipped(FetchCaveat(
                        f"not_served:{kind.rbac_name}",
                        f"the API server does not serve {kind.resource} in {kind.group_version} "
                        f"(404 on GET {path}); {kind.kind} objects were not read",
                    ))
                raise SourceError(
                    f"the API server {self.server} (context {self.context!r}) answered {status} on GET "
                    f"{path}: {message}"
                )
        raise AssertionError("unreachable")


def fetch_objects(
    kubeconfig: Path | None,
    context: str | None,
    *,
    kinds: tuple[Kind, ...] = KINDS,
    page_size: int = 500,
    timeout: float = 30.0,
    attempts: int = 3,
    backoff: float = 1.0,
    progress: ProgressCallback = no_progress,
) -> LiveSnapshot:
    """List every kind in ``kinds`` from the cluster of ``context``, read-only.

    Args:
        kubeconfig: The kubeconfig file; None reads $KUBECONFIG or ~/.kube/config.
        context: The kubeconfig context; None uses its current-context.
        kinds: What to read (default: all of ``kubernetes_kinds.KINDS``).
        page_size: Objects per list request (``limit``).
        timeout: Seconds per request before it counts as timed out.
        attempts: Tries per request for timeouts, connection errors, 429 and 5xx.
        backoff: Seconds before the first retry; doubles each retry.
        progress: ``(step, done, total)`` callback, called once per page.

    Returns:
        The objects per kind (kinds that could not be read are absent) and the caveats.

    Raises:
        ConfigError: The kubeconfig or context is unusable, or the credentials are rejected (401).
        SourceError: The API server is unreachable, keeps timing out or fails.
    """
    api, ctx_name, server, cluster_entry = _load_client(kubeconfig, context)
    snapshot = LiveSnapshot(context=ctx_name, server=server, cluster_name=cluster_name_from_kubeconfig(cluster_entry))
    lister = _Lister(api, ctx_name, server, page_size=page_size, timeout=timeout, attempts=attempts, backoff=backoff)
    done_kinds = 0

    def on_page(kind: Kind, count: int) -> None:
        progress(f"{kind.rbac_name}: {count} objects", done_kinds, len(kinds))

    try:
        for kind in kinds:
            try:
                snapshot.objects_by_kind[kind.kind] = lister.list_kind(kind, on_page)
                log.info("read %d %s from %s", len(snapshot.objects_by_kind[kind.kind]), kind.rbac_name, ctx_name)
            except _KindSkipped as skipped:
                log.warning("%s", skipped.caveat.message)
                snapshot.caveats.append(skipped.caveat)
            done_kinds += 1
            progress(f"{kind.rbac_name} done", done_kinds, len(kinds))
    finally:
        snapshot.requests = lister.requests
        api.close()
    return snapshot


def ingest_live_cluster(
    ctx: Context,
    kubeconfig: Path | None = None,
    context: str | None = None,
    cluster: str | None = None,
    *,
    progress: ProgressCallback = no_progress,
    **fetch_options,
) -> IngestReport:
    """Read a live cluster and store it as a snapshot taken now (``ctx.clock()``).

    Args:
        ctx: The warehouse context.
        kubeconfig: The kubeconfig file; None reads $KUBECONFIG or ~/.kube/config.
        context: The kubeconfig context; None uses its current-context.
        cluster: The cluster name in the warehouse; None uses the kubeconfig's cluster name
            (an EKS ARN or gke_PROJECT_ZONE_NAME shortened to NAME).
        progress: ``(step, done, total)`` callback.
        **fetch_options: page_size, timeout, attempts, backoff (see :func:`fetch_objects`).

    Returns:
        The report of ``ingest_objects`` plus the kinds that could not be read as caveats.
    """
    from tools.sources.kubernetes_objects import ingest_objects

    snapshot = fetch_objects(kubeconfig, context, progress=progress, **fetch_options)
    name = cluster or snapshot.cluster_name
    snapshot_at: datetime = ctx.clock()
    report = ingest_objects(ctx, name, snapshot.objects_by_kind, snapshot_at)
    _record_caveats(ctx, name, snapshot.caveats, snapshot_at)
    report.caveats.extend(c.message for c in snapshot.caveats)
    return report


CAVEAT_PREFIXES = ("rbac_forbidden", "not_served", "expired_continue")


def _record_caveats(ctx: Context, cluster: str, caveats: list[FetchCaveat], at: datetime) -> None:
    """Store this read's caveats; those of earlier reads that no longer apply are dropped."""
    managed = tuple(f"{prefix}:{kind.rbac_name}" for prefix in CAVEAT_PREFIXES for kind in KINDS)
    record_caveats(ctx.db, cluster, "kubernetes", {c.code: c.message for c in caveats},
                   managed_codes=managed, recorded_at=at)
