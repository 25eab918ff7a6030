// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package storage keeps the last two points of every node and container in
// memory and computes usage (CPU rate, newest memory) when it is read.
//
// Each node owns its series: a scrape of one node writes under that node's
// lock only, so readers wait at most for one node's update, never for a
// whole scrape. A series keeps its newest point and the CPU reading before
// it in place, overwritten from scrape to scrape; a steady cluster costs no
// allocation per write.
package storage

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// freshContainerMinAge is the youngest a container may be for its start time
// to stand in for an earlier point, as in upstream metrics-server: a shorter
// window would make the rate too noisy to act on.
const freshContainerMinAge = 10 * time.Second

// Config sets how the store keeps and judges points.
type Config struct {
	// Resolution is the scrape period. A container younger than this with a
	// single point is rated against its start time.
	Resolution time.Duration
	// StaleAfter is how long a node's points are served after its last
	// successful scrape. One failed scrape does not hide a node or its pods;
	// a node unreachable for longer than this does.
	StaleAfter time.Duration
	Clock      clock.PassiveClock
	// CPUCapacity is a node's CPU capacity in nanocores, if known: a node
	// or container rated above it by more than implausibleMargin is not
	// served (see Write).
	CPUCapacity func(node string) (nanocores uint64, ok bool)
	// PodNode is the node a pod is bound to, if known. A node's answer
	// naming a pod bound to another node does not add it (see Write).
	PodNode func(key PodKey) (node string, ok bool)
}

// Readings a kubelet cannot have made are not served:
//   - futureAllowance: a series whose newest point lies further than this
//     past a later scrape's start came from a clock that ran ahead, and
//     starts again, so that the correct points that follow are kept
//     rather than taken for repeats;
//   - a point further from the server's clock than the staleness bound
//     plus a resolution (the time a kubelet may take to collect its stats)
//     is not served, whether its kubelet's clock jumped or its stats
//     stopped;
//   - a CPU rate above the node's capacity by more than implausibleMargin
//     (a quarter of it, for the jitter between a counter's reading and its
//     timestamp) is dropped when written, counted and logged once per
//     series.
const (
	futureAllowance   = 5 * time.Second
	implausibleMargin = 4 // capacity/implausibleMargin above capacity
)

// PodKey names a pod.
type PodKey struct{ Namespace, Name string }

// Store is the in-memory metrics store. It is safe for concurrent use: one
// writer per node at a time and any number of readers.
type Store struct {
	cfg Config

	mu    sync.RWMutex // guards nodes; entries have their own locks
	nodes map[string]*nodeEntry

	servableNodes      atomic.Int64
	servableContainers atomic.Int64
	// version counts changes, so readers can tell a result they derived
	// from the store is still current.
	version atomic.Uint64
}

// Version changes whenever what the store serves may have changed, other
// than by the passing of time (staleness).
func (s *Store) Version() uint64 { return s.version.Load() }

type nodeEntry struct {
	name string

	mu     sync.RWMutex
	series series
	// pods is sorted by key: a slice costs a fraction of a map's memory,
	// and the pod looked for is mostly found next to the last (see pod).
	pods      []*podEntry
	lastWrite int64 // unix nanoseconds of the last successful scrape
	gen       uint32
	// claimsOthers: the node's last answer named pods bound to other
	// nodes (logged when it starts).
	claimsOthers bool
	// counted is what this node adds to the store's servable counters.
	countedNode       bool
	countedContainers int64
}

type podEntry struct {
	key        PodKey
	containers []containerEntry // sorted by name
	gen        uint32
}

type containerEntry struct {
	name   string
	start  int64 // unix nanoseconds, 0 when unknown
	series series
}

// point is one observation of a node or container as a series takes it;
// the newest one is what every value the API serves is read from. Its time
// is that of the CPU reading, or of the working set when the kubelet sent
// no CPU reading.
type point struct {
	time   int64
	cpu    uint64
	memory uint64
	swap   uint64
	fields sample.Field
}

