// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Annotations that steer what the simulator reports.
const (
	// CPUAnnotation on a pod sets each container's CPU usage in millicores:
	// "250" for every container, or "app=250,sidecar=10". The value "-"
	// leaves the container's sample out (see Absent).
	CPUAnnotation = "kubeletsim.metrics.k8s.io/cpu-millicores"
	// MemoryAnnotation on a pod sets each container's working set in bytes,
	// in the same forms (quantities like 64Mi are accepted).
	MemoryAnnotation = "kubeletsim.metrics.k8s.io/memory"
	// StartedAnnotation on a pod (RFC 3339) sets when its containers
	// started; moving it forward simulates a restart: the counters start
	// from zero again.
	StartedAnnotation = "kubeletsim.metrics.k8s.io/started-at"
	// FaultAnnotation on a node makes its kubelet misbehave; see Fault.
	FaultAnnotation = "kubeletsim.metrics.k8s.io/fault"
	// SwapAnnotation on a node ("true") adds the swap families.
	SwapAnnotation = "kubeletsim.metrics.k8s.io/swap"
)

// Fault is a way a simulated kubelet misbehaves.
type Fault string

const (
	FaultNone     Fault = ""
	FaultSlow     Fault = "slow"     // answers after 3 seconds
	FaultHang     Fault = "hang"     // never answers
	FaultError    Fault = "error"    // HTTP 500
	FaultTruncate Fault = "truncate" // cuts the answer in the middle of a line
	FaultGarbage  Fault = "garbage"  // answers with HTML
	FaultHuge     Fault = "huge"     // an endless answer
	FaultBadCert  Fault = "bad-cert" // a serving certificate from an unknown CA
	// A serving certificate for the node's names only, no IP address.
	FaultNameOnlyCert Fault = "name-only-cert"
	FaultScrapeErr    Fault = "scrape-error" // resource_scrape_error 1 and nothing else, as a kubelet whose stats collection failed
	FaultRedirect     Fault = "redirect"     // redirects to a plain-HTTP address
	FaultClockAhead   Fault = "clock-ahead"  // every timestamp an hour ahead, as from a clock that jumped
	// Also reports the next node's pods, with 50 times their CPU and 3
	// times their memory, as a compromised node claiming others' pods.
	FaultClaimPods Fault = "claim-pods"
)

// clockJump is how far ahead FaultClockAhead's clock runs.
const clockJump = time.Hour

// Absent is the usage ContainerUsage reports for a container whose sample
// the simulated kubelet leaves out (annotated "-").
const Absent = -1

// Default usage of a container without annotations.
const (
	DefaultCPUMillicores = 10
	DefaultMemoryBytes   = 32 << 20
	// A node reports its pods' usage plus this overhead.
	NodeOverheadMillicores = 100
	NodeOverheadMemory     = 512 << 20
)

// Config describes a fleet.
type Config struct {
	// Nodes are the simulated node names; node i listens on BasePort+i.
	Nodes    []string
	Address  string
	BasePort int
	// Hostname is every node's Hostname address (default: its name):
	// "localhost" where nodes are reached by their Hostname address.
	Hostname string
	// Certificate issues node's serving certificate: for FaultNone the
	// good one (the node's name and Address), for FaultBadCert one from an
	// unknown CA, for FaultNameOnlyCert one for the node's name only. One
	// certificate per node, as a kubelet has, keeps client handshakes the
	// size they are in a real cluster. The fleet asks once per node and
	// kind.
	Certificate func(node string, kind Fault) (tls.Certificate, error)
	// ClientCAs verifies client certificates; Token is the accepted
	// bearer token. A request needs one of the two.
	ClientCAs *x509.CertPool
	Token     string
	// StatsInterval is how often stats are refreshed: timestamps are
	// multiples of it, like a kubelet's housekeeping.
	StatsInterval time.Duration
	// History is how long each node's stats are kept for StatsAt (0:
	// not kept).
	History time.Duration
	Client  kubernetes.Interface
	// Schedule binds pods without a node to the fleet's nodes.
	Schedule bool
}

// Fleet is a running set of simulated kubelets.
type Fleet struct {
	cfg       Config
	nodeIndex map[string]int
	pods      cache.Indexer
	nodes     corelisters.NodeLister
	synced    []cache.InformerSynced
	servers   []*http.Server
	ledgers   []*ledger // each node's counters

	mu       sync.Mutex
	firstRun map[string]time.Time       // pod UID → when the fleet first ran it
	conns    []map[net.Conn]*tls.Config // open connections of each node, with the configuration (certificate) each was set up with
	configs  map[certKey]*tls.Config    // the TLS configuration of each node and certificate kind
}

