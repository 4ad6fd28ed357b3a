#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up the host, bring up the
# real test cluster (with Tekton), run type-check, lint, unit, integration
# and e2e tests (podman and cluster), and tear the cluster down again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
t0=$SECONDS
# Down also when bringing it up fails half-way: nothing is left running.
trap 'e2e/cluster/down >/dev/null 2>&1 || true' EXIT
e2e/cluster/up --tekton
e2e/cluster/import-images
echo "== cluster ready in $((SECONDS - t0))s"
npm test
