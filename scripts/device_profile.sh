#!/usr/bin/env bash
# ncu profile of one attention launch per variant (build/ carried): speed of light, pipe
# utilization, warp stalls, scheduler and instruction statistics.
# usage: device_profile.sh hd n causal variant...
set -uo pipefail
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
export LD_LIBRARY_PATH="$PWD/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hd=$1; n=$2; c=$3; shift 3
for v in "$@"; do
  echo "=== $v"
  ./build/intfa-perf --hd $hd --n $n --causal $c --reps 1 --variant $v > /dev/null 2>&1 # compile first
  ncu --kernel-name intfa_attn_fwd --launch-skip 1 --launch-count 1 --section SpeedOfLight \
      --section WarpStateStats --section ComputeWorkloadAnalysis --section SchedulerStats \
      --section InstructionStats --section Occupancy --section LaunchStats \
      --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_alu.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_xu_cycles_active.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum \
      ./build/intfa-perf --hd $hd --n $n --causal $c --reps 1 --variant $v > "$OUT/ncu_$v.txt" 2>&1
  grep -E "Duration|Issue Slots Busy|Executed Ipc Active|Registers Per|Warp Cycles Per Issued|Stall|SM Busy|Compute \(SM\) Throughput|pipe|inst_executed|No Eligible|Active Warps Per" "$OUT/ncu_$v.txt" | head -40
done
