#!/usr/bin/env bash
# Start a single-node Slurm on this machine, for mlspec's batch backend and its tests.
#
#   sudo backends/slurm/start.sh          # install (Debian: slurm-wlm, munge), configure, start
#
# Idempotent: installed packages are not reinstalled, a running daemon is not restarted, and
# it returns once `sinfo` shows the node idle and a `sbatch --wrap true` job has completed.
# It writes /etc/slurm/slurm.conf only when there is none or the one there is ours (first
# line below); it never overwrites a cluster's own configuration. Needs root (apt-get, the
# daemons). Logs: /var/log/slurm/. Stop: backends/slurm/stop.sh.
set -euo pipefail

MARKER="# written by mlspec backends/slurm/start.sh"
CONF=/etc/slurm/slurm.conf
say() { echo "slurm: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts slurmctld, slurmd, munged); run: sudo $0"
command -v apt-get >/dev/null || die "needs a Debian-like system with apt-get; on another system install Slurm and munge yourself (see backends/slurm/README.md)"

# --- packages -------------------------------------------------------------------------------
missing=()
for pkg in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- munge ----------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    say "creating a munge key"
    mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null \
        || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || die "munged does not answer; see /var/log/munge/munged.log"
fi

# --- configuration --------------------------------------------------------------------------
host=$(hostname -s)
# slurmd -C reports what this machine has (CPUs, sockets, cores, threads, RealMemory).
node=$(slurmd -C | head -1)
case "$node" in NodeName=*) ;; *) die "slurmd -C printed no node line: $node" ;; esac
node="NodeName=$host ${node#NodeName=* }"
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
want=$(cat <<EOF
$MARKER
# A single-node cluster for mlspec's batch backend: root runs everything, no accounting
# database (sacct answers "accounting storage is disabled"; finished jobs stay visible to
# squeue and scontrol for MinJobAge seconds).
ClusterName=mlspec
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Start a job at submission, not up to 3 s later (the default batch_sched_delay=3).
SchedulerParameters=batch_sched_delay=0
# A job without --mem gets its share of memory per CPU, not the whole node.
DefMemPerCPU=$((mem / cpus))
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)
if [ -e "$CONF" ] && [ "$(head -1 "$CONF")" != "$MARKER" ]; then
    say "$CONF exists and was not written by this script: using it as it is"
elif [ ! -e "$CONF" ] || [ "$(cat "$CONF")" != "$want" ]; then
    say "writing $CONF ($host: $cpus CPUs, ${mem} MB)"
    mkdir -p /etc/slurm
    printf '%s\n' "$want" >"$CONF"
    changed=1
fi
install -d -m 0755 /var/spool/slurmctld /var/spool/slurmd /var/log/slurm

# --- daemons --------------------------------------------------------------------------------
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ -n "${changed:-}" ]; then  # a new configuration: daemons started before must re-read it
    for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
        if running "$pidfile"; then
            say "restarting $(basename "$pidfile" .pid) for the new configuration"
            kill "$(cat "$pidfile")"
            for _ in $(seq 100); do running "$pidfile" || break; sleep 0.1; done
        fi
    done
fi
if ! running /run/slurmctld.pid; then
    say "starting slurmctld"
    slurmctld
fi
if ! running /run/slurmd.pid; then
    say "starting slurmd"
    slurmd
fi

# --- ready: the node is idle and a job runs -------------------------------------------------
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    if [ "$state" = "down" ] || [ "$state" = "drain" ]; then
        scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
    fi
    sleep 1
done
case "$state" in idle*|mix*|alloc*) ;; *) die "node $host is '${state:-unknown}' after 60 s; see /var/log/slurm/slurmd.log and slurmctld.log" ;; esac
out=$(sbatch --parsable --wait --job-name mlspec-start-check --output /dev/null --time 1 --wrap true) \
    || die "sbatch --wrap true did not complete (job $out); see /var/log/slurm/"
say "up: node $host ($cpus CPUs, ${mem} MB) $(sinfo -h -n "$host" -o %t), test job ${out%%;*} completed"
