"""Owner resolution per workload (DESIGN.md rule 7), into ``workload_owners``.

For every workload row of ``allocation_hours`` (bucket ``workload``), each of the fields
``owner, team, service, env, cost_center, workload_type`` is read, first non-empty wins, from:

1. the labels of the workload's most recently seen pod (``pods.labels``; ties: last pod name);
2. the top controller's labels (``workloads.labels``; for a load balancer the Service's);
3. the namespace's labels (``namespaces.labels``);
4. ``owners.yaml`` (``settings.allocation.owners_file``): the first entry whose namespace
   glob pattern (``*``, ``?``) matches.

``owner`` falls back to the resolved ``team`` when no ``owner`` label exists (a team is an
owner a FinOps report can route to); otherwise it is ``unowned``. ``owner_source`` says where
the owner came from: ``pod``, ``controller``, ``namespace``, ``owners.yaml`` or ``none``.
``labels`` is the merged map (pod over controller over namespace over owners.yaml), used for
``--by label:KEY`` and label coverage.

owners.yaml format (a list, first match wins; a mapping ``pattern: {fields}`` is accepted too)::

    - namespace: "payments-*"
      owner: alice
      team: payments
      cost_center: cc-104
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from tools.errors import ConfigError

OWNER_FIELDS = ("owner", "team", "service", "env", "cost_center", "workload_type")
SOURCES = ("pod", "controller", "namespace", "yaml")


def load_owner_patterns(path: Path | None) -> list[tuple[str, dict[str, str]]]:
    """Read owners.yaml into ``[(namespace_glob, {field: value})]`` in file order."""
    if path is None:
        return []
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"owners file {path} not found; fix ALLOT_ALLOCATION__OWNERS_FILE or create it")
    try:
        data = yaml.safe_load(path.read_text()) or []
    except yaml.YAMLError as err:
        raise ConfigError(f"owners file {path} is not valid YAML: {err}") from err
    if isinstance(data, dict):
        data = [{"namespace": key, **(value or {})} for key, value in data.items()]
    if not isinstance(data, list):
        raise ConfigError(f"owners file {path}: expected a list of entries with a `namespace` pattern")
    patterns = []
    for i, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not entry.get("namespace"):
            raise ConfigError(f"owners file {path}, entry {i}: needs a `namespace` glob pattern")
        fields = {k: str(v) for k, v in entry.items() if k in OWNER_FIELDS and v not in (None, "")}
        patterns.append((str(entry["namespace"]), fields))
    return patterns


def glob_to_like(pattern: str) -> str:
    """Namespace glob (``*``, ``?``) as a LIKE pattern with ``\\`` escapes."""
    out = []
    for ch in pattern:
        if ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def build_workload_owners(con: duckdb.DuckDBPyConnection, patterns: list[tuple[str, dict[str, str]]]) -> int:
    """Recompute ``workload_owners``; returns the rows written."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _alloc_owner_patterns "
        "(priority INTEGER, pattern VARCHAR, keys VARCHAR[], vals VARCHAR[])"
    )
    if patterns:
        con.executemany(
            "INSERT INTO _alloc_owner_patterns VALUES (?, ?, ?, ?)",
            [[i, glob_to_like(p), list(f), list(f.values())] for i, (p, f) in enumerate(patterns)],
        )
    empty = "MAP {}::MAP(VARCHAR, VARCHAR)"

    def pick(field: str) -> tuple[str, str]:
        values = [f"nullif({src}_l['{field}'], '')" for src in SOURCES]
        value = f"coalesce({', '.join(values)})"
        source = "CASE " + " ".join(
            f"WHEN {v} IS NOT NULL THEN '{'owners.yaml' if src == 'yaml' else src}'"
            for v, src in zip(values, SOURCES)
        ) + " ELSE 'none' END"
        return value, source

    owner, owner_src = pick("owner")
    team, team_src = pick("team")
    others = ", ".join(pick(f)[0] for f in OWNER_FIELDS[2:])
    con.execute("DELETE FROM workload_owners")
    return con.execute(
        f"""
        INSERT INTO workload_owners
        WITH wl AS (
            SELECT DISTINCT cluster, namespace, workload_kind, workload_name
            FROM allocation_hours WHERE bucket = 'workload'
        ),
        pod_labels AS (
            -- the most recently seen pod (pods with no time rank last), ties: the last pod name
            SELECT cluster, namespace, workload_kind, workload_name,
                   arg_max(labels, struct_pack(seen := coalesce(last_seen, first_seen, created_at, '-infinity'::TIMESTAMP),
                                               pod := pod)) AS labels
            FROM pods WHERE labels IS NOT NULL
            GROUP BY cluster, namespace, workload_kind, workload_name
        ),
        yaml_match AS (
            SELECT w.cluster, w.namespace, arg_min(map(p.keys, p.vals), p.priority) AS labels
            FROM (SELECT DISTINCT cluster, namespace FROM wl) w
            JOIN _alloc_owner_patterns p ON w.namespace LIKE p.pattern ESCAPE '\\'
            GROUP BY w.cluster, w.namespace
        ),
        src AS (
            SELECT wl.*,
                   coalesce(pl.labels, {empty}) AS pod_l,
                   coalesce(wk.labels, sv.labels, {empty}) AS controller_l,
                   coalesce(ns.labels, {empty}) AS namespace_l,
                   coalesce(ym.labels, {empty}) AS yaml_l
            FROM wl
            LEFT JOIN pod_labels pl ON pl.cluster = wl.cluster AND pl.namespace = wl.namespace
                 AND pl.workload_kind = wl.workload_kind AND pl.workload_name = wl.workload_name
            LEFT JOIN workloads wk ON wk.cluster = wl.cluster AND wk.namespace = wl.namespace
                 AND wk.kind = wl.workload_kind AND wk.name = wl.workload_name
            LEFT JOIN services sv ON wl.workload_kind = 'Service' AND sv.cluster = wl.cluster
                 AND sv.namespace = wl.namespace AND sv.service = wl.workload_name
            LEFT JOIN namespaces ns ON ns.cluster = wl.cluster AND ns.namespace = wl.namespace
            LEFT JOIN yaml_match ym ON ym.cluster = wl.cluster AND ym.namespace = wl.namespace
        )
        SELECT cluster, namespace, workload_kind, workload_name,
               coalesce({owner}, {team}, 'unowned'),
               {team}, {others},
               CASE WHEN {owner} IS NOT NULL THEN {owner_src} ELSE {team_src} END,
               map_concat(yaml_l, namespace_l, controller_l, pod_l)
        FROM src
        """
    ).fetchall()[0][0]     # an INSERT returns the number of rows it wrote (fetchall: the result is closed)
