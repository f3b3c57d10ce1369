#!/usr/bin/env bash
# Start, stop or query a real one-node Slurm cluster on this machine, for the
# tests of the Slurm path (see "Slurm for tests" in the README), or a cluster
# of N nodes played by namespaces (README, "A cluster of several nodes").
#
#   scripts/slurm-cluster.sh start    # install if missing, configure, start, wait
#   scripts/slurm-cluster.sh status   # exit 0 if up and usable (every node), 1 if not
#   scripts/slurm-cluster.sh stop     # stop slurmd, slurmctld, munged (and remove the nodes)
#
#   scripts/slurm-cluster.sh start --nodes N [--locks coherent|node-local]
#                                     # node1..nodeN instead (views: coherent by default)
#   scripts/slurm-cluster.sh shared   # the folder every node sees at the same path
#   scripts/slurm-cluster.sh exec NODE CMD...   # CMD in NODE's namespaces
#   scripts/slurm-cluster.sh pids NODE          # NODE's processes (slurmd, job steps, jobs)
#
# One cluster at a time: `start` (one node) removes the nodes, `start --nodes`
# stops the one-node cluster.
#
# Debian's packages (slurmctld, slurmd, slurm-client, munge; Slurm 22.05 on
# bookworm) are installed when missing, which needs root and apt-get. There is
# no systemd where this runs (containers, CI), so the daemons are started
# directly; their logs go to $SLURM_LOG_DIR.
#
# `start` is idempotent: a cluster that is up with the same configuration is
# left alone. A changed configuration (another host name, core count, ...)
# restarts the daemons; a cluster of nodes that is not as asked, or not
# usable, is set up again from scratch (its jobs are lost).
#
# Environment:
#   SLURM_CLUSTER_WAIT   seconds `start` waits for the node to be idle (60)
#   SLURM_LOG_DIR        daemon logs (/var/log/slurm)
#   SLURM_CLUSTER_SHARED the shared folder of a cluster of nodes (/srv/slurm-search-shared)
#   SLURM_CLUSTER_BACKING the folder behind its views (/var/lib/slurm-cluster/shared)
#   SLURM_CLUSTER_CPUS   CPUs each node of a cluster of nodes declares (this machine's
#                        count); more lets more tasks run at once (up to 4 per CPU)
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

# Several nodes (start --nodes N): see "Several nodes" below.
readonly STATE_DIR=/run/slurm-cluster          # what runs: the file 'cluster', per-node files
readonly NS_DIR=$STATE_DIR/ns                  # persistent UTS and mount namespaces (nodeK.uts, nodeK.mnt)
readonly CLUSTER_FILE=$STATE_DIR/cluster       # "nodes=N locks=MODE" while a cluster of nodes is set up
readonly BRIDGE=ssbr0
readonly SUBNET=10.77.0                        # 10.77.0.0/24: nodeK is .K, the login node .254
readonly LOGIN_IP=$SUBNET.254
readonly PORT_BASE=6820                        # nodeK's slurmd listens on PORT_BASE + K
readonly MULTI_CTLD_SPOOL=/var/spool/slurmctld-nodes
readonly MULTI_SLURMD_SPOOL=/var/spool/slurmd   # + "-nodeK"
readonly MULTI_SLURMD_PID=/run/slurmd-%n.pid
readonly SHARED="${SLURM_CLUSTER_SHARED:-/srv/slurm-search-shared}"
readonly BACKING="${SLURM_CLUSTER_BACKING:-/var/lib/slurm-cluster/shared}"
readonly MAX_NODES=50

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

