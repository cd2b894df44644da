// kubeapi-server: a small stand-in for the Kubernetes API server, for the API client's tests.
// Go's own TLS and HTTP/2 (the same stacks the real API server runs on), standard library only.
//
//	kubeapi-server -dir DIR [-listen 127.0.0.1:0]
//
// At start it makes a CA, a server certificate (127.0.0.1, ::1, localhost), a client certificate
// and a second, unrelated CA, and writes into DIR: ca.crt, client.crt, client.key, other-ca.crt,
// token, and the kubeconfigs kubeconfig-cert (client certificate), kubeconfig-token (tokenFile)
// and kubeconfig-localhost (the server named "localhost", an inline token). Then it prints
// "PORT <n>" and serves HTTPS with HTTP/2 until stdin closes.
//
// A request needs a client certificate from the CA or "Authorization: Bearer <the token file's
// content>" (read at each request, so a test can rotate it); else 401.
//
// Resources: any path whose last segment is one of the plural names below is a collection, and
// one level deeper an object. GET (list; ?watch=true streams newline-delimited events), POST
// (create; 409 AlreadyExists), GET/PUT/DELETE an object (PUT checks metadata.resourceVersion:
// 409 Conflict), with Status objects for errors as the API server writes them.
// A list or watch with ?fieldSelector=a.b=x,c!=y sees only the objects whose fields match, as
// the API server filters ResourceSlices on spec.nodeName and spec.driver.
// Extras: /slow?ms=N answers after N ms; /echo answers with what it was sent; /big?bytes=N;
// /version answers as the API server does (Kubernetes 1.36).
// A watch with &split=1 first sends one event in three flushes and one event of 100 000 bytes.
//
// Commands on stdin, each answered with one line on stdout:
//
//	stop          close the listener and every connection at once   → OK
//	start         listen again on the same port                      → OK
//	goaway        GOAWAY on every connection (in-flight requests finish), listen anew → OK
//	close-watches end every watch (the response ends normally)       → OK
//	requests      how many requests arrived                          → REQUESTS <n>
//	hold PREFIX   requests whose path starts with PREFIX wait (unanswered) until release → OK
//	release       the held requests go on; nothing is held any more  → OK
//	held          how many requests are waiting now                  → HELD <n>
//	list PATH     the collection's objects, by name, as a JSON array  → LIST <json>
//	delete PATH   delete an object, as another client would          → OK, or ERROR not found
//	deny METHOD   requests with METHOD under /apis/ get 403 Forbidden    → OK
//	allow         nothing is denied any more                         → OK
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Plural name → the kind of its lists, as the API server names them.
var resources = map[string]string{
	"things": "ThingList", "configmaps": "ConfigMapList", "resourceslices": "ResourceSliceList",
	"resourceclaims": "ResourceClaimList",
}

// The apiVersion of a path's group: /apis/GROUP/VERSION/... or /api/v1/...
func groupVersion(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 3 && parts[0] == "apis" {
		return parts[1] + "/" + parts[2]
	}
	return "v1"
}

type identity struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newIdentity(template *x509.Certificate, issuer *identity) *identity {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	check(err)
	template.SerialNumber = serial
	template.NotBefore = time.Now().Add(-time.Hour)
	template.NotAfter = time.Now().Add(24 * time.Hour)
	parent, signer := template, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, &key.PublicKey, signer)
	check(err)
	cert, err := x509.ParseCertificate(der)
	check(err)
	return &identity{cert, key, der}
}

func newCA(name string) *identity {
	return newIdentity(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
}

func certPEM(id *identity) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.der})
}

