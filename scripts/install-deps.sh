#!/usr/bin/env bash
# Installs everything stage0 needs to build, test and run on Debian 12, as root. Does nothing
# when all of it is already there, so the other scripts can call it every time.
set -euo pipefail

packages=(
        # build
        gcc meson ninja-build pkg-config python3
        libsystemd-dev libjson-c-dev libmount-dev libselinux1-dev libtss2-dev
        libarchive-dev libsqlite3-dev libssl-dev libseccomp-dev libcap-dev libcmocka-dev
        # run and test
        systemd util-linux busybox-static xz-utils zstd bzip2 gzip
        swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0 selinux-utils
        varlink-go golang-github-varlink-go-dev golang-go valgrind jq iproute2 procps
        # test-run holds a pod's worker at its final reply with gdb, to order a race
        gdb
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
                missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
        exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
