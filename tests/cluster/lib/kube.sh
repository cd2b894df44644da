# kubectl helpers for the scenarios. Need DIR (the cluster directory) and NODE.

k() { "$DIR/bin/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }
cri() { "$DIR/bin/crictl" --runtime-endpoint "unix://$DIR/run/containerd.sock" "$@"; }

# allocatable RESOURCE / capacity RESOURCE: the node's figure as the API server has it (0 when
# absent).
allocatable() { k get node "$NODE" -o json | jq -r --arg r "$1" '.status.allocatable[$r] // "0"'; }
capacity() { k get node "$NODE" -o json | jq -r --arg r "$1" '.status.capacity[$r] // "0"'; }
allocatable_is() { [ "$(allocatable "$1")" = "$2" ]; }
capacity_is() { [ "$(capacity "$1")" = "$2" ]; }

# test_pod NAME RESOURCE [COUNT]: a busybox pod asking for COUNT (1) of RESOURCE that prints
# what it sees (device nodes, the env and the mount the config asks for) and sleeps.
test_pod() {
  local name="$1" resource="$2" count="${3:-1}"
  k apply -f - >/dev/null <<POD
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: default
  labels: {app: udp-cluster-test}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
    - name: probe
      image: localhost/busybox:latest
      imagePullPolicy: Never
      command:
        - sh
        - -c
        - |
          echo "devices: \$(ls /dev | grep zram | tr '\n' ' ')"
          echo "env: ZRAM_DEVICES=\$ZRAM_DEVICES"
          echo "mount: \$(ls /zram-control 2>/dev/null | tr '\n' ' ')"
          for d in /dev/zram*; do [ -b "\$d" ] && head -c 0 "\$d" && echo "opened: \$d"; done
          exec sleep 1000000
      resources:
        limits: {$resource: "$count"}
POD
}

pod_ready() { [ "$(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
pod_phase() { k get pod "$1" -o jsonpath='{.status.phase}'; }
wait_pod_ready() { wait_until "${2:-90}" "pod $1 Ready" pod_ready "$1" || { k describe pod "$1" >&2; return 1; }; }
# pod_line POD KEY: the value the pod printed after "KEY: " (its log).
pod_line() { k logs "$1" | sed -n "s/^$2: //p" | sed 's/ *$//'; }
pod_logged() { k logs "$1" 2>/dev/null | grep -q '^opened: \|^devices: '; }
# container_id POD / container_state POD: what the kubelet reports for the pod's container.
container_id() { k get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}'; }
delete_pods() { k delete pod "$@" --wait=true --timeout=60s >/dev/null; }
