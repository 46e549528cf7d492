"""Named, ordered schema migrations, recorded in ``schema_migrations``.

Append new migrations at the end; never edit one that has shipped. Conventions:

* every timestamp is a naive ``TIMESTAMP`` in UTC; ``hour`` columns are truncated to the hour
  and stand for the interval ``[hour, hour + 1h)``;
* money is ``DOUBLE`` in the bill's currency; quantities use base units (CPU cores, bytes,
  GPUs), never Kubernetes quantity strings;
* labels, annotations and tags are ``MAP(VARCHAR, VARCHAR)``;
* big hourly fact tables carry no index: writers keep rows unique by replacing whole slices.
"""

from __future__ import annotations

import duckdb

BILLING = """
CREATE TABLE billing_deliveries (
    delivery_id     VARCHAR PRIMARY KEY,   -- one `allot ingest focus` call (or source fetch)
    ingested_at     TIMESTAMP NOT NULL,
    source          VARCHAR NOT NULL,      -- 'focus', 'aws', 'gcp', 'azure', 'demo'
    files           VARCHAR[],
    row_count       BIGINT
);

CREATE TABLE billing_files (
    path            VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    delivery_id     VARCHAR NOT NULL,
    focus_version   VARCHAR NOT NULL,      -- detected: '1.0', '1.1', '1.2', '1.3'
    row_count       BIGINT NOT NULL
);

-- One row per FOCUS charge row, FOCUS columns in snake_case, renamed columns mapped to
-- their newest names. A delivery replaces the (billing_account_id, billing_period_start)
-- slices it contains, so a restated period supersedes the old rows and re-ingesting the
-- same file changes nothing.
CREATE TABLE billing_rows (
    delivery_id                 VARCHAR NOT NULL,
    source_file                 VARCHAR NOT NULL,
    source_row                  BIGINT NOT NULL,   -- 1-based data row in the file
    focus_version               VARCHAR NOT NULL,
    billing_account_id          VARCHAR,
    billing_account_name        VARCHAR,
    sub_account_id              VARCHAR,
    sub_account_name            VARCHAR,
    billing_period_start        TIMESTAMP,
    billing_period_end          TIMESTAMP,
    charge_period_start         TIMESTAMP NOT NULL,
    charge_period_end           TIMESTAMP NOT NULL,
    charge_category             VARCHAR,           -- Usage, Purchase, Tax, Credit, Adjustment
    charge_class                VARCHAR,           -- NULL or Correction
    charge_description          VARCHAR,
    charge_frequency            VARCHAR,
    pricing_category            VARCHAR,
    billed_cost                 DOUBLE NOT NULL,
    effective_cost              DOUBLE NOT NULL,
    list_cost                   DOUBLE,
    contracted_cost             DOUBLE,
    billing_currency            VARCHAR NOT NULL,
    consumed_quantity           DOUBLE,
    consumed_unit               VARCHAR,
    pricing_quantity            DOUBLE,
    pricing_unit                VARCHAR,
    list_unit_price             DOUBLE,
    contracted_unit_price       DOUBLE,
    commitment_discount_id      VARCHAR,
    commitment_discount_type    VARCHAR,
    commitment_discount_category VARCHAR,
    commitment_discount_status  VARCHAR,
    capacity_reservation_id     VARCHAR,
    resource_id                 VARCHAR,
    resource_name               VARCHAR,
    resource_type               VARCHAR,
    region_id                   VARCHAR,
    region_name                 VARCHAR,
    availability_zone           VARCHAR,
    service_name                VARCHAR,
    service_category            VARCHAR,
    service_subcategory         VARCHAR,
    service_provider_name       VARCHAR,
    host_provider_name          VARCHAR,
    invoice_issuer_name         VARCHAR,
    sku_id                      VARCHAR,
    sku_price_id                VARCHAR,
    tags                        MAP(VARCHAR, VARCHAR), -- keys exactly as the bill writes them
    extra                       JSON              -- every other file column by its name: x_*, Id, and
                                                  -- FOCUS columns without a column here (ContractApplied, ...)
);
"""

