# The cluster suite's DRA scenarios (README, "Cluster suite"; docs/dra.md): the plugin as a
# Dynamic Resource Allocation driver against the real kubelet, scheduler, controller manager and
# API server. Sourced by tests/cluster/suite after scenarios.sh (whose helpers they use), for the
# deployments dra-host and dra-daemonset, with the config of write_config_dra: example.com/zram
# served through DRA only (deviceFile uid/gid 1000, mode 0660; onRemove: unhealthy; healthy while
# disksize is 0), example.com/zram-both through the device plugin and DRA at once.

DRIVER=udev.example.com
DRA_ZRAM=example.com/zram
DRA_CLASS=zram.example.com
BOTH=example.com/zram-both
BOTH_CLASS=zram-both.example.com

slices_json() { k get resourceslices --field-selector "spec.nodeName=$NODE,spec.driver=$DRIVER" -o json; }
# slice_devices RESOURCE: the pool's devices of RESOURCE, one JSON object per line.
slice_devices() {
  slices_json | jq -c --arg r "$1" '.items[].spec.devices[]? | select(.attributes.resource.string == $r)'
}
slice_count() { slice_devices "$1" | grep -c . || true; }
# slice_kernels RESOURCE: the kernel names of its devices in the pool, sorted.
slice_kernels() { slice_devices "$1" | jq -r '.attributes.kernel.string' | sort; }
slice_has_kernel() { slice_kernels "$1" | grep -qx "$2"; }
# device_taints KERNEL: the taints of that device in the pool ("key=value:effect" lines).
device_taints() {
  slices_json | jq -r --arg k "$1" '.items[].spec.devices[]? | select(.attributes.kernel.string == $k)
    | (.taints // [])[] | "\(.key)=\(.value):\(.effect)"'
}
minor() { echo "$RELEASE" | cut -d. -f2; }

# claim NAME CEL [CLASS]: a ResourceClaim for one device of CLASS (zram.example.com) matching CEL.
claim() {
  k apply -f - >/dev/null <<CLAIM
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: $1, namespace: default}
spec:
  devices:
    requests:
      - name: zram
        exactly:
          deviceClassName: ${3:-$DRA_CLASS}
          selectors: [{cel: {expression: '$2'}}]
CLAIM
}

# The probe each DRA test pod runs: what it sees of its device, as the user it runs as.
DRA_PROBE='for d in /dev/zram*; do [ -b "$d" ] || continue; echo "device: ${d#/dev/} $(stat -c "%u %g %a" "$d")"; head -c 0 "$d" && echo "opened: ${d#/dev/}"; done; echo "env: ZRAM_DEVICES=$ZRAM_DEVICES"; echo "id: $(id -u):$(id -g)"; exec sleep 1000000'

# dra_pod NAME CLAIMSOURCE [CONTAINERS]: a pod running as uid/gid 1000 whose CONTAINERS (1 or 2)
# each use the pod claim "dev" (CLAIMSOURCE: "resourceClaimName: c1" or
# "resourceClaimTemplateName: t1").
dra_pod() {
  local name="$1" source="$2" containers="${3:-1}" i body=""
  for i in $(seq 1 "$containers"); do
    body+="
    - name: probe$i
      image: localhost/busybox:latest
      imagePullPolicy: Never
      command: [sh, -c, '$DRA_PROBE']
      resources: {claims: [{name: dev}]}"
  done
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: default, labels: {app: udp-dra-test}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsUser: 1000, runAsGroup: 1000}
  resourceClaims: [{name: dev, $source}]
  containers:$body
POD
}

