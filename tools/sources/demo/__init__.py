"""The demo world: a deterministic three-cluster estate written as the standard files users have.

``generate_world(out_dir, spec)`` writes FOCUS billing CSVs, ``kubectl get -o json`` List
dumps and OpenMetrics history for one EKS, one GKE and one AKS cluster, plus
``ground_truth.json`` (planted cost stories with expected detectors and savings, healthy
controls, the GKE week-over-week explanation). ``run_demo`` (``allot demo``) then ingests the
files through the real ingest paths. ``WorldSpec.preset('S'|'M'|'L')`` scales the same
generator up for the benchmark, streaming every file.

Modules: ``spec`` (what to generate), ``model``/``builder``/``estate*`` (the estate),
``pods`` (pods and Jobs derived lazily), ``usage`` (deterministic usage), ``billing`` +
``focus_rows`` (FOCUS writer and ledger), ``kube_objects`` + ``kubectl`` (List dumps),
``openmetrics`` (metrics writer), ``stories`` + ``truth_model`` (ground truth), ``generate``,
``runner``.
"""

from tools.sources.demo.generate import WorldFiles, generate_world
from tools.sources.demo.spec import WorldSpec
from tools.sources.demo.truth_model import GroundTruth, load_ground_truth

__all__ = ["GroundTruth", "WorldFiles", "WorldSpec", "generate_world", "load_ground_truth"]
