#!/usr/bin/env bash
# System packages for the Slurm check (.ci/checks/20-slurm.sh): Debian's Slurm and MUNGE.
# Skips apt when the daemons are already installed (a developer's machine, a warm CI image).
set -euo pipefail
source "$(dirname "$0")/../lib/log.sh"
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
  ci_say "slurm-wlm and munge already installed: $(slurmctld -V)"
  exit 0
fi
[ "$(id -u)" = 0 ] || ci_fail "installing slurm-wlm and munge needs root (CI runs as root)"
ci_say "apt-get install slurm-wlm munge"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
ci_say "installed $(slurmctld -V)"
