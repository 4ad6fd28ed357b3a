# Packs a root filesystem directory into an OCI image-layout archive that
# `ctr images import` accepts, without a container engine (sourced, not run).

# Writes a content-addressed blob into LAYOUT and prints "<sha256 hex> <size>".
_oci_blob() {
  local layout="$1" file="$2" hex size
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  mv "$file" "$layout/blobs/sha256/$hex"
  echo "$hex $size"
}

# oci_archive NAME ROOTFS OUT ENTRYPOINT_JSON [USER] [ENV_JSON]
# NAME is the full reference (localhost/x/y:tag); the tar is reproducible:
# sorted names, zero mtimes and numeric root ownership.
oci_archive() {
  local name="$1" rootfs="$2" out="$3" entrypoint="$4" user="${5:-}" env="${6:-[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]}"
  local work layer config manifest
  work=$(mktemp -d)
  mkdir -p "$work/blobs/sha256"
  tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" .
  read -r layer_hex layer_size < <(_oci_blob "$work" "$work/layer.tar")
  jq -cn --argjson ep "$entrypoint" --arg user "$user" --argjson env "$env" --arg diff "sha256:$layer_hex" \
    '{architecture:"amd64",os:"linux",config:({Entrypoint:$ep,Env:$env,WorkingDir:"/"} + (if $user == "" then {} else {User:$user} end)),rootfs:{type:"layers",diff_ids:[$diff]}}' \
    > "$work/config.json"
  read -r config_hex config_size < <(_oci_blob "$work" "$work/config.json")
  jq -cn --arg c "sha256:$config_hex" --argjson cs "$config_size" --arg l "sha256:$layer_hex" --argjson ls "$layer_size" \
    '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
      config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
      layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$ls}]}' > "$work/manifest.json"
  read -r manifest_hex manifest_size < <(_oci_blob "$work" "$work/manifest.json")
  jq -cn --arg m "sha256:$manifest_hex" --argjson ms "$manifest_size" --arg name "$name" --arg tag "${name##*:}" \
    '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$ms,
      annotations:{"io.containerd.image.name":$name,"org.opencontainers.image.ref.name":$tag}}]}' > "$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
  tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$work"
}
