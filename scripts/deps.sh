#!/usr/bin/env bash
# Installs what intfa builds with (Debian/Ubuntu packages; clang and its runtimes for the
# libFuzzer harnesses), only where missing, and checks for
# the CUDA toolkit (nvcc, NVRTC, headers), which must already be installed, as on the CI
# machine. Exit status 0 when everything is there afterwards, 1 otherwise. Run it with bash.
set -uo pipefail
need=()
for pkg in cmake gcc make liblua5.4-dev libcmocka-dev python3 clang libclang-rt-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "intfa: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! timeout 300 $SUDO apt-get update -qq; then
    echo "intfa: apt-get update failed" >&2; exit 1
  fi
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; then
    echo "intfa: apt-get install ${need[*]} failed" >&2; exit 1
  fi
fi
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "intfa: the CUDA toolkit (nvcc, NVRTC) is required" >&2; exit 1
fi
exit 0
