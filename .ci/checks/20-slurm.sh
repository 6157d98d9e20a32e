#!/usr/bin/env bash
# A real Slurm cluster: start a one-node cluster on this machine (.ci/lib/slurm-cluster.sh),
# submit a sweep as a job array with the repository's own scripts/sweeps-slurm.sh, merge with
# `sideways results collect`, and check the table against a local run of the same sweep. Then
# kill one array task mid-run (SIGKILL to the task's whole process tree, as when a node dies),
# resubmit the array and check that only the missing run is redone. Last, scancel the array while
# both tasks train: the runs must save resume checkpoints (SIGTERM) and resume when resubmitted.
# Needs root, slurm-wlm and munge (.ci/system/10-slurm.sh) and a built dist/ (npm test builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/lib/log.sh
source .ci/lib/slurm-cluster.sh

EXP=test/fixtures/sweeps/ci-sweep.yaml   # 4 runs (bp, sideways x seeds 0, 1), about a second each
SW="node bin/sideways.js"
work=$(mktemp -d /tmp/sideways-slurm.XXXXXX)
export SLURM_CI_DIR=$work/cluster
trap 'slurm_cluster_stop' EXIT   # also when a step below fails
slurm_cluster_start "$work/cluster"
mkdir -p "$work/logs"

