# Images every test cluster has, built without a container engine and cached
# by content (sourced after common.sh, not run).
. "$CLUSTER_DIR/lib/oci.sh"

# build_pause_image: prints the path of the pause image archive, building it
# from images/pause.c (static, a few hundred KB) when the cache lacks it.
build_pause_image() {
  local hash out root
  hash=$(sha256sum "$CLUSTER_DIR/images/pause.c" | cut -c1-12)
  out="$CACHE_ROOT/images/pause-$hash.tar"
  if [[ ! -f $out ]]; then
    mkdir -p "$CACHE_ROOT/images"
    root=$(mktemp -d)
    gcc -static -Os -s -o "$root/pause" "$CLUSTER_DIR/images/pause.c"
    oci_archive "$PAUSE_IMAGE" "$root" "$out" '["/pause"]' "65535:65535" '[]'
    rm -rf "$root"
    log "built $PAUSE_IMAGE"
  fi
  echo "$out"
}

# build_busybox_image: prints the path of an image holding Debian's static
# busybox with every applet linked in /bin.
build_busybox_image() {
  local out="$CACHE_ROOT/images/busybox-1.35.0.tar" root a
  if [[ ! -f $out ]]; then
    [[ -x /bin/busybox ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    file -L /bin/busybox | grep -q 'statically linked' || die "/bin/busybox is not static (apt-get install busybox-static)"
    mkdir -p "$CACHE_ROOT/images"
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$root/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
    oci_archive "$BUSYBOX_IMAGE" "$root" "$out" '["/bin/sh"]' "" '["PATH=/bin"]'
    rm -rf "$root"
    log "built $BUSYBOX_IMAGE"
  fi
  echo "$out"
}
