#!/usr/bin/env bash
# Precompiles, on the build machine, what scripts/device_dims.sh runs into build-dev/cache (the
# kernel cache the device run is pointed at): the default set and the default tiles of the other
# head dims, for sm_90a and for sm_90 (INTFA_ARCH=sm_90: the portable kernels on an H100).
# Rerun after any template change (the cache is keyed by the rendered source).
set -euo pipefail
cd "$(dirname "$0")/.."
export INTFA_CACHE_DIR=$PWD/build-dev/cache
rm -rf "$INTFA_CACHE_DIR"; mkdir -p "$INTFA_CACHE_DIR"
dims=32,48,64,80,96,128,160,192,224,256
build/intfa-gen --compile --cache --arch sm_90a,sm_90 --default-set --head-dims "$dims" | tail -2
