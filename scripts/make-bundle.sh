#!/usr/bin/env bash
# make-bundle.sh DIR [ARGS...]: makes an OCI bundle in DIR with a busybox rootfs.
# config.json comes from `./target/release/jinn spec` when that binary exists,
# else from `runc spec`; "terminal" is set to false and process.args to ARGS
# (default: sh).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [ARGS...]" >&2
    exit 2
fi
dir=$1
shift
[ $# -gt 0 ] || set -- sh

repo=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-bundle: $busybox is missing (scripts/install-deps.sh)" >&2; exit 1; }
command -v jq >/dev/null || { echo "make-bundle: jq is missing (scripts/install-deps.sh)" >&2; exit 1; }

rootfs=$dir/rootfs
mkdir -p "$rootfs/bin"
for d in proc sys dev tmp etc root run; do mkdir -p "$rootfs/$d"; done
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
[ -e "$rootfs/etc/passwd" ] || echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
[ -e "$rootfs/etc/group" ] || echo "root:x:0:" >"$rootfs/etc/group"

rm -f "$dir/config.json"
if [ -x "$repo/target/release/jinn" ] && "$repo/target/release/jinn" spec --bundle "$dir" 2>/dev/null; then
    :
else
    runc spec --bundle "$dir"
fi

args_json=$(printf '%s\n' "$@" | jq -R . | jq -s .)
jq --argjson args "$args_json" '.process.terminal = false | .process.args = $args' \
    "$dir/config.json" >"$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "make-bundle: $dir (args: $*)"
