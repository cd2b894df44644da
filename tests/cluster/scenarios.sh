# The cluster suite's scenarios (README, "Cluster suite"). Sourced by tests/cluster/suite, which
# sets DIR, NODE, RELEASE, MODE (host|daemonset), PLUGIN_BINARY, ZRAM_OWNED, ZRAM_CDI and FIGURES, and
# runs them in this order: each leaves the pods the next one expects.
#
# Every check names what it expected; a scenario stops at its first failed check.

ZRAM=example.com/zram
ZRAM_CDI_RESOURCE=example.com/zram-cdi

expect() {
  local what="$1"; shift
  if ! "$@"; then echo "expected: $what" >&2; return 1; fi
}
figure() { echo "$RELEASE/${DEPLOY:-$MODE}: $*" >>"$FIGURES"; echo "figure: $*" >&2; }
now_ms() { date +%s%3N; }

# The plugin's audit lines: its file on the host, its log stream in the DaemonSet.
plugin_audit() {
  case "$MODE" in
    host) cat "$DIR/logs/plugin-audit.log" 2>/dev/null ;;
    # The kubelet's files of the plugin containers' logs on this node (what `kubectl logs` serves)
    # since this cluster came up: no API server in between, which a scenario may just have
    # restarted.
    daemonset) find /var/log/pods -path '/var/log/pods/kube-system_udev-device-plugin-*' \
        -name '*.log' -newer "$DIR/env" -exec cat {} + 2>/dev/null | sed -n 's/^.* audit: {/{/p' ;;
  esac
}

# The plugin's view: /readyz and /describe on 127.0.0.1:9470 (the host's loopback either way).
plugin_http() { curl -s -o /dev/stdout -w '\n%{http_code}' "http://127.0.0.1:9470$1"; }

# kubelet_pushed_ms RESOURCE CAPACITY AFTER_MS: the time (ms) of the kubelet's first "State
# pushed for device plugin" line for RESOURCE with CAPACITY devices logged after AFTER_MS.
kubelet_pushed_ms() {
  local year; year="$(date +%Y)"
  grep '"State pushed for device plugin"' "$DIR/logs/kubelet.log" |
    grep "resource=\"$1\" resourceCapacity=$2\$" |
    while read -r stamp clock _; do
      local ms; ms="$(date -u -d "$year-${stamp:1:2}-${stamp:3:2} $clock" +%s%3N)"
      [ "$ms" -ge "$3" ] && { echo "$ms"; break; }
    done
}

# status_at_api_ms RESOURCE ALLOCATABLE AFTER_MS: when (ms) the API server completed the first
# node status write after AFTER_MS that set RESOURCE's allocatable to ALLOCATABLE (its audit log).
status_at_api_ms() {
  jq -r --arg r "$1" --arg v "$2" 'select(.objectRef.subresource == "status" and .stage == "ResponseComplete")
      | select(.requestObject.status.allocatable[$r] == $v) | .stageTimestamp' \
    "$DIR/logs/apiserver-audit.log" 2>/dev/null |
    while read -r stamp; do
      local ms; ms="$(date -u -d "$stamp" +%s%3N)"
      [ "$ms" -ge "$3" ] && { echo "$ms"; break; }
    done
}

