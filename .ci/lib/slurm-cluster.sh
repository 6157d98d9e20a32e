# A one-node Slurm cluster on this machine, for CI (sourced by .ci/checks/20-slurm.sh).
# Everything lives in $SLURM_CI_DIR (config, state, logs); clients find it through SLURM_CONF.
# Daemons run as root (CI is root on a throwaway machine) and talk over 127.0.0.1 (the host
# name need not resolve); processes are tracked with proctrack/linuxproc and no cgroup plugin,
# so it also runs inside a container.

slurm_cluster_start() {
  local dir=$1 host cpus mem
  export SLURM_CI_DIR=$dir SLURM_CONF=$dir/slurm.conf
  mkdir -p "$dir/state" "$dir/spool"
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
  cat >"$SLURM_CONF" <<CONF
ClusterName=sideways-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=2
KillWait=5
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  ci_say "slurm.conf: one node $host ($cpus CPUs, $mem MB), partition ci, state in $dir"

  # MUNGE authenticates every Slurm message. The Debian package creates /etc/munge/munge.key.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
    SLURM_CI_STARTED_MUNGED=1
    ci_say "munged started"
  fi
  munge -n | unmunge >/dev/null || ci_fail "munge does not work (munge -n | unmunge)"

  slurm_cluster_stop quiet
  slurmctld -f "$SLURM_CONF" || { tail -n 30 "$dir/slurmctld.log" >&2 || true; ci_fail "slurmctld did not start"; }
  slurmd -f "$SLURM_CONF" || { tail -n 30 "$dir/slurmd.log" >&2 || true; ci_fail "slurmd did not start"; }
  local i state=""
  for i in $(seq 1 60); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1) || state="unreachable"
    [ "$state" = idle ] && break
    sleep 1
  done
  if [ "$state" != idle ]; then
    sinfo -N -l >&2 || true
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    ci_fail "the Slurm node is '$state' after 60 s, not idle"
  fi
  ci_say "Slurm is up: $(sinfo -h -o '%P %a %D node(s) %T')"
}

slurm_cluster_stop() {
  local f pid
  for f in slurmd slurmctld; do
    [ -f "$SLURM_CI_DIR/$f.pid" ] || continue
    pid=$(cat "$SLURM_CI_DIR/$f.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      [ "${1:-}" = quiet ] || ci_say "stopped $f (pid $pid)"
    fi
    rm -f "$SLURM_CI_DIR/$f.pid"
  done
  if [ "${1:-}" != quiet ] && [ -n "${SLURM_CI_STARTED_MUNGED:-}" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null && ci_say "stopped munged"
  fi
}

# Waits until every task of array job $1 has ended (up to $2 seconds); prints "task state" lines.
slurm_wait_array() {
  local job=$1 limit=$2 start=$SECONDS
  while squeue -h -j "$job" 2>/dev/null | grep -q .; do
    [ $((SECONDS - start)) -lt "$limit" ] || { squeue -j "$job" >&2; ci_fail "job $job still queued or running after $limit s"; }
    sleep 1
  done
  scontrol -o show job "$job" | sed -n 's/.*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\) .*/\1 \2/p' | sort -n
}
