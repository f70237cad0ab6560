#!/usr/bin/env bash
# Rebuild the tracker UI from source (ui/) and fail if the committed bundle
# (burr/tracking/server/build/) differs: the bundle users get must be the one the source makes.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "check_ui_bundle: npm not found; install Node.js 20+ with npm 11 (the machine image ships them)" >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(
  cd ui
  npm ci --no-audit --no-fund --loglevel=error
  npx tsc -b
  npx vitest run --reporter=dot
  npx vite build --outDir "$out" --emptyOutDir --logLevel warn
)
if ! diff -r "$out" burr/tracking/server/build; then
  echo "check_ui_bundle: the committed UI bundle is stale: run 'cd ui && npm ci && npm run build' and commit" >&2
  exit 1
fi
echo "check_ui_bundle: committed bundle matches a fresh build"