# status_back_ms RESOURCE ALLOCATABLE AFTER_MS: when (ms) the API server completed the first node
# status write after AFTER_MS that leaves RESOURCE's allocatable at ALLOCATABLE: one that sets it
# so, or one that does not touch it when no write since AFTER_MS had set it otherwise (a kubelet
# status patch carries only what changed).
status_back_ms() {
  jq -r --arg r "$1" 'select(.objectRef.subresource == "status" and .stage == "ResponseComplete")
      | [.stageTimestamp, (.requestObject.status.allocatable[$r] // "-")] | @tsv' \
    "$DIR/logs/apiserver-audit.log" 2>/dev/null | {
    local dropped="" stamp value ms
    while read -r stamp value; do
      ms="$(date -u -d "$stamp" +%s%3N)"
      [ "$ms" -ge "$3" ] || continue
      if [ "$value" = "$2" ] || { [ "$value" = - ] && [ -z "$dropped" ]; }; then echo "$ms"; break; fi
      [ "$value" = - ] || dropped=1
    done
  }
}

running_pods_devices() {
  local pod
  for pod in $(k get pods -l app=udp-cluster-test --field-selector=status.phase=Running -o name); do
    pod_line "${pod#pod/}" devices
  done
}
no_device_twice() {
  local all; all="$(running_pods_devices | tr ' ' '\n' | grep . | sort)"
  [ "$(uniq -d <<<"$all")" = "" ] || { echo "devices held twice: $(uniq -d <<<"$all")" >&2; return 1; }
}

# Snapshot of the running test pods: name, uid, container id, restart count.
# pods_snapshot [SELECTOR]: of the pods with that label selector (default app=udp-cluster-test).
pods_snapshot() {
  k get pods -l "${1:-app=udp-cluster-test}" -o json |
    jq -r '.items[] | select(.status.phase == "Running") | [.metadata.name, .metadata.uid,
      .status.containerStatuses[0].containerID, .status.containerStatuses[0].restartCount] | @tsv' | sort
}
# pods_undisturbed BEFORE [SELECTOR]: every pod of the BEFORE snapshot still runs, same uid, same
# container, no restart (pods started since do not matter).
pods_undisturbed() {
  local now; now="$(pods_snapshot "${2:-}")"
  local missing; missing="$(comm -23 <(echo "$1") <(echo "$now"))"
  [ -z "$missing" ] || { printf 'changed or gone:\n%s\nnow:\n%s\n' "$missing" "$now" >&2; return 1; }
}

# The expected figures come from the plugin's own `list` on the host, with the same config.
listed() { "$PLUGIN_BINARY" list --config "$DIR/plugin/config.yaml" | awk -v r="$1" -v h="${2:-}" '$1 == r && (h == "" || $3 == h)' | wc -l; }

scenario_capacity_equals_list() {
  local r
  for r in $ZRAM $ZRAM_CDI_RESOURCE; do
    local all healthy; all="$(listed "$r")"; healthy="$(listed "$r" Healthy)"
    expect "$r: list shows devices" [ "$all" -gt 0 ]
    wait_until 30 "$r capacity $all, allocatable $healthy" \
      eval "capacity_is $r $all && allocatable_is $r $healthy"
    echo "$r: list $all ($healthy healthy) = capacity $(capacity $r), allocatable $(allocatable $r)" >&2
  done
}

scenario_pod_sees_its_device() {
  test_pod p1 $ZRAM
  test_pod p2 $ZRAM
  wait_pod_ready p1 && wait_pod_ready p2
  wait_until 30 "p1 and p2 logs" eval "pod_logged p1 && pod_logged p2"
  local d1 d2; d1="$(pod_line p1 devices)"; d2="$(pod_line p2 devices)"
  expect "p1 sees exactly one zram node (saw '$d1')" [ "$(wc -w <<<"$d1")" -eq 1 ]
  expect "p2 sees exactly one zram node (saw '$d2')" [ "$(wc -w <<<"$d2")" -eq 1 ]
  expect "p1 and p2 get different devices ($d1, $d2)" [ "$d1" != "$d2" ]
  expect "p1 opened its device" eval "k logs p1 | grep -qx 'opened: /dev/$d1'"
  expect "p1's env ZRAM_DEVICES=/dev/$d1 (config env)" [ "$(pod_line p1 env)" = "ZRAM_DEVICES=/dev/$d1" ]
  expect "p1 sees the config's mount /zram-control" eval "pod_line p1 mount | grep -qw hot_add"
  local cid; cid="$(container_id p1)"; cid="${cid#containerd://}"
  expect "p1's container carries the config's annotation" \
    [ "$(cri inspect "$cid" | jq -r '.status.annotations["example.com/source"]')" = udev-device-plugin ]
}
allocatable_is_eventually() { wait_until 30 "allocatable $1 = $2" allocatable_is "$1" "$2"; }

scenario_cdi_device() {
  test_pod c1 $ZRAM_CDI_RESOURCE
  wait_pod_ready c1
  wait_until 30 "c1 logs" pod_logged c1
  expect "c1 sees zram$ZRAM_CDI only" [ "$(pod_line c1 devices)" = "zram$ZRAM_CDI" ]
  local cid; cid="$(container_id c1)"; cid="${cid#containerd://}"
  local cdi; cdi="$(cri inspect "$cid" | jq -r '[.info.config.CDI_devices[]?.name] | join(" ")')"
  expect "the kubelet handed containerd the CDI device (saw '$cdi')" \
    [ "$cdi" = "$ZRAM_CDI_RESOURCE=zram$ZRAM_CDI" ]
  expect "the device came through CDI, not a DeviceSpec (no devices in the CRI config)" \
    [ "$(cri inspect "$cid" | jq '[.info.config.devices[]?] | length')" = 0 ]
  expect "containerd put the node in the OCI spec" \
    eval "cri inspect $cid | jq -e '.info.runtimeSpec.linux.devices[] | select(.path == \"/dev/zram$ZRAM_CDI\")' >/dev/null"
  delete_pods c1
}

scenario_exhausted_then_pending_runs() {
  test_pod p3 $ZRAM
  wait_until 60 "FailedScheduling 'Insufficient $ZRAM' for p3" eval \
    "k get events --field-selector involvedObject.name=p3,reason=FailedScheduling -o json | jq -e '[.items[].message | select(contains(\"Insufficient $ZRAM\"))] | length > 0' >/dev/null"
  expect "p3 Pending" [ "$(pod_phase p3)" = Pending ]
  local d1; d1="$(pod_line p1 devices)"
  delete_pods p1
  wait_pod_ready p3
  wait_until 30 "p3 logs" pod_logged p3
  expect "p3 got p1's freed device $d1" [ "$(pod_line p3 devices)" = "$d1" ]
}

scenario_hotplug() {
  # (Allocatable counts healthy devices, held or not: the scheduler subtracts what pods hold.)
  local cap0; cap0="$(capacity $ZRAM)"
  local t0 n
  t0="$(now_ms)"; n="$(zram_add_advertised)"
  wait_until 30 "$ZRAM capacity and allocatable $((cap0 + 1)) after hot_add" \
    eval "capacity_is $ZRAM $((cap0 + 1)) && allocatable_is $ZRAM $((cap0 + 1))"
  local pushed api
  pushed="$(kubelet_pushed_ms $ZRAM $((cap0 + 1)) "$t0")"
  api="$(status_at_api_ms $ZRAM $((cap0 + 1)) "$t0")"
  expect "the kubelet logged the pushed list" [ -n "$pushed" ]
  expect "the API server's audit log has the node status write" [ -n "$api" ]
  figure "hot_add to the kubelet's ListAndWatch message: $((pushed - t0)) ms"
  figure "hot_add to the node status at the API server: $((api - t0)) ms"
  # A free device removed: allocatable and capacity shrink (onRemove: drop).
  zram_remove "$n"
  wait_until 30 "$ZRAM capacity and allocatable back to $cap0" \
    eval "capacity_is $ZRAM $cap0 && allocatable_is $ZRAM $cap0"
  # The device a running pod holds removed: the audit line names the pod.
  local held; held="$(pod_line p2 devices)"
  zram_remove "${held#zram}"
  wait_until 30 "an audit line naming p2 for $held" eval \
    "plugin_audit | jq -c 'select(.deviceId == \"$held\" and ((.holders // []) | any(.pod == \"p2\")))' | grep -q ."
  plugin_audit | grep "\"$held\"" | tail -1 >&2
  wait_until 30 "$ZRAM capacity $((cap0 - 1)) without $held" capacity_is $ZRAM $((cap0 - 1))
  delete_pods p2
  # Two fresh devices for the scenarios that follow.
  zram_add_advertised >/dev/null; zram_add_advertised >/dev/null
  wait_until 30 "$ZRAM capacity $((cap0 + 1))" capacity_is $ZRAM $((cap0 + 1))
}

# wait_kubelet_synced MARK: until the restarted kubelet's first pod sync from the API server
# (logged after line MARK of its log). A pod bound before then is admitted while the kubelet's
# pod sources are not ready, when the device manager does not yet drop the devices its
# checkpoint still gives to pods deleted before the restart: such a pod fails with
# UnexpectedAdmissionError ("requested number of devices unavailable"), a kubelet behaviour
# this suite found (README, "What the real kubelet showed").
wait_kubelet_synced() {
  wait_until 60 "the kubelet's first pod sync after its restart" \
    eval "kubelet_log_since $1 | grep -q '\"SyncLoop ADD\" source=\"api\"'"
}

restart_kubelet() {
  local pid; pid="$(process_pid "$DIR" kubelet)"
  kill -KILL "$pid"
  while _running "$pid"; do sleep 0.05; done
  start_process "$DIR" kubelet $(cat "$DIR/etc/kubelet.args")
}

scenario_kubelet_restarts() {
  test_pod p4 $ZRAM; wait_pod_ready p4
  local before; before="$(pods_snapshot)"
  local expected cap; expected="$(allocatable $ZRAM)"; cap="$(capacity $ZRAM)"
  local i times=()
  for i in $(seq 1 10); do
    local t0 mark; t0="$(now_ms)"; mark="$(kubelet_log_lines)"
    restart_kubelet
    wait_until 60 "restart $i: the kubelet pushed $ZRAM again" eval '[ -n "$(kubelet_pushed_ms $ZRAM $cap $t0)" ]'
    local pushed; pushed="$(kubelet_pushed_ms $ZRAM "$cap" "$t0")"
    wait_until 60 "restart $i: a node status with allocatable $expected at the API server" \
      eval '[ -n "$(status_back_ms $ZRAM $expected $t0)" ]'
    expect "restart $i: node Ready" k wait --for=condition=Ready "node/$NODE" --timeout=30s
    times+=("$((pushed - t0))/$(($(status_back_ms $ZRAM "$expected" "$t0") - t0))")
  done
  figure "kubelet restart to the plugin's list pushed / to the first node status at the API server with allocatable $expected (ms, 10 runs): ${times[*]}"
  expect "running pods untouched by 10 kubelet restarts" pods_undisturbed "$before"
  wait_kubelet_synced "$mark"
  test_pod p5 $ZRAM; wait_pod_ready p5
  wait_until 30 "p5 logs" pod_logged p5
  expect "no device in two pods" no_device_twice
  delete_pods p5
}

scenario_plugin_restart_and_upgrade() {
  local before; before="$(pods_snapshot)"
  local cap; cap="$(capacity $ZRAM)"
  local t0
  case "$MODE" in
    host)
      plugin_stop "$DIR" host
      t0="$(now_ms)"
      plugin_start "$DIR" host "$DIR/plugin/config.yaml" "$PLUGIN_BINARY"
      ;;
    daemonset)
      t0="$(now_ms)"
      k -n kube-system rollout restart daemonset/udev-device-plugin >/dev/null
      k -n kube-system rollout status daemonset/udev-device-plugin --timeout=120s >/dev/null
      ;;
  esac
  wait_until 60 "$ZRAM pushed after the plugin restart" eval '[ -n "$(kubelet_pushed_ms $ZRAM $cap $t0)" ]'
  figure "plugin (re)start to the kubelet's first ListAndWatch message (host: from exec; DaemonSet: from the rollout restart): $(($(kubelet_pushed_ms $ZRAM "$cap" "$t0") - t0)) ms"
  # The upgrade: a config change (a new env var). Host: the unit's ExecReload (SIGHUP). DaemonSet:
  # the ConfigMap and its hash annotation, which rolls the pods.
  sed -i 's|^    env: {ZRAM_DEVICES: "{devnodes}"}|    env: {ZRAM_DEVICES: "{devnodes}", ZRAM_UPGRADED: "yes"}|' "$DIR/plugin/config.yaml"
  expect "the config changed" grep -q ZRAM_UPGRADED "$DIR/plugin/config.yaml"
  t0="$(now_ms)"
  case "$MODE" in
    host) kill -HUP "$(process_pid "$DIR" plugin)" ;;
    daemonset)
      local generation; generation="$(k -n kube-system get daemonset udev-device-plugin -o jsonpath='{.metadata.generation}')"
      plugin_deploy_dir "$DIR" "$DIR/plugin/config.yaml" localhost/udev-device-plugin:dev
      k apply -k "$DIR/deploy" >/dev/null
      expect "the config change rolls the DaemonSet" \
        [ "$(k -n kube-system get daemonset udev-device-plugin -o jsonpath='{.metadata.generation}')" -gt "$generation" ]
      k -n kube-system rollout status daemonset/udev-device-plugin --timeout=120s >/dev/null
      ;;
  esac
  wait_until 60 "$ZRAM pushed after the upgrade" eval '[ -n "$(kubelet_pushed_ms $ZRAM $cap $t0)" ]'
  test_pod p6 $ZRAM; wait_pod_ready p6
  wait_until 30 "p6 logs" pod_logged p6
  expect "p6 runs with the upgraded config" eval "k exec p6 -- sh -c 'echo \$ZRAM_UPGRADED' | grep -qx yes"
  expect "running pods undisturbed by the restart and the upgrade" pods_undisturbed "$before"
  expect "no device in two pods" no_device_twice
  delete_pods p6
  # p3's device was handed out by an earlier plugin process: removed now, the audit line still
  # names p3 (the plugin asks the kubelet's PodResources, not its own memory).
  local held; held="$(pod_line p3 devices)"
  zram_remove "${held#zram}"
  wait_until 30 "an audit line naming p3 for $held, allocated before the restart" eval \
    "plugin_audit | jq -c 'select(.deviceId == \"$held\" and ((.holders // []) | any(.pod == \"p3\")))' | grep -q ."
  delete_pods p3
  zram_add_advertised >/dev/null
  wait_until 30 "$ZRAM capacity back to $cap" capacity_is $ZRAM "$cap"
}

