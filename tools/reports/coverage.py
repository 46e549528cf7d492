"""Label coverage and the AI-versus-core split of allocated workload cost.

**Coverage**: the share of direct workload cost whose workload carries each of the labels
``owner, team, service, env, cost_center, workload_type`` after owner resolution
(``workload_owners``: pod, controller, namespace, owners.yaml), and the most expensive
workloads missing any of them.

**AI vs core**: a workload is AI when its ``workload_type`` names an AI kind (eval, embedding,
serving/inference, training, batch-ml, ...), when it paid for GPUs, or when its name says so
(``eval``, ``embed``, ``inference``, ``llm``, ``train``); its category is the first of those
that applies. Idle of GPU node pools counts as AI (GPU capacity kept for AI work); all other
cost is core.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.context import Context
from tools.windows import Window

LABELS = ("owner", "team", "service", "env", "cost_center", "workload_type")
AI_TYPES = {
    "eval": ("eval", "evals", "evaluation", "ai-eval", "llm-eval"),
    "embedding": ("embedding", "embeddings", "embed", "vector", "indexing"),
    "serving": ("serving", "inference", "model-serving", "llm-serving"),
    "training": ("training", "train", "fine-tuning", "finetune", "batch-ml", "ml"),
}
_NAME_HINTS = (("eval", "eval"), ("embed", "embedding"), ("inference", "serving"), ("serving", "serving"),
               ("llm", "serving"), ("train", "training"))


class UnlabelledWorkload(BaseModel):
    cluster: str
    namespace: str
    kind: str
    name: str
    cost: float
    missing: list[str]


class LabelCoverage(BaseModel):
    direct_cost: float = Field(description="Direct workload cost the shares are of.")
    share: dict[str, float] = Field(description="Percent of direct cost whose workload has the label.")
    top_unlabelled: list[UnlabelledWorkload] = Field(default_factory=list)


class AiCategory(BaseModel):
    category: str
    cost: float
    previous_cost: float | None


class AiSplit(BaseModel):
    ai_cost: float
    core_cost: float
    ai_share: float = Field(description="Percent of the window's allocated cost that is AI.")
    previous_ai_cost: float | None
    previous_core_cost: float | None
    categories: list[AiCategory] = Field(default_factory=list)
    rule: str = ""


def label_coverage(ctx: Context, window: Window, cluster: str | None, top: int = 10) -> LabelCoverage:
    """Share of direct workload cost carrying each owner label, and the top workloads missing some."""
    checks = ", ".join(
        f"o.{name} IS NOT NULL AND o.{name} <> '' AND o.{name} <> 'unowned' AS has_{name}" for name in LABELS)
    rows = ctx.db.execute(
        f"""SELECT a.cluster, a.namespace, a.workload_kind, a.workload_name, sum(a.cost) AS cost,
                   {', '.join(f'coalesce(bool_or(has_{n}), false)' for n in LABELS)}
            FROM allocation_hours a
            LEFT JOIN (SELECT *, {checks} FROM workload_owners o) o
              ON o.cluster = a.cluster AND o.namespace = a.namespace AND o.workload_kind = a.workload_kind
             AND o.workload_name = a.workload_name
            WHERE a.bucket = 'workload' AND a.hour >= ? AND a.hour < ? AND (? IS NULL OR a.cluster = ?)
            GROUP BY ALL""",
        [window.start, window.end, cluster, cluster],
    ).fetchall()
    total = sum(r[4] for r in rows)
    share = {n: (100.0 * sum(r[4] for r in rows if r[5 + i]) / total if total else 0.0) for i, n in enumerate(LABELS)}
    missing = []
    for r in rows:
        lacks = [n for i, n in enumerate(LABELS) if not r[5 + i]]
        if lacks:
            missing.append(UnlabelledWorkload(cluster=r[0], namespace=r[1], kind=r[2], name=r[3], cost=r[4],
                                              missing=lacks))
    missing.sort(key=lambda u: (-u.cost, u.namespace, u.name))
    return LabelCoverage(direct_cost=total, share=share, top_unlabelled=missing[:top])


def _category_sql() -> str:
    whens = []
    for category, values in AI_TYPES.items():
        vals = ", ".join(f"'{v}'" for v in values)
        whens.append(f"WHEN lower(coalesce(o.workload_type, '')) IN ({vals}) THEN '{category}'")
    whens.append("WHEN a.gpu_cost > 0 OR coalesce(a.gpu_hours, 0) > 0 THEN 'gpu'")
    for hint, category in _NAME_HINTS:
        whens.append(f"WHEN lower(a.workload_name) LIKE '%{hint}%' OR lower(a.namespace) LIKE '%{hint}%' "
                     f"THEN '{category}'")
    return "CASE WHEN a.bucket = 'idle' AND a.node_pool IN (SELECT node_pool FROM gpu_pools) THEN 'gpu-idle' " \
           "WHEN a.bucket <> 'workload' THEN 'core' " + " ".join(whens) + " ELSE 'core' END"


def _ai_costs(ctx: Context, w: Window, cluster: str | None) -> dict[str, float]:
    rows = ctx.db.execute(
        f"""WITH gpu_pools AS (SELECT DISTINCT node_pool FROM nodes WHERE coalesce(gpu_allocatable, 0) > 0
                               AND (? IS NULL OR cluster = ?))
            SELECT {_category_sql()} AS category, sum(a.cost)
            FROM allocation_hours a
            LEFT JOIN workload_owners o ON a.bucket = 'workload' AND o.cluster = a.cluster
                 AND o.namespace = a.namespace AND o.workload_kind = a.workload_kind AND o.workload_name = a.workload_name
            WHERE a.hour >= ? AND a.hour < ? AND (? IS NULL OR a.cluster = ?)
            GROUP BY 1""",
        [cluster, cluster, w.start, w.end, cluster, cluster],
    ).fetchall()
    return {c: v for c, v in rows}


def ai_split(ctx: Context, window: Window, previous: Window, cluster: str | None) -> AiSplit:
    """AI workload cost (by category) against core cost, now and in the previous window."""
    now = _ai_costs(ctx, window, cluster)
    before = _ai_costs(ctx, previous, cluster)
    ai = sum(v for c, v in now.items() if c != "core")
    core = now.get("core", 0.0)
    categories = [AiCategory(category=c, cost=v, previous_cost=before.get(c) if before else None)
                  for c, v in sorted(now.items(), key=lambda kv: -kv[1]) if c != "core"]
    return AiSplit(
        ai_cost=ai, core_cost=core, ai_share=100.0 * ai / (ai + core) if ai + core else 0.0,
        previous_ai_cost=sum(v for c, v in before.items() if c != "core") if before else None,
        previous_core_cost=before.get("core", 0.0) if before else None,
        categories=categories,
        rule="AI = workload_type eval/embedding/serving/training, GPU cost, or an eval/embed/inference/llm/train "
             "name; idle of GPU node pools counts as AI (gpu-idle)",
    )
