#!/usr/bin/env bash
# Stop the single-node Slurm that start.sh started (slurmd, slurmctld; munged is left running).
# Queued jobs are kept in /var/spool/slurmctld and come back with the next start.sh.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "slurm: error: must run as root; run: sudo $0" >&2; exit 1; }
for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        pid=$(cat "$pidfile")
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        echo "slurm: stopped $(basename "$pidfile" .pid)" >&2
    fi
done
