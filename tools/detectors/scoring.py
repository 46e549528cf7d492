"""Recall, precision and savings accuracy of the waste findings against the demo's ground truth.

A planted story is *found* when a finding has the story's detector and names its object (same
cluster, kind and name; same namespace for namespaced objects; a story on a Namespace is also
found by a finding on a workload in it). Precision counts findings that find a story over all
findings in the clusters the ground truth covers. A finding on a healthy control is listed
separately: there must be none.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from tools.context import Context
from tools.detectors.finding import Finding, ObjectRef
from tools.errors import InputError


class Story(BaseModel):
    """One planted waste story: the object, the detector expected to find it, its savings."""

    id: str
    detector: str
    object: ObjectRef
    monthly_savings: float | None = None


class GroundTruth(BaseModel):
    stories: list[Story] = Field(default_factory=list)
    controls: list[ObjectRef] = Field(default_factory=list, description="Healthy objects: no finding allowed.")
    source: str = ""


class StoryScore(BaseModel):
    story: str
    detector: str
    object: str
    found: bool
    expected_savings: float | None
    found_savings: float | None
    savings_error: float | None = Field(None, description="found / expected - 1")


class ScoreCard(BaseModel):
    recall: float | None
    precision: float | None
    stories: list[StoryScore]
    false_positives: list[str]
    control_findings: list[str]
    max_savings_error: float | None
    source: str

    def lines(self) -> list[str]:
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.2f}"

        found = sum(s.found for s in self.stories)
        out = [f"score against {self.source}: recall {pct(self.recall)} ({found}/{len(self.stories)} stories), "
               f"precision {pct(self.precision)}, findings on controls {len(self.control_findings)}"]
        for s in self.stories:
            err = "" if s.savings_error is None else f" ({s.savings_error:+.1%})"
            exp = "—" if s.expected_savings is None else f"{s.expected_savings:,.2f}"
            got = "—" if s.found_savings is None else f"{s.found_savings:,.2f}"
            out.append(f"  {'found' if s.found else 'MISSED'} {s.detector} {s.object}: expected {exp}, found {got}{err}")
        out += [f"  false positive: {f}" for f in self.false_positives]
        out += [f"  finding on a control: {f}" for f in self.control_findings]
        return out


def matches(obj: ObjectRef, finding: Finding) -> bool:
    f = finding.object
    if f.cluster != obj.cluster:
        return False
    if obj.kind == "Namespace":
        return f.namespace == obj.name or (f.kind == "Namespace" and f.name == obj.name)
    return f.kind == obj.kind and f.name == obj.name and (f.namespace == obj.namespace or not obj.namespace)


def score_findings(findings: list[Finding], truth: GroundTruth, cluster: str | None = None,
                   detector: str | None = None) -> ScoreCard:
    """Score findings against the stories (restricted to a cluster / detector when given)."""
    stories = [s for s in truth.stories if (cluster is None or s.object.cluster == cluster)
               and (detector is None or s.detector == detector)]
    clusters = {s.object.cluster for s in truth.stories} | {c.cluster for c in truth.controls}
    judged = [f for f in findings if f.object.cluster in clusters]
    matched: set[str] = set()
    scores = []
    for s in stories:
        hits = [f for f in judged if f.detector == s.detector and matches(s.object, f)]
        matched.update(f.id for f in hits)
        got = round(sum(f.monthly_savings or 0.0 for f in hits), 2) if hits else None
        err = (got / s.monthly_savings - 1) if got is not None and s.monthly_savings else None
        scores.append(StoryScore(story=s.id, detector=s.detector, object=s.object.label(), found=bool(hits),
                                 expected_savings=s.monthly_savings, found_savings=got, savings_error=err))
    controls = [f"{f.detector} {f.object.label()}" for f in judged
                if any(matches(c, f) for c in truth.controls if cluster is None or c.cluster == cluster)]
    false_pos = [f"{f.detector} {f.object.label()} ({f.monthly_savings})" for f in judged if f.id not in matched]
    errors = [abs(s.savings_error) for s in scores if s.savings_error is not None]
    return ScoreCard(
        recall=sum(s.found for s in scores) / len(scores) if scores else None,
        precision=len(matched) / len(judged) if judged else None,
        stories=scores, false_positives=false_pos, control_findings=controls,
        max_savings_error=max(errors) if errors else None, source=truth.source,
    )


def read_ground_truth(path: Path) -> GroundTruth:
    """Read the demo's ``ground_truth.json`` (a file or the world folder holding it)."""
    from tools.sources.demo.truth_model import load_ground_truth as load_demo_truth

    try:
        demo = load_demo_truth(path)
    except FileNotFoundError:
        raise InputError(f"ground truth {path} not found; build the demo world again with `allot demo`") from None
    except ValueError as err:
        raise InputError(f"ground truth {path} is not a demo ground truth: {err}") from None
    return GroundTruth(
        stories=[Story(id=s.id, detector=s.detector, object=ObjectRef(**s.object.model_dump()),
                       monthly_savings=s.expected_monthly_savings) for s in demo.stories],
        controls=[ObjectRef(**c.object.model_dump()) for c in demo.healthy_controls],
        source=str(path),
    )


def load_ground_truth(ctx: Context) -> GroundTruth:
    """The ground truth of the demo world last built into this warehouse by ``allot demo``.

    ``allot demo`` records its run in ``ingest_runs`` (source 'demo') with the world folder in
    ``detail.files``; the folder holds ``ground_truth.json``.
    """
    row = ctx.db.execute(
        "SELECT detail->>'$.files[0]' FROM ingest_runs WHERE source = 'demo' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if row is None or row[0] is None:
        raise InputError("no demo world in this warehouse; --score needs a warehouse built by `allot demo`")
    return read_ground_truth(Path(row[0]) / "ground_truth.json")