KUBERNETES = """
-- Every object read from a snapshot (kubectl List dumps or the API), latest state wins.
-- `raw` keeps the object's JSON so detectors and deploy history can read any spec field.
CREATE TABLE k8s_objects (
    cluster         VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- Pod, Node, Deployment, ... (singular, API kind)
    namespace       VARCHAR NOT NULL,      -- '' for cluster-scoped kinds
    name            VARCHAR NOT NULL,
    uid             VARCHAR,
    created_at      TIMESTAMP,
    labels          MAP(VARCHAR, VARCHAR),
    annotations     MAP(VARCHAR, VARCHAR),
    owner_kind      VARCHAR,               -- controller ownerReference, if any
    owner_name      VARCHAR,
    raw             JSON NOT NULL,
    snapshot_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster, kind, namespace, name)
);

CREATE TABLE clusters (
    cluster         VARCHAR PRIMARY KEY,
    provider        VARCHAR,               -- 'aws', 'gcp', 'azure' or NULL when unknown
    region          VARCHAR,
    account_id      VARCHAR                -- billing sub-account / project / subscription
);

-- One row per node ever seen; properties from its latest appearance.
CREATE TABLE nodes (
    cluster             VARCHAR NOT NULL,
    node                VARCHAR NOT NULL,
    provider_id         VARCHAR,           -- spec.providerID
    instance_id         VARCHAR,           -- the part of providerID the bill's ResourceId carries
    instance_type       VARCHAR,
    node_pool           VARCHAR NOT NULL,  -- from nodegroup/nodepool/agentpool labels, else 'default'
    capacity_type       VARCHAR NOT NULL,  -- 'on-demand', 'spot' (committed is seen on the bill)
    region              VARCHAR,
    zone                VARCHAR,
    cpu_allocatable     DOUBLE,            -- cores
    memory_allocatable  DOUBLE,            -- bytes
    gpu_allocatable     DOUBLE,            -- GPUs
    labels              MAP(VARCHAR, VARCHAR),
    created_at          TIMESTAMP,
    PRIMARY KEY (cluster, node)
);

-- A node exists in `hour`; allocatable as of that hour.
CREATE TABLE node_hours (
    cluster             VARCHAR NOT NULL,
    node                VARCHAR NOT NULL,
    hour                TIMESTAMP NOT NULL,
    cpu_allocatable     DOUBLE NOT NULL,
    memory_allocatable  DOUBLE NOT NULL,
    gpu_allocatable     DOUBLE NOT NULL
);

CREATE TABLE namespaces (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    labels          MAP(VARCHAR, VARCHAR),
    created_at      TIMESTAMP,
    deleted_at      TIMESTAMP,             -- last hour seen + 1h when it disappeared, else NULL
    PRIMARY KEY (cluster, namespace)
);

-- Owner chain edges: Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, ...
CREATE TABLE owner_edges (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    owner_kind      VARCHAR NOT NULL,
    owner_name      VARCHAR NOT NULL,
    PRIMARY KEY (cluster, namespace, kind, name)
);

-- Workloads = top controllers (DESIGN.md rule 8), with labels and lifetime.
CREATE TABLE workloads (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod
    name            VARCHAR NOT NULL,
    labels          MAP(VARCHAR, VARCHAR),
    created_at      TIMESTAMP,
    first_seen      TIMESTAMP,
    last_seen       TIMESTAMP,
    PRIMARY KEY (cluster, namespace, kind, name)
);

CREATE TABLE pods (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    pod             VARCHAR NOT NULL,
    uid             VARCHAR,
    node            VARCHAR,
    owner_kind      VARCHAR,               -- direct owner
    owner_name      VARCHAR,
    workload_kind   VARCHAR NOT NULL,      -- top controller
    workload_name   VARCHAR NOT NULL,
    labels          MAP(VARCHAR, VARCHAR),
    created_at      TIMESTAMP,
    first_seen      TIMESTAMP,
    last_seen       TIMESTAMP,
    phase           VARCHAR,               -- last phase seen
    PRIMARY KEY (cluster, namespace, pod)
);

-- The allocation fact table: one row per pod and hour it was scheduled.
-- `fraction` is the share of the hour the pod was Running (0..1]; requests/limits are
-- summed over its containers; usage is the hour's average (memory: the hour's maximum
-- working set); NULL usage means not measured, never zero.
CREATE TABLE pod_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    namespace       VARCHAR NOT NULL,
    pod             VARCHAR NOT NULL,
    node            VARCHAR NOT NULL,
    workload_kind   VARCHAR NOT NULL,
    workload_name   VARCHAR NOT NULL,
    fraction        DOUBLE NOT NULL,
    cpu_request     DOUBLE NOT NULL,       -- cores
    memory_request  DOUBLE NOT NULL,       -- bytes
    gpu_request     DOUBLE NOT NULL,       -- GPUs
    cpu_limit       DOUBLE,
    memory_limit    DOUBLE,
    cpu_usage       DOUBLE,                -- cores, average over the hour
    memory_usage    DOUBLE,                -- bytes, max working set in the hour
    gpu_util        DOUBLE,                -- 0..1 engine activity, NULL when no DCGM
    network_tx_bytes DOUBLE                -- bytes sent in the hour, NULL when unmeasured
);

CREATE TABLE container_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    namespace       VARCHAR NOT NULL,
    pod             VARCHAR NOT NULL,
    container       VARCHAR NOT NULL,
    cpu_request     DOUBLE,
    memory_request  DOUBLE,
    gpu_request     DOUBLE,
    cpu_limit       DOUBLE,
    memory_limit    DOUBLE,
    cpu_usage       DOUBLE,
    memory_usage    DOUBLE,
    gpu_util        DOUBLE
);

-- Pods mounting PVCs (pod spec volumes).
CREATE TABLE pod_volumes (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    pod             VARCHAR NOT NULL,
    pvc             VARCHAR NOT NULL,
    PRIMARY KEY (cluster, namespace, pod, pvc)
);

CREATE TABLE pvcs (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    pvc             VARCHAR NOT NULL,
    volume_name     VARCHAR,               -- bound PV
    storage_class   VARCHAR,
    request_bytes   DOUBLE,
    phase           VARCHAR,
    labels          MAP(VARCHAR, VARCHAR),
    created_at      TIMESTAMP,
    PRIMARY KEY (cluster, namespace, pvc)
);

CREATE TABLE pvs (
    cluster         VARCHAR NOT NULL,
    pv              VARCHAR NOT NULL,
    volume_id       VARCHAR,               -- cloud disk id the bill's ResourceId carries
    storage_class   VARCHAR,
    capacity_bytes  DOUBLE,
    claim_namespace VARCHAR,
    claim_name      VARCHAR,
    phase           VARCHAR,               -- Bound, Available, Released, Failed
    reclaim_policy  VARCHAR,
    created_at      TIMESTAMP,
    PRIMARY KEY (cluster, pv)
);

-- kubelet_volume_stats_* per PVC and hour.
CREATE TABLE volume_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    namespace       VARCHAR NOT NULL,
    pvc             VARCHAR NOT NULL,
    used_bytes      DOUBLE,
    capacity_bytes  DOUBLE
);

CREATE TABLE storage_classes (
    cluster         VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    provisioner     VARCHAR,
    parameters      MAP(VARCHAR, VARCHAR),
    is_default      BOOLEAN NOT NULL,
    PRIMARY KEY (cluster, name)
);

CREATE TABLE services (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    service         VARCHAR NOT NULL,
    type            VARCHAR,
    lb_ingress      VARCHAR,               -- status.loadBalancer.ingress hostname or ip
    lb_id           VARCHAR,               -- the part the bill's ResourceId/ResourceName carries
    selector        MAP(VARCHAR, VARCHAR),
    labels          MAP(VARCHAR, VARCHAR),
    created_at      TIMESTAMP,
    PRIMARY KEY (cluster, namespace, service)
);

CREATE TABLE hpas (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    hpa             VARCHAR NOT NULL,
    target_kind     VARCHAR,
    target_name     VARCHAR,
    min_replicas    INTEGER,
    max_replicas    INTEGER,
    metric_resources VARCHAR[],            -- resources it scales on: ['cpu'], ['memory'], ...
    PRIMARY KEY (cluster, namespace, hpa)
);

-- Spec fields of workloads over time, one row per hour and field, for deploy history and
-- detectors: replicas, parallelism, completions, schedule, concurrency_policy, suspend,
-- hpa_min, hpa_max, hpa_current, hpa_desired.
CREATE TABLE workload_spec_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    namespace       VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    field           VARCHAR NOT NULL,
    value           VARCHAR
);

-- Job runs (kube_job_* and Job objects).
CREATE TABLE job_runs (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    job             VARCHAR NOT NULL,
    cronjob         VARCHAR,               -- owning CronJob, if any
    created_at      TIMESTAMP,
    start_time      TIMESTAMP,
    completion_time TIMESTAMP,
    succeeded       INTEGER,
    failed          INTEGER,
    active          INTEGER,
    parallelism     INTEGER,
    completions     INTEGER,
    backoff_limit   INTEGER,
    PRIMARY KEY (cluster, namespace, job)
);

CREATE TABLE events (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    involved_kind   VARCHAR,
    involved_name   VARCHAR,
    reason          VARCHAR,
    message         VARCHAR,
    type            VARCHAR,
    first_ts        TIMESTAMP,
    last_ts         TIMESTAMP,
    count           INTEGER,
    name            VARCHAR NOT NULL,
    PRIMARY KEY (cluster, namespace, name)
);

-- DCGM per GPU and hour, whether or not a pod holds it.
CREATE TABLE node_gpu_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    node            VARCHAR NOT NULL,
    gpu             VARCHAR NOT NULL,
    active          DOUBLE,                -- 0..1
    fb_used_bytes   DOUBLE,
    source_metric   VARCHAR NOT NULL       -- DCGM_FI_PROF_GR_ENGINE_ACTIVE or DCGM_FI_DEV_GPU_UTIL
);

-- Log bytes ingested per namespace and hour (observability cost driver).
CREATE TABLE namespace_log_hours (
    cluster         VARCHAR NOT NULL,
    hour            TIMESTAMP NOT NULL,
    namespace       VARCHAR NOT NULL,
    log_bytes       DOUBLE NOT NULL
);
"""