// series keeps what a rate needs and nothing more: the newest point and the
// time and CPU reading of the one before it (previous, valid when n is 2).
// The newest point's fields are held apart from its values, with the small
// fields, so that a container entry fits the next smaller size class.
type series struct {
	newest     values
	prevTime   int64
	prevCPU    uint64
	fields     sample.Field // of the newest point
	prevHasCPU bool
	n          uint8 // points held: 0, 1 or 2
	// implausible: a rate of this series was dropped as implausible (and
	// logged) before.
	implausible bool
	gen         uint32 // the node's write that last saw a container's series
}

// values are a point's values without its fields.
type values struct {
	time              int64
	cpu, memory, swap uint64
}

// add records p unless it is not newer than the newest point: a kubelet
// answers with the same stats until it collects new ones, and such a repeat
// must neither replace the pair a rate is computed from nor form a pair of
// its own. A CPU counter that went down means the node or container
// restarted, so the older point no longer belongs to the same counter.
func (s *series) add(p point) {
	if s.n > 0 {
		if p.time <= s.newest.time {
			return
		}
		if p.fields&s.fields&sample.HasCPU != 0 && p.cpu < s.newest.cpu {
			s.n = 0
		}
	}
	if s.n > 0 {
		s.prevTime, s.prevCPU, s.prevHasCPU = s.newest.time, s.newest.cpu, s.fields&sample.HasCPU != 0
	}
	s.newest = values{time: p.time, cpu: p.cpu, memory: p.memory, swap: p.swap}
	s.fields = p.fields
	s.n = min(s.n+1, 2)
}

// New returns an empty store.
func New(cfg Config) *Store {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Store{cfg: cfg, nodes: make(map[string]*nodeEntry)}
}

func pointOf(p *sample.Point) point {
	t := p.CPUTime
	if !p.Has(sample.HasCPU) {
		t = p.MemoryTime
	}
	return point{time: t, cpu: p.CPU, memory: p.Memory, swap: p.Swap, fields: p.Fields}
}

