#!/usr/bin/env bash
# Start, stop or query a real one-node Slurm cluster on this machine, for the
# tests of the Slurm path (see "Slurm for tests" in the README).
#
#   scripts/slurm-cluster.sh start    # install if missing, configure, start, wait
#   scripts/slurm-cluster.sh status   # exit 0 if up and usable, 1 if not
#   scripts/slurm-cluster.sh stop     # stop slurmd, slurmctld, munged
#
# Debian's packages (slurmctld, slurmd, slurm-client, munge; Slurm 22.05 on
# bookworm) are installed when missing, which needs root and apt-get. There is
# no systemd where this runs (containers, CI), so the daemons are started
# directly; their logs go to $SLURM_LOG_DIR.
#
# `start` is idempotent: a cluster that is up with the same configuration is
# left alone. A changed configuration (another host name, core count, ...)
# restarts the daemons.
#
# Environment:
#   SLURM_CLUSTER_WAIT   seconds `start` waits for the node to be idle (60)
#   SLURM_LOG_DIR        daemon logs (/var/log/slurm)
set -euo pipefail

readonly PACKAGES=(slurmctld slurmd slurm-client munge)
readonly CONF_DIR=/etc/slurm
readonly CONF="$CONF_DIR/slurm.conf"
readonly LOG_DIR="${SLURM_LOG_DIR:-/var/log/slurm}"
readonly CTLD_SPOOL=/var/spool/slurmctld
readonly SLURMD_SPOOL=/var/spool/slurmd
readonly CTLD_PID=/run/slurmctld.pid
readonly SLURMD_PID=/run/slurmd.pid
readonly MUNGE_PID=/run/munge/munged.pid
readonly MUNGE_KEY=/etc/munge/munge.key
readonly WAIT="${SLURM_CLUSTER_WAIT:-60}"

say() { echo "slurm-cluster: $*"; }
die() { echo "slurm-cluster: error: $*" >&2; exit 1; }

host() { hostname -s; }

# --- processes -------------------------------------------------------------

# pid_of NAME PIDFILE: the pid of a running daemon NAME, or nothing. The pid
# file is trusted only if that process really is NAME (pids get reused); a
# daemon whose pid file is gone is found by its exact process name.
pid_of() {
    local name=$1 pidfile=$2 pid
    if [[ -r $pidfile ]]; then
        pid=$(tr -dc '0-9' <"$pidfile")
        if [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]]; then
            echo "$pid"
            return
        fi
    fi
    pgrep -x "$name" | head -n1 || true
}

running() { [[ -n $(pid_of "$1" "$2") ]]; }

describe() {
    local pid
    pid=$(pid_of "$1" "$2")
    if [[ -n $pid ]]; then echo "pid $pid"; else echo "not running"; fi
}

# stop_daemon NAME PIDFILE: SIGTERM, wait up to 15 s, then SIGKILL.
stop_daemon() {
    local name=$1 pidfile=$2 pid i
    pid=$(pid_of "$name" "$pidfile")
    if [[ -z $pid ]]; then
        say "$name is not running"
        return
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    say "stopped $name (pid $pid)"
}

# node_state: the node's state as sinfo prints it (idle, mix, alloc, down*,
# drain, ...), or nothing if slurmctld does not answer.
node_state() {
    timeout 10 sinfo -h -N -n "$(host)" -o '%t' 2>/dev/null | head -n1 || true
}

# usable STATE: the node can run jobs. A trailing '*' means "not responding".
usable() { [[ $1 == idle || $1 == mix || $1 == alloc || $1 == comp ]]; }

# --- install and configure ---------------------------------------------------

install_packages() {
    local missing=() file
    # By path: /usr/sbin is not on a normal user's PATH.
    for file in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/sinfo /usr/bin/sbatch; do
        [[ -x $file ]] || missing+=("$(basename "$file")")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    [[ $(id -u) -eq 0 ]] || die "Slurm is not installed (${missing[*]} missing) and installing it needs root: run this script as root, or install ${PACKAGES[*]} yourself"
    command -v apt-get >/dev/null 2>&1 || die "Slurm is not installed (${missing[*]} missing) and there is no apt-get to install it: install ${PACKAGES[*]} with this system's package manager"
    say "installing ${PACKAGES[*]} with apt-get (about a minute)"
    local log="$LOG_DIR/apt-install.log"
    mkdir -p "$LOG_DIR"
    # policy-rc.d (when present) stops the postinst scripts from starting the
    # daemons before we have written their configuration.
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
        die "apt-get could not install ${PACKAGES[*]}: $(tail -n1 "$log") (full log: $log)"
    fi
    say "installed ${PACKAGES[*]} ($(dpkg-query -W -f='${Version}' slurmctld))"
}

