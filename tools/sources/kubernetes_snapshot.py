"""Reading a folder of ``kubectl get -o json`` List dumps into objects per kind.

Every ``*.json`` file in the folder (names are free) must hold a List: ``kind: List`` as
``kubectl get A B -o json`` writes it, or a typed list such as ``PodList`` from the API. Each
item's kind is its own ``kind`` field, else the typed list's (``PodList`` -> ``Pod``). A file
holding a single object, or any other JSON, is refused with the file named and the fix.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from tools.errors import InputError

WRAP_HINT = (
    "dump lists with `kubectl get pods,nodes,... -A -o json > FILE.json`, or wrap single objects as "
    '{"apiVersion": "v1", "kind": "List", "items": [...]}'
)


def read_list_dump(path: Path) -> dict[str, list[dict]]:
    """The objects of one List dump, per kind."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not readable JSON ({err}); {WRAP_HINT}") from err
    if not isinstance(document, dict):
        raise InputError(f"{path}: the JSON is a {type(document).__name__}, not a Kubernetes List; {WRAP_HINT}")
    list_kind = str(document.get("kind") or "")
    if not list_kind.endswith("List") or not isinstance(document.get("items"), list):
        what = f"a single {list_kind} object" if list_kind else "JSON without `kind` and `items`"
        raise InputError(f"{path}: {what}, not a List; {WRAP_HINT}")
    default_kind = list_kind[: -len("List")] or None
    by_kind: dict[str, list[dict]] = {}
    for index, item in enumerate(document["items"]):
        if not isinstance(item, dict):
            raise InputError(f"{path}: items[{index}] is a {type(item).__name__}, not a Kubernetes object")
        kind = item.get("kind") or default_kind
        if not kind:
            raise InputError(
                f"{path}: items[{index}] has no `kind` and the List does not say it (kind: List); "
                "dump with kubectl, which writes each item's kind"
            )
        by_kind.setdefault(kind, []).append(item)
    return by_kind


def read_snapshot_dir(directory: Path) -> tuple[dict[str, list[dict]], list[Path], datetime]:
    """Objects per kind from every ``*.json`` in ``directory``, the files read, and when they
    were written (the newest file's modification time, naive UTC)."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory; pass the folder holding the List dumps")
    files = sorted(directory.glob("*.json"))
    if not files:
        raise InputError(f"{directory}: no *.json files; {WRAP_HINT}")
    objects: dict[str, list[dict]] = {}
    for path in files:
        for kind, items in read_list_dump(path).items():
            objects.setdefault(kind, []).extend(items)
    newest = max(path.stat().st_mtime for path in files)
    written = datetime.fromtimestamp(newest, timezone.utc).replace(tzinfo=None)
    return objects, files, written
