#!/usr/bin/env bash
# The WebGPU graphs against the CPU provider on random layer shapes (scripts/webgpu-fault-sweep.mjs):
# a fixed seed and 60 layers, a few seconds on lavapipe. It guards the workarounds for the WebGPU
# EP's Conv faults (docs/GPU.md "WebGPU EP faults") on shapes the layer table does not name.
# Needs the WebGPU adapter .ci/system/20-webgpu.sh installs (.ci/run sets XDG_RUNTIME_DIR) and a
# built dist/ (npm test builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/webgpu-fault-sweep.mjs --count 60 --seed 9 2>&1 | grep -v "^Warning: max"