# container_line POD CONTAINER KEY: what the container printed after "KEY: ".
container_line() { k logs "$1" -c "$2" | sed -n "s/^$3: //p" | sed 's/ *$//'; }
container_logged() { k logs "$1" -c "${2:-probe1}" 2>/dev/null | grep -q '^id: '; }
# The host's CDI spec files of our claims.
claim_specs() { ls /var/run/cdi 2>/dev/null | grep -i "$DRIVER" || true; }
claim_uid() { k get resourceclaim "$1" -o jsonpath='{.metadata.uid}'; }
spec_of_claim() { grep -ls "$1" /var/run/cdi/* 2>/dev/null | grep -q .; }
plugin_ready() { [ "$(plugin_http /readyz | tail -1)" = 200 ]; }
plugin_restart() {
  case "$MODE" in
    host)
      plugin_stop "$DIR" host
      plugin_start "$DIR" host "$DIR/plugin/config.yaml" "$PLUGIN_BINARY" ;;
    daemonset)
      k -n kube-system rollout restart daemonset/udev-device-plugin >/dev/null
      k -n kube-system rollout status daemonset/udev-device-plugin --timeout=120s >/dev/null ;;
  esac
}
# slice_write_ms KERNEL AFTER_MS: when (ms) the API server completed the first ResourceSlice
# write after AFTER_MS whose devices include KERNEL (its audit log).
slice_write_ms() {
  jq -r --arg k "$1" 'select(.objectRef.resource == "resourceslices" and .stage == "ResponseComplete"
      and (.responseStatus.code // 0) < 300)
      | select([.requestObject.spec.devices[]?.attributes.kernel.string] | index($k))
      | .stageTimestamp' "$DIR/logs/apiserver-audit.log" 2>/dev/null |
    while read -r stamp; do
      local ms; ms="$(date -u -d "$stamp" +%s%3N)"
      [ "$ms" -ge "$2" ] && { echo "$ms"; break; }
    done
}

scenario_dra_slices_equal_list() {
  local r
  for r in $DRA_ZRAM $BOTH; do
    local listed_n; listed_n="$(listed "$r")"
    expect "$r: list shows devices" [ "$listed_n" -gt 0 ]
    wait_until 30 "$r: $listed_n devices in the pool" eval '[ "$(slice_count $r)" = "$listed_n" ]'
    echo "$r: list $listed_n = pool $(slice_count "$r")" >&2
  done
  expect "every device names its kernel, devnode, subsystem and a DNS-label name" eval \
    "[ -z \"\$(slices_json | jq -c '.items[].spec.devices[] | select((.name | test(\"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\$\") | not)
       or .attributes.kernel.string == null or .attributes.devnode.string != \"/dev/\" + .attributes.kernel.string
       or .attributes.subsystem.string != \"block\")')\" ]"
  expect "one pool, named after the node, generation > 0" eval \
    "[ \"\$(slices_json | jq -r '[.items[].spec.pool | select(.name == \"$NODE\" and .generation > 0)] | length')\" -ge 1 ]"
  expect "$DRA_ZRAM is not in the node's capacity (DRA only)" capacity_is $DRA_ZRAM 0
  wait_until 30 "$BOTH in the node's capacity too (serve: both)" eval "capacity_is $BOTH $(listed $BOTH)"
  expect "the DeviceClasses exist" k get deviceclass $DRA_CLASS $BOTH_CLASS
}

scenario_dra_claim_by_attribute() {
  local kernel; kernel="$(slice_kernels $DRA_ZRAM | head -1)"
  claim c1 "device.attributes[\"$DRIVER\"].kernel == \"$kernel\""
  dra_pod d1 "resourceClaimName: c1"
  wait_pod_ready d1 && wait_until 30 "d1 logs" container_logged d1
  local seen; seen="$(container_line d1 probe1 device)"
  expect "d1 sees exactly $kernel, owned 1000:1000, mode 660 (saw '$seen')" [ "$seen" = "$kernel 1000 1000 660" ]
  expect "d1, as uid 1000, opened its device" eval "[ \"\$(container_line d1 probe1 opened)\" = $kernel ]"
  expect "d1 runs as 1000:1000" eval "[ \"\$(container_line d1 probe1 id)\" = 1000:1000 ]"
  expect "d1's env ZRAM_DEVICES=/dev/$kernel (config env, through CDI)" \
    eval "[ \"\$(container_line d1 probe1 env)\" = ZRAM_DEVICES=/dev/$kernel ]"
  local uid; uid="$(claim_uid c1)"
  expect "a CDI spec for claim c1 on the host" spec_of_claim "$uid"
  wait_until 30 "an audit line dra-prepare for claim c1 naming pod d1" eval \
    "plugin_audit | jq -c 'select(.event == \"dra-prepare\" and .claim == \"c1\" and (.pods | index(\"d1\")))' | grep -q ."
}

scenario_dra_pending_until_hotplug() {
  # The next zram index: the lowest free one from 10 (the suite holds 1-9).
  local next=10
  while [ -e "/sys/block/zram$next" ]; do next=$((next + 1)); done
  claim c2 "device.attributes[\"$DRIVER\"].kernel == \"zram$next\""
  dra_pod d2 "resourceClaimName: c2"
  wait_until 30 "d2 unschedulable: no device satisfies c2" eval \
    "k get pod d2 -o json | jq -e '.status.conditions[]? | select(.type == \"PodScheduled\" and .status == \"False\")' >/dev/null"
  k get pod d2 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}' >&2; echo >&2
  local t0 n; t0="$(now_ms)"; n="$(zram_add_advertised)"
  expect "hot_add made zram$next (made zram$n)" [ "$n" = "$next" ]
  wait_pod_ready d2 60
  local running; running="$(now_ms)"
  wait_until 30 "d2 logs" container_logged d2
  expect "d2 sees zram$next" eval "[ \"\$(container_line d2 probe1 device | cut -d' ' -f1)\" = zram$next ]"
  local acked; acked="$(slice_write_ms "zram$next" "$t0")"
  expect "the API server's audit log has the slice write with zram$next" [ -n "$acked" ]
  figure "DRA: hot_add to the ResourceSlice write acknowledged by the API server: $((acked - t0)) ms"
  figure "DRA: hot_add to the waiting pod Ready: $((running - t0)) ms"
}

scenario_dra_shared_claim_and_template() {
  claim c3 "device.attributes[\"$DRIVER\"].resource == \"$DRA_ZRAM\""
  dra_pod d3 "resourceClaimName: c3" 2
  k apply -f - >/dev/null <<TEMPLATE
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: t1, namespace: default}
spec:
  spec:
    devices:
      requests: [{name: zram, exactly: {deviceClassName: $DRA_CLASS}}]
TEMPLATE
  dra_pod d4 "resourceClaimTemplateName: t1"
  wait_pod_ready d3 && wait_pod_ready d4
  wait_until 30 "d3 and d4 logs" eval "container_logged d3 probe1 && container_logged d3 probe2 && container_logged d4"
  local a b c
  a="$(container_line d3 probe1 device)"; b="$(container_line d3 probe2 device)"; c="$(container_line d4 probe1 device)"
  expect "both containers of d3 see the one device of c3 ($a / $b)" [ -n "$a" ] && [ "$a" = "$b" ] && [ "$(wc -l <<<"$a")" = 1 ]
  expect "d4 (from template t1) sees one device ($c)" [ -n "$c" ] && [ "$(wc -l <<<"$c")" = 1 ]
  expect "d3, d4 and d1 hold different devices" eval \
    "[ \"\$(printf '%s\n' \"${a%% *}\" \"${c%% *}\" \"\$(container_line d1 probe1 device | cut -d' ' -f1)\" | sort -u | wc -l)\" = 3 ]"
  expect "d4's claim was made from t1 for d4" eval \
    "k get resourceclaims -o json | jq -e '.items[] | select(.metadata.annotations[\"resource.kubernetes.io/pod-claim-name\"] == \"dev\" and (.status.reservedFor // [] | any(.name == \"d4\")))' >/dev/null"
}

scenario_dra_extended_resource() {
  # A pod that asks for example.com/zram the device-plugin way, served by DRA through the
  # DeviceClass's extendedResourceName (DRAExtendedResource: GA in 1.37, alpha and off in 1.34).
  # Every device of the resource is claimed by now: one more for d5.
  zram_add_advertised >/dev/null
  test_pod d5 $DRA_ZRAM
  if [ "$(minor)" -lt 36 ]; then
    wait_until 30 "d5 unschedulable on $RELEASE (DRAExtendedResource off)" eval \
      "k get pod d5 -o json | jq -e '.status.conditions[]? | select(.type == \"PodScheduled\" and .status == \"False\")' >/dev/null"
    figure "DRA: limits {$DRA_ZRAM: 1} through extendedResourceName: not on $RELEASE (DRAExtendedResource is alpha and off)"
    delete_pods d5
    return 0
  fi
  wait_pod_ready d5 && wait_until 30 "d5 logs" pod_logged d5
  expect "d5 sees exactly one zram node ($(pod_line d5 devices))" [ "$(wc -w <<<"$(pod_line d5 devices)")" -eq 1 ]
  expect "d5's extended resource is served by a claim (status.extendedResourceClaimStatus)" eval \
    "k get pod d5 -o json | jq -e '.status.extendedResourceClaimStatus.resourceClaimName' >/dev/null"
  figure "DRA: limits {$DRA_ZRAM: 1} through extendedResourceName: served on $RELEASE"
  delete_pods d5
}

scenario_dra_unprepare_on_delete() {
  local uid; uid="$(claim_uid c1)"
  delete_pods d1
  wait_until 30 "the CDI spec of c1 gone" eval "! spec_of_claim $uid"
  wait_until 30 "an audit line dra-unprepare for c1" eval \
    "plugin_audit | jq -c 'select(.event == \"dra-unprepare\" and .claim == \"c1\" and .result == \"ok\")' | grep -q ."
}

scenario_dra_plugin_restart() {
  local before; before="$(pods_snapshot app=udp-dra-test)"
  local uid3; uid3="$(claim_uid c3)"
  plugin_restart
  wait_until 60 "the plugin ready again" plugin_ready
  expect "running DRA pods untouched by the plugin restart" pods_undisturbed "$before" app=udp-dra-test
  expect "c3's CDI spec kept" spec_of_claim "$uid3"
  # Unprepared by the new process, from its checkpoint: the spec goes, nothing stays prepared.
  delete_pods d3
  wait_until 30 "the CDI spec of c3 gone after the restart" eval "! spec_of_claim $uid3"
  wait_until 30 "the restarted plugin unprepared c3 (not 'repeated': it knew the claim)" eval \
    "plugin_audit | jq -c 'select(.event == \"dra-unprepare\" and .claim == \"c3\" and .result == \"ok\")' | grep -q ."
  # A new claim after the restart.
  claim c6 "device.attributes[\"$DRIVER\"].resource == \"$DRA_ZRAM\""
  dra_pod d6 "resourceClaimName: c6"
  wait_pod_ready d6
}

scenario_dra_kubelet_restart() {
  local before; before="$(pods_snapshot app=udp-dra-test)"
  local t0 mark; t0="$(now_ms)"; mark="$(kubelet_log_lines)"
  restart_kubelet
  # The kubelet's DRA plugin manager (--v=2) once it has dialled the endpoint GetInfo named.
  wait_until 60 "the kubelet registered the DRA driver again" eval \
    "kubelet_log_since $mark | grep -q '\"Connection changed\".*driverName=\"$DRIVER\".*connected=true'"
  figure "DRA: kubelet restart to the driver registered again: $(($(now_ms) - t0)) ms (upper bound: log polling)"
  expect "node Ready" k wait --for=condition=Ready "node/$NODE" --timeout=60s
  expect "running DRA pods untouched by the kubelet restart" pods_undisturbed "$before" app=udp-dra-test
  wait_kubelet_synced "$mark"
  claim c7 "device.attributes[\"$DRIVER\"].resource == \"$DRA_ZRAM\""
  dra_pod d7 "resourceClaimName: c7"
  wait_pod_ready d7
}

scenario_dra_apiserver_restart() {
  stop_process "$DIR" kube-apiserver
  local n; n="$(zram_add_advertised)"
  # shellcheck disable=SC2046
  start_process "$DIR" kube-apiserver $(cat "$DIR/etc/kube-apiserver.args")
  wait_until 120 "the API server back" eval "k get --raw /readyz >/dev/null 2>&1"
  wait_until 60 "zram$n in the pool after the API server came back" slice_has_kernel $DRA_ZRAM "zram$n"
  wait_until 60 "the plugin ready again" plugin_ready
  wait_until 30 "the pool equals list again" eval "[ \"\$(slice_count $DRA_ZRAM)\" = \"\$(listed $DRA_ZRAM)\" ]" ||
    { echo "pool: $(slice_kernels $DRA_ZRAM | tr '\n' ' '); list: $(listed $DRA_ZRAM)" >&2; return 1; }
}

scenario_dra_device_unhealthy_then_removed() {
  local kernel; kernel="$(container_line d6 probe1 device | cut -d' ' -f1)"
  local n="${kernel#zram}"
  # Unhealthy: the health rule wants disksize 0. The kernel sends no uevent for disksize, so the
  # test asks for one the way `udevadm trigger` does.
  echo 1M >"/sys/block/$kernel/disksize"
  echo change >"/sys/block/$kernel/uevent"
  if [ "$(minor)" -ge 36 ]; then
    wait_until 30 "$kernel tainted NoSchedule in the pool" eval "device_taints $kernel | grep -q ':NoSchedule$'"
    wait_until 60 "d6's status says its device is Unhealthy, with the plugin's message" eval \
      "k get pod d6 -o json | jq -e '.status.containerStatuses[0].allocatedResourcesStatus[]?.resources[]? | select(.health == \"Unhealthy\" and ((.message // \"\") | test(\"disksize\")))' >/dev/null"
    k get pod d6 -o json | jq -c '.status.containerStatuses[0].allocatedResourcesStatus' >&2
  else
    wait_until 30 "$kernel out of the pool (no device taints on $RELEASE)" eval "! slice_has_kernel $DRA_ZRAM $kernel"
  fi
  expect "d6 still runs with an unhealthy device (NoSchedule)" pod_ready d6
  # Removed while claimed: onRemove: unhealthy keeps it listed, tainted NoExecute, which evicts
  # the pod where taints exist.
  echo 1 >"/sys/block/$kernel/reset"
  zram_remove "$n"
  if [ "$(minor)" -ge 36 ]; then
    wait_until 30 "$kernel tainted NoExecute" eval "device_taints $kernel | grep -q ':NoExecute$'"
    wait_until 60 "d6 evicted for its removed device" eval "! pod_ready d6"
  fi
  wait_until 30 "an audit line for $kernel leaving Healthy" eval "plugin_audit | grep -q '\"$kernel\"'"
}

scenario_dra_serve_both() {
  # example.com/zram-both through both paths at once: a device-plugin pod and a claim.
  local kernels; kernels="$(slice_kernels $BOTH)"
  expect "$BOTH has two devices" [ "$(wc -l <<<"$kernels")" -eq 2 ]
  test_pod b1 $BOTH
  wait_pod_ready b1 && wait_until 30 "b1 logs" pod_logged b1
  local held; held="$(pod_line b1 devices)"
  local other; other="$(grep -vx "$held" <<<"$kernels")"
  claim c8 "device.attributes[\"$DRIVER\"].kernel == \"$other\"" $BOTH_CLASS
  dra_pod d8 "resourceClaimName: c8"
  wait_pod_ready d8 && wait_until 30 "d8 logs" container_logged d8
  expect "b1 (device plugin) has $held, d8 (DRA) has $other" \
    eval "[ \"\$(container_line d8 probe1 device | cut -d' ' -f1)\" = $other ]"
  delete_pods b1 d8
}

DRA_SCENARIOS="dra_slices_equal_list dra_claim_by_attribute dra_pending_until_hotplug
  dra_shared_claim_and_template dra_extended_resource dra_unprepare_on_delete dra_plugin_restart
  dra_kubelet_restart dra_apiserver_restart dra_device_unhealthy_then_removed dra_serve_both"
