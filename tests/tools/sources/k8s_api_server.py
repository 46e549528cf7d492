"""A small Kubernetes API server for tests: real JSON at the real list paths, over HTTP.

It serves ``GET /api/v1/<resource>`` and ``GET /apis/<group>/<version>/<resource>`` from
objects the test gives it, with ``limit``/``continue`` pagination, bearer-token auth, and
switches to misbehave the way real servers do: 403 for a resource, 404 for a resource,
410 Gone for continue tokens, slow answers. Every request path is recorded.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


@dataclass
class ApiBehaviour:
    token: str = "good-token"
    forbidden: set[str] = field(default_factory=set)        # paths answered 403
    not_found: set[str] = field(default_factory=set)        # paths answered 404
    expire_continue: dict[str, int] = field(default_factory=dict)  # path -> how many continue tokens get 410
    slow: dict[str, float] = field(default_factory=dict)    # path -> seconds to sleep before answering
    unavailable: dict[str, int] = field(default_factory=dict)  # path -> how many 503 answers first


class FakeKubernetesApi:
    """Serve ``objects[path] = [items]`` on 127.0.0.1:<free port> in a thread."""

    def __init__(self, objects: dict[str, list[dict]], behaviour: ApiBehaviour | None = None):
        self.objects = objects
        self.behaviour = behaviour or ApiBehaviour()
        self.requests: list[str] = []          # full request paths with query
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):      # keep test output quiet
                pass

            def _send(self, code: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (http.server's naming)
                code, doc = api.answer(self.path, self.headers.get("Authorization", ""))
                self._send(code, doc)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeKubernetesApi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, raw_path: str, authorization: str) -> tuple[int, dict]:
        b = self.behaviour
        with self._lock:
            self.requests.append(raw_path)
        parsed = urlparse(raw_path)
        path = parsed.path
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if authorization != f"Bearer {b.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if path in b.slow:
            time.sleep(b.slow[path])
        with self._lock:
            if b.unavailable.get(path, 0) > 0:
                b.unavailable[path] -= 1
                return 503, _status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        if path in b.forbidden:
            resource = path.rsplit("/", 1)[1]
            group = path.split("/")[2] if path.startswith("/apis/") else ""
            return 403, _status(403, "Forbidden",
                                f'{resource}{"." + group if group else ""} is forbidden: User '
                                f'"system:serviceaccount:kube-system:allot-reader" cannot list resource '
                                f'"{resource}" in API group "{group}" at the cluster scope')
        if path in b.not_found or path not in self.objects:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        items = self.objects[path]
        offset = 0
        if query.get("continue"):
            with self._lock:
                if b.expire_continue.get(path, 0) > 0:
                    b.expire_continue[path] -= 1
                    return 410, _status(410, "Expired",
                                        "The provided continue parameter is too old to display a consistent "
                                        "list result. You can start a new list without the continue parameter.")
            offset = int(base64.b64decode(query["continue"]).decode().split(":")[1])
        limit = int(query.get("limit", "0")) or len(items)
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        metadata = {"resourceVersion": "12345"}
        if more:
            metadata["continue"] = base64.b64encode(f"{path}:{offset + limit}".encode()).decode()
            metadata["remainingItemCount"] = len(items) - offset - limit
        kind = (items[0].get("kind") if items else "Object") or "Object"
        return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": metadata, "items": page}


def write_kubeconfig(path: Path, server: str, token: str, context: str = "test-ctx",
                     cluster: str = "arn:aws:eks:eu-west-1:123456789012:cluster/live-test") -> Path:
    """A kubeconfig with one context pointing at ``server`` with a bearer token."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": "tester"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(doc))
    return path
