#!/usr/bin/env bash
# System packages for the Slurm check (.ci/checks/20-slurm.sh): Debian's Slurm and MUNGE.
# Skips apt when the daemons are already installed (a developer's machine, a warm CI image).
set -euo pipefail
source "$(dirname "$0")/../lib/log.sh"
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
  ci_say "slurm-wlm and munge already installed: $(slurmctld -V)"
  exit 0
fi
ci_apt_install slurm-wlm munge
ci_say "installed $(slurmctld -V)"