INGEST_LOG = """
-- What each ingest did and what it could not find: caveats surface in every answer.
CREATE TABLE ingest_runs (
    run_id          VARCHAR PRIMARY KEY,
    source          VARCHAR NOT NULL,      -- focus, kubernetes, metrics, prometheus, demo, ...
    cluster         VARCHAR,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    status          VARCHAR NOT NULL,      -- ok, partial, failed
    detail          JSON
);

CREATE TABLE data_caveats (
    cluster         VARCHAR NOT NULL,      -- '' when not about one cluster
    source          VARCHAR NOT NULL,
    code            VARCHAR NOT NULL,      -- e.g. no_dcgm, node_unbilled, no_network_metric
    message         VARCHAR NOT NULL,
    recorded_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster, source, code)
);
"""

ALLOCATION = """
-- Every billed dollar of every hour lands in exactly one row here (DESIGN.md rule 1).
-- bucket: workload, idle, shared, unowned_storage, unallocated, external.
--   workload        namespace/workload_kind/workload_name name the top controller
--   idle            namespace '' and workload_name '__idle__', per node_pool
--   shared          workload_name '__shared__:<what>' (control-plane, kube-system, network, ...)
--   unowned_storage workload_name '__unowned_storage__'
--   unallocated     workload_name '__unallocated__' (cluster cost that cannot be traced)
--   external        cluster '' and workload_name = the bill's ServiceName
-- `estimated` rows are priced from the price table, not the bill, and never reconcile.
CREATE TABLE allocation_hours (
    cluster             VARCHAR NOT NULL,
    hour                TIMESTAMP NOT NULL,
    bucket              VARCHAR NOT NULL,
    namespace           VARCHAR NOT NULL,
    workload_kind       VARCHAR NOT NULL,
    workload_name       VARCHAR NOT NULL,
    node_pool           VARCHAR NOT NULL,  -- '' where no node pool applies
    estimated           BOOLEAN NOT NULL,
    cpu_cost            DOUBLE NOT NULL,
    memory_cost         DOUBLE NOT NULL,
    gpu_cost            DOUBLE NOT NULL,
    storage_cost        DOUBLE NOT NULL,
    network_cost        DOUBLE NOT NULL,   -- NAT, data transfer and load balancers
    observability_cost  DOUBLE NOT NULL,
    other_cost          DOUBLE NOT NULL,
    cost                DOUBLE NOT NULL,   -- sum of the parts above
    -- quantities behind the cost, for explain's drivers (NULL where they do not apply).
    -- Workload and shared-namespace rows: sums over their pod-hours, each weighted by the
    -- pod's running fraction. Idle rows: the node pool's unclaimed capacity in the
    -- *_charged_* and gpu_hours columns (allocatable minus what pods paid for).
    pod_hours           DOUBLE,            -- running pod-hours: sum of pod_hours.fraction
    cpu_request_hours   DOUBLE,            -- core-hours requested
    memory_request_gib_hours DOUBLE,
    cpu_usage_hours     DOUBLE,            -- core-hours used (measured part)
    memory_usage_gib_hours DOUBLE,
    cpu_charged_hours   DOUBLE,            -- core-hours paid for: max(request, usage)
    memory_charged_gib_hours DOUBLE,
    gpu_hours           DOUBLE,            -- GPU-hours requested (idle rows: GPU-hours unclaimed)
    network_tx_bytes    DOUBLE             -- bytes sent by the row's pods (measured part)
);

-- The bill spread over hours, with the cluster and what each row pays for: node, volume,
-- load_balancer, control_plane, network, observability, other (cluster cost that cannot be
-- traced) or external (cluster ''). Sums to billing_rows exactly (both cost columns).
CREATE TABLE billing_attribution (
    cluster         VARCHAR NOT NULL,      -- '' for out-of-cluster services
    hour            TIMESTAMP NOT NULL,
    kind            VARCHAR NOT NULL,
    resource_id     VARCHAR,
    resource_name   VARCHAR,
    service_name    VARCHAR,
    billed_cost     DOUBLE NOT NULL,
    effective_cost  DOUBLE NOT NULL
);

-- Owner resolution per workload (DESIGN.md rule 7): where each label came from.
CREATE TABLE workload_owners (
    cluster         VARCHAR NOT NULL,
    namespace       VARCHAR NOT NULL,
    workload_kind   VARCHAR NOT NULL,
    workload_name   VARCHAR NOT NULL,
    owner           VARCHAR NOT NULL,      -- 'unowned' when nothing resolves
    team            VARCHAR,
    service         VARCHAR,
    env             VARCHAR,
    cost_center     VARCHAR,
    workload_type   VARCHAR,
    owner_source    VARCHAR NOT NULL,      -- pod, controller, namespace, owners.yaml, none
    labels          MAP(VARCHAR, VARCHAR), -- the merged labels the owner fields came from
    PRIMARY KEY (cluster, namespace, workload_kind, workload_name)
);
"""