# write_conf FILE [NODES]: the whole slurm.conf, written to FILE: without
# NODES the one-node cluster of this host; with NODES the cluster of NODES
# namespace nodes (node1..nodeN, see "Several nodes" below).
write_conf() {
    local h cpus mem nodes=${2:-} what ctld_addr ctld_spool slurmd_spool slurmd_pid slurmd_log
    local node_lines partition_nodes k
    h=$(host)
    cpus=$(nproc)
    # slurmd drains a node whose RealMemory is above what it finds, so keep a
    # margin below MemTotal (config_overrides below is the second safety net).
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    if [[ -z $nodes ]]; then
        what="a one-node cluster for the tests"
        ctld_addr=127.0.0.1 ctld_spool=$CTLD_SPOOL slurmd_spool=$SLURMD_SPOOL slurmd_pid=$SLURMD_PID
        slurmd_log=$LOG_DIR/slurmd.log partition_nodes=$h
        node_lines="NodeName=$h NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN"
    else
        what="a cluster of $nodes nodes for the tests, each in
# its own namespaces on this machine (README: \"A cluster of several nodes\")"
        # The nodes reach slurmctld over the bridge; so do the login node's commands.
        ctld_addr=$LOGIN_IP ctld_spool=$MULTI_CTLD_SPOOL slurmd_spool="$MULTI_SLURMD_SPOOL-%n"
        slurmd_pid=$MULTI_SLURMD_PID slurmd_log="$LOG_DIR/slurmd-%n.log"
        partition_nodes="node[1-$nodes]"
        [[ $nodes -eq 1 ]] && partition_nodes=node1
        node_lines="# Each node is a slurmd in its own namespaces, at its own address and port."
        mem=$((mem / nodes))
        # config_overrides: slurmd accepts more CPUs than it finds (benchmarks of many workers).
        cpus=${SLURM_CLUSTER_CPUS:-$cpus}
        for ((k = 1; k <= nodes; k++)); do
            node_lines+=$'\n'"NodeName=node$k NodeAddr=$(node_ip "$k") NodeHostname=node$k Port=$(node_port "$k") CPUs=$cpus RealMemory=$mem State=UNKNOWN"
        done
    fi
    cat >"$1" <<EOF
# Written by scripts/slurm-cluster.sh: $what.
# Edits here are overwritten by the next 'start'.
ClusterName=slurmsearch
SlurmctldHost=$h($ctld_addr)
# The tests run as root, and root can only submit to a cluster run by root
# without an accounting database.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$ctld_spool
SlurmdSpoolDir=$slurmd_spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$slurmd_log
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
$node_lines
# Real preemption (README, "Slurm for tests"): a job of \`urgent\` that needs
# the nodes of \`low\` jobs preempts them (PriorityTier 2 over 1): they get
# SIGTERM, GraceTime seconds to leave, then SIGKILL, and Slurm requeues those
# submitted with --requeue. \`debug\` and \`short\` are in the top tier too, so
# nothing preempts their jobs. (Not PreemptMode=OFF on them: with partition
# preemption, cores of an OFF partition's jobs are never shared, and
# OverSubscribe below would stop working.)
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
JobRequeue=1
# OverSubscribe=FORCE:4 lets up to 4 jobs share a core, so an array with more
# tasks than cores runs all at once.
PartitionName=debug Nodes=$partition_nodes Default=YES MaxTime=1-00:00:00 DefaultTime=04:00:00 OverSubscribe=FORCE:4 PriorityTier=2 State=UP
PartitionName=short Nodes=$partition_nodes Default=NO MaxTime=1 DefaultTime=1 OverSubscribe=FORCE:4 PriorityTier=2 State=UP
PartitionName=low Nodes=$partition_nodes Default=NO MaxTime=1-00:00:00 DefaultTime=04:00:00 OverSubscribe=FORCE:4 PriorityTier=1 PreemptMode=REQUEUE GraceTime=15 State=UP
PartitionName=urgent Nodes=$partition_nodes Default=NO MaxTime=1-00:00:00 DefaultTime=04:00:00 OverSubscribe=NO PriorityTier=2 State=UP
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

# --- several nodes -----------------------------------------------------------
#
# start --nodes N: node1..nodeN are each a slurmd in its own namespaces:
#   network: netns ss-nodeK (/run/netns), a veth pair whose host end is on the
#     bridge $BRIDGE; address $SUBNET.K/24, no other route, no NAT (and
#     ip_forward is left alone), so a node reaches only the bridge: the login
#     node ($LOGIN_IP, where slurmctld and the commands run) and the other nodes.
#   UTS: its own hostname nodeK (what jobs see).
#   mount: a copy of this machine's mounts with private propagation, in which
#     /etc/hosts is the node's own (login and node names) and $SHARED is the
#     node's own FUSE view (bindfs) of $BACKING. The login node sees
#     $SHARED through a view of its own.
# The UTS and mount namespaces are kept by bind mounts in $NS_DIR, so a node
# can be entered later (`exec NODE CMD`); the node's slurmd is started inside
# all three with nsenter (not `ip netns exec`: it remounts /sys, and slurmd
# then finds no cgroup mounts), and its job steps inherit them.

node_ip() { echo "$SUBNET.$1"; }
node_port() { echo $((PORT_BASE + $1)); }
netns_of() { echo "ss-node$1"; }
node_pidfile() { echo "/run/slurmd-node$1.pid"; }

# bindfs options of a view for a lock mode.
view_options() {
    case $1 in
    coherent) echo "--multithreaded --enable-lock-forwarding" ;;
    node-local) echo "" ;;
    esac
}

