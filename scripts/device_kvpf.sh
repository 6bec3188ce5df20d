#!/usr/bin/env bash
# Issue 17, session 10: the decode kernel's L2 prefetch (templates/kv_cache.cu, KV_PREFETCH) on
# the GPU machine, with build-dev/a carried (scripts/device_pack.sh). Correctness (test_gpu_kvcache,
# memcheck, the Python KV tests), then intfa alone at prefetch depths 2 (the template), 0 (off:
# the kernel before), 1 and 4 in separate processes, then the bench beside FP16 SDPA (cold L2,
# bench_decode.py's default), and B = 1 once more with one copy of the cache (--warm-l2: how
# session 4 timed it).
set -uo pipefail
cd "$(dirname "$0")/.."
[ -e build/CMakeCache.txt ] || { mkdir -p build && cp build-dev/a/bin/* build/; }
shapes="--batches 1,8,64 --lens 4096,16384,32768,65536,131072 --reps 10 --rounds 7"
# KV_QUICK=1: no memcheck, depths 2 and 0 only (when device time is short)
if [ "${KV_QUICK:-0}" = 1 ]; then
  KV_MEMCHECK=0 bash scripts/device_kv.sh tests
  KV_V1='s/^#define KV_PREFETCH 2$/#define KV_PREFETCH 0/' bash scripts/device_kv.sh variants $shapes
else
  bash scripts/device_kv.sh tests
  KV_V1='s/^#define KV_PREFETCH 2$/#define KV_PREFETCH 0/' \
  KV_V2='s/^#define KV_PREFETCH 2$/#define KV_PREFETCH 1/' \
  KV_V3='s/^#define KV_PREFETCH 2$/#define KV_PREFETCH 4/' \
    bash scripts/device_kv.sh variants $shapes
fi
bash scripts/device_kv.sh bench --batches 1 --lens 4096,16384,32768,65536 --reps 10 --rounds 7 --warm-l2
bash scripts/device_kv.sh bench $shapes
