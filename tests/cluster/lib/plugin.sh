# The plugin in the cluster, deployed the two ways users deploy it. Sourced by up and the
# scenarios (which also restart, upgrade and stop it).
#   host:      the binary on the host, with the systemd unit's command line (plus metrics on
#              127.0.0.1:9470 and an audit log file, which the scenarios read)
#   daemonset: packaging/kubernetes/ applied as it is through a kustomization that changes only
#              the image, the config (and its hash annotation) and adds the CDI directory mount

# self_contained_binary REPO: builds (or reuses) the self-contained binary; prints its path.
self_contained_binary() {
  local repo="$1" build="${BUILD_SELF_CONTAINED:-$1/build-self-contained}"
  case "$build" in /*) ;; *) build="$repo/$build" ;; esac
  if [ ! -f "$build/build.ninja" ]; then
    # The options of tests/deploy/self-contained-check, so that both share the directory.
    meson setup "$build" "$repo" -Dself_contained=true -Doptimization=2 -Ddebug=false \
      -Db_ndebug=true >&2
  fi
  meson compile -C "$build" src/udev-device-plugin >&2
  echo "$build/src/udev-device-plugin"
}

# plugin_resources CONFIG: the names of the resources a plugin config serves through the device
# plugin (serve: devicePlugin or both), one per line: those the node's allocatable shows.
plugin_resources() {
  python3 -c 'import sys, yaml
for r in yaml.safe_load(open(sys.argv[1]))["resources"]:
    if r.get("serve", "devicePlugin") != "dra": print(r["name"])' "$1"
}

# plugin_dra_driver CONFIG: the DRA driver's name, or nothing when the config has no dra block.
plugin_dra_driver() {
  python3 -c 'import sys, yaml
print((yaml.safe_load(open(sys.argv[1])).get("dra") or {}).get("driverName", ""))' "$1"
}

# plugin_deploy_dir DIR CONFIG IMAGE: writes DIR/deploy/, a kustomization over copies of
# packaging/kubernetes/*.yaml, or of packaging/kubernetes/dra/ when CONFIG has a dra block (then
# with the DeviceClasses `deviceclasses` prints for CONFIG, as the packaging's README says).
plugin_deploy_dir() {
  local dir="$1" config="$2" image="$3" source="$repo/packaging/kubernetes"
  mkdir -p "$dir/deploy"
  rm -f "$dir"/deploy/*.yaml
  local dra=""
  if [ -n "$(plugin_dra_driver "$config")" ]; then
    dra=1
    source="$source/dra"
    cp "$source/rbac.yaml" "$source/admission-policy.yaml" "$dir/deploy/"
    "$PLUGIN_BINARY" deviceclasses --config "$config" >"$dir/deploy/deviceclasses.yaml"
  fi
  cp "$source/daemonset.yaml" "$source/configmap.yaml" "$dir/deploy/"
  python3 - "$dir/deploy" "$config" "$image" "$dra" <<'PY'
import hashlib, json, os, sys, yaml
deploy, config_path, image, dra = sys.argv[1:]
config = open(config_path).read()
name, tag = image.rsplit(":", 1)
pod_patch = [
    {"op": "replace", "path": "/spec/template/metadata/annotations/udev-device-plugin~1config-hash",
     "value": "sha256:" + hashlib.sha256(config.encode()).hexdigest()}]
if dra:
    # This cluster has no kube-proxy (pods have no network): the service address the kubelet
    # puts into KUBERNETES_SERVICE_HOST leads nowhere, the API server's loopback address does
    # (hostNetwork; the serving certificate names 127.0.0.1).
    pod_patch += [{"op": "add", "path": "/spec/template/spec/containers/0/env/-",
                   "value": {"name": n, "value": v}}
                  for n, v in (("KUBERNETES_SERVICE_HOST", "127.0.0.1"), ("KUBERNETES_SERVICE_PORT", "6443"))]
else:
    # daemonset.yaml: "For resources with cdi: true, add a read-write hostPath for /var/run/cdi."
    pod_patch += [
        {"op": "add", "path": "/spec/template/spec/volumes/-",
         "value": {"name": "cdi", "hostPath": {"path": "/var/run/cdi", "type": "DirectoryOrCreate"}}},
        {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
         "value": {"name": "cdi", "mountPath": "/var/run/cdi"}}]
kustomization = {
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "resources": sorted(f for f in os.listdir(deploy) if f.endswith(".yaml") and f != "kustomization.yaml"),
    "images": [{"name": "ghcr.io/udev-device-plugin/udev-device-plugin", "newName": name, "newTag": tag}],
    "patches": [
        # The config, and the hash annotation update-config-hash would write for it.
        {"patch": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "udev-device-plugin-config", "namespace": "kube-system"},
            "data": {"config.yaml": config}})},
        {"target": {"kind": "DaemonSet", "name": "udev-device-plugin"}, "patch": json.dumps(pod_patch)},
    ],
}
open(f"{deploy}/kustomization.yaml", "w").write(yaml.safe_dump(kustomization, sort_keys=False))
PY
}

# plugin_host_dra DIR CONFIG: what a host deployment of the DRA driver needs at the API server:
# the ClusterRole of packaging/kubernetes/dra/rbac.yaml bound to the plugin's own user (its
# client certificate, DIR/plugin.kubeconfig), and the DeviceClasses of CONFIG.
plugin_host_dra() {
  local dir="$1" config="$2" node
  node="$(cat "$dir/node-name" 2>/dev/null || echo localhost)"
  local kubectl=("$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig")
  "${kubectl[@]}" apply -f "$repo/packaging/kubernetes/dra/rbac.yaml" >&2
  "${kubectl[@]}" apply -f - >&2 <<BINDING
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: udev-device-plugin-host}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: udev-device-plugin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "udev-device-plugin:$node"}]
BINDING
  "$PLUGIN_BINARY" deviceclasses --config "$config" | "${kubectl[@]}" apply -f - >&2
}

# plugin_start DIR MODE CONFIG BINARY
plugin_start() {
  local dir="$1" mode="$2" config="$3" binary="$4"
  mkdir -p "$dir/plugin"
  [ "$config" -ef "$dir/plugin/config.yaml" ] || cp "$config" "$dir/plugin/config.yaml"
  case "$mode" in
    host)
      [ -z "$(plugin_dra_driver "$config")" ] || plugin_host_dra "$dir" "$config"
      NODE_NAME="$(cat "$dir/node-name" 2>/dev/null || echo localhost)" \
      start_process "$dir" plugin "$binary" run --config "$dir/plugin/config.yaml" \
        --metrics-address 127.0.0.1:9470 --audit-log "$dir/logs/plugin-audit.log"
      ;;
    daemonset)
      plugin_deploy_dir "$dir" "$dir/plugin/config.yaml" localhost/udev-device-plugin:dev
      "$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig" apply -k "$dir/deploy" >&2
      "$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig" -n kube-system rollout status \
        daemonset/udev-device-plugin --timeout=120s >&2
      ;;
  esac
}

# plugin_stop DIR MODE
plugin_stop() {
  local dir="$1" mode="$2"
  case "$mode" in
    host) stop_process "$dir" plugin ;;
    daemonset)
      "$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig" delete -k "$dir/deploy" --wait=true \
        --ignore-not-found >&2 ;;
  esac
}

_allocatable_has_all() {
  local dir="$1" node="$2" config="$3" allocatable resource
  allocatable="$("$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig" get node "$node" -o json | jq -c .status.allocatable)"
  for resource in $(plugin_resources "$config"); do
    jq -e --arg r "$resource" 'has($r)' <<<"$allocatable" >/dev/null || return 1
  done
}

# plugin_wait_allocatable DIR NODE CONFIG: until every resource of CONFIG is in the node's
# allocatable.
plugin_wait_allocatable() {
  wait_until 120 "the plugin's resources in the node's allocatable" _allocatable_has_all "$@"
}

_slices_published() {
  local dir="$1" node="$2" driver="$3"
  [ "$("$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig" get resourceslices \
    --field-selector "spec.nodeName=$node,spec.driver=$driver" -o name | wc -l)" -gt 0 ]
}

# plugin_wait_slices DIR NODE CONFIG: until the DRA driver of CONFIG has published its node's
# pool.
plugin_wait_slices() {
  wait_until 120 "the DRA driver's ResourceSlices" _slices_published "$1" "$2" "$(plugin_dra_driver "$3")"
}
