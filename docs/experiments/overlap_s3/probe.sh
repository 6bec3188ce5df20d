#!/usr/bin/env bash
# issue 13 probes: per-phase clocks (x13_tl) and ncu throughput metrics, then drop-in perf
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/o}; mkdir -p $OUT
export LD_LIBRARY_PATH=$PWD/build INTFA_CACHE_DIR=/tmp/c1
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/probe.txt
V=attn_fwd-sm90a-d128-int8-fp16-full
INTFA_TEMPLATE_DIR=$PWD/docs/experiments/overlap_s3/tl timeout 120 build/intfa-perf --hd 128 --causal 0 --n 16384 --reps 1 --variant $V-pu8-m64n128w4s2 --variant $V-pf16-m64n128w4s2 --variant $V-pf16-m64n64w4s2 2>&1 | grep -E "^TL|sm90a" | sort | uniq -c | sort -k3 | head -80 >> $OUT/probe.txt
M=lts__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_bytes.sum.per_second,l1tex__m_xbar2l1tex_read_bytes.sum.per_second,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_elapsed,smsp__issue_active.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed
for v in pu8-m64n128w4s2 pf16-m64n128w4s2; do
  timeout 200 ncu --metrics $M -k intfa_attn_fwd -c 1 build/intfa-perf --hd 128 --n 4096 --reps 1 --variant $V-$v > $OUT/ncu_$v.txt 2>&1
  echo "== ncu $v" >> $OUT/probe.txt; grep -E "lts__|l1tex__|sm__pipe|smsp__|gpu__time|dram__" $OUT/ncu_$v.txt >> $OUT/probe.txt
done
cat $OUT/probe.txt