scenario_plugin_stopped() {
  local cap alloc; cap="$(capacity $ZRAM)"; alloc="$(allocatable $ZRAM)"
  expect "a free device to lose" [ "$alloc" -gt 0 ]
  plugin_stop "$DIR" "$MODE"
  wait_until 60 "allocatable $ZRAM 0 with capacity $cap kept" eval "allocatable_is $ZRAM 0 && capacity_is $ZRAM $cap"
  case "$MODE" in
    host) plugin_start "$DIR" host "$DIR/plugin/config.yaml" "$PLUGIN_BINARY" ;;
    daemonset) k apply -k "$DIR/deploy" >/dev/null
               k -n kube-system rollout status daemonset/udev-device-plugin --timeout=120s >/dev/null ;;
  esac
  wait_until 60 "allocatable $ZRAM back to $alloc" allocatable_is $ZRAM "$alloc"
}

scenario_describe_and_readyz_agree() {
  wait_until 30 "/readyz 200" eval '[ "$(plugin_http /readyz | tail -1)" = 200 ]'
  local describe; describe="$(plugin_http /describe | sed '$d')"
  local r
  for r in $ZRAM $ZRAM_CDI_RESOURCE; do
    local devices healthy
    devices="$(jq --arg r "$r" '[.resources[] | select(.name == $r) | .devices[]] | length' <<<"$describe")"
    healthy="$(jq --arg r "$r" '[.resources[] | select(.name == $r) | .devices[] | select(.health == "Healthy")] | length' <<<"$describe")"
    expect "$r: describe's $devices devices = capacity $(capacity "$r")" capacity_is "$r" "$devices"
    expect "$r: describe's $healthy healthy = allocatable $(allocatable "$r")" allocatable_is "$r" "$healthy"
    expect "$r: describe says registered and streaming" eval \
      "jq -e --arg r $r '.kubelet.resources[] | select(.name == \$r) | .registration == \"registered\" and .streaming' <<<'$describe' >/dev/null"
  done
}

