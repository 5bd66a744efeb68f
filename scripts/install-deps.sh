#!/usr/bin/env bash
# install-deps.sh - install the Debian packages otelpg builds, runs and tests with.
# (libcurl: the benchmark load generator; chromium: the web page's browser test.)
#
#   scripts/install-deps.sh          install what is missing (apt-get update first)
#   scripts/install-deps.sh --check  exit 1 if something is missing, install nothing
#
# Everything comes from Debian's archive. Node.js and npm are installed from
# Debian only when no `node` is on the PATH (the e2e tests drive the official
# OpenTelemetry JS SDK, pinned in tests/e2e/package-lock.json).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  protobuf-c-compiler libprotobuf-c-dev
  libmicrohttpd-dev libjansson-dev libzstd-dev libpq-dev zlib1g-dev
  libnghttp2-dev libgnutls28-dev
  libcmocka-dev libcurl4-openssl-dev
  postgresql-15 postgresql-client-15
  chromium
  curl ca-certificates procps openssl bc python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
