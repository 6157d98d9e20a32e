#!/usr/bin/env bash
# The npm package: `npm pack` must hold what the CLI needs and nothing big, and install into an
# empty folder where `npx sideways run` trains the quickstart experiment (a few steps).
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/lib/log.sh

work=$(mktemp -d /tmp/sideways-pack.XXXXXX)
ci_say "npm run build && npm pack (into $work)"
npm run build >/dev/null
tgz=$work/$(npm pack --pack-destination "$work" 2>/dev/null | tail -n 1)
[ -f "$tgz" ] || ci_fail "npm pack made no tarball"
tar -tzf "$tgz" | sed 's#^package/##' | sort >"$work/contents.txt"
for f in bin/sideways.js dist/src/cli/main.js dist/src/train/stage-worker.js models/quickstart-cnn.yaml experiments/quickstart.yaml bench/torch_peer.py package.json README.md CHANGELOG.md; do
  grep -qx "$f" "$work/contents.txt" || ci_fail "the package lacks $f"
done
if grep -E '^(test|src|node_modules|results|\.ci)/|\.ts$|\.map$' "$work/contents.txt" | grep -v '\.d\.ts$' | head -5 | grep .; then
  ci_fail "the package holds files users do not need (above)"
fi
bytes=$(stat -c %s "$tgz")
[ "$bytes" -lt 1000000 ] || ci_fail "the package is $bytes bytes; keep it under 1 MB"
ci_say "$(basename "$tgz"): $bytes bytes, $(wc -l <"$work/contents.txt") files"

ci_say "npm install ./$(basename "$tgz") into an empty folder"
mkdir "$work/user" && cd "$work/user"
npm init -y >/dev/null
# The user's npm runs onnxruntime-node's postinstall (npm 10 and 11 alike) unless told not to:
# skip its CUDA download from NuGet, as a user without a GPU or NuGet access would.
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund "$tgz"
want=$(node -p 'require("./node_modules/sideways/package.json").version')
[ "$(npx sideways --version)" = "$want" ] || ci_fail "npx sideways --version says $(npx sideways --version), not the package's $want (npm init's project is 1.0.0)"
ci_say "npx sideways run node_modules/sideways/experiments/quickstart.yaml (30 steps)"
npx sideways validate node_modules/sideways/experiments/quickstart.yaml
npx sideways run node_modules/sideways/experiments/quickstart.yaml train.steps=30 eval.every=15 eval.clips=32 \
  || ci_fail "the installed package could not run the quickstart"
summary=$(ls results/quickstart/*/summary.json)
grep -q '"status": *"completed"' "$summary" || ci_fail "$summary does not say completed"
grep -q '"steps_done": *30' "$summary" || ci_fail "$summary: expected 30 steps done"
cd / && rm -rf "$work"
ci_say "the packed package installs and runs the quickstart"
