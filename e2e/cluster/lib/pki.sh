# Certificates and kubeconfigs for the test cluster, made with openssl
# (sourced after common.sh, not run). EC P-256 keys: quick to generate.

_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# _cert NAME SUBJECT [SAN] [EXT_USAGE]: a leaf certificate signed by the cluster CA.
_cert() {
  local name="$1" subj="$2" san="${3:-}" usage="${4:-clientAuth}" pki="$STATE/pki" ext
  _key "$pki/$name.key"
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } > "$ext"
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}

# _kubeconfig FILE CERT_NAME: a kubeconfig that authenticates with a client certificate.
_kubeconfig() {
  local file="$1" name="$2" pki="$STATE/pki"
  cat > "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: pipod
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$pki/$name.crt")
    client-key-data: $(base64 -w0 "$pki/$name.key")
contexts:
- name: pipod
  context:
    cluster: pipod
    user: $name
current-context: pipod
KC
  chmod 600 "$file"
}

# make_pki: CA, serving and client certificates, service-account keys and one
# kubeconfig per component; kept across restarts until `down`.
make_pki() {
  local pki="$STATE/pki"
  [[ -f $pki/done ]] && return 0
  mkdir -p "$pki" "$STATE/kubeconfig.d"
  chmod 700 "$pki"
  _key "$pki/ca.key"
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=pipod-cluster-ca" -days 365 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$pki/ca.crt" 2>/dev/null
  _cert apiserver "/CN=kube-apiserver" \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP,IP:127.0.0.1" \
    serverAuth
  _cert kubelet-serving "/CN=$NODE_NAME" "DNS:$NODE_NAME,IP:$NODE_IP" serverAuth
  _cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  _cert admin "/O=system:masters/CN=pipod-admin"
  _cert controller-manager "/CN=system:kube-controller-manager"
  _cert scheduler "/CN=system:kube-scheduler"
  _cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  _cert kube-proxy "/CN=system:kube-proxy"
  _key "$pki/sa.key"
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  for c in admin controller-manager scheduler kubelet kube-proxy; do
    _kubeconfig "$STATE/kubeconfig.d/$c" "$c"
  done
  cp "$STATE/kubeconfig.d/admin" "$KUBECONFIG_PATH"
  touch "$pki/done"
  log "certificates and kubeconfigs written under $STATE"
}
