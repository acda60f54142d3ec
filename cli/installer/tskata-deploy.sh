#!/bin/sh
# tskata-deploy: the installer image's entrypoint (docs/deploy.md). Installs tskata on the node
# whose root filesystem is mounted at $HOST_ROOT (default /host), as kata-deploy does.
#
#   tskata-deploy install        copy the payload, register the handler, restart containerd,
#                                label the node, then sleep (the DaemonSet pod's main process)
#   tskata-deploy install-once   the same, then exit
#   tskata-deploy uninstall      undo all of it and exit (the DaemonSet's preStop hook)
#   tskata-deploy uninstall-once the same as uninstall
#
# Environment: HOST_ROOT (default /host); RESTART_CONTAINERD=false skips the restart (tests, or
# nodes restarted another way); NODE_NAME (the downward API) names the node to label.
set -eu

HOST_ROOT="${HOST_ROOT:-/host}"
PAYLOAD=/opt/tskata
NODE="$PAYLOAD/node/bin/node"
LABEL=tskata.io/runtime

say() { echo "tskata-deploy: $*"; }
die() { echo "tskata-deploy: error: $*" >&2; exit 1; }

tskata() { "$NODE" "$PAYLOAD/dist/cli/main.js" "$@"; }

restart_containerd() {
  if [ "${RESTART_CONTAINERD:-true}" = "false" ]; then
    say "RESTART_CONTAINERD=false: not restarting containerd; restart it to (un)load the tskata handler"
    return 0
  fi
  # hostPID: PID 1 is the node's init; enter its namespaces to use the node's systemctl.
  say "restarting containerd on the node (nsenter -t 1 ... systemctl restart containerd)"
  nsenter -t 1 -m -u -i -n -p -- systemctl restart containerd
}

label_node() { # $1: "true" to set the label, "-" to remove it
  if [ -z "${NODE_NAME:-}" ]; then
    say "NODE_NAME is not set: label the node yourself: kubectl label node NODE $LABEL=true"
    return 0
  fi
  if ! command -v kubectl >/dev/null 2>&1; then
    if [ "$1" = "-" ]; then
      say "no kubectl in this image: remove the label yourself: kubectl label node $NODE_NAME $LABEL-"
    else
      say "no kubectl in this image: label the node yourself: kubectl label node $NODE_NAME $LABEL=true"
    fi
    return 0
  fi
  if [ "$1" = "-" ]; then
    kubectl label node "$NODE_NAME" "$LABEL-" || say "could not remove $LABEL from $NODE_NAME (kubectl failed)"
  else
    kubectl label node --overwrite "$NODE_NAME" "$LABEL=true" ||
      say "could not label $NODE_NAME $LABEL=true (kubectl failed)"
  fi
}

install() {
  [ -d "$HOST_ROOT" ] || die "HOST_ROOT $HOST_ROOT is not a directory (mount the node's / there)"
  mkdir -p "$HOST_ROOT/opt"
  # Copy beside the old payload, then swap, so a failed copy leaves the node as it was.
  rm -rf "$HOST_ROOT/opt/tskata.new"
  cp -a "$PAYLOAD" "$HOST_ROOT/opt/tskata.new"
  rm -rf "$HOST_ROOT/opt/tskata"
  mv "$HOST_ROOT/opt/tskata.new" "$HOST_ROOT/opt/tskata"
  say "copied $PAYLOAD to $HOST_ROOT/opt/tskata"
  # Paths in the wrappers and the handler are as seen on the node: the copy at /opt/tskata.
  tskata install --containerd --root "$HOST_ROOT" --package-dir /opt/tskata \
    --node /opt/tskata/node/bin/node
  restart_containerd
  label_node true
  say "installed"
}

uninstall() {
  [ -d "$HOST_ROOT" ] || die "HOST_ROOT $HOST_ROOT is not a directory (mount the node's / there)"
  label_node -
  tskata uninstall --root "$HOST_ROOT" --package-dir /opt/tskata --node /opt/tskata/node/bin/node
  restart_containerd
  rm -rf "$HOST_ROOT/opt/tskata" "$HOST_ROOT/opt/tskata.new"
  say "removed $HOST_ROOT/opt/tskata; uninstalled"
}

case "${1:-install}" in
  install)
    install
    # The DaemonSet pod stays up; its preStop hook runs `tskata-deploy uninstall`.
    trap 'exit 0' TERM INT
    while :; do sleep 3600 & wait $!; done
    ;;
  install-once) install ;;
  uninstall | uninstall-once) uninstall ;;
  *) die "unknown mode '$1' (install, install-once, uninstall, uninstall-once)" ;;
esac
