#!/bin/bash
# One sweep split across a Slurm job array: task i of n runs the runs whose index is i mod n.
# All tasks write into the same results directory on a shared file system (runs.csv is
# regenerated under a lock, so concurrent tasks never corrupt it). Resubmitting the array
# skips finished runs and redoes failed or interrupted ones.
#
#   sbatch docs/sweeps-slurm.sh experiments/bp-vs-sideways.yaml
#   node bin/sideways.js results collect results/<experiment name>     # after the array, or any time
#   node bin/sideways.js results table results/<experiment name> --metric eval_clip_top1
#
#SBATCH --job-name=sideways-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=logs/sweep-%A_%a.log

set -euo pipefail
EXPERIMENT=${1:?usage: sbatch docs/sweeps-slurm.sh EXPERIMENT.yaml [key=value ...]}
shift
SHARDS=$((SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1))
SHARD=$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))

# --jobs: runs of this shard in parallel on this node (each run uses runtime.workers cores).
node bin/sideways.js sweep "$EXPERIMENT" "$@" --shard "$SHARD/$SHARDS" --jobs 2
