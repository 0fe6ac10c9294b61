#!/usr/bin/env bash
# The demo: installs dependencies, builds jinn, makes a busybox bundle under
# ./demo and runs a container that prints who and where it is. Run as root.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: containers need root; run: sudo make demo" >&2
    exit 1
fi

scripts/install-deps.sh
make build

root=/run/jinn-demo
id=demo-$$
rm -rf demo/bundle
scripts/make-bundle.sh demo/bundle sh -c \
    'echo hello from jinn; echo "hostname: $(hostname)"; id; echo "pid: $$"; grep -i cap /proc/self/status'
jq '.hostname = "jinn-demo"' demo/bundle/config.json >demo/bundle/config.json.new
mv demo/bundle/config.json.new demo/bundle/config.json

cleanup() {
    ./target/release/jinn --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf demo "$root"
}
trap cleanup EXIT

echo "+ ./target/release/jinn --root $root run --bundle demo/bundle $id"
./target/release/jinn --root "$root" run --bundle demo/bundle "$id"