PLANS = """
-- Optimization plans (tools/plans): one row per object, `plan_id` is stable across runs
-- (a hash of cluster, kind, namespace, name and plan kind). `body` is the validated Plan
-- model as JSON; the columns beside it are for listing and ranking. `state` follows the
-- latest review: open, approved or rejected.
CREATE TABLE plans (
    plan_id             VARCHAR PRIMARY KEY,
    cluster             VARCHAR NOT NULL,
    namespace           VARCHAR NOT NULL,
    object_kind         VARCHAR NOT NULL,
    object_name         VARCHAR NOT NULL,
    plan_kind           VARCHAR NOT NULL,  -- optimize, assign_owner
    title               VARCHAR NOT NULL,
    monthly_savings     DOUBLE,            -- NULL when not priced (assign_owner)
    risk                VARCHAR NOT NULL,  -- low, medium, high
    confidence          VARCHAR NOT NULL,  -- low, medium, high
    reviewer            VARCHAR NOT NULL,
    state               VARCHAR NOT NULL,
    body                JSON NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

-- Every review decision, append-only: who, when, what (approve/reject) and why.
CREATE TABLE plan_reviews (
    review_id           VARCHAR PRIMARY KEY,
    plan_id             VARCHAR NOT NULL,
    decision            VARCHAR NOT NULL,  -- approved, rejected
    reviewer            VARCHAR NOT NULL,
    note                VARCHAR,
    reviewed_at         TIMESTAMP NOT NULL,
    plan_body           JSON NOT NULL      -- the plan as it was when reviewed
);
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("0001_billing", BILLING),
    ("0002_kubernetes", KUBERNETES),
    ("0003_ingest_log", INGEST_LOG),
    ("0004_allocation", ALLOCATION),
    ("0008_plans", PLANS),
]


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, in order, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, now()::TIMESTAMP)", [name]
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(name)
    return applied
