#!/usr/bin/env bash
# Installs what intfa builds with (Debian/Ubuntu packages), only where missing. The CUDA
# toolkit (nvcc, NVRTC, headers) must already be installed, as on the CI machine.
set -euo pipefail
need=()
for pkg in cmake gcc make liblua5.4-dev libcmocka-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "intfa: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  timeout 300 $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${CUDAToolkit_ROOT:-}" ] && ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
command -v nvcc >/dev/null || { echo "intfa: the CUDA toolkit (nvcc, NVRTC) is required" >&2; exit 1; }
