#!/usr/bin/env bash
# A CUDA timeline of the device steps without Nsight Systems (docs/GPU.md "A CUDA timeline without
# Nsight Systems"): builds scripts/cupti-trace.c against this machine's CUPTI, runs quickstart-wide's
# BP and Sideways device steps (8-bit clips) under it at each batch in BATCHES, then our BP step and
# PyTorch's in one peer benchmark (with SIDEWAYS_PYTHON), and prints where each step's time went
# (scripts/cuda-trace-summary.mjs): GPU busy, the GPU idle waiting for the host's launches and
# after them, copies, and the host's time in CUDA calls and waits.
# Needs a C compiler, CUDA's headers and CUPTI (a CUDA toolkit: CUDA_HOME, default /usr/local/cuda),
# or CUPTI_TRACE_LIB naming a build of cupti-trace.c made elsewhere; and `sideways gpu install cuda13`.
# Usage: OUT=dir BATCHES="64 256" ROUNDS=20 [CUPTI_TRACE_LIB=libcupti-trace.so] bash scripts/gpu-trace.sh
set -uo pipefail
. "$(dirname "$0")/script-help.sh"
no_arguments "OUT, BATCHES, ROUNDS, PEER_BATCH, CUPTI_TRACE_LIB, CUDA_HOME, CC, SIDEWAYS_PYTHON" "$@"
[ -z "${CUPTI_TRACE_LIB:-}" ] || CUPTI_TRACE_LIB=$(realpath "$CUPTI_TRACE_LIB") || exit 1
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CUDA=${CUDA_HOME:-/usr/local/cuda}
first() { for p in "$@"; do [ -e "$p" ] && { echo "$p"; return 0; }; done; return 1; }
found=$(first "$CUDA"/extras/CUPTI/lib64/libcupti.so* "$CUDA"/lib64/libcupti.so* "$CUDA"/targets/*/lib/libcupti.so*) ||
  { echo "no libcupti.so under $CUDA: set CUDA_HOME to a CUDA toolkit"; exit 1; }
CUPTI_LIB=$(dirname "$found")
if [ -n "${CUPTI_TRACE_LIB:-}" ]; then
  # A build made elsewhere (older headers: it reads each record's leading fields, which CUPTI's
  # newer record versions keep in place); it finds libcupti through LD_LIBRARY_PATH.
  cp "$CUPTI_TRACE_LIB" "$OUT/libcupti-trace.so" || exit 1
  export LD_LIBRARY_PATH="$CUPTI_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "CUPTI: $CUPTI_LIB; cupti-trace built elsewhere: $CUPTI_TRACE_LIB"
else
  found=$(first "$CUDA/extras/CUPTI/include/cupti_activity.h" "$CUDA/include/cupti_activity.h" "$CUDA"/targets/*/include/cupti_activity.h) ||
    { echo "no CUPTI headers (cupti_activity.h) under $CUDA: set CUDA_HOME to a CUDA toolkit"; exit 1; }
  CUPTI_INC=$(dirname "$found")
  found=$(first "$CUDA/include/cuda.h" "$CUDA"/targets/*/include/cuda.h) || { echo "no cuda.h under $CUDA"; exit 1; }
  CUDA_INC=$(dirname "$found")
  CC=${CC:-$(command -v cc || command -v gcc || command -v clang)} || true
  [ -n "$CC" ] || { echo "no C compiler (cc, gcc or clang) to build scripts/cupti-trace.c (or set CUPTI_TRACE_LIB to a build)"; exit 1; }
  # The newest version of each activity record these headers define (CUpti_ActivityKernel9, ...).
  newest() { grep -oE "\} CUpti_Activity$1[0-9]*;" "$CUPTI_INC/cupti_activity.h" | tr -d '}; ' | sort -V | tail -1; }
  RECORDS=(-DKERNEL_RECORD="$(newest Kernel)" -DMEMCPY_RECORD="$(newest Memcpy)" -DMEMSET_RECORD="$(newest Memset)" -DSYNC_RECORD="$(newest Synchronization)")
  echo "CUPTI: $CUPTI_INC, $CUPTI_LIB; records: ${RECORDS[*]}"
  "$CC" -O2 -Wall -shared -fPIC -I"$CUPTI_INC" -I"$CUDA_INC" "${RECORDS[@]}" scripts/cupti-trace.c \
    -L"$CUPTI_LIB" -lcupti -Wl,-rpath,"$CUPTI_LIB" -o "$OUT/libcupti-trace.so" || { echo "building cupti-trace failed"; exit 1; }
fi
export SIDEWAYS_ORT=cuda13 NVIDIA_TF32_OVERRIDE=0
rc=0
for batch in ${BATCHES:-64 256}; do
  rm -f "$OUT"/trace-b"$batch"-*.csv "$OUT/marks-b$batch.json"
  CUDA_INJECTION64_PATH="$OUT/libcupti-trace.so" SIDEWAYS_CUPTI_TRACE="$OUT/trace-b$batch-%p.csv" \
    node scripts/device-step-ab.mjs . . --clips uint8 --methods bp,sideways --provider cuda --model models/quickstart-wide.yaml \
    --batch "$batch" --frames 8 --rounds "${ROUNDS:-20}" --marks "$OUT/marks-b$batch.json" | tail -7 || rc=1
  node scripts/cuda-trace-summary.mjs "$OUT/trace-b$batch-%p.csv" "$OUT/marks-b$batch.json" --json "$OUT/trace-summary-b$batch.json" || rc=1
  gzip -f "$OUT"/trace-b"$batch"-*.csv
done
# Our BP step and PyTorch's in one peer benchmark, both traced (each process writes its own
# trace and marks its own timed steps): PEER_BATCH clips x 8 frames, both sides uploading 8-bit
# pixels each step (--peer-upload: the same work on both sides).
if [ -n "${SIDEWAYS_PYTHON:-}" ]; then
  rm -f "$OUT"/trace-peer-*.csv "$OUT"/marks-peer-*.json
  CUDA_INJECTION64_PATH="$OUT/libcupti-trace.so" SIDEWAYS_CUPTI_TRACE="$OUT/trace-peer-%p.csv" SIDEWAYS_STEP_MARKS="$OUT/marks-peer-ours.json" \
    SIDEWAYS_PEER_MARKS="$OUT/marks-peer-torch.json" node bin/sideways.js bench --peer torch --provider cuda --pixel-clips --peer-upload \
    --model models/quickstart-wide.yaml --batch "${PEER_BATCH:-256}" --frames 8 --rounds 5 | tail -4 || rc=1
  for side in ours torch; do
    node scripts/cuda-trace-summary.mjs "$OUT/trace-peer-%p.csv" "$OUT/marks-peer-$side.json" --json "$OUT/trace-summary-peer-$side.json" || rc=1
  done
  gzip -f "$OUT"/trace-peer-*.csv
else
  echo "SIDEWAYS_PYTHON unset: PyTorch's step is not traced"
fi
exit $rc
