#!/usr/bin/env bash
# `npm ci` prints no warning with the npm that ships with Node 20 (10.8.2) and Node 22 (10.9.x)
# either (step 2 of .ci/run checked the npm installed here). Each installs into a fresh copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/lib/log.sh
work=$(mktemp -d /tmp/sideways-npm.XXXXXX)
git clone --quiet --no-checkout "$PWD" "$work/repo"
git -C "$work/repo" checkout --quiet --detach "$(git rev-parse HEAD)"
cd "$work/repo"
for v in 10.8.2 10.9; do
  ci_say "npm@$v ci ($(npx -y "npm@$v" --version))"
  rm -rf node_modules
  npx -y "npm@$v" ci --no-audit --no-fund 2>&1 | tee "$work/npm-$v.log"
  if grep -i '^npm warn' "$work/npm-$v.log"; then ci_fail "npm@$v ci printed the warnings above"; fi
  [ ! -e node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so ] || ci_fail "npm@$v ci downloaded the CUDA libraries"
done
cd / && rm -rf "$work"
ci_say "npm ci is quiet with npm 10.8.2 and 10.9, and fetched no CUDA libraries"
