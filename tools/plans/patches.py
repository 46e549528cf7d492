"""Ready patches for a plan's action and rollback. allot builds them; it never applies them.

Each change becomes part of one strategic-merge patch per object (YAML) with the
``kubectl patch`` command that applies it:

* ``cpu_request`` / ``memory_request``  the container's ``resources.requests`` (containers merge by name)
* ``parallelism``   ``spec.parallelism`` (Job) or ``spec.jobTemplate.spec.parallelism`` (CronJob)
* ``replicas``      ``spec.replicas`` (Deployment, StatefulSet)
* ``schedule``      ``spec.schedule`` (CronJob)
* ``node_pool``     the pod template's ``nodeSelector`` (pool label) and ``tolerations``
* ``storage_class`` a PVC's ``storageClassName`` is immutable: the patch is a new claim's
  manifest (``<name>-<class>``) to apply, copy the data into, and repoint the workload to
* ``owner_label``   ``metadata.labels.owner`` (``kubectl label``)
* ``suspend``, ``backoff_limit``  ``spec.suspend`` / ``spec.backoffLimit`` of a Job (a CronJob's
  ``spec.suspend`` stops new runs; its ``backoffLimit`` lives under ``jobTemplate``)
* ``concurrency_policy``  a CronJob's ``spec.concurrencyPolicy``

:func:`check_patch` proves a patch is real Kubernetes for its kind: it merges the patch onto
the object (the stored one, else a minimal valid one), deserializes the result with the
kubernetes client's model class (``V1CronJob`` ...) and checks every field of the patch
survives the round trip (the models drop unknown fields).
"""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

import yaml
from kubernetes import client

from tools.errors import InputError
from tools.plans.model import UNSET, Action, FieldChange, Patch

MODEL_CLASS = {
    "Deployment": ("apps/v1", "V1Deployment"),
    "StatefulSet": ("apps/v1", "V1StatefulSet"),
    "DaemonSet": ("apps/v1", "V1DaemonSet"),
    "Job": ("batch/v1", "V1Job"),
    "CronJob": ("batch/v1", "V1CronJob"),
    "PersistentVolumeClaim": ("v1", "V1PersistentVolumeClaim"),
    "Namespace": ("v1", "V1Namespace"),
    "Pod": ("v1", "V1Pod"),
}


def _value(change_value: str, integer: bool = False) -> Any:
    if change_value == UNSET:
        return None  # strategic merge: null deletes the field
    return int(change_value) if integer else change_value


def _pod_spec_path(kind: str) -> list[str]:
    if kind == "CronJob":
        return ["spec", "jobTemplate", "spec", "template", "spec"]
    if kind == "Pod":
        return ["spec"]
    return ["spec", "template", "spec"]


def _nest(path: list[str], leaf: dict) -> dict:
    out: dict = leaf
    for key in reversed(path):
        out = {key: out}
    return out