// Write stores one node's scrape, taken at scrapeTime. Containers absent from
// the batch are gone from the node and are forgotten. An answer without a
// single point changes nothing: the node's values are served until they go
// stale, as after a failed scrape. A pod new to the node that is bound to
// another node (Config.PodNode) is not added: a node cannot report for
// another's pods. The batch is not kept.
func (s *Store) Write(node string, b *sample.Batch, scrapeTime time.Time) {
	if !b.HasPoints() {
		return
	}
	n := s.nodeEntry(node)
	var limit uint64 // nanocores; 0: no capacity known
	if s.cfg.CPUCapacity != nil {
		if capacity, ok := s.cfg.CPUCapacity(node); ok {
			limit = capacity + capacity/implausibleMargin
		}
	}
	future := scrapeTime.UnixNano() + int64(futureAllowance)
	var fresh []*podEntry
	var freshByKey map[PodKey]*podEntry
	var foreign map[PodKey]string // pods bound to other nodes → their node

	n.mu.Lock()
	n.gen++
	gen := n.gen
	if b.Node.Has(sample.HasCPU | sample.HasMemory) {
		n.series.addChecked(pointOf(&b.Node), future, limit, node, "", "", "")
	}
	last := 0 // index of the last pod found
	for i := range b.Containers {
		c := &b.Containers[i]
		if !c.Has(sample.HasCPU) && !c.Has(sample.HasMemory) {
			continue // nothing the API serves
		}
		key := PodKey{c.Namespace, c.Pod}
		var p *podEntry
		if at, found := n.pod(key, last); found {
			last = at
			p = n.pods[at]
		} else if p = freshByKey[key]; p == nil {
			if _, ok := foreign[key]; ok {
				continue
			}
			if bound, ok := s.podNode(key); ok && bound != node {
				if foreign == nil {
					foreign = make(map[PodKey]string)
				}
				foreign[key] = bound
				continue
			}
			// Merged into the node's sorted pods once the batch is read:
			// inserting each in place would cost a move of the pods
			// after it, quadratic in a large answer's new pods.
			p = &podEntry{key: key}
			if freshByKey == nil {
				freshByKey = make(map[PodKey]*podEntry)
			}
			freshByKey[key] = p
			fresh = append(fresh, p)
		}
		p.gen = gen
		ce := p.container(c.Name)
		ce.series.gen = gen
		if c.StartTime != 0 && c.StartTime != ce.start {
			// A container that started after the newest point kept is a
			// new instance: its counter starts again and no earlier point
			// belongs to it. A start time that moves but stays before
			// that point is the same instance (KWOK reports the seconds
			// since the pod was created there); upstream keeps it too.
			if ce.series.n > 0 && c.StartTime > ce.series.newest.time {
				ce.series.n = 0
			}
			ce.start = c.StartTime
		}
		ce.series.addChecked(pointOf(&c.Point), future, limit, node, c.Namespace, c.Pod, c.Name)
	}
	n.pods = slices.DeleteFunc(n.pods, func(p *podEntry) bool {
		if p.gen != gen {
			return true
		}
		p.containers = slices.DeleteFunc(p.containers, func(c containerEntry) bool { return c.series.gen != gen })
		return false
	})
	if len(fresh) > 0 {
		n.pods = mergePods(n.pods, fresh)
	}
	n.lastWrite = scrapeTime.UnixNano()
	s.version.Add(1)
	s.recount(n)
	claimedOthers := n.claimsOthers
	n.claimsOthers = len(foreign) > 0
	n.mu.Unlock()

	if len(foreign) > 0 {
		podsOfOtherNodes.Add(float64(len(foreign)))
		if !claimedOthers {
			for key, bound := range foreign {
				klog.InfoS("A node reports pods bound to other nodes; they are not taken from it", "node", node, "pods", len(foreign),
					"namespace", key.Namespace, "pod", key.Name, "boundTo", bound)
				break
			}
		}
	}
}

// podNode is the node the pod is bound to, if known.
func (s *Store) podNode(key PodKey) (string, bool) {
	if s.cfg.PodNode == nil {
		return "", false
	}
	return s.cfg.PodNode(key)
}

