// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package storage

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/internal/heaptest"
	"github.com/kubemetrics/metrics-server/pkg/sample"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) int64 { return t0.Add(d).UnixNano() }

func newTestStore() (*Store, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(t0)
	return New(Config{Resolution: 15 * time.Second, StaleAfter: 30 * time.Second, Clock: clk}), clk
}

func ctr(ns, pod, name string, start, ts time.Duration, cpu, mem uint64) sample.Container {
	return sample.Container{Namespace: ns, Pod: pod, Name: name, StartTime: at(start),
		Point: sample.Point{CPUTime: at(ts), MemoryTime: at(ts), CPU: cpu, Memory: mem, Fields: sample.HasCPU | sample.HasMemory}}
}

// without drops fields from a container's point, as when the kubelet sends
// no such sample.
func without(f sample.Field, c sample.Container) sample.Container {
	c.Fields &^= f
	return c
}

func batch(nodeTS time.Duration, nodeCPU uint64, cs ...sample.Container) *sample.Batch {
	return &sample.Batch{
		Node:       sample.Point{CPUTime: at(nodeTS), CPU: nodeCPU, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory},
		Containers: cs,
	}
}

// scrapedAt is when a scrape that returned b ended: at its newest point.
func scrapedAt(b *sample.Batch) time.Time {
	newest := b.Node.CPUTime
	for _, c := range b.Containers {
		newest = max(newest, c.CPUTime, c.MemoryTime)
	}
	return time.Unix(0, newest)
}

func TestNodeRate(t *testing.T) {
	tests := []struct {
		name    string
		batches []*sample.Batch
		want    *Usage
	}{
		{name: "one point is not enough", batches: []*sample.Batch{batch(0, 1e9)}},
		{
			name:    "rate between the two newest points",
			batches: []*sample.Batch{batch(0, 1e9), batch(10*time.Second, 3e9), batch(20*time.Second, 4e9)},
			want:    &Usage{Timestamp: at(20 * time.Second), Window: 10 * time.Second, CPU: 1e8, Memory: 1 << 30, HasCPU: true, HasMemory: true},
		},
		{
			name:    "a repeated point keeps the earlier pair",
			batches: []*sample.Batch{batch(0, 1e9), batch(10*time.Second, 3e9), batch(10*time.Second, 3e9)},
			want:    &Usage{Timestamp: at(10 * time.Second), Window: 10 * time.Second, CPU: 2e8, Memory: 1 << 30, HasCPU: true, HasMemory: true},
		},
		{
			name:    "an out of order point is ignored",
			batches: []*sample.Batch{batch(0, 1e9), batch(10*time.Second, 3e9), batch(5*time.Second, 2e9)},
			want:    &Usage{Timestamp: at(10 * time.Second), Window: 10 * time.Second, CPU: 2e8, Memory: 1 << 30, HasCPU: true, HasMemory: true},
		},
		{
			name:    "a counter that went down starts over",
			batches: []*sample.Batch{batch(0, 5e9), batch(10*time.Second, 6e9), batch(20*time.Second, 1e9)},
		},
		{
			name:    "rates are floored exactly in nanocores",
			batches: []*sample.Batch{batch(0, 0), batch(3*time.Second, 1e9)},
			want:    &Usage{Timestamp: at(3 * time.Second), Window: 3 * time.Second, CPU: 333333333, Memory: 1 << 30, HasCPU: true, HasMemory: true},
		},
		{
			name:    "large counters do not overflow",
			batches: []*sample.Batch{batch(0, 1e18), batch(15*time.Second, 1e18+960e9)},
			want:    &Usage{Timestamp: at(15 * time.Second), Window: 15 * time.Second, CPU: 64e9, Memory: 1 << 30, HasCPU: true, HasMemory: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestStore()
			for _, b := range tc.batches {
				s.Write("node-1", b, scrapedAt(b))
			}
			got, ok := s.Node("node-1")
			if (tc.want != nil) != ok {
				t.Fatalf("Node() ok = %v, want %v", ok, tc.want != nil)
			}
			if ok && got != *tc.want {
				t.Errorf("Node() = %+v, want %+v", got, *tc.want)
			}
		})
	}
}

