// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package storage

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// A kubelet whose clock ran an hour ahead for one answer: that answer is
// not served, and the correct answers after it are, from the second one
// on. Before, every later point was taken for a repeat of the +1 h one,
// which stayed served.
func TestClockJumpRecovers(t *testing.T) {
	s, clk := newTestStore()
	old := -time.Hour
	write := func(pointAt, scrapeAt time.Duration, cpu uint64) {
		clk.SetTime(t0.Add(scrapeAt))
		s.Write("node-1", batch(pointAt, cpu, ctr("ns", "p", "a", old, pointAt, cpu/2, 10)), t0.Add(scrapeAt))
	}
	write(0, 0, 10e9)
	write(10*time.Second, 10*time.Second, 11e9)
	write(time.Hour+20*time.Second, 20*time.Second, 12e9) // the clock jumped
	if u, ok := s.Node("node-1"); ok {
		t.Errorf("a point an hour ahead is served: %+v", u)
	}
	if u, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil); ok {
		t.Errorf("a pod point an hour ahead is served: %+v", u)
	}
	write(30*time.Second, 30*time.Second, 13e9) // the clock is right again
	write(40*time.Second, 40*time.Second, 14e9)
	u, ok := s.Node("node-1")
	if !ok || u.Timestamp != at(40*time.Second) || u.CPU != 1e8 {
		t.Errorf("after the clock was right again: node %+v, %v; want 100000000 nanocores at 40 s", u, ok)
	}
	p, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil)
	if !ok || p.Timestamp != at(40*time.Second) || p.Containers[0].CPU != 5e7 {
		t.Errorf("after the clock was right again: pod %+v, %v; want 50000000 nanocores at 40 s", p, ok)
	}
}

// A point further from the server's clock than the staleness bound and a
// resolution is not served, though its node answers every round: a kubelet
// whose stats stopped repeats its last ones.
func TestPointsFarFromClockNotServed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clockAt time.Duration
		served  bool
	}{
		{"within the bound", 10*time.Second + 45*time.Second, true},
		{"past the bound", 10*time.Second + 46*time.Second, false},
		{"a clock that runs behind the points", 10*time.Second - 46*time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newTestStore()
			s.Write("node-1", batch(0, 1e9, ctr("ns", "p", "a", -time.Hour, 0, 1e9, 10)), t0)
			s.Write("node-1", batch(10*time.Second, 2e9, ctr("ns", "p", "a", -time.Hour, 10*time.Second, 2e9, 10)), t0.Add(10*time.Second))
			clk.SetTime(t0.Add(tc.clockAt))
			// The kubelet keeps answering, with its last stats.
			s.Write("node-1", batch(10*time.Second, 2e9, ctr("ns", "p", "a", -time.Hour, 10*time.Second, 2e9, 10)), t0.Add(tc.clockAt))
			if _, ok := s.Node("node-1"); ok != tc.served {
				t.Errorf("node served = %v, want %v", ok, tc.served)
			}
			if _, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil); ok != tc.served {
				t.Errorf("pod served = %v, want %v", ok, tc.served)
			}
		})
	}
}

// An answer without a single point (what a kubelet whose stats collection
// failed sends) neither keeps its node fresh nor drops its pods: the node
// and pods are served as after a failed scrape, until the staleness bound
// from the last answer with points.
func TestEmptyAnswerChangesNothing(t *testing.T) {
	s, clk := newTestStore()
	old := -time.Hour
	s.Write("node-1", batch(0, 1e9, ctr("ns", "p", "a", old, 0, 1e9, 10)), t0)
	s.Write("node-1", batch(10*time.Second, 2e9, ctr("ns", "p", "a", old, 10*time.Second, 2e9, 10)), t0.Add(10*time.Second))
	for _, step := range []struct {
		at     time.Duration
		served bool
	}{{20 * time.Second, true}, {30 * time.Second, true}, {40 * time.Second, true}, {41 * time.Second, false}, {60 * time.Second, false}} {
		clk.SetTime(t0.Add(step.at))
		s.Write("node-1", &sample.Batch{KubeletError: true}, t0.Add(step.at))
		if _, ok := s.Node("node-1"); ok != step.served {
			t.Errorf("at %s: node served = %v, want %v", step.at, ok, step.served)
		}
		if _, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil); ok != step.served {
			t.Errorf("at %s: pod served = %v, want %v", step.at, ok, step.served)
		}
	}
}