def strategic_merge(base: dict, patch: dict) -> dict:
    """Apply a strategic-merge patch the way the API server does for the fields plans touch.

    Maps merge recursively, ``null`` deletes, ``containers`` merge by ``name`` and other lists
    replace.
    """
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = strategic_merge(out[key] if isinstance(out.get(key), dict) else {}, value)
        elif key in ("containers", "initContainers") and isinstance(value, list):
            merged = list(copy.deepcopy(out.get(key) or []))
            for item in value:
                found = next((i for i, c in enumerate(merged) if c.get("name") == item.get("name")), None)
                if found is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[found] = strategic_merge(merged[found], item)
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _combine(a: dict, b: dict) -> dict:
    """Compose two patches into one: maps merge, containers merge by name, ``null`` is kept (it
    is the patch's instruction to delete the field when applied)."""
    out = copy.deepcopy(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _combine(out[key], value)
        elif key in ("containers", "initContainers") and isinstance(value, list) and isinstance(out.get(key), list):
            merged = out[key]
            for item in value:
                found = next((i for i, c in enumerate(merged) if c.get("name") == item.get("name")), None)
                if found is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[found] = _combine(merged[found], item)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _change_patch(kind: str, change: FieldChange) -> dict:
    pod = _pod_spec_path(kind)
    if change.field in ("cpu_request", "memory_request"):
        resource = "cpu" if change.field == "cpu_request" else "memory"
        container = {"name": change.container, "resources": {"requests": {resource: _value(change.to_value)}}}
        return _nest(pod, {"containers": [container]})
    if change.field == "parallelism":
        path = ["spec", "jobTemplate", "spec"] if kind == "CronJob" else ["spec"]
        return _nest(path, {"parallelism": _value(change.to_value, integer=True)})
    if change.field in ("suspend", "backoff_limit"):
        key = "suspend" if change.field == "suspend" else "backoffLimit"
        value = None if change.to_value == UNSET else (
            change.to_value == "true" if change.field == "suspend" else int(change.to_value))
        return _nest(["spec", "jobTemplate", "spec"] if kind == "CronJob" and key == "backoffLimit" else ["spec"],
                     {key: value})
    if change.field == "concurrency_policy":
        return {"spec": {"concurrencyPolicy": _value(change.to_value)}}
    if change.field == "replicas":
        return {"spec": {"replicas": _value(change.to_value, integer=True)}}
    if change.field == "schedule":
        return {"spec": {"schedule": _value(change.to_value)}}
    if change.field == "node_pool":
        leaf: dict = {"nodeSelector": {change.pool_label: _value(change.to_value)}}
        if change.tolerations or change.from_tolerations:
            # tolerations have no merge key: the list replaces; empty removes it
            leaf["tolerations"] = [t.model_dump(exclude_none=True) for t in change.tolerations] or None
        return _nest(pod, leaf)
    if change.field == "owner_label":
        return {"metadata": {"labels": {"owner": _value(change.to_value)}}}
    raise InputError(f"no strategic-merge patch for field {change.field!r}")


def _kubectl_target(action: Action) -> str:
    obj = action.object
    ns = f"-n {obj.namespace} " if obj.namespace and obj.kind != "Namespace" else ""
    return f"kubectl --context {obj.cluster} {ns}"


def _storage_class_manifest(action: Action, change: FieldChange, current: dict | None) -> Patch:
    obj = action.object
    spec = copy.deepcopy((current or {}).get("spec") or {})
    for key in ("volumeName", "dataSource", "dataSourceRef"):
        spec.pop(key, None)
    spec.setdefault("accessModes", ["ReadWriteOnce"])
    spec.setdefault("resources", {"requests": {"storage": "10Gi"}})
    spec["storageClassName"] = change.to_value
    new_name = f"{obj.name}-{change.to_value}"[:63].rstrip("-.")
    manifest = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": new_name, "namespace": obj.namespace,
                     "labels": dict(((current or {}).get("metadata") or {}).get("labels") or {})},
        "spec": spec,
    }
    if not manifest["metadata"]["labels"]:
        del manifest["metadata"]["labels"]
    return Patch(
        kind="PersistentVolumeClaim", namespace=obj.namespace, name=new_name, patch_type="manifest",
        body=yaml.safe_dump(manifest, sort_keys=False),
        command=f"{_kubectl_target(action)}apply -f pvc-{new_name}.yaml",
        notes=[f"storageClassName is immutable on a PVC: create {new_name} on {change.to_value}, copy the data "
               f"from {obj.name} ({change.from_value}), point the workload at the new claim, then delete {obj.name}.",
               f"Rollback: keep {obj.name} on {change.from_value} until the workload runs on the new claim."],
    )


def build_patches(action: Action, current: dict | None = None) -> list[Patch]:
    """The patches that apply ``action`` (one strategic-merge patch per object, plus manifests).

    Args:
        action: The plan's action (or its rollback, wrapped as an Action).
        current: The object as stored (``k8s_objects.raw``), used for PVC manifests.
    """
    obj = action.object
    patches: list[Patch] = []
    body: dict = {}
    for change in action.changes:
        if change.field == "storage_class":
            patches.append(_storage_class_manifest(action, change, current))
            continue
        body = _combine(body, _change_patch(obj.kind, change))
    if body:
        fields = {c.field for c in action.changes}
        resource = f"{obj.kind.lower()}/{obj.name}"
        if fields == {"owner_label"}:
            value = action.changes[0].to_value
            label = "owner-" if value == UNSET else f"owner={value}"
            command = f"{_kubectl_target(action)}label {resource} {label} --overwrite"
            patch_type = "label"
        else:
            command = (f"{_kubectl_target(action)}patch {resource} --type strategic "
                       f"-p '{json.dumps(body, separators=(',', ':'))}'")
            patch_type = "strategic"
        patches.insert(0, Patch(kind=obj.kind, namespace=obj.namespace, name=obj.name, patch_type=patch_type,
                                body=yaml.safe_dump(body, sort_keys=False), command=command))
    return patches