func TestPodRate(t *testing.T) {
	const s10, s20, s30 = 10 * time.Second, 20 * time.Second, 30 * time.Second
	old := -time.Hour
	tests := []struct {
		name    string
		batches [][]sample.Container
		want    *PodUsage
	}{
		{
			name:    "one scrape of an old container is not enough",
			batches: [][]sample.Container{{ctr("ns", "p", "a", old, 0, 1e9, 10)}},
		},
		{
			name: "two scrapes give a rate, containers sorted, oldest timestamp wins",
			batches: [][]sample.Container{
				{ctr("ns", "p", "b", old, 0, 1e9, 10), ctr("ns", "p", "a", old, 0, 1e9, 10)},
				{ctr("ns", "p", "b", old, s10, 2e9, 20), ctr("ns", "p", "a", old, s10-time.Second, 1.9e9, 30)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10 - time.Second), Window: s10 - time.Second, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10 - time.Second), Window: s10 - time.Second, CPU: 1e8, Memory: 30, HasCPU: true, HasMemory: true}},
				{"b", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 20, HasCPU: true, HasMemory: true}},
			}},
		},
		{
			name:    "a fresh container is rated from its start after one scrape",
			batches: [][]sample.Container{{ctr("ns", "p", "a", -12*time.Second, 0, 6e9, 10)}},
			want: &PodUsage{Node: "node-1", Timestamp: at(0), Window: 12 * time.Second, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(0), Window: 12 * time.Second, CPU: 5e8, Memory: 10, HasCPU: true, HasMemory: true}},
			}},
		},
		{
			name:    "a container younger than 10s is not rated from its start",
			batches: [][]sample.Container{{ctr("ns", "p", "a", -5*time.Second, 0, 1e9, 10)}},
		},
		{
			name: "a restarted container starts a fresh series and is rated from its new start",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 50e9, 10)},
				{ctr("ns", "p", "a", old, s10, 60e9, 10)},
				{ctr("ns", "p", "a", s30-12*time.Second, s30, 3e9, 10)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s30), Window: 12 * time.Second, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s30), Window: 12 * time.Second, CPU: 25e7, Memory: 10, HasCPU: true, HasMemory: true}},
			}},
		},
		{
			name: "a start time that moves but stays before the newest point is the same container (KWOK)",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", -time.Hour+10*time.Second, 0, 50e9, 10)},
				{ctr("ns", "p", "a", -time.Hour+20*time.Second, s10, 51e9, 10)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
			}},
		},
		{
			name: "a restart that just happened hides a single-container pod rather than report a wrong rate",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 50e9, 10)},
				{ctr("ns", "p", "a", old, s10, 60e9, 10)},
				{ctr("ns", "p", "a", s20-time.Second, s20, 1e8, 10)},
			},
		},
		{
			name: "a container without a rate yet is listed with its working set only",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 1e9, 10)},
				{ctr("ns", "p", "a", old, s10, 2e9, 10), ctr("ns", "p", "new", old, s10, 2e9, 20)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
				{"new", Usage{Timestamp: at(s10), Memory: 20, HasMemory: true}},
			}},
		},
		{
			name: "a sidecar restarted moments ago is listed with its working set only; the pod's window is the app's",
			batches: [][]sample.Container{
				{ctr("ns", "p", "app", old, 0, 50e9, 10), ctr("ns", "p", "side", old, 0, 5e9, 5)},
				{ctr("ns", "p", "app", old, s10, 60e9, 10), ctr("ns", "p", "side", s10-3*time.Second, s10-time.Second, 1e8, 6)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"app", Usage{Timestamp: at(s10), Window: s10, CPU: 1e9, Memory: 10, HasCPU: true, HasMemory: true}},
				{"side", Usage{Timestamp: at(s10 - time.Second), Memory: 6, HasMemory: true}},
			}},
		},
		{
			name: "zero working set and an unchanged CPU counter are values, not gaps",
			batches: [][]sample.Container{
				{ctr("ns", "p", "app", old, 0, 1e9, 10), ctr("ns", "p", "idle", old, 0, 7e9, 0)},
				{ctr("ns", "p", "app", old, s10, 2e9, 10), ctr("ns", "p", "idle", old, s10, 7e9, 0)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"app", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
				{"idle", Usage{Timestamp: at(s10), Window: s10, CPU: 0, Memory: 0, HasCPU: true, HasMemory: true}},
			}},
		},
		{
			name: "a container the kubelet sends no working set for is listed with its CPU only",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 1e9, 10), without(sample.HasMemory, ctr("ns", "p", "b", old, 0, 1e9, 0))},
				{ctr("ns", "p", "a", old, s10, 2e9, 10), without(sample.HasMemory, ctr("ns", "p", "b", old, s10, 3e9, 0))},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
				{"b", Usage{Timestamp: at(s10), Window: s10, CPU: 2e8, HasCPU: true}},
			}},
		},
		{
			name: "a container the kubelet sends no CPU for is listed with its working set only",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 1e9, 10), without(sample.HasCPU, ctr("ns", "p", "b", old, 0, 0, 7))},
				{ctr("ns", "p", "a", old, s10, 2e9, 10), without(sample.HasCPU, ctr("ns", "p", "b", old, s10, 0, 8))},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
				{"b", Usage{Timestamp: at(s10), Memory: 8, HasMemory: true}},
			}},
		},
		{
			name: "a pod none of whose containers has a CPU rate is not served",
			batches: [][]sample.Container{
				{without(sample.HasCPU, ctr("ns", "p", "b", old, 0, 0, 7))},
				{without(sample.HasCPU, ctr("ns", "p", "b", old, s10, 0, 8))},
			},
		},
		{
			name: "a container that left the pod is forgotten",
			batches: [][]sample.Container{
				{ctr("ns", "p", "a", old, 0, 1e9, 10), ctr("ns", "p", "gone", old, 0, 1e9, 10)},
				{ctr("ns", "p", "a", old, s10, 2e9, 10)},
			},
			want: &PodUsage{Node: "node-1", Timestamp: at(s10), Window: s10, Containers: []ContainerUsage{
				{"a", Usage{Timestamp: at(s10), Window: s10, CPU: 1e8, Memory: 10, HasCPU: true, HasMemory: true}},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestStore()
			for i, cs := range tc.batches {
				b := batch(time.Duration(i)*s10, uint64(i+1)*1e9, cs...)
				s.Write("node-1", b, scrapedAt(b))
			}
			got, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil)
			if (tc.want != nil) != ok {
				t.Fatalf("Pod() ok = %v (%+v), want %v", ok, got, tc.want != nil)
			}
			if !ok {
				return
			}
			if got.Node != tc.want.Node || got.Timestamp != tc.want.Timestamp || got.Window != tc.want.Window || len(got.Containers) != len(tc.want.Containers) {
				t.Fatalf("Pod() = %+v, want %+v", got, *tc.want)
			}
			for i := range got.Containers {
				if got.Containers[i] != tc.want.Containers[i] {
					t.Errorf("container %d = %+v, want %+v", i, got.Containers[i], tc.want.Containers[i])
				}
			}
		})
	}
}

