#!/bin/bash
# One sweep split across a Slurm job array: array task i of n runs the runs whose index is
# i mod n. All tasks write into the same results directory on a shared file system (runs.csv is
# regenerated under a lock, so concurrent tasks never corrupt it). Resubmitting the array skips
# finished runs and redoes failed or interrupted ones (a run killed mid-way resumes from its last
# resume checkpoint, or starts again where it has none).
#
# A cancelled, timed-out or preempted task saves its runs for resubmission: Slurm sends SIGTERM to
# every process of the job (then SIGKILL after the cluster's KillWait, 30 s by default: see
# `scontrol show config`); the sweep, exec'd below so it is the batch shell itself, passes it on
# to its runs, each finishes its step, writes resume.safetensors and an `interrupted`
# summary.json, and the task exits 130. Resubmitting resumes them bit for bit. Nothing else is
# needed while a step and a checkpoint take less than KillWait. For more room at the time limit,
# `sbatch --signal=B:TERM@120 ...` sends the SIGTERM 120 s before it; keep the B: (signal the batch
# shell): without it Slurm signals only srun steps, and this script starts none.
# CI runs this script on a one-node Slurm cluster (.ci/checks/20-slurm.sh); limits: docs/SWEEPS.md.
#
#   sbatch scripts/sweeps-slurm.sh experiments/bp-vs-sideways.yaml [key=value ...]
#   node bin/sideways.js results collect results/<experiment name>     # after the array, or any time
#   node bin/sideways.js results table results/<experiment name> --metric eval_clip_top1
#
# Submit from the repository root (the job runs in the submission directory) after `npm ci`,
# `npm run build` and `mkdir -p logs` (Slurm does not create the folder of --output below). Array indices must be 0..n-1; options given to sbatch override the #SBATCH
# lines below, e.g. `sbatch --array=0-3 --cpus-per-task=4 ...`. To rerun only some shards, keep n
# explicit: `sbatch --array=5 --export=ALL,SIDEWAYS_SHARDS=8 scripts/sweeps-slurm.sh ...`.
# SIDEWAYS_SWEEP_JOBS (default 2): runs of one shard at a time on its node, each run using
# runtime.workers cores.
#
#SBATCH --job-name=sideways-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=logs/sweep-%A_%a.log

set -euo pipefail
# Only a local `--help` reads the helper: Slurm runs a spooled copy of this file, beside which it is not.
case "${1:-}" in -h | --help) . "$(dirname "$0")/script-help.sh" ;; esac
EXPERIMENT=${1:?usage: sbatch scripts/sweeps-slurm.sh EXPERIMENT.yaml [key=value ...]}
shift
: "${SLURM_ARRAY_TASK_ID:?not an array task: submit with sbatch (the script sets --array=0-7)}"
SHARDS=${SIDEWAYS_SHARDS:-$((SLURM_ARRAY_TASK_MAX + 1))}
SHARD=$SLURM_ARRAY_TASK_ID
# n is taken from the array's last index: an array that does not hold every index 0..n-1
# (--array=1-8, --array=0,2) would leave shards that no task runs, without a word.
if [ -z "${SIDEWAYS_SHARDS:-}" ] && { [ "${SLURM_ARRAY_TASK_MIN:-0}" != 0 ] || [ "${SLURM_ARRAY_TASK_COUNT:-$SHARDS}" != "$SHARDS" ]; }; then
  echo "sweeps-slurm.sh: the array holds ${SLURM_ARRAY_TASK_COUNT:-?} task(s) from index ${SLURM_ARRAY_TASK_MIN:-?} to $SLURM_ARRAY_TASK_MAX, so of the $SHARDS shards 0..$SLURM_ARRAY_TASK_MAX some would never run; submit --array=0-$((SHARDS - 1)), or set SIDEWAYS_SHARDS=n to rerun some shards of n" >&2
  exit 2
fi
if [ "$SHARD" -ge "$SHARDS" ]; then
  echo "sweeps-slurm.sh: array task $SHARD but $SHARDS shards: array indices must be 0..n-1 (set SIDEWAYS_SHARDS=n when rerunning some)" >&2
  exit 2
fi

echo "sweeps-slurm.sh: job ${SLURM_ARRAY_JOB_ID}_${SHARD} on $(hostname): shard $SHARD/$SHARDS of $EXPERIMENT $*"
exec node bin/sideways.js sweep "$EXPERIMENT" "$@" --shard "$SHARD/$SHARDS" --jobs "${SIDEWAYS_SWEEP_JOBS:-2}"