// A CPU rate above the node's capacity and a quarter is dropped when
// written: the node counter of a simulated kubelet that jumped by months
// of CPU when a pod was bound made 410,983 cores served for a resolution.
// The series goes on from the implausible point, so the next rate is
// served; each drop is counted.
func TestImplausibleRateDropped(t *testing.T) {
	const capacity = 8e9 // nanocores
	s, clk := newTestStore()
	s.cfg.CPUCapacity = func(node string) (uint64, bool) { return capacity, node == "node-1" }
	old := -time.Hour
	write := func(node string, ts time.Duration, nodeCPU, podCPU uint64) {
		clk.SetTime(t0.Add(ts))
		s.Write(node, batch(ts, nodeCPU, ctr("ns", "p-"+node, "a", old, ts, podCPU, 10)), t0.Add(ts))
	}
	before := testutilCounter(t, "node") + testutilCounter(t, "container")
	write("node-1", 0, 1e12, 1e9)
	write("node-1", 10*time.Second, 1e12+10*capacity, 1e9+10*capacity)             // at capacity: served
	write("node-1", 20*time.Second, 1e12+10*capacity+4_109_830e9, 1e9+30*capacity) // 410,983 cores; a container at 2× capacity
	if u, ok := s.Node("node-1"); ok {
		t.Errorf("an implausible node rate is served: %d nanocores", u.CPU)
	}
	if u, ok := s.Pod(PodKey{"ns", "p-node-1"}, "node-1", nil); ok {
		t.Errorf("an implausible container rate is served: %+v", u)
	}
	if got := testutilCounter(t, "node") + testutilCounter(t, "container") - before; got != 2 {
		t.Errorf("implausible rates counted: %v, want 2", got)
	}
	write("node-1", 30*time.Second, 1e12+10*capacity+4_109_830e9+5e9, 1e9+30*capacity+5e9)
	if u, ok := s.Node("node-1"); !ok || u.CPU != 5e8 {
		t.Errorf("the rate after the implausible one: %+v, %v; want 500000000 nanocores", u, ok)
	}
	if u, ok := s.Pod(PodKey{"ns", "p-node-1"}, "node-1", nil); !ok || u.Containers[0].CPU != 5e8 {
		t.Errorf("the container's rate after the implausible one: %+v, %v; want 500000000 nanocores", u, ok)
	}
	// Without a known capacity, nothing is judged.
	write("node-2", 0, 1e12, 1e9)
	write("node-2", 10*time.Second, 1e12+4_109_830e9, 1e9)
	if _, ok := s.Node("node-2"); !ok {
		t.Error("a node of unknown capacity is not served")
	}
}

// TestPodOfAnotherNodeNotTaken: a node naming a pod bound to another node,
// before or while that node reports it, does not get it served; the pod is
// served from its own node, and each such pod is counted per answer.
func TestPodOfAnotherNodeNotTaken(t *testing.T) {
	for _, evilFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("evil first %v", evilFirst), func(t *testing.T) {
			s, clk := newTestStore()
			s.cfg.PodNode = func(k PodKey) (string, bool) { return "node-1", k == PodKey{"prod", "web-0"} }
			old := -time.Hour
			before := podsOfOtherNodesCounted(t)
			for step, ts := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
				clk.SetTime(t0.Add(ts))
				real := func() {
					s.Write("node-1", batch(ts, uint64(step+1)*1e9, ctr("prod", "web-0", "app", old, ts, uint64(step+1)*1e9, 100<<20)), t0.Add(ts))
				}
				if !evilFirst {
					real()
				}
				// 6.6 cores and 64 GiB, and a pod of its own.
				s.Write("evil", batch(ts, uint64(step+1)*1e9,
					ctr("prod", "web-0", "app", old, ts, uint64(step+1)*66e9, 64<<30),
					ctr("evil", "own", "app", old, ts, uint64(step+1)*1e9, 1<<20)), t0.Add(ts))
				if evilFirst {
					real()
				}
			}
			if u, ok := s.Pod(PodKey{"prod", "web-0"}, "node-1", nil); !ok || u.Node != "node-1" || u.Containers[0].CPU != 1e8 || u.Containers[0].Memory != 100<<20 {
				t.Errorf("prod/web-0 served %+v, %v; want node-1's 100000000 nanocores and 100 MiB", u, ok)
			}
			if u, ok := s.Pod(PodKey{"prod", "web-0"}, "evil", nil); ok {
				t.Errorf("evil's claim on prod/web-0 is kept: %+v", u)
			}
			if _, ok := s.Pod(PodKey{"evil", "own"}, "evil", nil); !ok {
				t.Error("evil's own pod, bound nowhere known, is not served")
			}
			if got := podsOfOtherNodesCounted(t) - before; got != 3 {
				t.Errorf("pods of other nodes counted: %v, want 3 (one per answer)", got)
			}
		})
	}
}