func TestFailedScrapeKeepsServingUntilStale(t *testing.T) {
	s, clk := newTestStore()
	c := func(ts time.Duration, cpu uint64) sample.Container {
		return ctr("ns", "p", "a", -time.Hour, ts, cpu, 10)
	}
	s.Write("node-1", batch(0, 1e9, c(0, 1e9)), t0)
	s.Write("node-1", batch(15*time.Second, 2e9, c(15*time.Second, 2e9)), t0.Add(15*time.Second))
	// The scrapes at 30s and 45s fail: nothing is written.
	for _, tc := range []struct {
		now  time.Duration
		want bool
	}{{30 * time.Second, true}, {45 * time.Second, true}, {46 * time.Second, false}} {
		clk.SetTime(t0.Add(tc.now))
		_, nodeOK := s.Node("node-1")
		_, podOK := s.Pod(PodKey{"ns", "p"}, "node-1", nil)
		if nodeOK != tc.want || podOK != tc.want {
			t.Errorf("at %v: node served %v, pod served %v; want %v", tc.now, nodeOK, podOK, tc.want)
		}
	}
}

func TestReadyAndForget(t *testing.T) {
	s, _ := newTestStore()
	if s.Ready() {
		t.Fatal("empty store is ready")
	}
	s.Write("node-1", batch(0, 1e9, ctr("ns", "p", "a", -time.Hour, 0, 1e9, 10)), t0)
	if s.Ready() {
		t.Fatal("ready after one scrape of old containers")
	}
	s.Write("node-1", batch(10*time.Second, 2e9, ctr("ns", "p", "a", -time.Hour, 10*time.Second, 2e9, 10)), t0.Add(10*time.Second))
	if !s.Ready() {
		t.Fatal("not ready after two scrapes")
	}
	if n, c := s.Counts(); n != 1 || c != 1 {
		t.Fatalf("Counts() = %d, %d; want 1, 1", n, c)
	}
	s.Forget(func(string) bool { return false })
	if _, ok := s.Pod(PodKey{"ns", "p"}, "node-1", nil); ok || s.Ready() {
		t.Fatal("forgotten node's pod is still served")
	}
	if n, c := s.Counts(); n != 0 || c != 0 {
		t.Fatalf("Counts() after Forget = %d, %d; want 0, 0", n, c)
	}
}