# cluster_nodes: N while a cluster of several nodes is set up, else nothing.
cluster_nodes() {
    [[ -r $CLUSTER_FILE ]] && sed -n 's/^nodes=\([0-9]*\) .*/\1/p' "$CLUSTER_FILE"
    return 0
}

# present_nodes: the K of every node that has something left (netns, namespace
# files), set up completely or not.
present_nodes() {
    local f
    {
        for f in /run/netns/ss-node* "$NS_DIR"/node*.uts "$NS_DIR"/node*.mnt /run/slurmd-node*.pid; do
            [[ -e $f ]] || continue
            f=${f##*node}
            echo "${f%%.*}"
        done
    } | grep -E '^[0-9]+$' | sort -un
}

multi_present() {
    [[ -e $CLUSTER_FILE || -n $(present_nodes) ]] || ip link show "$BRIDGE" >/dev/null 2>&1
}

# enter_node K CMD...: run CMD in node K's network, UTS and mount namespaces.
enter_node() {
    local k=$1
    shift
    nsenter --net="/run/netns/$(netns_of "$k")" --uts="$NS_DIR/node$k.uts" --mount="$NS_DIR/node$k.mnt" -- "$@"
}

# node_pids K: every process in node K's UTS or network namespace (its slurmd,
# job steps and jobs; not its bindfs, which runs in the login node's).
node_pids() {
    local k=$1 uts="" net="" p link
    [[ -e $NS_DIR/node$k.uts ]] && uts="uts:[$(stat -L -c %i "$NS_DIR/node$k.uts")]"
    [[ -e /run/netns/$(netns_of "$k") ]] && net="net:[$(stat -L -c %i "/run/netns/$(netns_of "$k")")]"
    [[ -n $uts$net ]] || return 0
    for p in /proc/[0-9]*; do
        link=$(readlink "$p/ns/uts" 2>/dev/null) || continue
        if [[ -n $uts && $link == "$uts" ]] || [[ -n $net && $(readlink "$p/ns/net" 2>/dev/null) == "$net" ]]; then
            echo "${p#/proc/}"
        fi
    done
}

# node_slurmd K: the pid of node K's slurmd, or nothing.
node_slurmd() {
    local pid
    pid=$(tr -dc '0-9' <"$(node_pidfile "$1")" 2>/dev/null) || true
    if [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == slurmd ]] &&
        [[ $(readlink "/proc/$pid/ns/net") == "net:[$(stat -L -c %i "/run/netns/$(netns_of "$1")" 2>/dev/null)]" ]]; then
        echo "$pid"
    fi
}

# node_view_mounted K: node K sees its own view at $SHARED.
node_view_mounted() {
    [[ -e $NS_DIR/node$1.mnt ]] && nsenter --mount="$NS_DIR/node$1.mnt" -- mountpoint -q "$SHARED" 2>/dev/null
}

login_view_mounted() { mountpoint -q "$SHARED" 2>/dev/null; }

unmount_view() { # in the current mount namespace
    local i
    for ((i = 0; i < 5; i++)); do
        mountpoint -q "$1" 2>/dev/null || return 0
        fusermount3 -u "$1" 2>/dev/null || fusermount -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
    done
}

# mount_view DIR OPTIONS...: a bindfs view of $BACKING at DIR, in the current
# mount namespace; waits until it is mounted.
mount_view() {
    local dir=$1 i
    shift
    # 9>&-: bindfs stays in the background and must not hold the script's lock.
    bindfs "$@" "$BACKING" "$dir" 9>&- || return 1
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$dir" && return 0
        sleep 0.05
    done
    return 1
}