const byNode = "byNode"

// New prepares a fleet; Run starts it.
func New(cfg Config) *Fleet {
	f := &Fleet{cfg: cfg, nodeIndex: make(map[string]int, len(cfg.Nodes)), firstRun: map[string]time.Time{},
		conns: make([]map[net.Conn]*tls.Config, len(cfg.Nodes)), configs: map[certKey]*tls.Config{},
		ledgers: make([]*ledger, len(cfg.Nodes))}
	for i, n := range cfg.Nodes {
		f.nodeIndex[n] = i
		f.conns[i] = map[net.Conn]*tls.Config{}
		f.ledgers[i] = &ledger{}
	}
	return f
}

// RunningPods counts the pods the fleet has seen Running in kube-apiserver,
// from its own pod informer: a large fleet's caller can wait for its pods
// without listing them all again and again.
func (f *Fleet) RunningPods() int {
	f.mu.Lock()
	pods := f.pods
	f.mu.Unlock()
	if pods == nil {
		return 0
	}
	n := 0
	for _, obj := range pods.List() {
		if obj.(*corev1.Pod).Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// Port returns the port of node i.
func (f *Fleet) Port(i int) int { return f.cfg.BasePort + i }

// Run listens for every node, follows pods and nodes, and serves until ctx
// ends.
func (f *Fleet) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(f.cfg.Client, 0)
	podInformer := factory.Core().V1().Pods().Informer()
	if err := podInformer.AddIndexers(cache.Indexers{byNode: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return err
	}
	f.mu.Lock()
	f.pods = podInformer.GetIndexer()
	f.mu.Unlock()
	f.nodes = factory.Core().V1().Nodes().Lister()
	f.synced = []cache.InformerSynced{podInformer.HasSynced, factory.Core().V1().Nodes().Informer().HasSynced}
	pending := f.startPodWorkers(ctx)
	_, _ = podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.enqueue(pending, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { f.enqueue(pending, obj.(*corev1.Pod)) },
	})
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), f.synced...) {
		return ctx.Err()
	}

	tlsConfig := &tls.Config{GetConfigForClient: f.configFor, NextProtos: []string{"h2", "http/1.1"}}
	errs := make(chan error, len(f.cfg.Nodes))
	for i := range f.cfg.Nodes {
		l, err := net.Listen("tcp", net.JoinHostPort(f.cfg.Address, strconv.Itoa(f.Port(i))))
		if err != nil {
			f.shutdown()
			return fmt.Errorf("listening for node %s: %w", f.cfg.Nodes[i], err)
		}
		srv := &http.Server{Handler: f.handlerFor(i), TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second,
			// Failed handshakes are what the bad-cert fault is for.
			ErrorLog: log.New(io.Discard, "", 0), ConnState: f.trackConn(i),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, c.(*tls.Conn).NetConn())
			}}
		f.servers = append(f.servers, srv)
		go func() { errs <- srv.ServeTLS(l, "", "") }()
	}
	klog.InfoS("Kubelet simulator serving", "nodes", len(f.cfg.Nodes), "address", f.cfg.Address,
		"ports", fmt.Sprintf("%d-%d", f.Port(0), f.Port(len(f.cfg.Nodes)-1)))
	<-ctx.Done()
	f.shutdown()
	return nil
}

func (f *Fleet) shutdown() {
	for _, s := range f.servers {
		_ = s.Close()
	}
}

func (f *Fleet) trackConn(i int) func(net.Conn, http.ConnState) {
	return func(c net.Conn, state http.ConnState) {
		f.mu.Lock()
		defer f.mu.Unlock()
		raw := c.(*tls.Conn).NetConn() // the connection configFor sees
		switch state {
		case http.StateNew:
			f.conns[i][raw] = nil
		case http.StateClosed, http.StateHijacked:
			delete(f.conns[i], raw)
		}
	}
}

// dropConns closes node i's connections, so its next client handshakes
// again: how a changed serving certificate reaches kept-alive clients.
func (f *Fleet) dropConns(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns[i] {
		_ = c.Close()
	}
}

// configFor is the TLS configuration node i answers hello with (configOf).
// It runs for every handshake, resumed or not, and records the
// configuration the connection is set up with.
func (f *Fleet) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	i, ok := f.nodeOfAddr(hello.Conn.LocalAddr())
	if !ok {
		return nil, fmt.Errorf("no node listens on %s", hello.Conn.LocalAddr())
	}
	cfg, err := f.configOf(i)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if _, open := f.conns[i][hello.Conn]; open {
		f.conns[i][hello.Conn] = cfg
	}
	f.mu.Unlock()
	return cfg, nil
}