# write_conf FILE: the whole slurm.conf for this host, written to FILE.
write_conf() {
    local h cpus mem
    h=$(host)
    cpus=$(nproc)
    # slurmd drains a node whose RealMemory is above what it finds, so keep a
    # margin below MemTotal (config_overrides below is the second safety net).
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    cat >"$1" <<EOF
# Written by scripts/slurm-cluster.sh: a one-node cluster for the tests.
# Edits here are overwritten by the next 'start'.
ClusterName=slurmsearch
SlurmctldHost=$h(127.0.0.1)
# The tests run as root, and root can only submit to a cluster run by root
# without an accounting database.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$CTLD_SPOOL
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# No cgroups and no systemd in containers: track job processes by parent pid.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# No mail on this machine; the default (/bin/mail) is missing and logs errors.
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Use the node as configured even if slurmd sees other hardware (containers
# report the host's sockets and memory), instead of draining it.
SlurmdParameters=config_overrides
ReturnToService=2
# Refuse a job over its partition's limits at sbatch time (instead of leaving
# it pending forever with Reason=PartitionTimeLimit).
EnforcePartLimits=ALL
# Time limits are tested with --time=1: kill at the limit, SIGKILL 5 s after
# SIGTERM, and forget finished jobs after 30 s.
OverTimeLimit=0
KillWait=5
MinJobAge=30
InactiveLimit=0
Waittime=0
SlurmctldTimeout=120
SlurmdTimeout=300
NodeName=$h NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
# OverSubscribe=FORCE:4 lets up to 4 jobs share a core, so an array with more
# tasks than cores runs all at once.
PartitionName=debug Nodes=$h Default=YES MaxTime=1-00:00:00 DefaultTime=04:00:00 OverSubscribe=FORCE:4 State=UP
PartitionName=short Nodes=$h Default=NO MaxTime=1 DefaultTime=1 OverSubscribe=FORCE:4 State=UP
EOF
}

ensure_munge_key() {
    [[ -s $MUNGE_KEY ]] && return
    mkdir -p "$(dirname "$MUNGE_KEY")"
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile="$MUNGE_KEY" --force
    else
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
    say "created munge key $MUNGE_KEY"
}

start_munge() {
    if running munged "$MUNGE_PID"; then
        say "munged already running (pid $(pid_of munged "$MUNGE_PID"))"
        return
    fi
    ensure_munge_key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID" 9>&- ||
        die "munged did not start (see /var/log/munge/munged.log)"
    munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
    say "started munged (pid $(pid_of munged "$MUNGE_PID"))"
}

# start_daemon NAME PIDFILE: the Slurm daemons fork into the background
# themselves once they have read their configuration.
start_daemon() {
    local name=$1 pidfile=$2 log="$LOG_DIR/$1.log"
    if running "$name" "$pidfile"; then
        say "$name already running (pid $(pid_of "$name" "$pidfile"))"
        return
    fi
    # 9>&-: the daemon must not inherit (and so hold forever) the script's lock.
    if ! "/usr/sbin/$name" 9>&- >>"$log" 2>&1; then
        die "$name did not start: $(tail -n1 "$log") (log: $log)"
    fi
    say "started $name (log: $log)"
}

wait_usable() {
    local state="" i
    for ((i = 0; i < WAIT * 2; i++)); do
        state=$(node_state)
        if usable "$state"; then
            return 0
        fi
        # A node left down or drained by an earlier run comes back by hand.
        if [[ $state == down || $state == drain || $state == drng ]] && ((i % 10 == 5)); then
            scontrol update nodename="$(host)" state=resume >/dev/null 2>&1 || true
        fi
        sleep 0.5
    done
    die "node $(host) is not idle after ${WAIT} s (sinfo says '${state:-no answer}'); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
}

# --- commands --------------------------------------------------------------

cmd_status() {
    local state=""
    # sinfo spends ~10 s retrying a controller that is not there.
    running slurmctld "$CTLD_PID" && state=$(node_state)
    if usable "$state"; then
        say "up: node $(host) is $state; partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
        return 0
    fi
    say "down: sinfo says '${state:-no answer}'; munged $(describe munged "$MUNGE_PID"), slurmctld $(describe slurmctld "$CTLD_PID"), slurmd $(describe slurmd "$SLURMD_PID")"
    return 1
}

cmd_stop() {
    stop_daemon slurmd "$SLURMD_PID"
    stop_daemon slurmctld "$CTLD_PID"
    stop_daemon munged "$MUNGE_PID"
}

cmd_start() {
    local t0=$SECONDS new
    install_packages
    if [[ $(id -u) -ne 0 ]] && usable "$(node_state)"; then
        say "already running: node $(host) is $(node_state)"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "starting the cluster needs root (it writes $CONF and runs the daemons as root)"
    mkdir -p "$CONF_DIR" "$LOG_DIR" "$CTLD_SPOOL" "$SLURMD_SPOOL"
    new=$(mktemp)
    write_conf "$new"
    if [[ -f $CONF ]] && cmp -s "$new" "$CONF"; then
        rm -f "$new"
        if running munged "$MUNGE_PID" && running slurmctld "$CTLD_PID" && running slurmd "$SLURMD_PID" &&
            usable "$(node_state)"; then
            say "already running: node $(host) is $(node_state)"
            return 0
        fi
    else
        if running slurmctld "$CTLD_PID" || running slurmd "$SLURMD_PID"; then
            say "configuration changed: restarting the Slurm daemons"
            stop_daemon slurmd "$SLURMD_PID"
            stop_daemon slurmctld "$CTLD_PID"
        fi
        install -m 0644 "$new" "$CONF"
        rm -f "$new"
        say "wrote $CONF"
    fi
    start_munge
    start_daemon slurmctld "$CTLD_PID"
    start_daemon slurmd "$SLURMD_PID"
    wait_usable
    say "up in $((SECONDS - t0)) s: node $(host) is $(node_state); partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
}

# Two starts at once (parallel test workers) would start two slurmctlds.
lock() {
    if [[ $(id -u) -eq 0 ]] && command -v flock >/dev/null 2>&1; then
        exec 9>/run/slurm-cluster.lock
        flock -w 300 9 || die "another slurm-cluster.sh still holds /run/slurm-cluster.lock after 300 s"
    fi
}

case "${1:-}" in
start) lock && cmd_start ;;
stop) lock && cmd_stop ;;
status) cmd_status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
