#!/usr/bin/env bash
# A single-node Slurm on this machine, for the tests of `harness slurm submit` and for trying it without a cluster.
#
#   scripts/slurm-local.sh start [DIR]   install (Debian, as root) and start munged, slurmctld and slurmd; DIR holds the
#                                        configuration, state, logs and munge socket (default /tmp/harness-slurm)
#   scripts/slurm-local.sh stop  [DIR]   stop the three daemons
#   scripts/slurm-local.sh status [DIR]  sinfo of the running cluster
#
# Every Slurm client command needs SLURM_CONF=DIR/slurm.conf; `start` prints the line to export. Without systemd, the
# daemons run as plain background processes of root. Settings, and why:
#   ProctrackType=proctrack/linuxproc, TaskPlugin=task/none  no cgroups in a container
#   SelectType=select/cons_tres + CR_CPU                      several one-CPU tasks share the node
#   JobCompType=jobcomp/filetxt                               each job's state and exit code without accounting
#   EnforcePartLimits=ALL                                     an impossible job is refused, not left pending forever
#   DependencyParameters=kill_invalid_depend                  an afterok on a failed job is cancelled, not left waiting
#   SchedulerParameters=batch_sched_delay=0, MinJobAge=30     jobs start at once; finished ones stay visible briefly
set -euo pipefail
action=${1:-start}
dir=${2:-${HARNESS_SLURM_DIR:-/tmp/harness-slurm}}
conf="$dir/slurm.conf"

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; rm -f "$dir/$name.pid"; fi
  done
}

case "$action" in
  stop) stop; exit 0 ;;
  status) SLURM_CONF="$conf" sinfo; exit $? ;;
  start) ;;
  *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "$0: Slurm is not installed and cannot be installed here (needs root and apt-get): install munge, slurmctld, slurmd, slurm-client" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null; }
fi

stop
mkdir -p "$dir"/{munge,state,spool,log}
# munged refuses a socket folder that others cannot traverse, and a key that others can read.
chmod 755 "$dir" "$dir/munge"
[ -f "$dir/munge/munge.key" ] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
user=$(id -un)
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" --force

node=$(slurmd -C | head -1)
cat > "$conf" <<CONF
ClusterName=harness
SlurmctldHost=$(hostname -s)
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
EnforcePartLimits=ALL
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0
MinJobAge=30
ReturnToService=2
MpiDefault=none
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 1 50); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then
    echo "Slurm is up: $(sinfo -h -o '%P %D %t %c CPUs')"
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 0.2
done
echo "$0: Slurm did not come up; see $dir/log/" >&2
exit 1
