#!/usr/bin/env bash
# Where a CUDA device step's time goes on the GPU's own clock (docs/GPU.md "Where our BP step's
# time goes"): quickstart-wide's BP device step at 256 x 8 clips under Nsight Systems, whose
# reports give each kernel's time as it ran in the step (warm caches, no replay), the host-device
# copies, and the CUDA calls that make the host wait (cudaStreamSynchronize, cudaMemcpy). Their
# sums against the step's wall time say how much of a step is kernels, copies and idle GPU.
# Without nsys, Nsight Compute's per-kernel times with warm caches (--cache-control none) instead.
# Usage: OUT=dir FORMS=key=value,... bash scripts/gpu-timeline.sh  (after `sideways gpu install cuda13`)
set -uo pipefail
. "$(dirname "$0")/script-help.sh"
no_arguments "OUT, FORMS, ROUNDS, NCU, NSYS, NCU_SKIP" "$@"
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export SIDEWAYS_ORT=cuda13 NVIDIA_TF32_OVERRIDE=0
ROUNDS=${ROUNDS:-30}
# One arm, A against itself: the medians printed are the step's wall time under the profiler.
ARM=".${FORMS:+:$FORMS}"
APP=(node scripts/device-step-ab.mjs "$ARM" "$ARM" --methods bp --provider cuda --model models/quickstart-wide.yaml --batch 256 --frames 8 --rounds "$ROUNDS")
find_tool() { command -v "$1" || ls /usr/local/cuda/bin/"$1" /opt/nvidia/nsight-*/*/bin/"$1" /opt/nvidia/nsight-*/*/"$1" 2>/dev/null | head -1; }
NSYS=$(find_tool nsys)
NCU=$(find_tool ncu)
echo "nsys: ${NSYS:-none}; ncu: ${NCU:-none}; steps: 2 x ($ROUNDS + 3 warm-up); arm $ARM"
if [ -n "$NSYS" ]; then
  "$NSYS" profile --trace=cuda --sample=none --cpuctxsw=none --force-overwrite=true -o "$OUT/timeline" "${APP[@]}" 2>&1 | tail -8
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || { echo "nsys profile failed (exit $rc)"; exit "$rc"; }
  for report in cuda_gpu_kern_sum cuda_gpu_mem_time_sum cuda_api_sum; do
    "$NSYS" stats --report "$report" --format csv --output "$OUT/timeline" "$OUT/timeline.nsys-rep" > /dev/null 2>&1
    echo "--- $report (top 25)"
    head -26 "$OUT/timeline_$report.csv" 2>/dev/null | cut -c1-220
  done
  "$NSYS" stats --report cuda_gpu_trace --format csv --output "$OUT/timeline" "$OUT/timeline.nsys-rep" > /dev/null 2>&1
  gzip -f "$OUT/timeline_cuda_gpu_trace.csv" 2>/dev/null
  rm -f "$OUT/timeline.sqlite"
elif [ -n "$NCU" ]; then
  # Past the sessions' cuDNN algorithm searches and the warm-up steps (run 6: about 104 kernels a
  # step; the searches launch a few thousand), then about ten steps.
  "$NCU" --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv --page raw \
    --launch-skip "${NCU_SKIP:-3000}" --launch-count 1000 --log-file "$OUT/ncu-warm.csv" "${APP[@]}" 2>&1 | tail -6
  rc=${PIPESTATUS[0]}
  gzip -f "$OUT/ncu-warm.csv"
  exit "$rc"
else
  echo "neither nsys nor ncu found: nothing to profile"
  exit 1
fi
