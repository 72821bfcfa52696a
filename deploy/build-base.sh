#!/usr/bin/env bash
# Builds a minimal Debian bookworm image with Debian's Python 3.11 and imports it into podman,
# for machines that cannot pull the official python:3.11-slim image (no registry reachable).
# The result stands in for BASE_IMAGE in deploy/Dockerfile.
#
#   deploy/build-base.sh [--force]     (needs root, mmdebstrap and podman)
#
# Env: BASE_TAG (default localhost/trd-cds-base:3.11-bookworm), DEBIAN_MIRROR,
#      DEBIAN_SECURITY_MIRROR. An existing image with that tag is reused unless --force.
set -euo pipefail

BASE_TAG="${BASE_TAG:-localhost/trd-cds-base:3.11-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

for tool in mmdebstrap podman; do
  command -v "$tool" >/dev/null || { echo "build-base: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

if [[ $force -eq 0 ]] && podman image exists "$BASE_TAG"; then
  echo "build-base: reusing $BASE_TAG"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# minbase + python3 (3.11 on bookworm) + venv support + CA roots. No compilers, no docs, no
# translations: the service needs binary wheels only. The merged-usr hook lays out /usr itself,
# so the usrmerge package (and the Perl it drags in, ~50 MB) stays out.
# shellcheck disable=SC2016 # "$1" in the hook is expanded by mmdebstrap's shell, not here
mmdebstrap \
  --variant=minbase \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include=python3,python3-venv,ca-certificates \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log' \
  bookworm "$work/rootfs.tar" \
  "deb $DEBIAN_MIRROR bookworm main" \
  "deb $DEBIAN_MIRROR bookworm-updates main" \
  "deb $DEBIAN_SECURITY_MIRROR bookworm-security main"

podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$work/rootfs.tar" "$BASE_TAG" >/dev/null
echo "build-base: imported $BASE_TAG ($(podman image inspect --format '{{.Size}}' "$BASE_TAG") bytes)"
