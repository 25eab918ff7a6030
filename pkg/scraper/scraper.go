// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package scraper fetches /metrics/resource from every selected node's
// kubelet and decodes the answers into batches for the store.
package scraper

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// Sink receives each node's batch. It must not keep the batch.
type Sink interface {
	Write(node string, b *sample.Batch, scrapeTime time.Time)
}

// Config wires a Scraper.
type Config struct {
	Client *Client
	// Nodes lists the nodes to scrape (already filtered by the node selector).
	Nodes func() ([]*corev1.Node, error)
	Sink  Sink
	// RequestTimeout bounds each node's request, from connect to last byte.
	RequestTimeout time.Duration
	// Concurrency bounds how many nodes are fetched at once.
	Concurrency int
	// Budget bounds the memory held by answers in flight (nil: unbounded).
	Budget *AnswerBudget
	// StaggerPerNode spreads the starts of a round's requests over
	// StaggerPerNode × nodes, at most MaxStagger, as upstream does (8 ms,
	// 4 s), so kubelets and the network see no single burst; they start in
	// staggerGroups waves. Zero starts all at once (bounded by Concurrency).
	StaggerPerNode, MaxStagger time.Duration
	// Clock times requests and the stagger's waits.
	Clock clock.Clock
}

// Scraper scrapes all nodes, one round at a time.
type Scraper struct {
	cfg Config

	mu    sync.Mutex
	nodes map[string]*nodeState

	buffers sync.Pool // *work: answer buffer and batch, one per request in flight
}

// nodeState is what the scraper remembers of a node between rounds.
type nodeState struct {
	decoder *Decoder
	// lastReason is the reason of the last failure, "" after a success;
	// state is the node's state (NodeState) this round, failedState its
	// state at the last failure. A failure is logged when its reason or
	// the node's state differs from the last failure's, not every round.
	lastReason  string
	state       string
	failedState string
	// lastSize is the size of the node's last answer: the buffer is grown to
	// it before reading, so reading does not double the buffer past it.
	lastSize int
	// failures counts consecutive failed scrapes; skip is how many more
	// rounds the node sits out (see backoffRounds).
	failures, skip int
}

// Backoff for nodes that fail round after round (virtual kubelets without
// /metrics/resource, half-dead nodes): after failuresBeforeBackoff failures
// in a row the node sits out 1, 2, 4, then at most maxSkippedRounds rounds
// between attempts. Its points go stale meanwhile, as they would anyway.
const (
	failuresBeforeBackoff = 3
	maxSkippedRounds      = 8
)

func backoffRounds(failures int) int {
	if failures < failuresBeforeBackoff {
		return 0
	}
	return min(1<<min(failures-failuresBeforeBackoff, 3), maxSkippedRounds)
}

type work struct {
	body  bytes.Buffer
	batch sample.Batch
}

// New returns a scraper.
func New(cfg Config) *Scraper {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Scraper{cfg: cfg, nodes: make(map[string]*nodeState), buffers: sync.Pool{New: func() any { return new(work) }}}
}

// Result summarises one round.
type Result struct {
	Nodes, Failed int
	// Skipped nodes were backed off after repeated failures.
	Skipped int
}

