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

# plugin_resources CONFIG: the resource names of a plugin config, one per line.
plugin_resources() {
  python3 -c 'import sys, yaml
for r in yaml.safe_load(open(sys.argv[1]))["resources"]: print(r["name"])' "$1"
}

# plugin_deploy_dir DIR CONFIG IMAGE: writes DIR/deploy/, a kustomization over copies of
# packaging/kubernetes/*.yaml.
plugin_deploy_dir() {
  local dir="$1" config="$2" image="$3"
  mkdir -p "$dir/deploy"
  cp "$repo/packaging/kubernetes/daemonset.yaml" "$repo/packaging/kubernetes/configmap.yaml" "$dir/deploy/"
  python3 - "$dir/deploy" "$config" "$image" <<'PY'
import hashlib, json, sys, yaml
deploy, config_path, image = sys.argv[1:]
config = open(config_path).read()
name, tag = image.rsplit(":", 1)
kustomization = {
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "resources": ["configmap.yaml", "daemonset.yaml"],
    "images": [{"name": "ghcr.io/udev-device-plugin/udev-device-plugin", "newName": name, "newTag": tag}],
    "patches": [
        # The config, and the hash annotation update-config-hash would write for it.
        {"patch": yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "udev-device-plugin-config", "namespace": "kube-system"},
            "data": {"config.yaml": config}})},
        {"target": {"kind": "DaemonSet", "name": "udev-device-plugin"}, "patch": json.dumps([
            {"op": "replace", "path": "/spec/template/metadata/annotations/udev-device-plugin~1config-hash",
             "value": "sha256:" + hashlib.sha256(config.encode()).hexdigest()},
            # daemonset.yaml: "For resources with cdi: true, add a read-write hostPath for /var/run/cdi."
            {"op": "add", "path": "/spec/template/spec/volumes/-",
             "value": {"name": "cdi", "hostPath": {"path": "/var/run/cdi", "type": "DirectoryOrCreate"}}},
            {"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts/-",
             "value": {"name": "cdi", "mountPath": "/var/run/cdi"}}])},
    ],
}
open(f"{deploy}/kustomization.yaml", "w").write(yaml.safe_dump(kustomization, sort_keys=False))
PY
}

# plugin_start DIR MODE CONFIG BINARY
plugin_start() {
  local dir="$1" mode="$2" config="$3" binary="$4"
  mkdir -p "$dir/plugin"
  [ "$config" -ef "$dir/plugin/config.yaml" ] || cp "$config" "$dir/plugin/config.yaml"
  case "$mode" in
    host)
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
