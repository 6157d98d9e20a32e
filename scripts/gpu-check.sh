#!/usr/bin/env bash
# The prepared GPU check (docs/GPU.md), one command on a Linux x64 machine with an NVIDIA GPU,
# Node.js 20+, `npm ci` done, and Python with PyTorch (CUDA) for the peer benchmark:
#   1. sideways doctor                       what works here
#   2. sideways gpu install cuda13           the CUDA build (skips what is installed)
#   3. gradient and training tests on each GPU provider against the float64 reference
#      (CUDA with SIDEWAYS_ORT=cuda13; WebGPU where a Vulkan driver is found)
#   4. our BP step against PyTorch CUDA on the same GPU, model and batches (agreement first)
#   5. Sideways against BP on the GPU (sequential and 2 depth-parallel stages)
# Every step has its own time limit, so a hang cannot eat the rest; logs and JSON go to $OUT
# (default gpu-check-out/), and the last lines say which steps passed.
# Both sides compute in plain float32: NVIDIA_TF32_OVERRIDE=0 turns TF32 off in cuBLAS and cuDNN
# (onnxruntime's CUDA EP enables it by default), and the PyTorch peer turns it off too.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export NVIDIA_TF32_OVERRIDE=0
export SIDEWAYS_PYTHON=${SIDEWAYS_PYTHON:-$(command -v python3)}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
MOCHA="node node_modules/mocha/bin/mocha.js --no-config --timeout 300000 --reporter dot"
TESTS="dist/test/layers-gradients.test.js dist/test/model-gradient.test.js dist/test/gpu-training.test.js"
summary=()

step() { # name, seconds, command...
  local name=$1 limit=$2; shift 2
  echo "=== $name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" > >(tee "$OUT/$name.log") 2>&1
  local rc=$?
  summary+=("$name: exit $rc in $((SECONDS - t0)) s")
  return $rc
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
step doctor 120 node bin/sideways.js doctor
step install 180 node bin/sideways.js gpu install cuda13 --python "$SIDEWAYS_PYTHON"
step tests-cuda 240 env SIDEWAYS_ORT=cuda13 SIDEWAYS_TEST_GPU=cuda $MOCHA --grep '\[cuda\]' $TESTS
step tests-webgpu 150 env SIDEWAYS_ORT=cuda13 $MOCHA --grep '\[webgpu\]' $TESTS
for batch in ${PEER_BATCHES:-64 256}; do
  step "peer-cuda-b$batch" 150 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda \
    --model models/quickstart-wide.yaml --batch "$batch" --frames 8 --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-b$batch.json"
done
step bench-cuda 200 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --provider cuda --model models/quickstart-wide.yaml \
  --batch 64 --frames 16 --workers 2 --rounds 3 --json "$OUT/bench-cuda.json"
printf '%s\n' "=== summary" "${summary[@]}" | tee "$OUT/summary.txt"
