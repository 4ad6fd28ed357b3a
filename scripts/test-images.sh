#!/usr/bin/env bash
# Builds the local images the e2e tests and examples use, when missing:
#   localhost/pipod-test/debian:bookworm  debootstrap --variant=minbase (tarball cached by release)
#   localhost/pipod-test/busybox:latest   busybox-static only: no libc, no Node
#   localhost/pipod-test/postgres:15      the debian image + Debian's postgresql-15 (apt, host network), committed
#   localhost/pipod-test/git:bookworm     the debian image + git and make (examples/clone-build-test.yaml)
# Usage: scripts/test-images.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PIPOD_CACHE:-$root/.cache}/images"
release="${PIPOD_DEBIAN_RELEASE:-bookworm}"
force=0
[[ "${1:-}" == "--force" ]] && force=1
mkdir -p "$cache"

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

have() { podman image exists "$1"; }

# The mirror apt already uses (deb822 or one-line sources), so debootstrap needs no extra network.
mirror() {
  local m
  m="$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  if [[ -z "$m" ]]; then
    m="$(grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' | head -n1 || true)"
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

debian_image() {
  local name="localhost/pipod-test/debian:$release" tarball="$cache/debian-$release-minbase.tar"
  if [[ $force == 0 ]] && have "$name"; then echo "image $name: present"; return; fi
  if [[ ! -s "$tarball" ]]; then
    local dir m
    dir="$(mktemp -d /var/tmp/pipod-debootstrap.XXXXXX)"
    m="$(mirror)"
    echo "debootstrap --variant=minbase $release from $m"
    debootstrap --variant=minbase "$release" "$dir" "$m" >"$cache/debootstrap-$release.log" 2>&1 || {
      tail -n 20 "$cache/debootstrap-$release.log" >&2; rm -rf "$dir"; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  podman import -q --change "$PATH_ENV" - "$name" <"$tarball" >/dev/null
  echo "image $name: imported from $(basename "$tarball")"
}

busybox_image() {
  local name="localhost/pipod-test/busybox:latest"
  if [[ $force == 0 ]] && have "$name"; then echo "image $name: present"; return; fi
  local dir
  dir="$(mktemp -d /var/tmp/pipod-busybox.XXXXXX)"
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for a in $("$dir/bin/busybox" --list); do
    [[ "$a" == busybox ]] || ln -s busybox "$dir/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  tar --numeric-owner -C "$dir" -c . | podman import -q --change "$PATH_ENV" - "$name" >/dev/null
  rm -rf "$dir"
  echo "image $name: built from busybox-static"
}

# Debian's PostgreSQL on top of the debian image: apt-get inside a container on the host's network
# (the mirror apt already reaches), then `podman commit`. Cached as an image.
postgres_image() {
  local name="localhost/pipod-test/postgres:15" base="localhost/pipod-test/debian:$release" c
  if [[ $force == 0 ]] && have "$name"; then echo "image $name: present"; return; fi
  c="pipod-build-postgres-$$"
  podman rm -f "$c" >/dev/null 2>&1 || true
  podman run --name "$c" --network host "$base" sh -c '
    set -e
    printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n" "$0" "$1" >/etc/apt/sources.list.d/pipod.sources
    rm -f /etc/apt/sources.list
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 postgresql-client-15
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
  ' "$(mirror)" "$release" >"$cache/postgres-build.log" 2>&1 || {
    tail -n 20 "$cache/postgres-build.log" >&2; podman rm -f "$c" >/dev/null; exit 1; }
  podman commit -q --change "$PATH_ENV:/usr/lib/postgresql/15/bin" "$c" "$name" >/dev/null
  podman rm -f "$c" >/dev/null
  echo "image $name: built from $base with Debian's postgresql-15"
}

# git and make on top of the debian image, the same way: examples/clone-build-test.yaml clones, builds and tests with them.
git_image() {
  local name="localhost/pipod-test/git:$release" base="localhost/pipod-test/debian:$release" c
  if [[ $force == 0 ]] && have "$name"; then echo "image $name: present"; return; fi
  c="pipod-build-git-$$"
  podman rm -f "$c" >/dev/null 2>&1 || true
  podman run --name "$c" --network host "$base" sh -c '
    set -e
    printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n" "$0" "$1" >/etc/apt/sources.list.d/pipod.sources
    rm -f /etc/apt/sources.list
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git make
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
  ' "$(mirror)" "$release" >"$cache/git-build.log" 2>&1 || {
    tail -n 20 "$cache/git-build.log" >&2; podman rm -f "$c" >/dev/null; exit 1; }
  podman commit -q --change "$PATH_ENV" "$c" "$name" >/dev/null
  podman rm -f "$c" >/dev/null
  echo "image $name: built from $base with git and make"
}

debian_image
busybox_image
postgres_image
git_image
