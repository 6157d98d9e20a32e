#!/usr/bin/env bash
# The prepared GPU check (docs/GPU.md), one command on a Linux x64 machine with an NVIDIA GPU,
# Node.js 20+, `npm ci` done, and Python with PyTorch (CUDA) for the peer benchmark (SIDEWAYS_PYTHON,
# else python3 on PATH; the check prints which):
#   1. sideways gpu install cuda13           the CUDA build (skips what is installed)
#   2. gradient and training tests on CUDA against the float64 reference (SIDEWAYS_ORT=cuda13)
#   3. our BP step (the device step, as training runs it on a GPU) against PyTorch CUDA on the same
#      GPU, model and batches (agreement first; PyTorch's batches on the GPU, then also uploaded
#      each step as ours are), each rule's host path against its device step, and the graph forms
#      (SIDEWAYS_GRAPH_FORMS) against the default ones, whose BP and Sideways device steps in one
#      process without a host path between them give "Sideways at least BP's frames/s" on one GPU;
#      what one onnxruntime call and one node cost there (scripts/node-overhead.mjs), and a CUPTI
#      timeline of the BP and Sideways device steps (scripts/gpu-trace.sh)
#   4. training runs of experiments/gpu-wide.yaml with and without data workers (step and data time;
#      before the timeline below), what making the batches costs the step's thread, and the small zoo models against PyTorch, on the GPU and on the
#      CPU (agreement first)
#   5. Sideways against BP on the GPU (sequential, 2 depth-parallel stages, 2 replicas), whether the
#      cuda-setup lock ends that benchmark's intermittent failure (scripts/cuda-setup-lock-ab.sh), and with two
#      GPUs, Sideways' stages on both against both on one (scripts/gpu-pair-check.mjs)
#   6. the same tests, the BP step, a graph form and the node cost on WebGPU, where a Vulkan driver is found (the NVIDIA
#      driver's own Vulkan library is registered if no ICD file names it)
#   7. sideways doctor                       what works here
# and, after step 3, the BP step's timeline under Nsight Systems (scripts/gpu-timeline.sh), where
# nsys or ncu is found.
# Every step has its own time limit, so a hang cannot eat the rest; logs and JSON go to $OUT
# (default gpu-check-out/), and the last lines say which steps passed. GPU_CHECK_STEPS="install
# tests-cuda bench-cuda* gpu-pair" runs only the steps whose names match one of those shell
# patterns (the others say "skipped"), for a machine lent for less time than the whole check takes.
# Both sides compute in plain float32: NVIDIA_TF32_OVERRIDE=0 turns TF32 off in cuBLAS and cuDNN
# (onnxruntime's CUDA EP enables it by default), and the PyTorch peer turns it off too.
set -uo pipefail
. "$(dirname "$0")/script-help.sh"
no_arguments "OUT, GPU_CHECK_STEPS, SIDEWAYS_PYTHON, SIDEWAYS_CUDA_DIR, XDG_CACHE_HOME, PEER_BATCHES, PEER_ROUNDS, PEER_ZOO, PEER_ZOO_CPU, PEER_FORMS, STEPS_PER_CALL" "$@"
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export NVIDIA_TF32_OVERRIDE=0
# The Python of the peer benchmarks and of the install's CUDA library search: as `sideways` picks
# it (src/runtime/python.ts), SIDEWAYS_PYTHON, else python3 on PATH (a virtual environment's first).
if [ -n "${SIDEWAYS_PYTHON:-}" ]; then python_from=SIDEWAYS_PYTHON
elif SIDEWAYS_PYTHON=$(command -v python3); then python_from="python3 on PATH"
else python_from="no python3 on PATH: the PyTorch peer steps fail"; fi
export SIDEWAYS_PYTHON
echo "python: ${SIDEWAYS_PYTHON:-none} ($python_from)"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
MOCHA="node node_modules/mocha/bin/mocha.js --no-config --timeout 300000 --reporter dot"
TESTS="dist/test/layers-gradients.test.js dist/test/model-gradient.test.js dist/test/gpu-training.test.js dist/test/device-step.test.js dist/test/chain-calls.test.js"
summary=()

# Whether GPU_CHECK_STEPS (unset: every step) selects step $1; `read -a` splits without globbing.
selected() {
  [ -z "${GPU_CHECK_STEPS:-}" ] && return 0
  local patterns p
  read -ra patterns <<< "$GPU_CHECK_STEPS"
  for p in "${patterns[@]}"; do [[ "$1" == $p ]] && return 0; done
  return 1
}