# Two array tasks (shards 0/2 and 1/2), one run at a time each, one CPU each.
submit() { # $1: results directory, $2: log prefix, then any overrides of the experiment
  local dir=$1 prefix=$2
  shift 2
  sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=1G --time=10 \
    --output="$work/logs/$prefix-%A_%a.log" --export=ALL,SIDEWAYS_SWEEP_JOBS=1 \
    scripts/sweeps-slurm.sh "$EXP" "output.dir=$dir" "$@"
}
show_logs() { for f in "$work"/logs/"$1"-*.log; do echo "--- $f"; tail -n 15 "$f"; done; }
# The columns that depend only on the computation (not wall_s, frames_per_s, ...), one run a line.
result_rows() { cut -d, -f1-12 "$1/runs.csv" | sort; }
same_results() { # $1 $2: results directories; $3: what
  if ! diff <(result_rows "$1") <(result_rows "$2"); then ci_fail "$3: runs.csv differs from the local run (diff above)"; fi
  $SW results table "$1" --metric final_train_loss --metric final_eval_loss --digits 6 >/dev/null
  $SW results table "$2" --metric final_train_loss --metric final_eval_loss --digits 6 >/dev/null
  # Chosen metrics go to table-<metrics>.md (the sweep's own table.md, with timings, stays).
  local t=table-final_train_loss-final_eval_loss.md
  diff "$1/$t" "$2/$t" || ci_fail "$3: the results table differs from the local run's"
  ci_say "$3: results table identical to the local run's:"
  cat "$2/$t"
}
run_index() { sed -n 's/.*"index": *\([0-9]*\).*/\1/p' "$1/run-meta.json"; }
completed() { grep -q '"status": *"completed"' "$1/summary.json" 2>/dev/null; }
# One line per finished run: name, summary.json hash, inode and mtime (a redone run changes all three).
finished_runs() {
  local d
  for d in "$1"/*/; do
    d=${d%/}
    if completed "$d"; then echo "$(basename "$d") $(sha256sum <"$d/summary.json" | cut -c1-16) $(stat -c '%i %Y' "$d/summary.json")"; fi
  done
}

ci_say "local run of the same sweep: sideways sweep $EXP --jobs 2"
$SW sweep "$EXP" "output.dir=$work/local" --jobs 2 >"$work/logs/local.log" 2>&1 || { tail -n 30 "$work/logs/local.log"; ci_fail "local sweep failed"; }
[ "$(result_rows "$work/local" | grep -c ',completed,')" = 4 ] || ci_fail "local sweep: expected 4 completed runs in runs.csv"

ci_say "1. sbatch --array=0-1 scripts/sweeps-slurm.sh $EXP"
job=$(submit "$work/slurm" p1)
states=$(slurm_wait_array "$job" 240)
echo "$states"
[ "$(grep -c ' COMPLETED$' <<<"$states")" = 2 ] || { show_logs p1; ci_fail "job array $job: expected 2 COMPLETED tasks"; }
$SW results collect "$work/slurm"
same_results "$work/local" "$work/slurm" "Slurm job array $job"

# Steps 2 and 3 catch runs in progress: the runs above take about a second each, too short for a
# 0.5 s poll to catch reliably. Ten times the steps, and a local reference sweep of the same.
LONG=(train.steps=12000 eval.every=4000)
$SW sweep "$EXP" "output.dir=$work/local-long" "${LONG[@]}" --jobs 2 >"$work/logs/local-long.log" 2>&1 || { tail -n 30 "$work/logs/local-long.log"; ci_fail "local sweep (long runs) failed"; }

ci_say "2. submit again, with 10x longer runs, into a fresh directory and kill array task 1 during its second run"
dir=$work/killed
job=$(submit "$dir" p2 "${LONG[@]}")
start=$SECONDS; victim=""
while [ -z "$victim" ]; do
  [ $((SECONDS - start)) -lt 180 ] || { show_logs p2; ci_fail "task 1 never reached its second run"; }
  sleep 0.5
  done_odd=0; running_odd=""
  for d in "$dir"/*/; do
    d=${d%/}
    [ -f "$d/run-meta.json" ] || continue
    [ $(( $(run_index "$d") % 2 )) = 1 ] || continue
    if completed "$d"; then done_odd=$((done_odd + 1));
    elif [ -f "$d.lock" ] && [ -f "$d/metrics.csv" ]; then running_odd=$d; fi
  done
  [ "$done_odd" = 1 ] && [ -n "$running_odd" ] && victim=$running_odd
done
lines=$(wc -l <"$victim/metrics.csv")
scancel --full --signal=KILL "${job}_1"
ci_say "killed task ${job}_1 (SIGKILL) while $(basename "$victim") was running ($lines lines of metrics.csv written)"
states=$(slurm_wait_array "$job" 240)
echo "$states"
grep -q '^0 COMPLETED$' <<<"$states" || { show_logs p2; ci_fail "task 0 should have completed"; }
grep -q '^1 COMPLETED$' <<<"$states" && ci_fail "task 1 completed although it was killed"
completed "$victim" && ci_fail "$victim is marked completed although its task was killed"
before=$(finished_runs "$dir")
[ "$(wc -l <<<"$before")" = 3 ] || ci_fail "expected 3 completed runs before resubmitting, found: $before"

ci_say "resubmit the whole array: finished runs must be skipped, only $(basename "$victim") redone"
job=$(submit "$dir" p3 "${LONG[@]}")
states=$(slurm_wait_array "$job" 240)
echo "$states"
[ "$(grep -c ' COMPLETED$' <<<"$states")" = 2 ] || { show_logs p3; ci_fail "resubmitted array $job: expected 2 COMPLETED tasks"; }
after=$(finished_runs "$dir")
redone=$(comm -13 <(sort <<<"$before") <(sort <<<"$after") | cut -d' ' -f1)
echo "$after"
[ "$redone" = "$(basename "$victim")" ] || ci_fail "expected only $(basename "$victim") to be redone; new or changed summaries: ${redone:-none}"
comm -23 <(sort <<<"$before") <(sort <<<"$after") | grep -q . && ci_fail "a finished run's summary.json changed on resubmission"
ci_say "only $(basename "$victim") was redone; the 3 finished runs were left untouched"
$SW results collect "$dir"
same_results "$work/local-long" "$dir" "killed and resubmitted array"

ci_say "3. submit again, with 10x longer runs, into a fresh directory and scancel the array while both tasks train a run"
dir=$work/cancelled
job=$(submit "$dir" p4 "${LONG[@]}")
training() { # true when each of the 2 tasks holds a run that has logged steps
  local n=0 d
  for d in "$dir"/*/; do d=${d%/}; [ -f "$d.lock" ] && [ -f "$d/metrics.csv" ] && n=$((n + 1)); done
  [ "$n" = 2 ]
}
start=$SECONDS
until training; do [ $((SECONDS - start)) -lt 180 ] || { show_logs p4; ci_fail "the two tasks never trained at once"; }; sleep 0.5; done
# Plain scancel: SIGTERM to every process of the job (the sweeps and their runs), SIGKILL after KillWait.
scancel "$job"
states=$(slurm_wait_array "$job" 120)
echo "$states"
left=$(find "$dir" -maxdepth 1 -name '*.lock' ! -name runs.csv.lock)
[ -z "$left" ] || { show_logs p4; ci_fail "run locks left after scancel: $left"; }
# Every run is completed or interrupted by SIGTERM with a resume checkpoint. A run in its last step
# when the stop came is completed (nothing was left to save for), which can happen to one of the
# two; at least one must have been interrupted.
stopped=()
for d in "$dir"/*/; do
  d=${d%/}
  grep -q '"status": *"completed"' "$d/summary.json" 2>/dev/null && continue
  grep -q '"status": *"interrupted"' "$d/summary.json" 2>/dev/null || { show_logs p4; ci_fail "$d: neither completed nor interrupted after scancel"; }
  grep -q '"message": *"stopped by SIGTERM"' "$d/summary.json" || ci_fail "$d: interrupted, but not by SIGTERM"
  [ -f "$d/resume.safetensors" ] || ci_fail "$d: interrupted without a resume checkpoint"
  stopped+=("$(basename "$d")")
done
[ "${#stopped[@]}" -ge 1 ] || { show_logs p4; ci_fail "expected the running runs interrupted by SIGTERM, found none"; }
ci_say "scancel: ${stopped[*]} interrupted by SIGTERM, each with a resume checkpoint and no lock"
job=$(submit "$dir" p5 "${LONG[@]}")
states=$(slurm_wait_array "$job" 240)
echo "$states"
[ "$(grep -c ' COMPLETED$' <<<"$states")" = 2 ] || { show_logs p5; ci_fail "resubmitted array $job: expected 2 COMPLETED tasks"; }
for r in "${stopped[@]}"; do
  grep -q "^$r: resuming from step" "$work"/logs/p5-*.log || { show_logs p5; ci_fail "$r was not resumed from its checkpoint"; }
done
$SW results collect "$dir"
same_results "$work/local-long" "$dir" "cancelled and resubmitted array (resumed runs)"

rm -rf "$work/local" "$work/local-long" "$work/slurm" "$work/killed" "$work/cancelled"
ci_say "Slurm check passed (logs in $work)"
