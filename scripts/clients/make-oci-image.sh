#!/usr/bin/env bash
# make-oci-image.sh DIR [NAME]: makes, from the static busybox, without any registry:
#   DIR/rootfs/             the busybox root filesystem
#   DIR/rootfs.tar          that rootfs as one tar (for `podman import`)
#   DIR/image.oci.tar       an OCI image archive (oci-layout, index.json, a manifest, a
#                           config and one uncompressed layer: for `ctr images import`
#                           and `podman load`), named NAME (default
#                           docker.io/library/jinn-busybox:latest)
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME]" >&2; exit 2; }
dir=$1
name=${2:-docker.io/library/jinn-busybox:latest}
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "make-oci-image: $busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
command -v jq >/dev/null || { echo "make-oci-image: jq is missing" >&2; exit 1; }

rm -rf "$dir"
rootfs=$dir/rootfs
mkdir -p "$rootfs/bin"
for d in proc sys dev tmp etc root run var/tmp home; do mkdir -p "$rootfs/$d"; done
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/sh
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
# Reproducible: fixed mtimes and owners, sorted entries.
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 \
    -C "$rootfs" -cf "$dir/rootfs.tar" .

oci=$dir/oci
mkdir -p "$oci/blobs/sha256"
layer_digest=$(sha256sum "$dir/rootfs.tar" | cut -d' ' -f1)
cp "$dir/rootfs.tar" "$oci/blobs/sha256/$layer_digest"
layer_size=$(stat -c %s "$dir/rootfs.tar")

jq -n --arg diff "sha256:$layer_digest" '{
  architecture: "amd64", os: "linux",
  created: "1970-01-01T00:00:00Z",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: ["sh"], WorkingDir: "/"
  },
  rootfs: { type: "layers", diff_ids: [$diff] },
  history: [{ created: "1970-01-01T00:00:00Z", created_by: "scripts/clients/make-oci-image.sh" }]
}' >"$dir/config.json"
config_digest=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$dir/config.json")
mv "$dir/config.json" "$oci/blobs/sha256/$config_digest"

jq -n --arg cd "sha256:$config_digest" --argjson cs "$config_size" \
      --arg ld "sha256:$layer_digest" --argjson ls "$layer_size" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls }]
}' >"$dir/manifest.json"
manifest_digest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$dir/manifest.json")
mv "$dir/manifest.json" "$oci/blobs/sha256/$manifest_digest"

jq -n --arg md "sha256:$manifest_digest" --argjson ms "$manifest_size" --arg name "$name" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
    platform: { architecture: "amd64", os: "linux" },
    annotations: {
      "io.containerd.image.name": $name,
      "org.opencontainers.image.ref.name": ($name | sub(".*:"; ""))
    }
  }]
}' >"$oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 \
    -C "$oci" -cf "$dir/image.oci.tar" oci-layout index.json blobs
echo "make-oci-image: $dir/image.oci.tar ($name), $dir/rootfs.tar"
