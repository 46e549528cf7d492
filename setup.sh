#!/usr/bin/env bash
# Sets allot up in ./.venv on a fresh machine.
#   ./setup.sh          the program and its Python dependencies
#   ./setup.sh --test   also the test dependencies and the real servers the tests start
#                       (Debian packages: prometheus for history tests, chromium for report tests)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ "${1:-}" = "--test" ]; then
  extras=".[dev]"
else
  extras="."
fi
# Re-install only when pyproject.toml changed since the last install.
stamp=".venv/.allot-installed-$(sha1sum pyproject.toml | cut -c1-12)-${1:-run}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$extras"
  touch "$stamp"
fi

if [ "${1:-}" = "--test" ]; then
  need=()
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
      # The Debian package starts a Prometheus service on :9090; tests start their own.
      (systemctl stop prometheus || service prometheus stop || pkill -x prometheus) >/dev/null 2>&1 || true
    else
      echo "setup.sh: install these Debian packages for the server tests: ${need[*]}" >&2
    fi
  fi
fi