# What daemonset.yaml claims about its privileges, checked in the OCI spec containerd gave runc
# and in the running process; and its claim that RuntimeDefault refuses io_uring, checked by
# running the same image under RuntimeDefault.
scenario_daemonset_least_privilege() {
  local pod; pod="$(k -n kube-system get pods -l app.kubernetes.io/name=udev-device-plugin -o jsonpath='{.items[0].metadata.name}')"
  local cid; cid="$(k -n kube-system get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}')"
  local spec; spec="$(cri inspect "${cid#containerd://}" | jq -c .info)"
  expect "no capabilities at all" [ "$(jq -c '.runtimeSpec.process.capabilities // {} | [.[]?[]?] | length' <<<"$spec")" = 0 ]
  expect "no privilege escalation" [ "$(jq '.runtimeSpec.process.noNewPrivileges' <<<"$spec")" = true ]
  expect "read-only root filesystem" [ "$(jq '.runtimeSpec.root.readonly' <<<"$spec")" = true ]
  expect "uid 0" [ "$(jq '.runtimeSpec.process.user.uid' <<<"$spec")" = 0 ]
  expect "seccomp Unconfined (no filter in the spec)" [ "$(jq '.runtimeSpec.linux.seccomp' <<<"$spec")" = null ]
  local pid; pid="$(jq '.pid' <<<"$spec")"
  expect "hostNetwork: the plugin runs in the host's network namespace" \
    [ "$(readlink "/proc/$pid/ns/net")" = "$(readlink /proc/self/ns/net)" ]
  local mounts; mounts="$(jq -r '.runtimeSpec.mounts[] | .destination + " " + (if (.options | index("ro")) then "ro" else "rw" end)' <<<"$spec")"
  local m
  for m in "/var/lib/kubelet/device-plugins rw" "/var/lib/kubelet/pod-resources ro" "/run/udev ro" \
           "/etc/udev-device-plugin ro" "/var/run/cdi rw"; do
    expect "mount $m" grep -qx "$m" <<<"$mounts"
  done
  expect "no /dev from the host" eval "! grep -q '^/dev/zram' <<<\"\$mounts\""
  expect "the process agrees (describe: no capabilities, no_new_privs, seccomp off)" eval \
    "plugin_http /describe | sed '\$d' | jq -e '.privileges | .effectiveCapabilities == [] and .noNewPrivs and .seccomp == \"disabled\"' >/dev/null"
  expect "the plugin runs on io_uring" eval "k -n kube-system logs $pod | grep -q 'running reactor=io_uring'"
  # The same image under RuntimeDefault: containerd's default profile refuses io_uring, and the
  # plugin runs on epoll (no kubelet directory of its own: it only starts its loop).
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: runtime-default, namespace: default}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: plugin
      image: localhost/udev-device-plugin:dev
      args: [run, --config, /etc/udev-device-plugin/config.yaml, --kubelet-dir, /scratch]
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes: [{name: scratch, emptyDir: {}}]
POD
  wait_until 60 "the RuntimeDefault plugin's start line" eval "k logs runtime-default 2>/dev/null | grep -q 'running reactor='"
  k logs runtime-default | grep -i 'reactor\|io_uring' >&2
  expect "under RuntimeDefault the plugin runs on epoll" eval "k logs runtime-default | grep -q 'running reactor=epoll'"
  delete_pods runtime-default
}