// TestPodMovesBetweenNodes: a pod of the same name recreated on another
// node (a StatefulSet's) is served from the node it is bound to now, once
// that node reports it, though the old node still reports it.
func TestPodMovesBetweenNodes(t *testing.T) {
	s, _ := newTestStore()
	bound := "node-1"
	s.cfg.PodNode = func(PodKey) (string, bool) { return bound, true }
	old := -time.Hour
	s.Write("node-1", batch(0, 1e9, ctr("ns", "p", "a", old, 0, 1e9, 10)), t0)
	s.Write("node-1", batch(10*time.Second, 2e9, ctr("ns", "p", "a", old, 10*time.Second, 2e9, 10)), t0.Add(10*time.Second))
	bound = "node-2"
	if got, ok := s.Pod(PodKey{"ns", "p"}, bound, nil); ok {
		t.Fatalf("Pod() = %+v before its new node reports it", got)
	}
	s.Write("node-2", batch(0, 1e9, ctr("ns", "p", "a", old, 0, 5e9, 10)), t0)
	s.Write("node-2", batch(10*time.Second, 2e9, ctr("ns", "p", "a", old, 10*time.Second, 6e9, 10)), t0.Add(10*time.Second))
	s.Write("node-1", batch(20*time.Second, 3e9, ctr("ns", "p", "a", old, 20*time.Second, 3e9, 10)), t0.Add(20*time.Second))
	got, ok := s.Pod(PodKey{"ns", "p"}, bound, nil)
	if !ok || got.Node != "node-2" || got.Containers[0].CPU != 1e8 {
		t.Fatalf("Pod() = %+v, %v; want it from node-2 at 100000000 nanocores", got, ok)
	}
}

func TestNodePodsInAnyOrder(t *testing.T) {
	s, _ := newTestStore()
	old := -time.Hour
	// Three writes of one node, 10 s apart; each lists its pods in another
	// order. p3 leaves after the first, p10 arrives in the second.
	orders := [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 10, 0, 8, 1, 7, 2, 6, 4, 5}, {5, 10, 4, 9, 0, 1, 2, 8, 7, 6}}
	for step, order := range orders {
		ts := time.Duration(step) * 10 * time.Second
		b := batch(ts, uint64(step+1)*1e9)
		for _, p := range order {
			for _, c := range []string{"b", "a"} {
				b.Containers = append(b.Containers, ctr("ns", fmt.Sprintf("p%d", p), c, old, ts, uint64(step+1)*uint64(p+1)*1e9, 10))
			}
		}
		s.Write("node", b, t0.Add(ts))
	}
	for p := range 11 {
		got, ok := s.Pod(PodKey{"ns", fmt.Sprintf("p%d", p)}, "node", nil)
		if p == 3 {
			if ok {
				t.Errorf("p3 left the node but is served: %+v", got)
			}
			continue
		}
		// Each container's counter grew by (p+1) s in 10 s.
		want := uint64(p+1) * 1e8
		if !ok || len(got.Containers) != 2 || got.Containers[0].Name != "a" || got.Containers[0].CPU != want || got.Containers[1].CPU != want {
			t.Errorf("p%d = %+v, %v; want containers a and b at %d nanocores", p, got, ok, want)
		}
	}
	if _, containers := s.Counts(); containers != 20 {
		t.Errorf("servable containers = %d, want 20", containers)
	}
}

// scaleBatches builds nodes × pods × containers batches at step i.
func scaleBatches(nodes, pods, containers, step int) ([]string, []*sample.Batch) {
	names := make([]string, nodes)
	batches := make([]*sample.Batch, nodes)
	for n := range nodes {
		names[n] = fmt.Sprintf("node-%04d", n)
		b := batch(time.Duration(step)*15*time.Second, uint64(step+1)*1e12)
		for p := range pods {
			for c := range containers {
				b.Containers = append(b.Containers, ctr(fmt.Sprintf("ns-%d", p%10), fmt.Sprintf("pod-%d-%d", n, p),
					fmt.Sprintf("c-%d", c), -time.Hour, time.Duration(step)*15*time.Second, uint64(step+1)*1e10, 1<<20))
			}
		}
		batches[n] = b
	}
	return names, batches
}