// Scrape fetches every node once, writing each success to the sink as soon
// as it is decoded. It returns when all nodes are done or ctx ends. With
// stagger, the requests' starts are spread (Config.StaggerPerNode).
func (s *Scraper) Scrape(ctx context.Context, stagger bool) (Result, error) {
	nodes, err := s.cfg.Nodes()
	if err != nil {
		return Result{}, err
	}
	states := s.statesFor(nodes)
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	res := Result{Nodes: len(nodes)}
	backedOff := 0
	now := s.cfg.Clock.Now()
	for i, st := range states {
		state := NodeState(nodes[i], now)
		if state != st.state && st.state != "" {
			// A node whose state changed (became ready, started
			// terminating) is tried at once.
			st.failures, st.skip = 0, 0
		}
		st.state = state
		if st.skip > 0 {
			backedOff++
		}
	}
	nodesBackedOff.Set(float64(backedOff))
	var window time.Duration
	if stagger {
		window = min(s.cfg.StaggerPerNode*time.Duration(len(nodes)), s.cfg.MaxStagger)
	}
	roundStart := s.cfg.Clock.Now()
	// Also when the round is cut off by ctx: the connections are done with.
	defer s.cfg.Client.EndRound()
	for i, node := range nodes {
		if st := states[i]; st.skip > 0 {
			st.skip--
			scrapesSkipped.Inc()
			res.Skipped++
			continue
		}
		// In staggerGroups waves rather than one start per node: a wave's
		// requests share the process's wake-ups, which costs half the CPU
		// of spreading every request on its own.
		wave := i * staggerGroups / len(nodes)
		if err := s.waitTurn(ctx, sem, roundStart.Add(window*time.Duration(wave)/staggerGroups)); err != nil {
			mu.Lock()
			res.Failed += len(nodes) - i
			mu.Unlock()
			wg.Wait()
			return res, err
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.scrapeNode(ctx, node, states[i]); err != nil {
				mu.Lock()
				res.Failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res, nil
}

const staggerGroups = 8

// waitTurn waits until at, then for a free slot in sem; ctx ends either.
func (s *Scraper) waitTurn(ctx context.Context, sem chan<- struct{}, at time.Time) error {
	if d := at.Sub(s.cfg.Clock.Now()); d > 0 {
		t := s.cfg.Clock.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// statesFor returns the state of each node, forgetting nodes no longer listed.
func (s *Scraper) statesFor(nodes []*corev1.Node) []*nodeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	states := make([]*nodeState, len(nodes))
	listed := make(map[string]struct{}, len(nodes))
	for i, n := range nodes {
		st := s.nodes[n.Name]
		if st == nil {
			st = &nodeState{decoder: NewDecoder()}
			s.nodes[n.Name] = st
		}
		states[i] = st
		listed[n.Name] = struct{}{}
	}
	for name := range s.nodes {
		if _, ok := listed[name]; !ok {
			forgetNode(name, s.nodes[name])
			delete(s.nodes, name)
		}
	}
	return states
}

func (s *Scraper) scrapeNode(ctx context.Context, node *corev1.Node, st *nodeState) error {
	start := s.cfg.Clock.Now()
	w := s.buffers.Get().(*work)
	defer s.putWork(w)

	err := s.fetchAndDecode(ctx, node, st, w, start)
	elapsed := s.cfg.Clock.Since(start)
	recordRequest(node.Name, start, elapsed, err)
	o := st.settle(reasonOf(err))
	recordNodeOutcome(node.Name, o, st.state)
	logOutcome(node, st.state, o, err)
	if err != nil {
		return err
	}
	s.cfg.Sink.Write(node.Name, &w.batch, start)
	return nil
}

// putWork returns a buffer to the pool unless one huge answer grew it far
// past what kubelets usually send, so a single outlier is not kept for good.
func (s *Scraper) putWork(w *work) {
	if w.body.Cap() > maxPooledBuffer {
		return
	}
	s.buffers.Put(w)
}

// maxPooledBuffer is the largest answer buffer kept for reuse, well above
// what a node full of pods answers.
const maxPooledBuffer = 4 << 20

func (s *Scraper) fetchAndDecode(ctx context.Context, node *corev1.Node, st *nodeState, w *work, start time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	// The lease covers the buffer until the answer is decoded: first the
	// size it starts at (its capacity from the pool, or the node's last
	// answer and an eighth), waited for, then any growth.
	var lease *Lease
	if s.cfg.Budget != nil {
		lease = s.cfg.Budget.Lease()
		defer lease.Release()
	}
	w.body.Reset()
	size := max(w.body.Cap(), st.lastSize+st.lastSize/8+bytes.MinRead)
	if err := lease.Wait(ctx, int64(size)); err != nil {
		return &ScrapeError{ReasonBudget, err}
	}
	if size > w.body.Cap() {
		w.body = *bytes.NewBuffer(make([]byte, 0, size))
	}
	if err := s.cfg.Client.Fetch(ctx, node, &w.body, lease); err != nil {
		if reasonOf(err) == ReasonBudget {
			// Next round starts at what was read, and waits for it, so
			// a node that lost the race for room is not left out for good.
			st.lastSize = w.body.Len()
		}
		return err
	}
	st.lastSize = w.body.Len()
	if err := st.decoder.Decode(w.body.Bytes(), start.UnixNano(), &w.batch); err != nil {
		return &ScrapeError{ReasonDecode, err}
	}
	// A kubelet that could not collect its stats says so, and sends
	// nothing else: the node has failed, and keeps what it last delivered
	// until that goes stale.
	if w.batch.KubeletError {
		return &ScrapeError{ReasonKubeletStats, errors.New("the kubelet could not collect its stats (resource_scrape_error 1)")}
	}
	if !w.batch.HasPoints() {
		return &ScrapeError{ReasonEmpty, errors.New("the answer holds no usable node or container sample")}
	}
	return nil
}

// reasonOf is the reason a scrape failed, "" if it did not.
func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	var se *ScrapeError
	if errors.As(err, &se) {
		return se.Reason
	}
	return ReasonOther
}

// outcome is what a scrape changed of its node's state.
type outcome struct {
	// reason is the scrape's failure reason ("" for success), previous the
	// one before it, and previousState the node's state at that failure.
	reason, previous, previousState string
	// changed: a success after a failure, or a failure of another reason
	// or in another node state than the last.
	changed bool
	// backingOff: this failure starts the node's backoff.
	backingOff bool
}

// settle moves the node's state on by a scrape that failed for reason (""
// for a success): the last reason, the failure streak and the rounds the
// node sits out (see backoffRounds).
func (st *nodeState) settle(reason string) outcome {
	o := outcome{
		reason:        reason,
		previous:      st.lastReason,
		previousState: st.failedState,
		changed:       reason != st.lastReason || reason != "" && st.state != st.failedState,
	}
	st.lastReason = reason
	if reason == "" {
		st.failures = 0
		return o
	}
	st.failures++
	st.skip = backoffRounds(st.failures)
	st.failedState = st.state
	o.backingOff = st.failures == failuresBeforeBackoff
	return o
}

// logOutcome logs a node's failure once per change of reason or node
// state, its recovery, and the start of its backoff. A node that is not
// ready, new or terminating is expected to fail: that is logged as
// information, not as an error.
func logOutcome(node *corev1.Node, state string, o outcome, err error) {
	if o.backingOff {
		klog.InfoS("Backing off a node that keeps failing", "node", klog.KObj(node), "nodeState", state, "reason", o.reason, "failures", failuresBeforeBackoff)
	}
	switch {
	case err == nil && o.changed:
		klog.InfoS("Scraping node succeeds again", "node", klog.KObj(node), "previousReason", o.previous)
	case err == nil:
	case o.changed && state == NodeStateReady:
		klog.ErrorS(err, "Failed to scrape node", "node", klog.KObj(node), "reason", o.reason)
	case o.changed:
		// Expected of such a node: not an error, but still said once at
		// default verbosity.
		klog.InfoS("Failed to scrape node", "node", klog.KObj(node), "nodeState", state, "reason", o.reason, "err", err)
	default:
		klog.V(4).InfoS("Failed to scrape node again", "node", klog.KObj(node), "nodeState", state, "reason", o.reason, "err", err)
	}
}

// Node states, for logs and self-metrics.
const (
	NodeStateReady       = "ready"
	NodeStateNotReady    = "not_ready"
	NodeStateNew         = "new"
	NodeStateTerminating = "terminating"
)

// newNodeAge is how long after its creation a node that is not ready yet
// counts as new (its kubelet starting up) rather than not ready.
const newNodeAge = 5 * time.Minute

// Taints that cluster autoscalers put on nodes they are removing.
var terminatingTaints = []string{"ToBeDeletedByClusterAutoscaler", "karpenter.sh/disrupted", "karpenter.sh/disruption"}

// IsTerminatingTaint reports whether a taint with this key marks a node a
// cluster autoscaler is removing.
func IsTerminatingTaint(key string) bool { return slices.Contains(terminatingTaints, key) }

// NodeState tells why a node may be expected to fail a scrape: it is being
// deleted or drained by an autoscaler (terminating), was created moments
// ago and is not ready yet (new), or is not ready.
func NodeState(node *corev1.Node, now time.Time) string {
	if node.DeletionTimestamp != nil {
		return NodeStateTerminating
	}
	for _, t := range node.Spec.Taints {
		if IsTerminatingTaint(t.Key) {
			return NodeStateTerminating
		}
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return NodeStateReady
		}
	}
	if now.Sub(node.CreationTimestamp.Time) < newNodeAge {
		return NodeStateNew
	}
	return NodeStateNotReady
}
