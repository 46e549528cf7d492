"""A small client for the Prometheus HTTP API (``/api/v1/series``, ``/api/v1/query_range``).

Requests are POSTed form-encoded, so the URL never carries the query and stays short however
long a batched selector gets. Transient failures (connection errors, timeouts, 429 and 5xx)
are retried with exponential backoff; everything else becomes a :class:`SourceError` (or a
:class:`ConfigError` for 401/403) that names the URL, the query and the fix.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tools.errors import ConfigError, SourceError

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def unix_seconds(ts: datetime) -> str:
    """A naive-UTC datetime as the API's float seconds, to the millisecond."""
    millis = round(ts.replace(tzinfo=timezone.utc).timestamp() * 1000)
    return f"{millis // 1000}.{millis % 1000:03d}"


def auth_headers(bearer_token_file: Path | None, headers: list[str] | None) -> dict[str, str]:
    """HTTP headers from ``--bearer-token-file`` and ``--header K=V`` options."""
    out: dict[str, str] = {}
    for item in headers or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--header {item!r} is not KEY=VALUE; e.g. --header X-Scope-OrgID=tenant1")
        out[key.strip()] = value
    if bearer_token_file is not None:
        path = Path(bearer_token_file).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as err:
            raise ConfigError(f"--bearer-token-file {path} cannot be read: {err.strerror}") from None
        if not token:
            raise ConfigError(f"--bearer-token-file {path} is empty; it must hold the token")
        out["Authorization"] = f"Bearer {token}"
    return out


class PrometheusAPI:
    """The few API calls the history ingest needs, with retries."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, *, timeout: float = 120.0,
                 attempts: int = 4, backoff: float = 1.0):
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--url {url!r} must start with http:// or https://, e.g. http://prometheus:9090")
        self.url = url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self.requests = 0                 # approximate under concurrency; for logs only
        self._http = httpx.Client(headers=headers or {}, timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PrometheusAPI":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _post(self, path: str, form: list[tuple[str, str]], what: str) -> object:
        """POST ``form`` to ``path`` and return the ``data`` of a successful answer."""
        endpoint = self.url + path
        body = urlencode(form).encode()
        last = ""
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                response = self._http.post(endpoint, content=body, headers=FORM)
            except httpx.TimeoutException as err:
                last = f"timed out ({type(err).__name__})"
            except httpx.TransportError as err:
                last = f"cannot be reached ({type(err).__name__}: {err})"
            else:
                if response.status_code not in TRANSIENT_STATUS:
                    return self._data(response, endpoint, what)
                last = f"answered {response.status_code} ({self._error_text(response)})"
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                log.info("Prometheus %s %s; retrying in %.1fs (attempt %d/%d)", endpoint, last, delay, attempt,
                         self.attempts)
                time.sleep(delay)
        raise SourceError(
            f"Prometheus at {self.url} {last} after {self.attempts} attempts ({what}); check --url and that "
            f"Prometheus is up (curl {self.url}/-/ready), then rerun"
        )

    @staticmethod
    def _error_text(response: httpx.Response) -> str:
        try:
            doc = response.json()
            return f"{doc.get('errorType', '')}: {doc.get('error', '')}".strip(": ")
        except ValueError:
            return response.text[:200].strip() or response.reason_phrase

    def _data(self, response: httpx.Response, endpoint: str, what: str) -> object:
        if response.status_code in (401, 403):
            raise ConfigError(
                f"Prometheus at {self.url} refused the request with {response.status_code} "
                f"({self._error_text(response)}); pass credentials with --bearer-token-file FILE or "
                f"--header Authorization='Basic ...'"
            )
        if response.status_code != 200:
            raise SourceError(
                f"Prometheus at {self.url} rejected {what} with {response.status_code} "
                f"({self._error_text(response)}) on {endpoint}"
            )
        try:
            doc = response.json()
        except ValueError:
            raise SourceError(
                f"{endpoint} did not answer with Prometheus API JSON (got {response.headers.get('content-type')!r}: "
                f"{response.text[:120]!r}); --url must be the Prometheus server root, e.g. http://prometheus:9090"
            ) from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error") if isinstance(doc, dict) else None
            raise SourceError(f"Prometheus at {self.url} failed {what}: {error or doc!r}")
        for warning in doc.get("warnings") or []:
            log.warning("Prometheus warning for %s: %s", what, warning)
        return doc.get("data")

    def series(self, match: str, start: datetime, end: datetime) -> list[dict[str, str]]:
        """Label sets of the series matching ``match`` with samples in ``[start, end]``."""
        data = self._post(
            "/api/v1/series",
            [("match[]", match), ("start", unix_seconds(start)), ("end", unix_seconds(end))],
            f"the series list for {match}",
        )
        if not isinstance(data, list):
            raise SourceError(f"Prometheus at {self.url} answered the series list for {match} with {type(data).__name__}")
        return data

    def query_range(self, query: str, start: datetime, end: datetime, step_seconds: int) -> list[dict]:
        """The ``matrix`` result of a range query evaluated at start, start+step, ..., end."""
        short = query if len(query) <= 160 else query[:157] + "..."
        data = self._post(
            "/api/v1/query_range",
            [("query", query), ("start", unix_seconds(start)), ("end", unix_seconds(end)),
             ("step", str(step_seconds))],
            f"the query {short}",
        )
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise SourceError(f"Prometheus at {self.url} answered {short} without a matrix result: {data!r:.200}")
        return data.get("result") or []