# --- proof that a patch is real Kubernetes for its kind -------------------------------------

def skeleton(kind: str, namespace: str, name: str, containers: list[str] | None = None) -> dict:
    """The smallest valid object of ``kind``: what a patch is checked against when none is stored."""
    api_version, _ = MODEL_CLASS[kind]
    meta = {"name": name} if kind == "Namespace" else {"name": name, "namespace": namespace}
    obj: dict = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    pod_spec = {"containers": [{"name": c, "image": "placeholder"} for c in (containers or ["main"])]}
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        obj["spec"] = {"selector": {"matchLabels": {"app": name}}, "template": template}
    elif kind == "Job":
        obj["spec"] = {"template": template}
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "PersistentVolumeClaim":
        obj["spec"] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    elif kind == "Pod":
        obj["spec"] = pod_spec
    return obj


class _Response:
    """What kubernetes<33 ApiClient.deserialize reads: an object with ``.data``."""

    def __init__(self, obj: dict):
        self.data = json.dumps(obj)


def _deserialize(api: client.ApiClient, obj: dict, class_name: str) -> Any:
    if "content_type" in inspect.signature(api.deserialize).parameters:
        return api.deserialize(json.dumps(obj), class_name, "application/json")
    return api.deserialize(_Response(obj), class_name)


def to_model(obj: dict) -> Any:
    """Deserialize a Kubernetes object into the client's model class for its kind."""
    kind = obj.get("kind")
    if kind not in MODEL_CLASS:
        raise InputError(f"patch check: no kubernetes model for kind {kind!r}")
    api = client.ApiClient()
    try:
        return _deserialize(api, obj, MODEL_CLASS[kind][1])
    except (ValueError, TypeError) as err:
        raise InputError(f"patch check: the patched {kind} is not valid: {err}") from None


def _leaves(tree: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(tree, dict):
        out = []
        for key, value in tree.items():
            out.extend(_leaves(value, path + (key,)))
        return out
    if isinstance(tree, list) and tree and all(isinstance(i, dict) and "name" in i for i in tree):
        out = []
        for item in tree:
            out.extend(_leaves({k: v for k, v in item.items() if k != "name"}, path + (f"[name={item['name']}]",)))
        return out
    return [(path, tree)]


def _lookup(tree: Any, path: tuple) -> Any:
    node = tree
    for key in path:
        if isinstance(key, str) and key.startswith("[name="):
            name = key[len("[name="):-1]
            node = next((c for c in (node or []) if c.get("name") == name), None)
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
        if node is None:
            return None
    return node


def check_patch(patch: Patch, current: dict | None = None) -> Any:
    """Prove ``patch`` parses as valid Kubernetes YAML for its kind; return the patched model.

    Raises:
        InputError: The YAML does not parse, the patched object is not a valid ``kind``, or a
            field of the patch is not a field of that kind (names the path).
    """
    try:
        body = yaml.safe_load(patch.body) if patch.body else {}
    except yaml.YAMLError as err:
        raise InputError(f"patch for {patch.kind} {patch.name}: not YAML: {err}") from None
    if not isinstance(body, dict):
        raise InputError(f"patch for {patch.kind} {patch.name}: expected a YAML mapping")
    if patch.patch_type == "manifest":
        patched = body
        if patched.get("kind") != patch.kind:
            raise InputError(f"manifest kind {patched.get('kind')!r} is not {patch.kind}")
    else:
        containers = sorted({str(key)[len("[name="):-1] for path, _ in _leaves(body) for key in path
                             if str(key).startswith("[name=")})
        base = current or skeleton(patch.kind, patch.namespace, patch.name, containers or None)
        patched = strategic_merge(base, body)
    model = to_model(patched)
    round_trip = client.ApiClient().sanitize_for_serialization(model)
    for path, value in _leaves(body):
        if value is None:
            if _lookup(round_trip, path) is not None:
                raise InputError(f"patch for {patch.kind} {patch.name}: {'.'.join(map(str, path))} was not removed")
            continue
        got = _lookup(round_trip, path)
        if got != value:
            raise InputError(f"patch for {patch.kind} {patch.name}: {'.'.join(map(str, path))} is not a field "
                             f"of {patch.kind} (the {MODEL_CLASS[patch.kind][1]} model dropped it)")
    return model
