#!/usr/bin/env bash
# Prepares a fresh Debian bookworm machine (as root) to build, test and run
# pipod: host packages, podman configuration, npm dependencies, bundles, the
# runtime image and the local test images, then checks it all with
# `pipod doctor`. Idempotent; slow parts are cached under .cache/ (keyed by
# version) and skipped when already done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DEBIAN_FRONTEND=noninteractive

summary=()
step() { # step NAME COMMAND... — runs and times one part
  local name="$1"; shift
  local t0=$SECONDS
  echo "== $name"
  "$@"
  summary+=("$(printf '%-28s %4ss' "$name" $((SECONDS - t0)))")
}

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# Everything podman 4.3 needs at run time is named, since apt installs with
# --no-install-recommends and a fresh machine has none of it (scripts/test-fresh-root.sh
# proves this list on a clean root):
#   podman's Depends: conmon, runc (its first choice crun fails on hybrid cgroups),
#     golang-github-containers-common (policy.json, registries.conf, containers.conf);
#   its Recommends: catatonit (the pause image of every pod), uidmap, slirp4netns,
#     fuse-overlayfs (rootless);
#   the network: containernetworking-plugins (the CNI bridge kube play uses) and
#     iptables (its Depends; podman only Suggests it, yet the bridge's NAT needs it).
PODMAN_PACKAGES=(podman conmon runc golang-github-containers-common catatonit uidmap slirp4netns fuse-overlayfs
  containernetworking-plugins iptables)
# Building images: debootstrap, busybox-static, skopeo, dpkg-dev (dpkg-deb), tar, gzip.
# docker-registry and apache2-utils (htpasswd): a real registry, with auth, for the image lookup tests.
PACKAGES=("${PODMAN_PACKAGES[@]}" debootstrap busybox-static skopeo dpkg-dev libc-bin ca-certificates tar gzip
  docker-registry apache2-utils)

host_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # The runtime image downloads .debs with apt-get: it needs package lists even when nothing is missing.
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then as_root apt-get update -qq; fi
  if ((${#missing[@]} == 0)); then echo "all ${#PACKAGES[@]} packages installed"; return; fi
  echo "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Sets KEY = VALUE under [SECTION] of a TOML file, leaving every other line alone.
conf_set() {
  local file="$1" section="$2" key="$3" value="$4" tmp
  tmp="$(mktemp)"
  awk -v sec="[$section]" -v key="$key" -v line="$key = $value" '
    function flush() { if (insec && !done) { print line; done = 1 } }
    /^[[:space:]]*\[/ { t = $0; gsub(/[[:space:]]/, "", t); if (insec) flush(); insec = (t == sec); if (insec) seen = 1; print; next }
    insec && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" { if (!done) { print line; done = 1 }; next }
    { print }
    END { if (insec) flush(); if (!seen) { print ""; print sec; print line } }
  ' "$file" >"$tmp"
  if ! cmp -s "$tmp" "$file"; then as_root cp "$tmp" "$file"; echo "set [$section] $key in $file"; fi
  rm -f "$tmp"
}

containers_conf() {
  # crun fails on this hybrid cgroup layout and raising rlimits is refused, hence runc and fixed ulimits.
  local f=/etc/containers/containers.conf
  as_root mkdir -p /etc/containers
  [[ -f $f ]] || as_root touch "$f"
  conf_set "$f" engine runtime '"runc"'
  conf_set "$f" containers default_ulimits '["nofile=16384:16384", "nproc=4096:4096"]'
  podman info --format '{{.Host.OCIRuntime.Name}}' | sed 's/^/podman runtime: /'
}

npm_deps() {
  if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "node_modules up to date"
  else
    # Not `npm ci`: npm 11 writes lock files without other platforms' optional
    # packages (rollup's, esbuild's) and then refuses them as out of sync.
    # `npm install --no-save` installs the locked versions and leaves the lock alone.
    npm install --no-save --no-audit --no-fund --loglevel=error
  fi
}

bundles() { node scripts/build.mjs; }

runtime_image() {
  PIPOD_QUIET= node scripts/runtime-image.mjs --load | grep -E '"(ref|archiveDigest|configDigest)"'
}

test_images() { bash scripts/test-images.sh; }

# Every prerequisite of the podman runtime, with the fix for any that fails; setup fails with it.
doctor() { node packages/cli/bin/pipod.mjs doctor; }

t_all=$SECONDS
step "host packages" host_packages
step "containers.conf" containers_conf
step "npm dependencies" npm_deps
step "bundles" bundles
step "runtime image" runtime_image
step "test images" test_images
step "doctor" doctor
echo "== done in $((SECONDS - t_all))s"
printf '  %s\n' "${summary[@]}"