# kill_pids PIDS...: SIGTERM, up to 3 s, then SIGKILL.
kill_pids() {
    local i p alive
    [[ $# -gt 0 ]] || return 0
    kill -TERM "$@" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        alive=()
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
        [[ ${#alive[@]} -eq 0 ]] && return 0
        sleep 0.1
    done
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

# teardown_node K: its slurmd and job steps, its view, its namespaces, its veth.
teardown_node() {
    local k=$1 pid pids
    pid=$(node_slurmd "$k")
    if [[ -n $pid ]]; then
        kill_pids "$pid"
        say "stopped slurmd of node$k (pid $pid)"
    fi
    mapfile -t pids < <(node_pids "$k")
    if [[ ${#pids[@]} -gt 0 ]]; then
        kill_pids "${pids[@]}"
        say "stopped ${#pids[@]} process(es) left on node$k"
    fi
    rm -f "$(node_pidfile "$k")"
    if [[ -e $NS_DIR/node$k.mnt ]]; then
        nsenter --mount="$NS_DIR/node$k.mnt" -- bash -c "$(declare -f unmount_view); unmount_view '$SHARED'" 2>/dev/null || true
        umount "$NS_DIR/node$k.mnt" 2>/dev/null || umount -l "$NS_DIR/node$k.mnt" 2>/dev/null || true
    fi
    if [[ -e $NS_DIR/node$k.uts ]]; then
        umount "$NS_DIR/node$k.uts" 2>/dev/null || umount -l "$NS_DIR/node$k.uts" 2>/dev/null || true
    fi
    rm -f "$NS_DIR/node$k.mnt" "$NS_DIR/node$k.uts" "$STATE_DIR/node$k.hosts"
    if [[ -e /run/netns/$(netns_of "$k") ]]; then
        ip netns del "$(netns_of "$k")" 2>/dev/null || true
    fi
    ip link del "$(netns_of "$k")" 2>/dev/null || true
}

# teardown_multi: everything `start --nodes` set up, and slurmctld.
teardown_multi() {
    local k
    for k in $(present_nodes); do teardown_node "$k"; done
    stop_daemon slurmctld "$CTLD_PID"
    unmount_view "$SHARED"
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link del "$BRIDGE"
        say "removed bridge $BRIDGE"
    fi
    if mountpoint -q "$NS_DIR" 2>/dev/null; then umount "$NS_DIR" 2>/dev/null || umount -l "$NS_DIR" || true; fi
    rm -f "$CLUSTER_FILE"
}

setup_bridge() {
    if ip -4 route show | grep -q "^$SUBNET\.0/24 " ; then
        die "$SUBNET.0/24 is already routed on this machine ($(ip -4 route show | grep "^$SUBNET\.0/24 ")): remove that or change SUBNET in $0"
    fi
    ip link add "$BRIDGE" type bridge
    # No IPv6 on the bridge: no router solicitations or other chatter.
    sysctl -q -w "net.ipv6.conf.$BRIDGE.disable_ipv6=1" 2>/dev/null || true
    ip addr add "$LOGIN_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

# setup_node K NODES LOCKS: namespaces, network, hosts file and view of node K.
setup_node() {
    local k=$1 nodes=$2 locks=$3 ns j hosts
    ns=$(netns_of "$k")
    # Network: a veth pair, the node's end renamed eth0 inside its netns.
    ip netns add "$ns"
    ip link add "$ns" type veth peer name "$ns-n"
    ip link set "$ns-n" netns "$ns"
    ip link set "$ns" master "$BRIDGE"
    sysctl -q -w "net.ipv6.conf.$ns.disable_ipv6=1" 2>/dev/null || true
    ip link set "$ns" up
    nsenter --net="/run/netns/$ns" -- bash -c "
        set -e
        ip link set lo up
        ip link set '$ns-n' name eth0
        sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1 2>/dev/null || true
        ip addr add '$(node_ip "$k")/24' dev eth0
        ip link set eth0 up"
    # UTS and mount namespaces, kept by bind mounts on the private $NS_DIR.
    touch "$NS_DIR/node$k.uts" "$NS_DIR/node$k.mnt"
    unshare --uts="$NS_DIR/node$k.uts" --mount="$NS_DIR/node$k.mnt" --propagation private hostname "node$k"
    hosts="$STATE_DIR/node$k.hosts"
    {
        echo "# node$k of the cluster of scripts/slurm-cluster.sh"
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        echo "$LOGIN_IP $(host) login"
        for ((j = 1; j <= nodes; j++)); do echo "$(node_ip "$j") node$j"; done
    } >"$hosts"
    # Inside: drop the copies of other namespaces' handles (they would keep
    # those namespaces alive) and whatever is mounted at $SHARED, then mount
    # the node's own hosts file and view.
    # shellcheck disable=SC2046
    nsenter --mount="$NS_DIR/node$k.mnt" -- bash -c "
        set -e
        $(declare -f unmount_view mount_view)
        BACKING='$BACKING'
        umount -l '$NS_DIR' 2>/dev/null || true
        umount -l /run/netns 2>/dev/null || true
        unmount_view '$SHARED'
        mount --bind '$hosts' /etc/hosts
        mkdir -p '$SHARED'
        mount_view '$SHARED' $(view_options "$locks")
    " 9>&- || die "node$k: could not mount its view of $BACKING at $SHARED"
}

start_node_slurmd() {
    local k=$1 log="$LOG_DIR/slurmd-node$1.log"
    mkdir -p "$MULTI_SLURMD_SPOOL-node$k"
    if ! enter_node "$k" /usr/sbin/slurmd -N "node$k" 9>&- >>"$log" 2>&1; then
        die "slurmd of node$k did not start: $(tail -n1 "$log") (log: $log)"
    fi
}

node_state_of() {
    timeout 10 sinfo -h -N -n "$1" -o '%t' 2>/dev/null | head -n1 || true
}

# multi_problems N LOCKS: one line per thing that is not as it should be.
multi_problems() {
    local nodes=$1 k state
    running munged "$MUNGE_PID" || echo "munged is not running"
    running slurmctld "$CTLD_PID" || { echo "slurmctld is not running"; return; }
    login_view_mounted || echo "the login node's view $SHARED is not mounted"
    for ((k = 1; k <= nodes; k++)); do
        [[ -n $(node_slurmd "$k") ]] || echo "slurmd of node$k is not running"
        node_view_mounted "$k" || echo "node$k's view $SHARED is not mounted"
        state=$(node_state_of "node$k")
        usable "$state" || echo "node$k is '${state:-unknown}' (sinfo)"
    done
}

wait_all_usable() {
    local nodes=$1 i k state bad
    for ((i = 0; i < WAIT * 2; i++)); do
        bad=()
        for ((k = 1; k <= nodes; k++)); do
            state=$(node_state_of "node$k")
            usable "$state" && continue
            bad+=("node$k:${state:-?}")
            if [[ $state == down || $state == drain || $state == drng ]] && ((i % 10 == 5)); then
                scontrol update nodename="node$k" state=resume >/dev/null 2>&1 || true
            fi
        done
        [[ ${#bad[@]} -eq 0 ]] && return 0
        sleep 0.5
    done
    die "not every node is idle after ${WAIT} s (${bad[*]}); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd-node*.log"
}

cmd_start_multi() {
    local nodes=$1 locks=$2 t0=$SECONDS new want k tool problems
    install_packages
    [[ $(id -u) -eq 0 ]] || die "starting a cluster of several nodes needs root (namespaces, a bridge, mounts)"
    for tool in ip nsenter unshare bindfs mountpoint; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install iproute2 util-linux bindfs)"
    done
    [[ -e /dev/fuse ]] || die "there is no /dev/fuse: the views of the shared folder need FUSE"
    want="nodes=$nodes locks=$locks"
    mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR"
    new=$(mktemp)
    write_conf "$new" "$nodes"
    if [[ -r $CLUSTER_FILE && $(cat "$CLUSTER_FILE") == "$want" && -f $CONF ]] && cmp -s "$new" "$CONF"; then
        problems=$(multi_problems "$nodes")
        if [[ -z $problems ]]; then
            rm -f "$new"
            say "already running: $nodes nodes ($locks views of $SHARED)"
            return 0
        fi
        say "set up but not usable (${problems//$'\n'/; }): setting it up again"
    fi
    # From scratch: the one-node cluster's slurmd, or an earlier cluster of nodes.
    teardown_multi
    stop_daemon slurmd "$SLURMD_PID"
    stop_daemon slurmctld "$CTLD_PID"
    install -m 0644 "$new" "$CONF"
    rm -f "$new"
    say "wrote $CONF ($nodes nodes)"
    # Each set-up starts with no jobs: nodes of an earlier one may be gone.
    rm -rf "$MULTI_CTLD_SPOOL"
    mkdir -p "$MULTI_CTLD_SPOOL" "$NS_DIR" "$BACKING" "$SHARED"
    mount --bind "$NS_DIR" "$NS_DIR"
    mount --make-private "$NS_DIR"
    setup_bridge
    for ((k = 1; k <= nodes; k++)); do setup_node "$k" "$nodes" "$locks"; done
    # The login node's view last, so that no node's mount namespace copies it.
    # shellcheck disable=SC2046
    mount_view "$SHARED" $(view_options "$locks") || die "could not mount the login node's view of $BACKING at $SHARED"
    echo "$want" >"$CLUSTER_FILE"
    say "set up $nodes nodes on bridge $BRIDGE ($SUBNET.0/24) with $locks views of $BACKING at $SHARED"
    start_munge
    start_daemon slurmctld "$CTLD_PID"
    for ((k = 1; k <= nodes; k++)); do start_node_slurmd "$k"; done
    wait_all_usable "$nodes"
    say "up in $((SECONDS - t0)) s: $(sinfo -h -N -o '%N=%t' | sort -u | tr '\n' ' '); partitions: $(sinfo -h -o '%P' | tr '\n' ' ')"
}

cmd_status_multi() {
    local nodes=$1 problems
    problems=$(multi_problems "$nodes")
    if [[ -z $problems ]]; then
        say "up: $nodes nodes: $(sinfo -h -N -o '%N=%t' | sort -u | tr '\n' ' '); partitions: $(sinfo -h -o '%P' | tr '\n' ' '); shared: $SHARED ($(cut -d' ' -f2 "$CLUSTER_FILE"))"
        return 0
    fi
    say "down: ${problems//$'\n'/; }"
    return 1
}

# --- commands --------------------------------------------------------------

cmd_status() {
    local state="" nodes
    nodes=$(cluster_nodes)
    if [[ -n $nodes ]]; then
        cmd_status_multi "$nodes"
        return
    fi
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
    multi_present && teardown_multi
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
    if multi_present; then
        say "a cluster of several nodes is set up: removing it for the one-node cluster"
        teardown_multi
    fi
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

usage() {
    cat >&2 <<EOF
usage: $0 start [--nodes N [--locks coherent|node-local]] | stop | status
       $0 shared | exec NODE CMD... | pids NODE
EOF
    exit 2
}

# cmd_start_args ARGS...: `start` alone is the one-node cluster of today;
# `--nodes N` a cluster of N namespace nodes (`--locks`: their views, default coherent).
cmd_start_args() {
    local nodes="" locks=""
    while [[ $# -gt 0 ]]; do
        case $1 in
        --nodes) [[ $# -ge 2 ]] || usage; nodes=$2; shift 2 ;;
        --nodes=*) nodes=${1#--nodes=}; shift ;;
        --locks) [[ $# -ge 2 ]] || usage; locks=$2; shift 2 ;;
        --locks=*) locks=${1#--locks=}; shift ;;
        *) echo "slurm-cluster: unknown option for start: $1" >&2; usage ;;
        esac
    done
    if [[ -z $nodes ]]; then
        [[ -z $locks ]] || die "--locks goes with --nodes N (the one-node cluster has no views)"
        cmd_start
        return
    fi
    [[ $nodes =~ ^[0-9]+$ ]] && ((10#$nodes >= 1 && 10#$nodes <= MAX_NODES)) || die "--nodes wants a number from 1 to $MAX_NODES, not '$nodes'"
    locks=${locks:-coherent}
    [[ $locks == coherent || $locks == node-local ]] || die "--locks is coherent or node-local, not '$locks'"
    cmd_start_multi "$((10#$nodes))" "$locks"
}

# node_arg NAME: K for nodeK of the cluster that is up.
node_arg() {
    local nodes k
    nodes=$(cluster_nodes)
    [[ -n $nodes ]] || die "no cluster of several nodes is up (start --nodes N)"
    k=${1#node}
    [[ $1 == node* && $k =~ ^[1-9][0-9]*$ ]] && ((k <= nodes)) || die "no node '$1' (node1..node$nodes)"
    echo "$k"
}

case "${1:-}" in
start) shift && lock && cmd_start_args "$@" ;;
stop) lock && cmd_stop ;;
status) cmd_status ;;
shared)
    # The folder every node (and the login node) sees at the same path.
    [[ -n $(cluster_nodes) ]] && login_view_mounted || die "no cluster of several nodes is up (start --nodes N)"
    echo "$SHARED"
    ;;
exec)
    [[ $# -ge 3 ]] || usage
    k=$(node_arg "$2")
    shift 2
    enter_node "$k" "$@"
    ;;
pids)
    [[ $# -eq 2 ]] || usage
    k=$(node_arg "$2")
    node_pids "$k"
    ;;
*) usage ;;
esac
