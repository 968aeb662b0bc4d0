#!/usr/bin/env bash
# Installs what building and testing Tokenwire needs on a Debian or Ubuntu machine that
# already has Swift: the C libraries and tools (apt) and grpcio for the interop client
# in Tests/Interop (pip). Idempotent: it installs only what is missing, so running it
# before every build is cheap. Non-interactive; uses sudo only when not root.
#
# Usage: tools/bootstrap.sh
set -euo pipefail

# prometheus: for promtool (the metrics tests check /metrics with it); curl: they fetch it.
# nginx: the replicas test puts deploy/'s grpc_pass configuration in front of two servers.
# openssl: the TLS tests make their certificates with it.
APT_PACKAGES=(libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler nghttp2-client pkg-config redis-server gdb prometheus curl nginx openssl)
PIP_PACKAGES=(grpcio grpcio-tools grpcio-reflection pytest "h2>=4,<5" prometheus_client)

step() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*': run as root or install sudo"
  fi
}

is_installed() {
  # dpkg -s succeeds for removed packages whose config files remain, so read the status.
  local status
  status="$(dpkg -s "$1" 2>/dev/null || true)"
  [[ "$status" == *"Status: install ok installed"* ]]
}

python_has_grpcio() {
  command -v python3 >/dev/null 2>&1 && python3 -c 'import grpc, grpc_tools, grpc_reflection, pytest, h2, prometheus_client' >/dev/null 2>&1
}

command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
  || die "this script supports Debian and Ubuntu (dpkg and apt-get); install by hand: ${APT_PACKAGES[*]} and pip ${PIP_PACKAGES[*]}"

wanted=("${APT_PACKAGES[@]}")
# python3 and pip come from apt only when grpcio has to be installed and they are absent.
if ! python_has_grpcio; then
  command -v python3 >/dev/null 2>&1 || wanted+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || wanted+=(python3-pip)
fi

missing=()
for package in "${wanted[@]}"; do
  is_installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  step "apt packages present: ${wanted[*]}"
else
  step "apt-get update (missing: ${missing[*]})"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  step "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if python_has_grpcio; then
  step "python packages present: ${PIP_PACKAGES[*]} ($(command -v python3))"
else
  pip_args=(--quiet --no-warn-script-location)
  # Debian 12 and Ubuntu 23.04+ mark the system Python as externally managed (PEP 668)
  # and pip refuses to install into it; a per-user install leaves the system's packages alone.
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_args+=(--user --break-system-packages)
  fi
  step "python3 -m pip install ${pip_args[*]} ${PIP_PACKAGES[*]} ($(command -v python3))"
  python3 -m pip install "${pip_args[@]}" "${PIP_PACKAGES[@]}"
  python_has_grpcio || die "pip installed ${PIP_PACKAGES[*]} but python3 still cannot import grpc, grpc_tools, pytest, h2 and prometheus_client"
fi

step "done"
