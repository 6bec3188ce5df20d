#!/usr/bin/env bash
# Packs, on the build machine, what scripts/device_verify.sh needs on the GPU machine into one
# carry path, build-dev/a (well under the 64 MiB a call carries):
#   bin/     the GPU test binaries (attention, varlen, quant_dims, kvcache), intfa-perf,
#            intfa-demo, libintfa-jit and, beside them, liblua and libcmocka (the GPU machine
#            has neither); device_verify.sh copies them into build/ there
#   cache/   this tree's kernels precompiled (scripts/dims_cache.sh: every head dim's defaults,
#            sm_90a and sm_90), so the tests compile almost nothing on the device
#   tpl_old/ the templates of 914046b (mode ab's "old")
# Then: run with carry ["build-dev/a"] and command `bash scripts/device_verify.sh MODES...`.
# Rerun after any change to the library or the templates.
set -euo pipefail
cd "$(dirname "$0")/.."
A=build-dev/a
need="test_gpu_attention test_gpu_varlen test_gpu_quant_dims test_gpu_kvcache intfa-perf intfa-demo libintfa-jit.so.0.1.0"
for f in $need; do
  [ -f "build/$f" ] || { echo "device_pack.sh: build/$f missing (cmake --build build first)" >&2; exit 1; }
done
# liblua and libcmocka: the ones the binaries load here (the GPU machine has neither)
libs=$(ldd build/test_gpu_attention build/libintfa-jit.so.0.1.0 | awk '$1 ~ /^lib(cmocka|lua)/ && $3 ~ /^\// {print $3}' | sort -u)
[ "$(echo "$libs" | grep -c .)" -eq 2 ] || { echo "device_pack.sh: liblua or libcmocka not found by ldd: $libs" >&2; exit 1; }
bash scripts/dims_cache.sh
rm -rf "$A"
mkdir -p "$A/bin" "$A/tpl_old"
cp -r build-dev/cache "$A/cache"
git archive 914046b templates | tar -x -C "$A/tpl_old" --strip-components=1
git show main:templates/kv_cache.cu > "$A/kv_cache.before.cu" # device_verify.sh kv's B
for f in $need; do cp "build/$f" "$A/bin/"; done
for l in $libs; do cp -L "$l" "$A/bin/"; done
ls "$A/bin"
du -sh "$A"