// New pods are merged into a node's sorted pods whatever order they come
// in: each is found, once, and the pods stay sorted.
func TestNewPodsInAnyOrder(t *testing.T) {
	for _, order := range []string{"in order", "reverse", "shuffled"} {
		t.Run(order, func(t *testing.T) {
			s, _ := newTestStore()
			old := -time.Hour
			keys := newPodKeys(2000, order)
			for step, ts := range []time.Duration{0, 10 * time.Second} {
				b := batch(ts, uint64(step+1)*1e9)
				for _, k := range keys[:len(keys)/(2-step)] { // half the pods, then all
					b.Containers = append(b.Containers, ctr(k.Namespace, k.Name, "a", old, ts, uint64(step+1)*1e9, 10))
				}
				s.Write("node", b, t0.Add(ts))
			}
			n := s.nodes["node"]
			if len(n.pods) != len(keys) || !slices.IsSortedFunc(n.pods, func(a, b *podEntry) int { return comparePodKeys(a.key, b.key) }) {
				t.Fatalf("the node keeps %d pods, sorted %v; want %d sorted", len(n.pods), false, len(keys))
			}
			for i, k := range keys {
				_, ok := s.Pod(k, "node", nil)
				if wantServed := i < len(keys)/2; ok != wantServed {
					t.Fatalf("pod %v served = %v, want %v", k, ok, wantServed)
				}
			}
		})
	}
}

// newPodKeys are n pod keys across a few namespaces, in the given order
// ("in order", "reverse" or "shuffled", a fixed permutation).
func newPodKeys(n int, order string) []PodKey {
	keys := make([]PodKey, n)
	for i := range keys {
		keys[i] = PodKey{fmt.Sprintf("ns-%d", i*4/n), fmt.Sprintf("pod-%07d", i)}
	}
	switch order {
	case "reverse":
		slices.Reverse(keys)
	case "shuffled":
		for i := range keys {
			j := (i*7919 + 13) % n
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	return keys
}

// BenchmarkStoreWriteNewPods writes one answer of 100,000 pods new to the
// node, in order and in reverse: inserting each in place made the reverse
// order quadratic.
func BenchmarkStoreWriteNewPods(b *testing.B) {
	for _, order := range []string{"in order", "reverse"} {
		b.Run(order, func(b *testing.B) {
			batchOf := &sample.Batch{Node: sample.Point{CPUTime: t0.UnixNano(), CPU: 1, Memory: 1, Fields: sample.HasCPU | sample.HasMemory}}
			for _, k := range newPodKeys(100_000, order) {
				batchOf.Containers = append(batchOf.Containers, ctr(k.Namespace, k.Name, "a", -time.Hour, 0, 1e9, 10))
			}
			b.ReportAllocs()
			for b.Loop() {
				s, _ := newTestStore()
				s.Write("node", batchOf, t0)
			}
		})
	}
}

var registerOnce sync.Once

// testutilCounter reads implausibleRates for kind.
func testutilCounter(t *testing.T, kind string) float64 {
	t.Helper()
	registerOnce.Do(func() { RegisterMetrics(metrics.NewKubeRegistry().MustRegister) })
	v, err := testutil.GetCounterMetricValue(implausibleRates.WithLabelValues(kind))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func podsOfOtherNodesCounted(t *testing.T) float64 {
	t.Helper()
	registerOnce.Do(func() { RegisterMetrics(metrics.NewKubeRegistry().MustRegister) })
	v, err := testutil.GetCounterMetricValue(podsOfOtherNodes)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
