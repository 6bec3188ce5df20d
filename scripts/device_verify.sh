#!/usr/bin/env bash
# GPU checks and measurements the build machine cannot run, in as few device calls as possible.
# Prepare here with `bash scripts/device_pack.sh` (everything in build-dev/a), then run on the
# device with carry ["build-dev/a"] and the command `bash scripts/device_verify.sh MODES...`:
# build-dev/a/bin's binaries are copied into build/ first. Session 8's planned call (run in
# session 9): quick pyfocus coldstart overhead ab13 peers; session 10: bounds mbar sweep;
# session 11: tma quick overhead, tmadebug, quick. Next: `tmadebug tma` (K/V by TMA, opt-in
# INTFA_KV_TMA=1: find the drop-in's and varlen's illegal instruction), then, with
# docs/experiments/kv_s11/combine.patch applied and repacked, `kv`; `peers` for issue 16.
# Modes:
#   ab        kernel-only, N = 16k, one process per template folder on the same GPU: old (914046b,
#             before session 7's compile-time cuts and pf16's wait fix), new (this tree), and the
#             experiments of docs/experiments/fp8_pv_s7: fp8pv (FP8 P.V, wrong output on purpose)
#             and ovlpu8 (the INT8 kernel with P.V behind the softmax, exact); hd 128 and 64,
#             causal or not, the default tile and m64n64; pf16 and the warp-specialized tile old
#             vs new
#   ab13      ab's issue-13 part only: new vs fp8pv vs ovlpu8 (pu8), pf16 new
#   bounds    issue 13's deletion bounds: no per-tile __syncthreads, no K/V refills (timing only)
#   sweep     issue 16: every valid sm_90a INT8 tile at hd 80, 96, 160-256 (kernel-only, N = 16k)
#   kv        issue 17: device_kv.sh tests, then the decode A/B of this kv_cache.cu against main's
#   tma       issue 13: K/V by TMA in the one-warpgroup kernel (INTFA_KV_TMA=1) against the
#             cp.async ring and without its per-tile barrier (timing only); then the quick
#             matrix and varlen with INTFA_KV_TMA=1
#   tmadebug  the TMA kernel (INTFA_KV_TMA=1) at small and odd N, then compute-sanitizer
#   mbar      issue 13: docs/experiments/mbar_s9 (the K/V ring on mbarriers): INT8 tests, then A/B
#   pyfocus   the Python GPU tests of test_gpu.py on CUDA graphs, torch.compile, numerics
#   tests     test_gpu_attention (every family's default at every head dim), the portable
#             kernels (INTFA_ARCH=sm_90, quick matrix), test_gpu_quant_dims, test_gpu_varlen
#   quick     tests' quick matrix: test_gpu_attention (INTFA_TEST_QUICK=1, every head dim),
#             test_gpu_quant_dims, test_gpu_varlen
#   exptests  the INT8 GPU tests (quick matrix) with every sm_90a pu8/ps8 kernel rendered from
#             the ovl_pu8 experiment (run after ab, which builds its folder): it must pass as the
#             default does (same arithmetic, one tile later)
#   coldstart issue 19: intfa-demo's first drop-in call with every cache empty (driver's JIT
#             cache off; 1 and 8 compile jobs), then again on the filled disk cache (warm)
#   pytests   the Python package's GPU tests (python/tests -m gpu) on the library of build/
#   overhead  issue 15: host time per call, Python (test_overhead.py) and C (intfa-perf --overhead)
#   peers     scripts/bench_peers.py --rows dims (FA4 where installed: ../shared/peers)
#   tma2      K/V by TMA at every head dim (INTFA_KV_TMA=2, the default since session 14): GPU
#             tests, memcheck, A/B against the ring (INTFA_KV_TMA=0) at N = 16k
#   decodeprof  issue 17: ncu durations of the decode and the combine at B = 1, 16k (own clocks)
#   probe     the INT8 kernel through Python at N = 1k-16k (scripts/probe_layout.py)
#   fa4stage, peersall  FA4 in two back-to-back calls (build-dev/peers, build-dev/peers2), then
#             every default row of bench_peers.py
#   kvtests   the KV cache's GPU tests (C and Python), no memcheck
#   bulkbw    issue 14: the copy bandwidth a few SMs reach by cp.async.bulk or deep plain loads
#   kvdeep    issue 14: the streamed K/V pass with 8 loads in flight per thread, A/B and tests
#   kvblocks  issue 14: the streamed pass at 22-88 blocks, N = 1k and 4k
#   readfloor issue 17: the fastest a kernel reads 16-256 MB from DRAM, timed as a decode step
#   ncutma, blocks4hd96, w8, kvab, tmatests  see their comments below
source "$(dirname "$0")/device_env.sh"
# on the GPU machine (no CMake build there): the binaries scripts/device_pack.sh packed
[ -d build-dev/a/bin ] && [ ! -e build/CMakeCache.txt ] && mkdir -p build && cp build-dev/a/bin/* build/
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee -a "$sum"
A=$PWD/build-dev/a
export INTFA_CACHE_DIR=$A/cache INTFA_TUNING_DB=/tmp/intfa-verify.db
perf_ab() { # hd causal "intfa-perf arguments" label=dir...
  local hd=$1 c=$2 va=$3; shift 3
  for ver in "$@"; do
    echo "--- ${ver%%=*} hd $hd causal $c"; local d=${ver#*=}
    if [ "$d" = - ]; then env -u INTFA_TEMPLATE_DIR timeout 40 build/intfa-perf --hd $hd --causal $c --n 16384 --reps 20 $va
    else INTFA_TEMPLATE_DIR=$d timeout 40 build/intfa-perf --hd $hd --causal $c --n 16384 --reps 20 $va; fi 2>&1 | grep -v compil
  done
}
tpl_dir() { # name [file]: $A/name holds this tree's templates, with file (an experiment's
  # kernel) as attn_fwd_wg.cu
  rm -rf "${A:?}/$1"; mkdir -p "$A/$1"; cp templates/* "$A/$1/"
  if [ $# -gt 1 ]; then cp "$2" "$A/$1/attn_fwd_wg.cu"; fi
}
default_tile_ab() { # name label=dir...: perf_ab of the default pu8 tile, hd 128 and 64, both masks, into $OUT/name.txt
  local name=$1; shift
  { for hd in 128 64; do for c in 0 1; do
      local mask=full; [ $c = 1 ] && mask=causal
      perf_ab $hd $c "--variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-m64n128w4s2" "$@"
    done; done; } > "$OUT/$name.txt" 2>&1
  note "$name: $(grep -c TOPS "$OUT/$name.txt") tables"; cat "$OUT/$name.txt"
}
for mode in "${@:-ab}"; do case $mode in
ab)
  overlay_quant_templates "$A/tpl_old" # the old attention templates, this tree's quantization ones
  for x in fp8pv ovl_pu8; do tpl_dir $x docs/experiments/fp8_pv_s7/attn_fwd_wg.$x.cu; done
  { for hd in 128 64; do for c in 0 1; do
      mask=full; [ $c = 1 ] && mask=causal
      v=attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8 f=attn_fwd-sm90a-d$hd-int8-fp16-$mask-pf16
      perf_ab $hd $c "--variant $v-m64n128w4s2 --variant $v-m64n64w4s2" new=- old=$A/tpl_old \
        fp8pv=$A/fp8pv ovlpu8=$A/ovl_pu8
      perf_ab $hd $c "--pq pf16 --variant $f-m64n128w4s2 --variant $f-m64n64w4s2" new=- old=$A/tpl_old
      perf_ab $hd $c "--variant $v-m128n128w12s2" new=- old=$A/tpl_old
    done; done; } > "$OUT/ab.txt" 2>&1
  note "ab: $(grep -c TOPS "$OUT/ab.txt") tables"; cat "$OUT/ab.txt" ;;
ab13)
  for x in fp8pv ovl_pu8; do tpl_dir $x docs/experiments/fp8_pv_s7/attn_fwd_wg.$x.cu; done
  { for hd in 128 64; do for c in 0 1; do
      mask=full; [ $c = 1 ] && mask=causal
      v=attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8 f=attn_fwd-sm90a-d$hd-int8-fp16-$mask-pf16
      perf_ab $hd $c "--variant $v-m64n128w4s2 --variant $v-m64n64w4s2" new=- fp8pv=$A/fp8pv ovlpu8=$A/ovl_pu8
      perf_ab $hd $c "--pq pf16 --variant $f-m64n128w4s2 --variant $f-m64n64w4s2" new=-
    done; done; } > "$OUT/ab13.txt" 2>&1
  note "ab13: $(grep -c TOPS "$OUT/ab13.txt") tables"; cat "$OUT/ab13.txt" ;;
bounds)
  # issue 13's deletion bounds on the default tile (wrong output on purpose, timing only): the
  # per-tile __syncthreads of the cp.async ring removed (nobar: what an mbarrier/TMA ring could
  # save in barrier stalls) and the K/V refills after the first two tiles removed (nocopy: the
  # copy's instructions and L2 traffic); base = this tree's templates through the same path
  for x in base nobar nocopy; do tpl_dir $x; done
  sed -i 's|^            publish_copies<ASYNC_PROXY>();$|            if (ASYNC_PROXY) asm volatile("fence.proxy.async.shared::cta;\\n" ::: "memory"); // nobar|' "$A/nobar/attn_common.cu"
  sed -i 's|if (kt + NS - 1 < n_tiles) load(|if (kt + NS - 1 < n_tiles \&\& kt == 0) load(|' "$A/nocopy/attn_common.cu"
  note "bounds: nobar edits $(grep -c '// nobar' "$A/nobar/attn_common.cu"), nocopy edits $(grep -c 'kt == 0) load(' "$A/nocopy/attn_common.cu") (each must be 1)"
  default_tile_ab bounds base=$A/base nobar=$A/nobar nocopy=$A/nocopy base2=$A/base ;;
mbar)
  # docs/experiments/mbar_s9: the K/V ring on mbarriers, no per-tile __syncthreads. The INT8 GPU
  # tests (quick matrix) with it, then its time against this tree's templates (same path), with
  # and without its "empty" barriers (mbarne: MBAR_EMPTY 0)
  tpl_dir base; tpl_dir mbar docs/experiments/mbar_s9/attn_fwd_wg.cu; tpl_dir mbarne "$A/mbar/attn_fwd_wg.cu"
  sed -i 's/^#define MBAR_EMPTY 1$/#define MBAR_EMPTY 0/' "$A/mbarne/attn_fwd_wg.cu"
  note "mbar: MBAR_EMPTY 0 edits $(grep -c '^#define MBAR_EMPTY 0$' "$A/mbarne/attn_fwd_wg.cu") (must be 1)"
  INTFA_TEMPLATE_DIR=$A/mbar INTFA_TEST_QUICK=1 INTFA_TEST_SEED=25 INTFA_TEST_FORMAT=int8 \
    run mbar_tests 200 build/test_gpu_attention
  if [ "${MBAR_ONCE:-0}" = 1 ]; then default_tile_ab mbar base=$A/base mbar=$A/mbar mbarne=$A/mbarne # short of device time
  else default_tile_ab mbar base=$A/base mbar=$A/mbar mbarne=$A/mbarne base2=$A/base mbar2=$A/mbar mbarne2=$A/mbarne; fi ;;
kv)
  # issue 17: the KV cache's GPU tests (no memcheck: time), then the decode with this tree's
  # kv_cache.cu (A) against main's (B: build-dev/a/kv_cache.before.cu, device_pack.sh), B = 1 and 8
  KV_MEMCHECK=0 bash scripts/device_kv.sh tests
  KV_AB_FILE=$A/kv_cache.before.cu bash scripts/device_kv.sh ab --batches 1,8 --lens 16384,65536,131072 --no-fp16 ;;
tma)
  # issue 13: the one-warpgroup kernel's K/V by TMA (INTFA_KV_TMA=1; hd 64 and 128) against the
  # cp.async ring (unset), same binary; tmanb: TMA without the per-tile barrier (TMA_BAR 0,
  # timing only). Then the quick matrix and varlen with it (correctness).
  tpl_dir tmanb
  sed -i 's/^#define TMA_BAR 1$/#define TMA_BAR 0/' "$A/tmanb/attn_fwd_wg.cu"
  note "tma: TMA_BAR 0 edits $(grep -c '^#define TMA_BAR 0$' "$A/tmanb/attn_fwd_wg.cu") (must be 1)"
  { for hd in 128 64; do for c in 0 1; do
      mask=full; [ $c = 1 ] && mask=causal
      va="--variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-m64n128w4s2 --hd $hd --causal $c --n 16384 --reps 20"
      for label in cpasync tma tmanb cpasync2 tma2; do
        echo "--- $label hd $hd causal $c"
        case $label in
          cpasync*) env -u INTFA_KV_TMA -u INTFA_TEMPLATE_DIR timeout 40 build/intfa-perf $va ;;
          tmanb) INTFA_KV_TMA=1 INTFA_TEMPLATE_DIR=$A/tmanb timeout 40 build/intfa-perf $va ;;
          *) INTFA_KV_TMA=1 env -u INTFA_TEMPLATE_DIR timeout 40 build/intfa-perf $va ;;
        esac 2>&1 | grep -v compil
      done
    done; done; } > "$OUT/tma.txt" 2>&1
  note "tma: $(grep -c TOPS "$OUT/tma.txt") tables"; cat "$OUT/tma.txt"
  INTFA_KV_TMA=1 INTFA_TEST_QUICK=1 INTFA_TEST_SEED=26 run tma_attn_quick 150 build/test_gpu_attention
  INTFA_KV_TMA=1 INTFA_TEST_SEED=27 run tma_varlen 60 build/test_gpu_varlen ;;
fa4stage)
  # the first of two back-to-back calls: FA4's wheels and the first part of its CuTe libraries
  # (carried in build-dev/peers, from ../shared/peers/get_wheels.sh) kept in /tmp
  mkdir -p /tmp/peers && cp -r build-dev/peers/* /tmp/peers/ && note "fa4stage: $(ls /tmp/peers | tr '\n' ' ')" ;;
peersall)
  # the second call: install FA4 (the other part carried in build-dev/peers2), then every default
  # row of bench_peers.py (hd 64/96/128/256 x both masks at N = 16k, B = 16 at N = 1k, varlen)
  # (build-dev/peers2 also holds a copy of ../shared/peers/install_wheels.sh)
  bash build-dev/peers2/install_wheels.sh /tmp/pk /tmp/peers/wheels /tmp/peers/cutlass-cu13.tar.xz.aa \
    build-dev/peers2/cutlass-cu13.tar.xz.ab > "$OUT/install.log" 2>&1
  note "install rc=$? $(tail -2 "$OUT/install.log" | head -1)"
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="/tmp/pk/nvidia_cutlass_dsl/dsl_packages:/tmp/pk:$PWD/python" \
    timeout 420 python3 scripts/bench_peers.py --out "$OUT/peers" > "$OUT/peers.log" 2>&1
  note "bench_peers default rc=$?"; tail -40 "$OUT/peers.log" ;;
ncutma)
  # ncu of the default tile with K/V by TMA, N = 16k, hd 128 and 64, full
  bash scripts/device_profile.sh 128 16384 0 attn_fwd-sm90a-d128-int8-fp16-full-pu8-m64n128w4s2 | tee -a "$sum"
  bash scripts/device_profile.sh 64 16384 0 attn_fwd-sm90a-d64-int8-fp16-full-pu8-m64n128w4s2 | tee -a "$sum" ;;
bulkbw)
  # issue 14: GB/s of a K/V-pass-like copy (read R, write R / 2) on 8-132 SMs, by cp.async.bulk
  # from one thread per SM and by plain 16-byte loads with 4 or 8 in flight per thread
  # (docs/experiments/bulk_bw_s14): can a fifth of the SMs reach the copy bandwidth?
  nvcc -O3 -arch=sm_90a -o /tmp/bulk_bw docs/experiments/bulk_bw_s14/bulk_bw.cu > "$OUT/bulkbw.txt" 2>&1 &&
    timeout 60 /tmp/bulk_bw >> "$OUT/bulkbw.txt" 2>&1
  note "bulkbw rc=$?"; cat "$OUT/bulkbw.txt" | tee -a "$sum" ;;
kvtests)
  KV_MEMCHECK=0 bash scripts/device_kv.sh tests ;;
kvab)
  # issue 17: as kv, at B = 1, 8, 64 and N_kv = 4k-128k
  KV_MEMCHECK=0 bash scripts/device_kv.sh tests
  KV_AB_FILE=$A/kv_cache.before.cu bash scripts/device_kv.sh ab --batches 1,8,64 --lens 4096,16384,32768,131072 --no-fp16 ;;
blocks4hd96)
  # hd96 at four blocks per SM (128 registers: ptxas spills 36 bytes) against three (the
  # default), full and causal, N = 16k and 4k, alternating, same binary
  tpl_dir b4hd96
  sed -i 's/local want = (hd_pad <= 64 and (v.kv_tma or not v.causal)) and 4 or 3/local want = (hd_pad <= 96 and (v.kv_tma or not v.causal)) and 4 or 3/' "$A/b4hd96/attn_fwd_wg.cu"
  note "blocks4hd96: edits $(grep -c 'hd_pad <= 96 and (v.kv_tma' "$A/b4hd96/attn_fwd_wg.cu") (must be 1)"
  { for c in 0 1; do for n in 16384 4096; do for d in - $A/b4hd96 - $A/b4hd96; do
      echo "--- causal $c n $n dir $d"; INTFA_TEMPLATE_DIR=$([ $d = - ] || echo $d) timeout 40 build/intfa-perf --hd 96 --causal $c --n $n --reps 20 2>&1 | grep -E "attn_fwd"
    done; done; done; } > "$OUT/blocks4hd96.txt" 2>&1
  cat "$OUT/blocks4hd96.txt" ;;
w8)
  # K/V by TMA in the two-warpgroup tile (m128n128w8s2, which the tuner may pick at hd 64/128)
  # and the one-warpgroup default, against the sm_90 kernel (cp.async, mma.sync): relL2 ~0
  for hd in 64 128; do for c in 0 1; do for n in 190 1000 4096; do
    mask=full; [ $c = 1 ] && mask=causal; va=""
    for t in sm90-d$hd-int8-fp16-$mask-pu8-m64n128w4s2 sm90a-d$hd-int8-fp16-$mask-pu8-m64n128w4s2 sm90a-d$hd-int8-fp16-$mask-pu8-m128n128w8s2; do
      va="$va --variant attn_fwd-$t"; done
    timeout 60 build/intfa-perf --hd $hd --causal $c --n $n --reps 3 $va 2>&1 | grep -E "attn_fwd|failed|error" | tee -a "$sum"
  done; done; done ;;
tmatests)
  # the GPU tests with K/V by TMA (correctness only; no timing)
  INTFA_KV_TMA=1 INTFA_TEST_QUICK=1 INTFA_TEST_SEED=26 run tma_attn_quick 150 build/test_gpu_attention
  INTFA_KV_TMA=1 INTFA_TEST_SEED=27 run tma_varlen 60 build/test_gpu_varlen
  INTFA_KV_TMA=1 INTFA_TEST_SEED=28 run tma_quant_dims 60 build/test_gpu_quant_dims ;;
tmadebug)
  # the TMA kernel at the shapes the tests use (tails, tiny N): which fail, and where
  export INTFA_KV_TMA=1
  for extra in "" "--dropin 1" "--varlen 1" "--dropin 1 --causal 1"; do
    for n in 128 190 188 192 1000 100 65 64 1 4096; do for hd in 64 128; do
      note "--- $extra n $n hd $hd: $(timeout 30 build/intfa-perf --hd $hd --n $n --reps 2 --heads 2 $extra 2>&1 | grep -E 'TOPS|failed|error|m64' | tail -1)"
    done; done
  done
  timeout 120 compute-sanitizer --tool memcheck --print-limit 3 build/intfa-perf --hd 64 --n 65 --reps 1 --heads 2 > "$OUT/tmadebug_san.txt" 2>&1
  head -60 "$OUT/tmadebug_san.txt"
  # the first failing test case under the sanitizer: kernel, offset, and the case's description
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=16 timeout 200 compute-sanitizer --tool memcheck --print-limit 2 \
    build/test_gpu_attention > "$OUT/tmadebug_san_tests.txt" 2>&1
  grep -m 12 -E "Illegal|Invalid|at intfa|by thread|B=" "$OUT/tmadebug_san_tests.txt" | tee -a "$sum"
  unset INTFA_KV_TMA ;;
sweep)
  # issue 16: every valid sm_90a INT8 tile at the head dims past the default set, one process per
  # head dim and mask (session 10's defaults: m64n128w4s2 up to 128, m64n64w4s2 past it; the
  # defaults since, its winners, are in docs/ALGORITHM.md "Head dims")
  # (SWEEP_DIMS and SWEEP_CAUSAL narrow it, e.g. SWEEP_DIMS="96 256" SWEEP_CAUSAL=0)
  { for hd in ${SWEEP_DIMS:-80 96 160 192 224 256}; do for c in ${SWEEP_CAUSAL:-0 1}; do
      mask=full; [ $c = 1 ] && mask=causal; va=""
      for t in m64n128w4s2 m64n64w4s2 m64n64w4s3 m64n32w4s2 m128n64w8s2 m128n128w8s2; do
        va="$va --variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-$t"
      done
      echo "--- hd $hd causal $c"
      timeout 90 build/intfa-perf --hd $hd --causal $c --n 16384 --reps 20 $va 2>&1 | grep -v compil
    done; done; } > "$OUT/sweep.txt" 2>&1
  note "sweep: $(grep -c TOPS "$OUT/sweep.txt") tables"; cat "$OUT/sweep.txt" ;;
pyfocus)
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
    timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu -k "graph or compile or synchron or matches_exact or new_head_dims_match" \
    python/tests/test_gpu.py > "$OUT/pyfocus.log" 2>&1
  note "python GPU tests (graphs, compile, numerics, head dims) rc=$? $(tail -1 "$OUT/pyfocus.log")" ;;
tests)
  INTFA_TEST_SEED=16 run attn_default 300 build/test_gpu_attention
  INTFA_TEST_QUICK=1 INTFA_ARCH=sm_90 INTFA_TEST_SEED=17 INTFA_TEST_FORMAT=int8 run attn_sm90 200 build/test_gpu_attention
  INTFA_TEST_SEED=19 run quant_dims 60 build/test_gpu_quant_dims
  INTFA_TEST_SEED=20 run varlen 100 build/test_gpu_varlen
  grep -h "skipped" "$OUT"/attn_*.log | head -12 | tee -a "$sum" ;;
quick)
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=16 run attn_quick 150 build/test_gpu_attention
  INTFA_TEST_SEED=19 run quant_dims 60 build/test_gpu_quant_dims
  INTFA_TEST_SEED=20 run varlen 60 build/test_gpu_varlen ;;
exptests)
  INTFA_TEMPLATE_DIR=$A/ovl_pu8 INTFA_TEST_QUICK=1 INTFA_TEST_SEED=21 INTFA_TEST_FORMAT=int8 \
    run ovl_pu8_tests 200 build/test_gpu_attention ;;
coldstart)
  for jobs in 1 8; do
    d=$(mktemp -d)
    INTFA_COMPILE_JOBS=$jobs CUDA_CACHE_DISABLE=1 INTFA_CACHE_DIR=$d timeout 60 build/intfa-demo --reps 5 > "$OUT/cold_jobs$jobs.log" 2>&1
    note "cold start, INTFA_COMPILE_JOBS=$jobs: rc=$? $(grep -E 'first call' "$OUT/cold_jobs$jobs.log")"
    INTFA_COMPILE_JOBS=$jobs CUDA_CACHE_DISABLE=1 INTFA_CACHE_DIR=$d timeout 60 build/intfa-demo --reps 5 > "$OUT/warm_jobs$jobs.log" 2>&1
    note "warm disk cache: rc=$? $(grep -E 'first call' "$OUT/warm_jobs$jobs.log")"
  done ;;
tma2)
  # K by TMA in slabs at every head dim that is a multiple of 32 (the default since session 14;
  # before it, INTFA_KV_TMA=2): the GPU tests with it, memcheck on odd shapes, then the A/B
  # against the cp.async ring (INTFA_KV_TMA=0) at N = 16k, alternating, same binary
  export INTFA_KV_TMA=2
  for hd in 96 160 192 256; do for extra in "" "--dropin 1 --causal 1"; do
    note "--- $extra hd $hd n 190: $(timeout 60 build/intfa-perf --hd $hd --n 190 --reps 2 --heads 2 $extra 2>&1 | grep -E 'TOPS|failed|error|attn_fwd' | tail -1)"
  done; done
  timeout 150 compute-sanitizer --tool memcheck --print-limit 3 build/intfa-perf --hd 96 --n 300 --reps 1 --heads 2 --dropin 1 > "$OUT/tma2_san.txt" 2>&1
  grep -E "ERROR SUMMARY" "$OUT/tma2_san.txt" | tee -a "$sum"
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=36 run tma2_attn_quick 200 build/test_gpu_attention
  INTFA_TEST_SEED=37 run tma2_varlen 60 build/test_gpu_varlen
  INTFA_TEST_SEED=38 run tma2_quant_dims 60 build/test_gpu_quant_dims
  unset INTFA_KV_TMA
  { for hd in 96 160 192 256; do for c in 0 1; do for t in 0 2 0 2; do
      echo "--- KV_TMA=$t hd $hd causal $c"
      INTFA_KV_TMA=$t timeout 60 build/intfa-perf --hd $hd --causal $c --n 16384 --reps 20 2>&1 | grep attn_fwd
    done; done; done; } > "$OUT/tma2_ab.txt" 2>&1
  cat "$OUT/tma2_ab.txt" ;;
kvdeep)
  # issue 14: the streamed K/V pass with every load of a pack step issued before its stores (8
  # in flight per thread instead of 1 for K) against the previous pass (build-dev/a/kvold: this
  # tree's templates with the previous quant_v.cu, made on the build machine), drop-in and
  # kernel-only in one process, alternating; then the quick GPU matrix and a memcheck of the
  # drop-in with the new pass
  { for hd in 128 64; do for c in 0 1; do for d in - $A/kvold - $A/kvold; do
      echo "--- hd $hd causal $c dir $d"
      INTFA_TEMPLATE_DIR=$([ $d = - ] || echo $d) timeout 60 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 \
        --n 16384 --dropin 1 --reps 20 2>&1 | grep -v compil
    done; done; done; } > "$OUT/kvdeep.txt" 2>&1
  note "kvdeep: $(grep -c "drop-in," "$OUT/kvdeep.txt") drop-in rows"
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=16 run attn_quick 150 build/test_gpu_attention
  INTFA_TEST_SEED=20 run varlen 60 build/test_gpu_varlen
  timeout 150 compute-sanitizer --tool memcheck --print-limit 3 build/intfa-perf --hd 128 --n 300 --reps 1 --heads 2 --dropin 1 > "$OUT/kvdeep_san.txt" 2>&1
  note "kvdeep memcheck rc=$? $(grep -E 'ERROR SUMMARY' "$OUT/kvdeep_san.txt")" ;;
kvblocks)
  # issue 14: how many SMs the streamed K/V pass should take now that a pack step keeps 8 loads
  # in flight per thread (session 15): drop-in / kernel at 22-88 streamed blocks, N = 1k and 4k
  { for hd in 128 64; do for c in 0 1; do
      timeout 60 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 --dropin 1 --reps 20 \
        --kvblocks 22 --kvblocks 33 --kvblocks 44 --kvblocks 66 --kvblocks 88 2>&1 | grep -E "attn_fwd|streamed"
    done; done; } > "$OUT/kvblocks.txt" 2>&1
  note "kvblocks: $(grep -c streamed "$OUT/kvblocks.txt") rows"; cat "$OUT/kvblocks.txt" | tee -a "$sum" ;;
readfloor)
  # issue 17: the fastest one launch reads 16-256 MB from DRAM (cold L2), timed as bench_decode
  # times a decode step, and the copy bandwidth it divides by (docs/experiments/read_floor_s15)
  nvcc -O3 -arch=sm_90a -o /tmp/read_floor docs/experiments/read_floor_s15/read_floor.cu > "$OUT/readfloor.txt" 2>&1 &&
    timeout 60 /tmp/read_floor >> "$OUT/readfloor.txt" 2>&1
  note "readfloor rc=$?"; cat "$OUT/readfloor.txt" | tee -a "$sum" ;;
probe)
  # the INT8 kernel through Python at N = 1k-16k (bench_peers' 1k row against intfa-perf's)
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python" timeout 200 \
    python3 scripts/probe_layout.py 2>&1 | tee -a "$sum"
  for n in 1024 16384; do build/intfa-perf --hd 128 --n $n --reps 30 2>&1 | tail -1 | tee -a "$sum"; done ;;
decodeprof)
  # issue 17: the decode and the combine at B = 1, N_kv = 16k, one launch each at the GPU's own
  # clocks (ncu --clock-control none; caches flushed before each), durations and throughput
  export INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python"
  timeout 200 ncu --clock-control none --kernel-name "regex:intfa_kv_(decode|combine)" --launch-skip 4 --launch-count 6 \
    --metrics gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,launch__grid_size,sm__warps_active.avg.pct_of_peak_sustained_active \
    python3 scripts/bench_decode.py --no-fp16 --batches 1 --lens 16384 --reps 2 --rounds 1 > "$OUT/decodeprof.txt" 2>&1
  note "decodeprof rc=$?"; grep -E "intfa_kv_|duration|throughput|bytes_read|grid_size|warps_active" "$OUT/decodeprof.txt" | head -40 | tee -a "$sum" ;;
pytests)
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
    timeout 300 python3 -m pytest -q -p no:cacheprovider -m gpu --ignore=python/tests/test_install.py python/tests > "$OUT/pytests.log" 2>&1
  note "python GPU tests rc=$? $(tail -1 "$OUT/pytests.log")" ;;
overhead)
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python" timeout 120 \
    python3 -m pytest -q -s -p no:cacheprovider python/tests/test_overhead.py > "$OUT/overhead.log" 2>&1
  note "overhead rc=$? $(grep -h '^overhead:' "$OUT/overhead.log" | tr '\n' ' ')"
  timeout 60 build/intfa-perf --overhead 1 2>&1 | grep -v compil | tee "$OUT/overhead_c.txt" | tee -a "$sum" ;;
peers)
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
    timeout 400 python3 scripts/bench_peers.py --rows dims --out "$OUT/peers" > "$OUT/peers.log" 2>&1
  note "bench_peers dims rc=$?"; tail -30 "$OUT/peers.log" ;;
*) echo "device_verify.sh: unknown mode $mode" >&2; exit 2 ;;
esac; done
cat "$sum"