// configOf is the TLS configuration node i serves under its current fault:
// its certificate for that fault, and session ticket keys of that
// certificate alone, so that a client resumes a session only with the
// kubelet and certificate it was made with, as each real kubelet is a
// server of its own.
func (f *Fleet) configOf(i int) (*tls.Config, error) {
	kind := f.fault(i)
	if kind != FaultBadCert && kind != FaultNameOnlyCert {
		kind = FaultNone
	}
	key := certKey{i, kind}
	f.mu.Lock()
	cfg, ok := f.configs[key]
	f.mu.Unlock()
	if ok {
		return cfg, nil
	}
	// Issued outside the fleet's lock, which every connection takes: at
	// start thousands of nodes handshake at once.
	issued, err := f.cfg.Certificate(f.cfg.Nodes[i], kind)
	if err != nil {
		return nil, fmt.Errorf("certificate of node %s: %w", f.cfg.Nodes[i], err)
	}
	var ticketKey [32]byte
	if _, err := rand.Read(ticketKey[:]); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cfg, ok := f.configs[key]; ok {
		return cfg, nil // issued meanwhile by another handshake; one certificate per node
	}
	cfg = &tls.Config{
		Certificates: []tls.Certificate{issued},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    f.cfg.ClientCAs,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	cfg.SetSessionTicketKeys([][32]byte{ticketKey})
	f.configs[key] = cfg
	return cfg, nil
}

type certKey struct {
	node int
	kind Fault
}

// setUpWith reports whether the request's connection was set up with the
// certificate (configuration) node i serves now.
func (f *Fleet) setUpWith(r *http.Request, i int) bool {
	raw, _ := r.Context().Value(connKey{}).(net.Conn)
	current, err := f.configOf(i)
	if err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[i][raw] == current
}

type connKey struct{}

func (f *Fleet) nodeOfAddr(addr net.Addr) (int, bool) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return 0, false
	}
	i := tcp.Port - f.cfg.BasePort
	return i, i >= 0 && i < len(f.cfg.Nodes)
}

func (f *Fleet) node(i int) *corev1.Node {
	n, err := f.nodes.Get(f.cfg.Nodes[i])
	if err != nil {
		return nil
	}
	return n
}

func (f *Fleet) fault(i int) Fault {
	if n := f.node(i); n != nil {
		return Fault(n.Annotations[FaultAnnotation])
	}
	return FaultNone
}

func (f *Fleet) authorized(r *http.Request) bool {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	return f.cfg.Token != "" && r.Header.Get("Authorization") == "Bearer "+f.cfg.Token
}

func (f *Fleet) handlerFor(i int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics/resource", func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(r) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		f.serveResourceMetrics(w, r, i)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	return mux
}

func (f *Fleet) serveResourceMetrics(w http.ResponseWriter, r *http.Request, i int) {
	fault := f.fault(i)
	switch fault {
	case FaultHang:
		<-r.Context().Done()
		return
	case FaultSlow:
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return
		}
	case FaultError:
		http.Error(w, "simulated kubelet failure", http.StatusInternalServerError)
		return
	case FaultRedirect:
		http.Redirect(w, r, "http://127.0.0.1:1/metrics/resource", http.StatusFound)
		return
	}
	if !f.setUpWith(r, i) {
		// The certificate changed since this connection was set up.
		f.dropConns(i)
		return
	}
	switch fault {
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>\n"))
		return
	case FaultHuge:
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		line := []byte("# padding padding padding padding padding padding padding padding padding padding\n")
		for r.Context().Err() == nil {
			if _, err := w.Write(bytes.Repeat(line, 1000)); err != nil {
				return
			}
		}
		return
	}
	stats := &NodeStats{ScrapeError: true}
	switch now := time.Now(); fault {
	case FaultScrapeErr:
	case FaultClockAhead:
		stats = f.Stats(i, now).shifted(clockJump)
	case FaultClaimPods:
		stats = f.Stats(i, now).withClaimed(f.Stats((i+1)%len(f.cfg.Nodes), now))
	default:
		stats = f.Stats(i, now)
	}
	body := AppendResourceMetrics(nil, stats)
	if fault == FaultTruncate {
		body = body[:len(body)*2/3]
		if body[len(body)-1] == '\n' {
			body = body[:len(body)-1]
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	WriteMaybeGzipped(w, r, body)
}

// gzipWriters are reused across answers, as the kubelet's metrics handler
// (Prometheus' promhttp) reuses its writers.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// WriteMaybeGzipped writes body gzipped when the client accepts gzip, as a
// kubelet does: its metrics handler negotiates the encoding from
// Accept-Encoding, and Go clients ask for gzip unless told not to.
func WriteMaybeGzipped(w http.ResponseWriter, r *http.Request, body []byte) {
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		_, _ = w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	gz := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(gz)
	gz.Reset(w)
	if _, err := gz.Write(body); err == nil {
		_ = gz.Close()
	}
}

// acceptsGzip reports whether an Accept-Encoding header lists gzip with a
// weight above zero.
func acceptsGzip(header string) bool {
	for _, coding := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(coding), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !found || strings.Trim(q, "0.") != ""
	}
	return false
}

