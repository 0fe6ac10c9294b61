#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmark need. Idempotent: runs
# `apt-get update` and `apt-get install` only when a package is missing.
set -euo pipefail

packages=(busybox-static runc crun hyperfine time jq python3 util-linux qemu-system-x86 uidmap golang-github-containers-common iproute2)

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: cargo not found. Install Rust (https://rustup.rs) and put cargo on PATH." >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    # python3 may come from elsewhere (pyenv, a source build): a working binary is enough.
    if [ "$p" = python3 ] && command -v python3 >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all present (${packages[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root (sudo $0) to install them" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
