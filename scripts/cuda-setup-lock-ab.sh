#!/usr/bin/env bash
# Does the "cuda-setup" lock (src/runtime/device-lock.ts) end the depth-parallel benchmark's
# intermittent "CUDA failure 900: operation not permitted when stream is capturing" (docs/GPU.md
# run 9)? ROUNDS rounds (default 5) of PAIRS pairs (default 2) of `sideways bench --workers 2`
# processes at once, each pair one with the lock and one without (SIDEWAYS_CUDA_SETUP_LOCK=off), so
# both arms run under the same load; then how many runs of each arm failed, and how many of those
# with the capture error. Exit 1 when a run with the lock failed.
# Usage: bash scripts/cuda-setup-lock-ab.sh   (OUT=DIR, default cuda-setup-lock-ab-out; PROVIDER,
#   default cuda, `cpu` checks the script itself on a machine without a GPU; ROUNDS; PAIRS)
set -uo pipefail
. "$(dirname "$0")/script-help.sh"
no_arguments "OUT, PROVIDER, ROUNDS, PAIRS" "$@"
cd "$(dirname "$0")/.."
OUT=${OUT:-cuda-setup-lock-ab-out}
PROVIDER=${PROVIDER:-cuda}
ROUNDS=${ROUNDS:-5}
PAIRS=${PAIRS:-2}
for v in ROUNDS PAIRS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "$v: expected a whole number above 0, found '${!v}'" >&2; exit 2; }
done
mkdir -p "$OUT"

bench() { # arm, name
  env ${1:+SIDEWAYS_CUDA_SETUP_LOCK=$1} node bin/sideways.js bench --provider "$PROVIDER" --model models/quickstart-wide.yaml \
    --batch 64 --frames 16 --workers 2 --rounds 1 > "$OUT/$2.log" 2>&1
  echo $? > "$OUT/$2.rc"
}

for r in $(seq 1 "$ROUNDS"); do
  for p in $(seq 1 "$PAIRS"); do
    bench "" "lock-r$r-p$p" &
    bench off "nolock-r$r-p$p" &
  done
  wait
  echo "round $r/$ROUNDS done"
done

json="{"
echo "| arm | runs | failed | with the capture error |"
echo "|---|---|---|---|"
for arm in lock nolock; do
  runs=0 failed=0 capture=0
  for rc in "$OUT/$arm"-r*.rc; do
    runs=$((runs + 1))
    [ "$(cat "$rc")" = 0 ] && continue
    failed=$((failed + 1))
    grep -q "stream is capturing" "${rc%.rc}.log" && capture=$((capture + 1))
  done
  echo "| $([ $arm = lock ] && echo "with the lock" || echo "without (SIDEWAYS_CUDA_SETUP_LOCK=off)") | $runs | $failed | $capture |"
  json+="\"$arm\":{\"runs\":$runs,\"failed\":$failed,\"capture_errors\":$capture},"
  [ $arm = lock ] && lock_failed=$failed
done
echo "${json%,},\"provider\":\"$PROVIDER\",\"rounds\":$ROUNDS,\"pairs\":$PAIRS}" > "$OUT/cuda-setup-lock-ab.json"
echo "logs and cuda-setup-lock-ab.json in $OUT"
[ "$lock_failed" = 0 ]