// scrapeOf is when the scrape that returned b ended, for the benchmarks:
// the node's point (the newest of the batches scaleBatches makes).
func scrapeOf(b *sample.Batch) time.Time { return time.Unix(0, b.Node.CPUTime) }

// advance moves every point of the batches one resolution on, in place.
func advance(batches []*sample.Batch) {
	for _, b := range batches {
		b.Node.CPUTime += int64(15 * time.Second)
		b.Node.CPU += 1e12
		for i := range b.Containers {
			b.Containers[i].CPUTime += int64(15 * time.Second)
			b.Containers[i].CPU += 1e10
		}
	}
}

// BenchmarkStoreWrite writes one scrape of 1,000 nodes × 30 pods × 2
// containers per op, in the steady state of a running server.
func BenchmarkStoreWrite(b *testing.B) {
	s, _ := newTestStore()
	names, batches := scaleBatches(1000, 30, 2, 0)
	for range 3 {
		for i, name := range names {
			s.Write(name, batches[i], scrapeOf(batches[i]))
		}
		advance(batches)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, name := range names {
			s.Write(name, batches[i], scrapeOf(batches[i]))
		}
		advance(batches)
	}
}

// BenchmarkStoreLiveHeap reports what the store keeps per container series
// (heap after a collection ÷ containers) once 500 nodes × 30 pods × 2
// containers were written three times; the batches' names are not counted,
// as in the server, where they belong to the decoder.
func BenchmarkStoreLiveHeap(b *testing.B) {
	names, batches := scaleBatches(500, 30, 2, 0)
	heaptest.PerUnit(b, 500*30*2, "container", func() any {
		s, _ := newTestStore()
		for range 3 {
			for i, name := range names {
				s.Write(name, batches[i], scrapeOf(batches[i]))
			}
			advance(batches)
		}
		return s
	})
}

// TestPodReader reads pods through a PodReader in several orders (a list's,
// its reverse, with pods missing and repeated, on nodes unknown or stale)
// and checks each answer is Store.Pod's at the same instant.
func TestPodReader(t *testing.T) {
	s, clk := newTestStore()
	names, batches := scaleBatches(3, 12, 2, 0)
	for step := range 2 {
		for i, name := range names {
			s.Write(name, batches[i], scrapeOf(batches[i]))
		}
		if step == 0 {
			advance(batches)
		}
	}
	// node-0001 stops being scraped and goes stale; the others go on.
	clk.SetTime(t0.Add(30 * time.Second))
	advance(batches)
	for _, i := range []int{0, 2} {
		s.Write(names[i], batches[i], scrapeOf(batches[i]))
	}
	clk.SetTime(t0.Add(50 * time.Second))

	type ask struct {
		key  PodKey
		node string
	}
	var inOrder []ask
	for p := range 12 {
		for n := range 3 {
			inOrder = append(inOrder, ask{PodKey{fmt.Sprintf("ns-%d", p%10), fmt.Sprintf("pod-%d-%d", n, p)}, names[n]})
		}
	}
	slices.SortFunc(inOrder, func(a, b ask) int { return comparePodKeys(a.key, b.key) })
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	var gaps []ask
	for i, a := range inOrder {
		if i%3 != 1 {
			gaps = append(gaps, a, a)
		}
	}
	odd := []ask{
		{PodKey{"ns-0", "pod-0-0"}, "no-such-node"},
		{PodKey{"ns-0", "no-such-pod"}, names[0]},
		{PodKey{"ns-0", "pod-1-0"}, names[0]}, // on another node
		{PodKey{"ns-0", "pod-0-0"}, names[0]},
	}
	for _, tc := range []struct {
		name       string
		asks       []ask
		wantServed int
	}{
		{"namespace and name order", inOrder, 24},
		{"reverse order", reversed, 24},
		{"pods missing and asked twice", gaps, 40},
		{"unknown nodes and pods, pods on other nodes", odd, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.PodReader(len(tc.asks))
			served := 0
			for _, a := range tc.asks {
				got, gotOK := r.Pod(a.key, a.node, nil)
				want, wantOK := s.Pod(a.key, a.node, nil)
				if gotOK != wantOK || !reflect.DeepEqual(got, want) {
					t.Errorf("%v on %s: %+v, %v; Store.Pod answers %+v, %v", a.key, a.node, got, gotOK, want, wantOK)
				}
				if gotOK {
					served++
				}
			}
			if served != tc.wantServed {
				t.Errorf("%d of %d pods served, want %d (node-0001's are stale)", served, len(tc.asks), tc.wantServed)
			}
		})
	}
}
