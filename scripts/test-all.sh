#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up the host, bring up the
# real test cluster (with Tekton), run type-check, lint, unit, integration
# and e2e tests (podman and cluster), and tear the cluster down again.
# Among the e2e tests, e2e/fresh-root.test.ts runs scripts/test-fresh-root.sh:
# setup and README command 1 again on a clean Debian root, which proves the
# setup above did not pass only because this machine already had something.
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