# Registration through the kubelet's plugin watcher (registration: pluginWatcher): the plugin
# restarted with it, registered by the real kubelet's plugin manager, through a kubelet restart.
kubelet_log_lines() { wc -l <"$DIR/logs/kubelet.log"; }
kubelet_log_since() { tail -n +"$(($1 + 1))" "$DIR/logs/kubelet.log"; }
scenario_plugin_watcher_registration() {
  local cap; cap="$(capacity $ZRAM)"
  plugin_stop "$DIR" host
  sed -i '1i registration: pluginWatcher' "$DIR/plugin/config.yaml"
  local mark; mark="$(kubelet_log_lines)"
  local t0; t0="$(now_ms)"
  plugin_start "$DIR" host "$DIR/plugin/config.yaml" "$PLUGIN_BINARY"
  local registry=/var/lib/kubelet/plugins_registry sockets=/var/lib/kubelet/plugins/udev-device-plugin
  wait_until 30 "the kubelet's plugin watcher validated example.com/zram" eval \
    "kubelet_log_since $mark | grep -q '\"Device plugin validated\" plugin=\"$ZRAM\" endpoint=\"$sockets/'"
  wait_until 30 "$ZRAM pushed through the plugin watcher's registration" eval '[ -n "$(kubelet_pushed_ms $ZRAM $cap $t0)" ]'
  figure "plugin start to the kubelet's first ListAndWatch message, plugin-watcher registration: $(($(kubelet_pushed_ms $ZRAM "$cap" "$t0") - t0)) ms"
  kubelet_log_since "$mark" | grep -E 'Got plugin at endpoint|Device plugin validated|Registered client' | grep "$ZRAM\"" >&2
  expect "the registration socket in plugins_registry" [ -S "$registry/example.com_zram-reg.sock" ]
  expect "no Register through kubelet.sock" eval "! kubelet_log_since $mark | grep -q 'Got registration request from device plugin'"
  expect "no plugin socket in device-plugins" [ ! -e /var/lib/kubelet/device-plugins/example.com_zram.sock ]
  wait_until 60 "allocatable $ZRAM $cap" allocatable_is $ZRAM "$cap"
  # A kubelet restart wipes device-plugins, not plugins_registry: the watcher registers again.
  t0="$(now_ms)"; mark="$(kubelet_log_lines)"
  restart_kubelet
  wait_until 60 "$ZRAM pushed after the kubelet restart (plugin watcher)" eval '[ -n "$(kubelet_pushed_ms $ZRAM $cap $t0)" ]'
  figure "kubelet restart to the plugin's list pushed, plugin-watcher registration: $(($(kubelet_pushed_ms $ZRAM "$cap" "$t0") - t0)) ms"
  wait_kubelet_synced "$mark"
  test_pod p7 $ZRAM; wait_pod_ready p7
  wait_until 30 "p7 logs" pod_logged p7
  expect "no device in two pods" no_device_twice
  wait_until 30 "/readyz 200 under the plugin watcher" eval '[ "$(plugin_http /readyz | tail -1)" = 200 ]'
  delete_pods p7
  # Back to kubelet.sock registration for whatever follows.
  plugin_stop "$DIR" host
  sed -i '1d' "$DIR/plugin/config.yaml"
  plugin_start "$DIR" host "$DIR/plugin/config.yaml" "$PLUGIN_BINARY"
  wait_until 60 "the plugin's registration socket removed" eval "[ ! -e $registry/example.com_zram-reg.sock ]"
}

SCENARIOS="capacity_equals_list pod_sees_its_device cdi_device exhausted_then_pending_runs hotplug
  kubelet_restarts plugin_restart_and_upgrade plugin_stopped describe_and_readyz_agree"
SCENARIOS_daemonset="daemonset_least_privilege"
SCENARIOS_host="plugin_watcher_registration"