func keyPEM(id *identity) []byte {
	der, err := x509.MarshalECPrivateKey(id.key)
	check(err)
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// The object store and its watchers.
type store struct {
	mu       sync.Mutex
	rv       int64
	objects  map[string]map[string]map[string]any // collection → name → object
	watchers map[string]map[chan []byte]selector  // collection → event channels and filters
	closeAll chan struct{}                        // closed by close-watches, then replaced
}

func newStore() *store {
	return &store{
		objects:  map[string]map[string]map[string]any{},
		watchers: map[string]map[chan []byte]selector{},
		closeAll: make(chan struct{}),
	}
}

func (s *store) broadcast(collection, kind string, obj map[string]any) {
	line, _ := json.Marshal(map[string]any{"type": kind, "object": obj})
	line = append(line, '\n')
	for ch, sel := range s.watchers[collection] {
		if !sel.matches(obj) {
			continue
		}
		select {
		case ch <- line:
		default: // a watcher that does not read loses events, as with the real one
		}
	}
}

func status(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// A fieldSelector: every term must hold.
type selector []term

// One term: field path (spec.nodeName → [spec nodeName]), =/== or !=, value.
type term struct {
	path   []string
	value  string
	negate bool
}

func parseSelector(text string) selector {
	var sel selector
	for _, text := range strings.Split(text, ",") {
		if text == "" {
			continue
		}
		negate := strings.Contains(text, "!=")
		key, value, _ := strings.Cut(strings.Replace(strings.Replace(text, "!=", "=", 1),
			"==", "=", 1), "=")
		sel = append(sel, term{strings.Split(key, "."), value, negate})
	}
	return sel
}

func (sel selector) matches(obj map[string]any) bool {
	for _, t := range sel {
		var v any = obj
		for _, key := range t.path {
			m, _ := v.(map[string]any)
			v = m[key]
		}
		s, _ := v.(string)
		if (s == t.value) == t.negate {
			return false
		}
	}
	return true
}

// Requests held by the hold command: they wait for release (or their client to give up).
type hold struct {
	mu      sync.Mutex
	prefix  string
	release chan struct{}
	waiting atomic.Int64
}

func (h *hold) wait(r *http.Request) {
	h.mu.Lock()
	prefix, release := h.prefix, h.release
	h.mu.Unlock()
	if prefix == "" || !strings.HasPrefix(r.URL.Path, prefix) {
		return
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case <-release:
	case <-r.Context().Done():
	}
}

type server struct {
	dir      string
	addr     string
	tls      *tls.Config
	store    *store
	requests atomic.Int64
	hold     hold

	mu     sync.Mutex
	srv    *http.Server
	denied string // "deny METHOD": requests with that method under /apis/ get 403
}

func (s *server) deniedMethod() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied
}

func (s *server) authorized(r *http.Request) bool {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	token, err := os.ReadFile(filepath.Join(s.dir, "token"))
	if err != nil {
		return false
	}
	want := "Bearer " + strings.TrimSpace(string(token))
	return r.Header.Get("Authorization") == want
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if !s.authorized(r) {
		status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	if denied := s.deniedMethod(); denied == r.Method && strings.HasPrefix(r.URL.Path, "/apis/") {
		status(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s %s is forbidden: "+
			"the test's RBAC denies it", r.Method, r.URL.Path))
		return
	}
	s.hold.wait(r)
	switch r.URL.Path {
	case "/version":
		writeJSON(w, 200, map[string]any{"major": "1", "minor": "36", "gitVersion": "v1.36.0"})
		return
	case "/slow":
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			writeJSON(w, 200, map[string]any{"slept": ms})
		case <-r.Context().Done():
		}
		return
	case "/echo":
		body := new(strings.Builder)
		bufio.NewReader(r.Body).WriteTo(body)
		writeJSON(w, 200, map[string]any{
			"method": r.Method, "path": r.URL.RequestURI(), "proto": r.Proto,
			"accept": r.Header.Get("Accept"), "contentType": r.Header.Get("Content-Type"),
			"userAgent": r.Header.Get("User-Agent"), "host": r.Host, "body": body.String(),
			"clientCert": r.TLS != nil && len(r.TLS.VerifiedChains) > 0,
			"bearer":     strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "),
		})
		return
	case "/big":
		n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		writeJSON(w, 200, map[string]any{"data": strings.Repeat("b", n)})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	last := len(parts) - 1
	switch {
	case resources[parts[last]] != "":
		s.collection(w, r, r.URL.Path, resources[parts[last]])
	case last > 0 && resources[parts[last-1]] != "":
		s.object(w, r, "/"+strings.Join(parts[:last], "/"), parts[last])
	default:
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

func (s *server) collection(w http.ResponseWriter, r *http.Request, path, listKind string) {
	st := s.store
	switch r.Method {
	case http.MethodGet:
		if r.URL.Query().Get("watch") == "true" {
			s.watch(w, r, path)
			return
		}
		items, rv := st.list(path, parseSelector(r.URL.Query().Get("fieldSelector")))
		writeJSON(w, 200, map[string]any{"kind": listKind, "apiVersion": groupVersion(path),
			"metadata": map[string]any{"resourceVersion": strconv.FormatInt(rv, 10)}, "items": items})
	case http.MethodPost:
		obj, ok := decode(w, r)
		if !ok {
			return
		}
		n := name(obj)
		if n == "" {
			status(w, http.StatusUnprocessableEntity, "Invalid", "metadata.name: Required value")
			return
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.objects[path] == nil {
			st.objects[path] = map[string]map[string]any{}
		}
		if _, exists := st.objects[path][n]; exists {
			status(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("%q already exists", n))
			return
		}
		st.rv++
		meta(obj)["resourceVersion"] = strconv.FormatInt(st.rv, 10)
		st.objects[path][n] = obj
		st.broadcast(path, "ADDED", obj)
		writeJSON(w, http.StatusCreated, obj)
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// The collection's objects that match, by name, and the store's resourceVersion.
func (st *store) list(path string, sel selector) ([]map[string]any, int64) {
	st.mu.Lock()
	items := []map[string]any{}
	for _, obj := range st.objects[path] {
		if sel.matches(obj) {
			items = append(items, obj)
		}
	}
	rv := st.rv
	st.mu.Unlock()
	sort.Slice(items, func(i, j int) bool {
		return name(items[i]) < name(items[j])
	})
	return items, rv
}

// Deletes an object and tells the watchers; false when there was none.
func (st *store) remove(collection, n string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	current, exists := st.objects[collection][n]
	if !exists {
		return false
	}
	delete(st.objects[collection], n)
	st.broadcast(collection, "DELETED", current)
	return true
}

func (s *server) object(w http.ResponseWriter, r *http.Request, collection, n string) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	current, exists := st.objects[collection][n]
	if !exists && r.Method != http.MethodPut {
		status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%q not found", n))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, 200, current)
	case http.MethodPut:
		obj, ok := decode(w, r)
		if !ok {
			return
		}
		if !exists {
			status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%q not found", n))
			return
		}
		if meta(obj)["resourceVersion"] != meta(current)["resourceVersion"] {
			status(w, http.StatusConflict, "Conflict", fmt.Sprintf("Operation cannot be fulfilled "+
				"on %q: the object has been modified; please apply your changes to the latest "+
				"version and try again", n))
			return
		}
		st.rv++
		meta(obj)["resourceVersion"] = strconv.FormatInt(st.rv, 10)
		st.objects[collection][n] = obj
		st.broadcast(collection, "MODIFIED", obj)
		writeJSON(w, 200, obj)
	case http.MethodDelete:
		delete(st.objects[collection], n)
		st.broadcast(collection, "DELETED", current)
		writeJSON(w, 200, current)
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

func (s *server) watch(w http.ResponseWriter, r *http.Request, path string) {
	st := s.store
	ch := make(chan []byte, 100)
	st.mu.Lock()
	if st.watchers[path] == nil {
		st.watchers[path] = map[chan []byte]selector{}
	}
	st.watchers[path][ch] = parseSelector(r.URL.Query().Get("fieldSelector"))
	closeAll := st.closeAll
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.watchers[path], ch)
		st.mu.Unlock()
	}()
	flusher := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	flusher.Flush()
	if r.URL.Query().Get("split") == "1" {
		// One event in three DATA frames, then one far larger than a frame.
		event := `{"type":"ADDED","object":{"metadata":{"name":"split","resourceVersion":"0"}}}` + "\n"
		for _, piece := range []string{event[:10], event[10:40], event[40:]} {
			w.Write([]byte(piece))
			flusher.Flush()
			time.Sleep(20 * time.Millisecond) // separate frames, and separate reads on the client
		}
		big := `{"type":"ADDED","object":{"metadata":{"name":"big"},"data":"` +
			strings.Repeat("x", 100000) + `"}}` + "\n"
		w.Write([]byte(big))
		flusher.Flush()
	}
	for {
		select {
		case line := <-ch:
			w.Write(line)
			flusher.Flush()
		case <-closeAll:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func decode(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var obj map[string]any
	if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
		status(w, http.StatusBadRequest, "BadRequest", err.Error())
		return nil, false
	}
	if _, ok := obj["metadata"].(map[string]any); !ok {
		obj["metadata"] = map[string]any{}
	}
	return obj, true
}

func meta(obj map[string]any) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	return m
}

func name(obj map[string]any) string {
	n, _ := meta(obj)["name"].(string)
	return n
}

func (s *server) listen() {
	var ln net.Listener
	var err error
	// After stop or goaway the old listener may take a moment to let go of the port.
	for i := 0; i < 500; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	check(err)
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: s, TLSConfig: s.tls.Clone(), ErrorLog: log.New(os.Stderr, "", 0)}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.ServeTLS(ln, "", "")
}

func (s *server) current() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

func main() {
	dir := flag.String("dir", "", "where to write certificates, token and kubeconfigs")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}

	ca := newCA("kubeapi-server test CA")
	other := newCA("unrelated CA")
	serverID := newIdentity(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca)
	clientID := newIdentity(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "system:node:test", Organization: []string{"system:nodes"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	serverPair, err := tls.X509KeyPair(certPEM(serverID), keyPEM(serverID))
	check(err)

	s := &server{
		dir:  *dir,
		addr: *listen,
		tls: &tls.Config{
			Certificates: []tls.Certificate{serverPair},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2"},
		},
		store: newStore(),
	}
	s.listen()
	_, port, _ := net.SplitHostPort(s.addr)
	host := strings.Split(*listen, ":")[0]
	if strings.HasPrefix(*listen, "[") {
		host = (*listen)[:strings.Index(*listen, "]")+1]
	}

	tokenBytes := make([]byte, 16)
	rand.Read(tokenBytes)
	token := hex.EncodeToString(tokenBytes)
	write := func(name string, data []byte) {
		check(os.WriteFile(filepath.Join(*dir, name), data, 0o600))
	}
	write("ca.crt", certPEM(ca))
	write("other-ca.crt", certPEM(other))
	write("client.crt", certPEM(clientID))
	write("client.key", keyPEM(clientID))
	write("token", []byte(token+"\n"))
	kubeconfig := func(server, cluster, user string) []byte {
		return []byte("apiVersion: v1\nkind: Config\ncurrent-context: test\n" +
			"contexts:\n- name: test\n  context: {cluster: test, user: test}\n" +
			"clusters:\n- name: test\n  cluster:\n    server: " + server + "\n" + cluster +
			"users:\n- name: test\n  user:\n" + user)
	}
	url := "https://" + host + ":" + port
	write("kubeconfig-cert", kubeconfig(url, "    certificate-authority: ca.crt\n",
		"    client-certificate: client.crt\n    client-key: client.key\n"))
	write("kubeconfig-token", kubeconfig(url,
		"    certificate-authority-data: "+base64.StdEncoding.EncodeToString(certPEM(ca))+"\n",
		"    tokenFile: token\n"))
	write("kubeconfig-localhost", kubeconfig("https://localhost:"+port,
		"    certificate-authority: ca.crt\n", "    token: "+token+"\n"))
	fmt.Printf("PORT %s\n", port)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		switch cmd {
		case "stop":
			s.current().Close()
			fmt.Println("OK")
		case "start":
			s.listen()
			fmt.Println("OK")
		case "goaway":
			old := s.current()
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				old.Shutdown(ctx) // closes the listener, then GOAWAY on every connection
				old.Close()
			}()
			s.listen() // retries until Shutdown has let go of the port
			fmt.Println("OK")
		case "close-watches":
			s.store.mu.Lock()
			close(s.store.closeAll)
			s.store.closeAll = make(chan struct{})
			s.store.mu.Unlock()
			fmt.Println("OK")
		case "requests":
			fmt.Printf("REQUESTS %d\n", s.requests.Load())
		case "allow":
			s.mu.Lock()
			s.denied = ""
			s.mu.Unlock()
			fmt.Println("OK")
		case "hold":
			s.hold.mu.Lock()
			s.hold.prefix, s.hold.release = arg, make(chan struct{})
			s.hold.mu.Unlock()
			fmt.Println("OK")
		case "release":
			s.hold.mu.Lock()
			if s.hold.release != nil {
				close(s.hold.release)
			}
			s.hold.prefix, s.hold.release = "", nil
			s.hold.mu.Unlock()
			fmt.Println("OK")
		case "held":
			fmt.Printf("HELD %d\n", s.hold.waiting.Load())
		case "list":
			items, _ := s.store.list(arg, nil)
			line, _ := json.Marshal(items)
			fmt.Printf("LIST %s\n", line)
		case "delete":
			slash := strings.LastIndex(arg, "/")
			if slash > 0 && s.store.remove(arg[:slash], arg[slash+1:]) {
				fmt.Println("OK")
			} else {
				fmt.Println("ERROR not found")
			}
		case "deny":
			s.mu.Lock()
			s.denied = arg
			s.mu.Unlock()
			fmt.Println("OK")
		default:
			fmt.Printf("ERROR unknown command %q\n", cmd)
		}
	}
}