// Stats is what node i reports at now, and records it (see StatsAt): every
// Running pod bound to it, with counters that accumulate as a kubelet's
// cgroup counters do. Each call advances node i's ledger from its last
// stats time to now's, at the rates of the pods running now: a container's
// counter by its own rate, the node's by its overhead plus every running
// container's, so neither ever goes down and the node's rate over any
// interval lies between its overhead and its overhead plus its pods'
// rates, whichever pods come and go.
func (f *Fleet) Stats(i int, now time.Time) *NodeStats {
	at := now.Truncate(f.cfg.StatsInterval)
	objs, _ := f.pods.ByIndex(byNode, f.cfg.Nodes[i])
	l := f.ledgers[i]
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at.IsZero() {
		// A node that has been up for a while: its counter is not zero.
		l.at, l.cpuNanos = at, NodeOverheadMillicores*uint64(at.Sub(nodeBoot))/1000
	}
	if at.Before(l.at) {
		at = l.at // a late call for an earlier moment reads the newest state
	}
	elapsed := uint64(at.Sub(l.at))
	s := &NodeStats{Time: at, MemoryBytes: NodeOverheadMemory}
	if n := f.node(i); n != nil && n.Annotations[SwapAnnotation] == "true" {
		s.WithSwap = true
	}
	l.cpuNanos += NodeOverheadMillicores * elapsed / 1000
	running := make(map[containerID]*containerLedger, len(l.containers))
	for _, obj := range objs {
		pod := obj.(*corev1.Pod)
		if pod.Status.Phase != corev1.PodRunning {
			continue
		}
		started := f.startedAt(pod)
		if !started.Before(at) {
			continue
		}
		ps := PodStats{Namespace: pod.Namespace, Name: pod.Name}
		for _, c := range pod.Spec.Containers {
			m, b := ContainerUsage(pod, c.Name)
			millis, mem := uint64(max(m, 0)), uint64(max(b, 0))
			id := containerID{pod.UID, c.Name}
			cl := l.containers[id]
			if cl == nil || !cl.started.Equal(started) {
				// A new container, or a new instance of one: its
				// counter starts from zero at its start; the node saw
				// it run only since its last stats, or its start.
				cl = &containerLedger{started: started, cpuNanos: millis * uint64(at.Sub(started)) / 1000}
				l.cpuNanos += millis * min(elapsed, uint64(at.Sub(started))) / 1000
			} else {
				cl.cpuNanos += millis * elapsed / 1000
				l.cpuNanos += millis * elapsed / 1000
			}
			running[id] = cl
			cs := ContainerStats{
				Name:        c.Name,
				StartTime:   started,
				Time:        at,
				CPUNanos:    cl.cpuNanos,
				MemoryBytes: mem,
				NoCPU:       m == Absent,
				NoMemory:    b == Absent,
			}
			if s.WithSwap {
				cs.SwapBytes = mem / 4
			}
			ps.Containers = append(ps.Containers, cs)
			s.MemoryBytes += mem
		}
		s.Pods = append(s.Pods, ps)
	}
	// Containers no longer running leave the ledger; what they used stays
	// in the node's counter, as in a root cgroup's.
	l.containers, l.at = running, at
	s.CPUNanos = l.cpuNanos
	if s.WithSwap {
		s.SwapBytes = s.MemoryBytes / 8
	}
	SortPods(s.Pods)
	l.record(s, f.cfg.History)
	return s
}