step() { # name, seconds, command...
  local name=$1 limit=$2; shift 2
  if ! selected "$name"; then
    summary+=("$name: skipped (GPU_CHECK_STEPS)")
    return 0
  fi
  echo "=== $name (limit ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" > >(tee "$OUT/$name.log") 2>&1
  local rc=$?
  summary+=("$name: exit $rc in $((SECONDS - t0)) s")
  return $rc
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
# The most informative steps first, so that a slow machine still gives them.
step install 120 node bin/sideways.js gpu install cuda13
# The WebGPU steps run on the CUDA build where one is installed (as src/runtime/cuda-install.ts
# finds it), else on the bundled onnxruntime; a skipped install step no longer counts as one done.
cuda_dir=${SIDEWAYS_CUDA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sideways/ort-cuda13}
if [ -f "$cuda_dir/sideways-cuda13.json" ]; then ORT=cuda13; else ORT=bundled; fi
echo "WebGPU steps: SIDEWAYS_ORT=$ORT (CUDA build manifest $cuda_dir/sideways-cuda13.json $([ "$ORT" = cuda13 ] && echo found || echo missing))"
step tests-cuda 180 env SIDEWAYS_ORT=cuda13 SIDEWAYS_TEST_GPU=cuda $MOCHA --grep '\[cuda\]' $TESTS
for batch in ${PEER_BATCHES:-64 256}; do
  step "peer-cuda-b$batch" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda \
    --model models/quickstart-wide.yaml --batch "$batch" --frames 8 --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-b$batch.json"
done
# The same with PyTorch moving each step's batch from host memory inside its timed step, as our
# side does (a training loop fed by a data loader): the other fair comparison.
step "peer-cuda-upload-b256" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda --peer-upload \
  --model models/quickstart-wide.yaml --batch 256 --frames 8 --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-upload-b256.json"
# BP and Sideways, each by the device step and the host path: where the time of a step goes once
# the weights stay put, and Sideways against BP on one GPU (8 frames: L = 4 needs 7; 16 frames:
# less of Sideways' pipeline fill and drain).
for batch in ${PEER_BATCHES:-64 256}; do
  step "step-cuda-b$batch" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --step --provider cuda \
    --model models/quickstart-wide.yaml --batch "$batch" --frames 8 --rounds 20 --json "$OUT/step-cuda-b$batch.json"
done
# CUDA_TARGET's graph forms (docs/PERFORMANCE.md attempts 67-69) against the ones it left out and
# the ones it replaced (SIDEWAYS_GRAPH_FORMS): each rule's device step, every arm in one process on
# the same batches (how far each arm's weights end from the default's is printed too; the bp and
# sideways rows of arm A are also the device steps' Sideways-against-BP figure, with no host path
# interleaved), then, where PEER_FORMS names forms, the peer step with them (run 8 measured attempt
# 67's: PEER_FORMS=convInputGrad=transpose,convRelu=separate). Attempt 64's dilated-Conv and attempt 69's GEMM weight gradients were
# measured and rejected: `SIDEWAYS_GRAPH_FORMS=convWeightGrad=conv|gemm` still runs them.
BEFORE_69=convInputGrad=transpose,convRelu=separate
step "forms-ab-cuda-b256" 150 env SIDEWAYS_ORT=cuda13 node scripts/device-step-ab.mjs . ".:$BEFORE_69" .:unfoldForwardChannels=1 \
  .:paramSplit=slices .:convWeightGrad=columns .:sidewaysClip=split --provider cuda --model models/quickstart-wide.yaml \
  --batch 256 --frames 8 --rounds 30 --json "$OUT/forms-ab-cuda-b256.json"
# At 64 x 8, where Sideways' device step was slower than BP's (docs/GPU.md run 8): attempt 74's
# Sideways clip (one forward per block, phases handed down) against the split forwards before it.
step "forms-ab-cuda-b64" 100 env SIDEWAYS_ORT=cuda13 node scripts/device-step-ab.mjs . .:sidewaysClip=split --provider cuda \
  --model models/quickstart-wide.yaml --batch 64 --frames 8 --rounds 30 --json "$OUT/forms-ab-cuda-b64.json"
# What a call and a node cost on CUDA, and how many kernels each device step launches there.
step node-overhead-cuda 60 env SIDEWAYS_ORT=cuda13 node scripts/node-overhead.mjs --provider cuda --json "$OUT/node-overhead-cuda.json"
# The device step's host time around onnxruntime's native run (JS before and after, the binding,
# onnxruntime outside the graph; docs/GPU.md runs 10-11), with V8's self times.
step host-tail-cuda-b256 60 env SIDEWAYS_ORT=cuda13 node scripts/host-tail.mjs --provider cuda --model models/quickstart-wide.yaml \
  --batch 256 --frames 8 --steps 40 --cpu-profile --json "$OUT/host-tail-cuda-b256.json"
# Where a device step's time goes on the GPU's clock (CUPTI, without Nsight Systems): GPU busy, the
# GPU idle waiting for the host's launches, copies, the host's waits (scripts/gpu-trace.sh).
step trace 180 env OUT="$OUT" bash scripts/gpu-trace.sh
if [ -n "${PEER_FORMS:-}" ]; then
  step "peer-cuda-forms-b256" 100 env SIDEWAYS_ORT=cuda13 SIDEWAYS_GRAPH_FORMS="$PEER_FORMS" \
    node bin/sideways.js bench --peer torch --provider cuda --model models/quickstart-wide.yaml --batch 256 --frames 8 \
    --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-forms-b256.json"
fi
# Clips as 8-bit pixels (docs/GPU.md "Clips as 8-bit pixels"): the device step taking them against
# float32 clips (the step's clip input must give the float clips bit for bit; the weights of two
# sessions of the same graph, arms A and C, show how far CUDA's sessions drift apart anyway), then
# the peer step with our side taking them, against PyTorch's resident batches and against PyTorch
# uploading the same 8-bit pixels.
step "clips-ab-cuda-b256" 100 env SIDEWAYS_ORT=cuda13 node scripts/device-step-ab.mjs . . --clips float32,uint8 --provider cuda \
  --model models/quickstart-wide.yaml --batch 256 --frames 8 --rounds 30 --json "$OUT/clips-ab-cuda-b256.json"
for upload in "" --peer-upload; do
  step "peer-cuda-pixels${upload:+-upload}-b256" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda --pixel-clips $upload \
    --model models/quickstart-wide.yaml --batch 256 --frames 8 --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-pixels${upload:+-upload}-b256.json"
done
# Several steps a call (bench --steps-per-call, src/graph/chain-calls.ts): onnxruntime's start and
# end of a run paid once per K steps, PyTorch synchronising once per K steps; times per step.
for k in ${STEPS_PER_CALL:-2 4 8}; do
  for upload in "" --peer-upload; do
    step "peer-cuda-pixels${upload:+-upload}-k$k-b256" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda --pixel-clips $upload \
      --steps-per-call "$k" --model models/quickstart-wide.yaml --batch 256 --frames 8 --rounds "${PEER_ROUNDS:-10}" --json "$OUT/peer-cuda-pixels${upload:+-upload}-k$k-b256.json"
  done
done
# Training as a user runs it (experiments/gpu-wide.yaml, 256 x 8 clips of Moving MNIST): the clips
# made on the step's thread, then by 8 data workers; median step and data time (docs/GPU.md run 8).
for w in 0 8; do
  rm -rf "$OUT/train-w$w" # a finished run in the folder would be skipped, and its old steps read
  step "train-cuda-w$w" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js run experiments/gpu-wide.yaml data.workers=$w output.dir="$OUT/train-w$w" --quiet
done
# The same run with 4 steps a call (runtime.steps_per_call): each metrics row is its call's time / 4.
rm -rf "$OUT/train-w8-k4"
step "train-cuda-w8-k4" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js run experiments/gpu-wide.yaml runtime.steps_per_call=4 output.dir="$OUT/train-w8-k4" --quiet
step train-cuda-medians 30 node scripts/run-step-medians.mjs "$OUT/train-w0" "$OUT/train-w8" "$OUT/train-w8-k4" --json "$OUT/train-cuda-medians.json"
# What making the batches costs the step's thread while onnxruntime's synchronous run holds it,
# 8 workers, each batch released after its step (as training does) or left to the garbage
# collector (docs/PERFORMANCE.md attempt 78); on this machine's CPU cores, no GPU.
step step-thread-data 90 node scripts/step-thread-data.mjs --workers 8 --step-ms 5 --json "$OUT/step-thread-data.json"
# Where the BP step's time goes on the GPU's clock (kernels, copies, waits): scripts/gpu-timeline.sh.
step timeline 150 env OUT="$OUT" bash scripts/gpu-timeline.sh
step "step-cuda-b128-f16" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --step --provider cuda \
  --model models/quickstart-wide.yaml --batch 128 --frames 16 --rounds 20 --json "$OUT/step-cuda-b128-f16.json"
# The small zoo models (batch norm, group norm, residual units) against PyTorch: on the GPU, and
# with PEER_ZOO_CPU=1 on this machine's CPU too (one thread each; runs 6-8 measured it), agreement
# of losses, weights and buffers first.
for model in ${PEER_ZOO:-vgg-bn-mnist resnet-mnist}; do
  step "peer-cuda-$model" 100 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch --provider cuda \
    --model "models/$model.yaml" --batch 64 --frames 8 --rounds 5 --json "$OUT/peer-cuda-$model.json"
  [ -n "${PEER_ZOO_CPU:-}" ] && step "peer-cpu-$model" 150 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --peer torch \
    --model "models/$model.yaml" --batch 16 --frames 8 --threads 1 --rounds 5 --json "$OUT/peer-cpu-$model.json"
done
step bench-cuda 150 env SIDEWAYS_ORT=cuda13 node bin/sideways.js bench --provider cuda --model models/quickstart-wide.yaml \
  --batch 64 --frames 16 --workers 2 --rounds 3 --json "$OUT/bench-cuda.json"
# Run 9's bench-cuda failed once (a stage created a CUDA session while another ran its first calls).
# A session's creation and first run now hold a process-wide lock (src/runtime/device-lock.ts): 15
# benchmark processes with it against 15 without, 6 at a time (scripts/cuda-setup-lock-ab.sh).
step cuda-setup-lock-ab 200 env SIDEWAYS_ORT=cuda13 OUT="$OUT/cuda-setup-lock-ab" ROUNDS=5 PAIRS=3 bash scripts/cuda-setup-lock-ab.sh
# runtime.device_id across two GPUs: Sideways' two depth-parallel stages on GPUs 0 and 1 against
# both on GPU 0 (where each run was seen, the same weights, the step times); says "skipped" and
# passes on a machine with one GPU.
step gpu-pair 240 env SIDEWAYS_ORT=cuda13 node scripts/gpu-pair-check.mjs --out "$OUT/gpu-pair" --json "$OUT/gpu-pair.json"
# Containers often mount the NVIDIA driver's Vulkan library (libGLX_nvidia.so.0) without the ICD
# file that tells the Vulkan loader about it: use the one the runtime mounts, or write one.
# That library also needs libglvnd's libGLdispatch.so.0; without it the loader finds no driver
# ("Could not get 'vkCreateInstance'", docs/GPU.md "WebGPU on an NVIDIA GPU").
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && ldconfig -p | grep -q libGLX_nvidia.so.0; then
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  elif ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' > "$OUT/nvidia_icd.json"
    export VK_DRIVER_FILES="$(cd "$OUT" && pwd)/nvidia_icd.json"
  fi
  echo "NVIDIA Vulkan driver: ${VK_DRIVER_FILES:-found by the loader}"
  for lib in libvulkan.so.1 libGLdispatch.so.0; do
    ldconfig -p | grep -q "$lib" || echo "warning: $lib is missing, so WebGPU will find no NVIDIA adapter (apt-get install libvulkan1 libglvnd0)"
  done
fi
step tests-webgpu 120 env SIDEWAYS_ORT=$ORT $MOCHA --grep '\[webgpu\]' $TESTS
step step-webgpu 120 env SIDEWAYS_ORT=$ORT node bin/sideways.js bench --step --provider webgpu \
  --model models/quickstart-wide.yaml --batch 64 --frames 8 --rounds 10 --json "$OUT/step-webgpu.json"
# WebGPU's phases without SpaceToDepth (the target's default since attempt 75: the op runs on the
# CPU between two copies) against the SpaceToDepth op, and
# what a call and a node cost there.
step forms-ab-webgpu-b64 120 env SIDEWAYS_ORT=$ORT node scripts/device-step-ab.mjs . .:spaceToDepth=op --provider webgpu \
  --model models/quickstart-wide.yaml --batch 64 --frames 8 --rounds 5 --json "$OUT/forms-ab-webgpu-b64.json"
step node-overhead-webgpu 60 env SIDEWAYS_ORT=$ORT node scripts/node-overhead.mjs --provider webgpu --rounds 20 --json "$OUT/node-overhead-webgpu.json"
step doctor 60 node bin/sideways.js doctor
printf '%s\n' "=== summary" "${summary[@]}" | tee "$OUT/summary.txt"
