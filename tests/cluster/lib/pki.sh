# Certificates and kubeconfigs for the one-node cluster, made with openssl. Sourced by `up`.
#   make_pki DIR NODE_NAME APISERVER_URL

# cert NAME SUBJECT [SAN]: a P-256 key and a certificate signed by the cluster CA, for client
# and server use.
_cert() {
  local pki="$1" name="$2" subject="$3" san="${4:-}"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=clientAuth,serverAuth"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 30 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

# kubeconfig FILE URL CA CERT KEY USER
_kubeconfig() {
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: udp
  cluster: {server: "$2", certificate-authority: "$3"}
users:
- name: $6
  user: {client-certificate: "$4", client-key: "$5"}
contexts:
- name: udp
  context: {cluster: udp, user: $6}
current-context: udp
KUBECONFIG
}

make_pki() {
  local dir="$1" node="$2" url="$3" pki="$1/pki"
  mkdir -p "$pki"
  chmod 700 "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=udp-cluster-ca" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null
  _cert "$pki" apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  _cert "$pki" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  _cert "$pki" admin "/O=system:masters/CN=udp-admin"
  _cert "$pki" kubelet "/O=system:nodes/CN=system:node:$node"
  _cert "$pki" kubelet-serving "/CN=$node" "IP:127.0.0.1,DNS:$node,DNS:localhost"
  _cert "$pki" controller-manager "/CN=system:kube-controller-manager"
  _cert "$pki" scheduler "/CN=system:kube-scheduler"
  # The plugin on the host, as a DRA driver: a user of its own, bound to the DRA ClusterRole
  # (plugin_start). A DaemonSet uses its service account instead.
  _cert "$pki" plugin "/O=udev-device-plugin/CN=udev-device-plugin:$node"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local who
  for who in admin kubelet controller-manager scheduler plugin; do
    _kubeconfig "$dir/$who.kubeconfig" "$url" "$pki/ca.crt" "$pki/$who.crt" "$pki/$who.key" "$who"
  done
  cp "$dir/admin.kubeconfig" "$dir/kubeconfig"
}