// shifted is a copy of s with every timestamp d later.
func (s *NodeStats) shifted(d time.Duration) *NodeStats {
	c := *s
	c.Time = s.Time.Add(d)
	c.Pods = make([]PodStats, len(s.Pods))
	for i, p := range s.Pods {
		c.Pods[i] = PodStats{Namespace: p.Namespace, Name: p.Name, Containers: slices.Clone(p.Containers)}
		for j := range c.Pods[i].Containers {
			c.Pods[i].Containers[j].Time = c.Pods[i].Containers[j].Time.Add(d)
		}
	}
	return &c
}

// withClaimed is a copy of s that also lists other's pods, inflated.
func (s *NodeStats) withClaimed(other *NodeStats) *NodeStats {
	c := *s
	c.Pods = slices.Clone(s.Pods)
	for _, p := range other.Pods {
		claimed := PodStats{Namespace: p.Namespace, Name: p.Name, Containers: slices.Clone(p.Containers)}
		for j := range claimed.Containers {
			claimed.Containers[j].CPUNanos *= 50
			claimed.Containers[j].MemoryBytes *= 3
		}
		c.Pods = append(c.Pods, claimed)
	}
	SortPods(c.Pods)
	return &c
}

// nodeBoot is when every simulated node booted, for its first counter.
var nodeBoot = time.Unix(1_600_000_000, 0)

// ledger is what node i's counters stand at: the time of its last stats,
// the node's counter and each running container's. Its lock orders the
// node's stats, so its counters only ever grow.
type ledger struct {
	mu         sync.Mutex
	at         time.Time
	cpuNanos   uint64
	containers map[containerID]*containerLedger
	// history is the node's stats, oldest first, kept for Config.History.
	history []*NodeStats
}

type containerID struct {
	pod  types.UID
	name string
}

type containerLedger struct {
	started  time.Time
	cpuNanos uint64
}

// record keeps s (newer than any kept) and drops what is older than keep.
func (l *ledger) record(s *NodeStats, keep time.Duration) {
	if keep <= 0 {
		return
	}
	if n := len(l.history); n > 0 && !l.history[n-1].Time.Before(s.Time) {
		return // the same stats again
	}
	l.history = append(l.history, s)
	cut := 0
	for cut < len(l.history) && s.Time.Sub(l.history[cut].Time) > keep {
		cut++
	}
	l.history = slices.Delete(l.history, 0, cut)
}

// StatsAt returns what node reported for the moment at, if it reported
// anything for that moment within the last Config.History: the truth a
// served value taken from that answer must agree with. The stats must not
// be modified.
func (f *Fleet) StatsAt(node string, at time.Time) (*NodeStats, bool) {
	i, ok := f.nodeIndex[node]
	if !ok {
		return nil, false
	}
	l := f.ledgers[i]
	l.mu.Lock()
	defer l.mu.Unlock()
	k, found := slices.BinarySearchFunc(l.history, at, func(s *NodeStats, at time.Time) int { return s.Time.Compare(at) })
	if !found {
		return nil, false
	}
	return l.history[k], true
}

// startedAt is when the pod's containers started, whole seconds like a
// kubelet's: the annotation, else the start the fleet reported in the pod's
// status, else when the fleet first saw the pod running.
func (f *Fleet) startedAt(pod *corev1.Pod) time.Time {
	if v := pod.Annotations[StartedAnnotation]; v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t
		}
	}
	if pod.Status.StartTime != nil {
		return pod.Status.StartTime.Time
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.firstRun[string(pod.UID)]
	if !ok {
		t = time.Now().Truncate(time.Second)
		f.firstRun[string(pod.UID)] = t
	}
	return t
}

// ContainerUsage is the usage the fleet reports for a container of a pod:
// CPU in millicores and working set in bytes, or Absent. An absent
// container's usage counts as zero in its node's.
func ContainerUsage(pod *corev1.Pod, container string) (millicores, memoryBytes int64) {
	return annotatedValue(pod.Annotations[CPUAnnotation], container, DefaultCPUMillicores),
		annotatedValue(pod.Annotations[MemoryAnnotation], container, DefaultMemoryBytes)
}

// annotatedValue reads "v" or "name=v,other=w" for container name; "-" is
// Absent.
func annotatedValue(annotation, container string, def int64) int64 {
	if annotation == "" {
		return def
	}
	for _, part := range strings.Split(annotation, ",") {
		name, value, found := strings.Cut(part, "=")
		if !found {
			value = name
		} else if strings.TrimSpace(name) != container {
			continue
		}
		value = strings.TrimSpace(value)
		if value == "-" {
			return Absent
		}
		if q, err := resource.ParseQuantity(value); err == nil {
			return q.Value()
		}
	}
	return def
}
