# Shared settings for the e2e test cluster scripts (sourced, not run).
# The cluster is test infrastructure: real Kubernetes binaries built from the Go
# module proxy, containerd/runc/CNI plugins from Debian, all on this one machine.

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_VERSION="v1.34.4"
ETCD_VERSION="v3.6.4"
# The newest Tekton Pipelines release the Go module proxy serves (v1.16.0 is
# listed there, but its source archive is not served). Pipelines in pipelines
# with a child by pipelineRef needs v1.14 or later.
TEKTON_VERSION="v1.15.1"
# Tekton's CLI, built by build-tkn to check what users see for pipod runs.
TKN_VERSION="v0.46.0"
CACHE_ROOT="${PIPOD_CLUSTER_CACHE:-/var/cache/pipod}"
K8S_CACHE="$CACHE_ROOT/k8s-$K8S_VERSION"
K8S_BIN="$K8S_CACHE/bin"
STATE="${PIPOD_CLUSTER_STATE:-/var/lib/pipod-cluster}"
KUBECONFIG_PATH="$STATE/kubeconfig"
NODE_NAME="pipod-node"
POD_CIDR="10.88.0.0/16"
POD_BRIDGE="pipod0"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
API_PORT=6443
ETCD_PORT=2379
CONTAINERD_SOCK="$STATE/containerd/containerd.sock"
PAUSE_IMAGE="localhost/pipod-cluster/pause:1.0"
# A static busybox: the shell image of Tekton's script init container and a
# small image for tests that must not depend on podman's images.
BUSYBOX_IMAGE="localhost/pipod-cluster/busybox:1.35.0"

log() { printf '[cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Build Go code without starving the other work sharing this machine's 2 cores.
nice_go() { GOMAXPROCS=2 nice -n 19 go "$@"; }

kc() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

NODE_IP="10.244.0.1"
POD_SUBNET="10.244.0.0/24"
CLUSTER_CIDR="10.244.0.0/16"
API_URL="https://$NODE_IP:$API_PORT"
# Kernel settings the kubelet (and pod networking) change; `up` saves their old
# values and `down` puts them back.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward)

pidfile() { echo "$STATE/run/$1.pid"; }

# running NAME: true when the process recorded for NAME is alive.
running() {
  local f; f=$(pidfile "$1")
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start NAME CMD...: runs CMD in its own session, logs to $STATE/logs/NAME.log.
start() {
  local name="$1"; shift
  if running "$name"; then log "$name already running (pid $(cat "$(pidfile "$name")"))"; return 0; fi
  mkdir -p "$STATE/run" "$STATE/logs"
  # A daemon keeps no descriptor of its caller: an inherited lock (flock CMD) or
  # pipe would stay held for the cluster's lifetime and block whoever waits on it.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi; done
    exec setsid "$@" >>"$STATE/logs/$name.log" 2>&1 < /dev/null
  ) &
  echo $! > "$(pidfile "$name")"
  log "started $name (pid $!)"
}

# stop NAME...: SIGTERM to all, then SIGKILL to any still alive after 10 s.
stop() {
  local n f pid i alive pids=() names=()
  for n in "$@"; do
    f=$(pidfile "$n")
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    rm -f "$f"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid"); names+=("$n")
  done
  ((${#pids[@]})) || return 0
  for i in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  log "stopped ${names[*]}"
}

# wait_for WHAT SECONDS CMD...: retries CMD every 0.2 s until it succeeds.
wait_for() {
  local what="$1" secs="$2" i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "timed out after ${secs}s waiting for $what (logs: $STATE/logs/)"
}

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

TEKTON_CACHE="$CACHE_ROOT/tekton-$TEKTON_VERSION"
TEKTON_IMAGE_PREFIX="localhost/tekton"

TEKTON_CMDS=(controller webhook entrypoint nop workingdirinit sidecarlogresults)
TKN_BIN="$CACHE_ROOT/tkn-$TKN_VERSION/bin/tkn"

# write_config FILE < content: replaces FILE only when the content differs
# (kube-proxy exits when its config file is written, even with the same bytes).
write_config() {
  local tmp; tmp=$(mktemp)
  cat > "$tmp"
  if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; chmod 644 "$1"; fi
}

# lock_cluster: one up/down/tekton-install at a time on this machine; scripts
# they call inherit the lock through PIPOD_CLUSTER_LOCKED.
lock_cluster() {
  [[ -n ${PIPOD_CLUSTER_LOCKED:-} ]] && return 0
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.lock"
  flock 9
  export PIPOD_CLUSTER_LOCKED=1
}