// mergePods merges fresh, in any order, into pods, sorted by key.
func mergePods(pods, fresh []*podEntry) []*podEntry {
	slices.SortFunc(fresh, func(a, b *podEntry) int { return comparePodKeys(a.key, b.key) })
	merged := make([]*podEntry, 0, len(pods)+len(fresh))
	i, j := 0, 0
	for i < len(pods) && j < len(fresh) {
		if comparePodKeys(pods[i].key, fresh[j].key) < 0 {
			merged = append(merged, pods[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	merged = append(merged, pods[i:]...)
	return append(merged, fresh[j:]...)
}

func comparePodKeys(a, b PodKey) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// addChecked adds p to the series after the checks of the readings a
// kubelet cannot have made: a newest point further in the future than
// future (unix nanoseconds) starts the series again, and a CPU rate above
// limit nanocores (0: none) is dropped, keeping p alone. The series is
// node's, or with a container name one of its containers', for the log.
func (s *series) addChecked(p point, future int64, limit uint64, node, namespace, pod, container string) {
	if s.n > 0 && s.newest.time > future {
		s.n = 0
	}
	s.add(p)
	if limit == 0 || s.n < 2 || !s.prevHasCPU || s.fields&sample.HasCPU == 0 {
		return
	}
	rate := cpuRate(&s.newest, s.prevTime, s.prevCPU)
	if rate.nanocore <= limit {
		return
	}
	s.n = 1
	implausibleRates.WithLabelValues(kindOf(container)).Inc()
	if !s.implausible {
		s.implausible = true
		args := []any{"node", node, "rate", rate.nanocore, "window", rate.window, "limit", limit}
		if container != "" {
			args = append(args, "namespace", namespace, "pod", pod, "container", container)
		}
		klog.InfoS("Dropped an implausible CPU rate, above the node's capacity", args...)
	}
}

func kindOf(container string) string {
	if container == "" {
		return "node"
	}
	return "container"
}

func (s *Store) nodeEntry(name string) *nodeEntry {
	s.mu.RLock()
	n := s.nodes[name]
	s.mu.RUnlock()
	if n != nil {
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n = s.nodes[name]; n == nil {
		n = &nodeEntry{name: name}
		s.nodes[name] = n
	}
	return n
}

// pod finds key in the node's pods and returns its index, or where it
// belongs and false. It tries the last pod found and the one after it
// first: a kubelet lists containers by pod within each container name, and
// other sources list a pod's containers together.
func (n *nodeEntry) pod(key PodKey, last int) (int, bool) {
	for i := last; i <= last+1 && i < len(n.pods); i++ {
		if n.pods[i].key == key {
			return i, true
		}
	}
	return slices.BinarySearchFunc(n.pods, key, func(p *podEntry, key PodKey) int { return comparePodKeys(p.key, key) })
}

// container returns the entry named name, adding it in name order if new.
func (p *podEntry) container(name string) *containerEntry {
	i, found := slices.BinarySearchFunc(p.containers, name, func(c containerEntry, name string) int {
		switch {
		case c.name < name:
			return -1
		case c.name > name:
			return 1
		}
		return 0
	})
	if !found {
		p.containers = slices.Insert(p.containers, i, containerEntry{name: name})
	}
	return &p.containers[i]
}

// recount updates the servable counters with node n (locked by the caller).
func (s *Store) recount(n *nodeEntry) {
	// Counted as servable whatever the time, as staleness is not: they
	// tell readiness and the logs what the scrapes delivered.
	const anyTime = -1
	nodeOK := n.series.n >= 2
	var containers int64
	for _, p := range n.pods {
		for i := range p.containers {
			if u, ok := s.usage(&p.containers[i], anyTime); ok && u.HasCPU {
				containers++
			}
		}
	}
	if nodeOK != n.countedNode {
		if nodeOK {
			s.servableNodes.Add(1)
		} else {
			s.servableNodes.Add(-1)
		}
		n.countedNode = nodeOK
	}
	s.servableContainers.Add(containers - n.countedContainers)
	n.countedContainers = containers
}

// Forget drops nodes for which keep returns false, with their pods: nodes
// that left the cluster or were deselected.
func (s *Store) Forget(keep func(node string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.version.Add(1)
	for name, n := range s.nodes {
		if keep(name) {
			continue
		}
		delete(s.nodes, name)
		n.mu.Lock()
		if n.countedNode {
			s.servableNodes.Add(-1)
		}
		s.servableContainers.Add(-n.countedContainers)
		n.countedNode, n.countedContainers = false, 0
		n.mu.Unlock()
	}
}

// Counts reports how many nodes and containers have a CPU rate.
func (s *Store) Counts() (nodes, containers int64) {
	return s.servableNodes.Load(), s.servableContainers.Load()
}

// Ready reports whether the store can serve at least one node and one
// container: the server has metrics to offer.
func (s *Store) Ready() bool {
	nodes, containers := s.Counts()
	return nodes > 0 && containers > 0
}

// Usage is what the Metrics API reports for a node or container.
type Usage struct {
	// Timestamp is the time of the newest point (unix nanoseconds).
	Timestamp int64
	// Window is the time between the two points the rate is taken over.
	Window time.Duration
	// CPU is the rate in nanocores, when HasCPU.
	CPU uint64
	// Memory is the newest working set in bytes, when HasMemory.
	Memory uint64
	// Swap is the newest swap usage in bytes, when HasSwap.
	Swap                       uint64
	HasCPU, HasMemory, HasSwap bool
}

// ContainerUsage is the usage of one named container.
type ContainerUsage struct {
	Name string
	Usage
}

// PodUsage is the usage of a pod's containers, sorted by name.
type PodUsage struct {
	Node string
	// Timestamp and Window are those of the container whose newest point is
	// oldest, as in upstream metrics-server.
	Timestamp  int64
	Window     time.Duration
	Containers []ContainerUsage
}

// fresh reports whether node n was written to within the staleness bound
// of now (unix nanoseconds).
func (s *Store) fresh(n *nodeEntry, now int64) bool {
	return s.cfg.StaleAfter <= 0 || now-n.lastWrite <= int64(s.cfg.StaleAfter)
}

// current reports whether a point taken at t may be served at now: it is
// no further from now, before or after, than the staleness bound and a
// resolution (see futureAllowance). A negative now is any time.
func (s *Store) current(t, now int64) bool {
	if s.cfg.StaleAfter <= 0 || now < 0 {
		return true
	}
	bound := int64(s.cfg.StaleAfter + s.cfg.Resolution)
	return t-now <= bound && now-t <= bound
}

// Node returns the usage of a node, if it has a rate and is not stale.
func (s *Store) Node(name string) (Usage, bool) {
	s.mu.RLock()
	n := s.nodes[name]
	s.mu.RUnlock()
	if n == nil {
		return Usage{}, false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	now := s.cfg.Clock.Now().UnixNano()
	if n.series.n < 2 || !s.fresh(n, now) || !s.current(n.series.newest.time, now) {
		return Usage{}, false
	}
	// A node's points always carry both CPU and working set (see Write).
	return usageAt(&n.series, cpuRate(&n.series.newest, n.series.prevTime, n.series.prevCPU)), true
}

// Pod returns the usage of a pod as its node, the one it is bound to,
// reports it, if that node is not stale, once at least one of its
// containers has a CPU rate. Every container the kubelet reports is
// listed with what is known of it: a container without a CPU rate yet (just
// started or restarted) or without a working set carries only the other
// resource, so a client summing a resource over the containers sees it as
// unknown for the pod rather than under-counted, and a client reading one
// container is not denied it for another's sake. The pod's Timestamp and
// Window are those of the container with a CPU rate whose newest point is
// oldest. The containers slice is appended to buf.
func (s *Store) Pod(key PodKey, node string, buf []ContainerUsage) (PodUsage, bool) {
	s.mu.RLock()
	n := s.nodes[node]
	s.mu.RUnlock()
	if n == nil {
		return PodUsage{}, false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	at, found := n.pod(key, 0)
	if !found {
		return PodUsage{}, false
	}
	return s.podUsage(n, at, s.cfg.Clock.Now().UnixNano(), buf)
}

// podUsage is the usage of n's pod at, if it has a CPU rate and n is not
// stale at now. n must be read-locked.
func (s *Store) podUsage(n *nodeEntry, at int, now int64, buf []ContainerUsage) (PodUsage, bool) {
	if !s.fresh(n, now) {
		return PodUsage{}, false
	}
	p := n.pods[at]
	out := PodUsage{Node: n.name, Containers: buf[:0]}
	withCPU := false
	for i := range p.containers {
		c := &p.containers[i]
		u, ok := s.usage(c, now)
		if !ok {
			continue
		}
		if u.HasCPU && (!withCPU || u.Timestamp < out.Timestamp) {
			out.Timestamp, out.Window = u.Timestamp, u.Window
			withCPU = true
		}
		out.Containers = append(out.Containers, ContainerUsage{Name: c.name, Usage: u})
	}
	if !withCPU {
		return PodUsage{}, false
	}
	return out, true
}

// PodReader reads the usage of many pods at one instant, as a list does.
// A list asks for pods in namespace and name order, the order each node's
// pods are kept in, so the reader follows each node's pods from where its
// last pod was found instead of searching them. It is for one goroutine and
// one list: it keeps the nodes it has read, and reads none added later.
type PodReader struct {
	s       *Store
	now     int64
	nodes   map[string]int // index in cursors
	cursors []podCursor
}

type podCursor struct {
	n    *nodeEntry // nil: the store has no such node
	next int
}

// PodReader returns a reader of pods' usage at the current time, for about
// pods pods (its room for their nodes is sized by it).
func (s *Store) PodReader(pods int) *PodReader {
	s.mu.RLock()
	nodes := min(len(s.nodes), pods)
	s.mu.RUnlock()
	return &PodReader{s: s, now: s.cfg.Clock.Now().UnixNano(), nodes: make(map[string]int, nodes), cursors: make([]podCursor, 0, nodes)}
}

// Pod returns what Store.Pod would at the reader's instant.
func (r *PodReader) Pod(key PodKey, node string, buf []ContainerUsage) (PodUsage, bool) {
	i, seen := r.nodes[node]
	if !seen {
		r.s.mu.RLock()
		r.cursors = append(r.cursors, podCursor{n: r.s.nodes[node]})
		r.s.mu.RUnlock()
		i = len(r.cursors) - 1
		r.nodes[node] = i
	}
	c := &r.cursors[i]
	n := c.n
	if n == nil {
		return PodUsage{}, false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	at, found := n.pod(key, c.next)
	if !found {
		return PodUsage{}, false
	}
	c.next = at + 1
	return r.s.podUsage(n, at, r.now, buf)
}

// usage computes what is known of a container: its working set (zero is a
// valid one) and swap from the newest point, and its CPU rate from its two
// newest points, or, for a container with one point that started between
// 10 s and one resolution ago, from its start (when its counter was zero)
// to that point. It reports false when neither CPU nor memory is known, or
// the newest point is too far from now to be served (see current).
func (s *Store) usage(c *containerEntry, now int64) (Usage, bool) {
	sr := &c.series
	if sr.n == 0 || !s.current(sr.newest.time, now) {
		return Usage{}, false
	}
	newest := &sr.newest
	var rate cpuUsage
	switch {
	case sr.fields&sample.HasCPU == 0:
	case sr.n == 2 && sr.prevHasCPU:
		rate = cpuRate(newest, sr.prevTime, sr.prevCPU)
	case sr.n == 1 && c.start > 0:
		age := time.Duration(newest.time - c.start)
		if age >= freshContainerMinAge && age < s.cfg.Resolution {
			rate = cpuRate(newest, c.start, 0)
		}
	}
	u := usageAt(sr, rate)
	return u, u.HasCPU || u.HasMemory
}

// cpuUsage is a CPU rate over a window, if one could be computed.
type cpuUsage struct {
	ok       bool
	window   time.Duration
	nanocore uint64
}

// cpuRate computes the rate at newest against an earlier CPU reading, in
// exact integer arithmetic: floor(Δcpu × 1e9 / Δt) nanocores.
func cpuRate(newest *values, earlierTime int64, earlierCPU uint64) cpuUsage {
	window := uint64(newest.time - earlierTime)
	hi, lo := bits.Mul64(newest.cpu-earlierCPU, uint64(time.Second))
	var rate uint64
	if hi < window {
		rate, _ = bits.Div64(hi, lo, window)
	} else {
		rate = ^uint64(0) // cannot happen with real counters; saturate rather than panic
	}
	return cpuUsage{ok: true, window: time.Duration(window), nanocore: rate}
}

// usageAt is the usage at the series' newest point with the given CPU rate.
func usageAt(s *series, rate cpuUsage) Usage {
	newest := &s.newest
	return Usage{
		Timestamp: newest.time,
		Window:    rate.window,
		CPU:       rate.nanocore,
		HasCPU:    rate.ok,
		Memory:    newest.memory,
		HasMemory: s.fields&sample.HasMemory != 0,
		Swap:      newest.swap,
		HasSwap:   s.fields&sample.HasSwap != 0,
	}
}
