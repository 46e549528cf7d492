"""The GKE week-over-week explanation's ground truth (issue 4's headline question).

ai-evals' delta is the added ``gpu-l4`` node-hours times the node price (every eval pod
requests its whole GPU node, nothing else runs there); the other planted bill changes are the
``default-pool`` node added for ``recsys/feature-store`` and the vector index's disk. Their sum
must equal the week-over-week change of the written bill, or generation fails.
"""

from __future__ import annotations

from tools.sources.demo import estate_gke
from tools.sources.demo.billing import Ledger, disk_hourly_price
from tools.sources.demo.model import World
from tools.sources.demo.truth_model import ExplainTruth, Window


def _sc(world: World, v):
    return next(s for s in world.storage_classes if (s.cluster, s.name) == (v.cluster, v.storage_class))


def explain_truth(world: World, ledger: Ledger) -> ExplainTruth:
    """GKE this-week vs previous-week from the planted numbers, checked against the ledger."""
    spec, hours = world.spec, world.spec.hours
    cur = range(hours - 168, hours)
    base = range(hours - 336, hours - 168)
    c = "gke-ml"

    def node_cost(pool: str, window: range) -> float:
        price = world.pool(c, pool).hourly_price * world.pool(c, pool).effective_rate
        return sum(price for n in world.nodes if (n.cluster, n.pool) == (c, pool) for h in window
                   if n.start_h <= h < n.end_h)

    v = next(v for v in world.volumes if v.story == "embedding_growth")
    sc = _sc(world, v)
    disk = [sum(disk_hourly_price("gcp", sc, v.size_at(h))[0] for h in w) for w in (base, cur)]
    ai = node_cost("gpu-l4", cur) - node_cost("gpu-l4", base)
    others = {"default-pool node for recsys/feature-store": round(node_cost("default-pool", cur)
                                                                  - node_cost("default-pool", base), 6),
              "embeddings/vector-index disk growth": round(disk[1] - disk[0], 6)}
    days = spec.days
    base_total = ledger.total(c, days=range(days - 14, days - 7), basis="effective")
    cur_total = ledger.total(c, days=range(days - 7, days), basis="effective")
    total = cur_total - base_total
    planted = ai + sum(others.values())
    if abs(planted - total) > 1e-4:
        raise AssertionError(f"gke-ml week-over-week delta {total} != planted deltas {planted}")
    at = spec.at(spec.story_hour(estate_gke.EVAL_DEPLOY_HOUR))
    return ExplainTruth(
        cluster=c, current=Window(start=spec.at(cur.start), end=spec.end),
        baseline=Window(start=spec.at(base.start), end=spec.at(cur.start)),
        baseline_total=round(base_total, 6), current_total=round(cur_total, 6), total_delta=round(total, 6),
        ai_evals_delta=round(ai, 6), ai_evals_share_pct=round(100 * ai / total, 4), other_deltas=others,
        formula="ai_evals_delta = added gpu-l4 node-hours * node price (eval pods request whole GPU nodes); "
                "total_delta = ai_evals_delta + other_deltas (checked against the written bill); "
                "share = 100 * ai_evals_delta / total_delta",
        evidence={"node_pool": "gpu-l4", "job": "ai-evals/eval-harness", "parallelism": "2 -> 6",
                  "deploy": f"ai-evals/eval-controller revision 8 (v1.8.0) at {at.isoformat()}",
                  "deploy_at": at.isoformat(), "owner": "ml-research", "team": "ml-research",
                  "gpu_nodes": "2 -> 6"})
