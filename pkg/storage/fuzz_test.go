// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package storage

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// FuzzStoreWrite writes hostile batches, decoded from the fuzzer's bytes,
// into a store and checks what it serves against a reference of what was
// written: pods in any order, repeated within a batch and across nodes
// (a pod bound to a node is served from it alone),
// counters that go down, points out of order, in the future or far in the
// past, empty batches. Whatever the store keeps, every value it serves
// must be explained by two points written for that series, the newer one
// its timestamp, in the node's last write that delivered points; the
// store must count at least the nodes it serves, and a list's PodReader
// must serve what Store.Pod does.
func FuzzStoreWrite(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{3, 0, 7, 7, 7, 1, 200, 9, 3, 1, 7, 7, 7, 2, 200, 10, 3, 2, 0, 1, 1, 3, 5, 0})
	f.Add([]byte{255, 255, 255, 0, 0, 0, 128, 128, 1, 2, 3, 250, 251, 252, 253, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, clk := newTestStore()
		s.cfg.CPUCapacity = func(node string) (uint64, bool) { return 4e9, node != "n2" }
		s.cfg.PodNode = fuzzPodNode
		ref := newReference()
		r := byteReader{data: data}
		now := t0
		for step := 0; step < 12 && !r.done(); step++ {
			now = now.Add(time.Duration(r.next()%20) * time.Second)
			clk.SetTime(now)
			node := fmt.Sprintf("n%d", r.next()%3)
			b := &sample.Batch{}
			// A node point, unless the kubelet sent none.
			if r.next()%5 != 0 {
				b.Node = fuzzPoint(&r, now)
			}
			for range int(r.next() % 12) {
				c := sample.Container{Namespace: fmt.Sprintf("ns%d", r.next()%2), Pod: fmt.Sprintf("p%d", r.next()%6),
					Name: fmt.Sprintf("c%d", r.next()%3), Point: fuzzPoint(&r, now)}
				if r.next()%4 == 0 {
					c.StartTime = now.Add(-time.Duration(r.next()%40) * time.Second).UnixNano()
				}
				b.Containers = append(b.Containers, c)
			}
			ref.write(node, b)
			s.Write(node, b, now)
			ref.check(t, s)
		}
	})
}

// fuzzPodNode binds the pods p0 to p3 of both namespaces to a node each;
// p4 and p5 are not known (as before the informer sees them), and any
// node may report them.
func fuzzPodNode(key PodKey) (string, bool) {
	var i int
	if _, err := fmt.Sscanf(key.Name, "p%d", &i); err != nil || i > 3 {
		return "n0", false
	}
	return fmt.Sprintf("n%d", i%3), true
}

// byteReader hands out the fuzzer's bytes, then zeros.
type byteReader struct {
	data []byte
	i    int
}

func (r *byteReader) next() uint8 {
	if r.i >= len(r.data) {
		return 0
	}
	r.i++
	return r.data[r.i-1]
}

func (r *byteReader) done() bool { return r.i >= len(r.data) }

// fuzzPoint is a point near now (or far from it), with a counter that
// mostly grows and some fields missing.
func fuzzPoint(r *byteReader, now time.Time) sample.Point {
	offset := time.Duration(int8(r.next())) * time.Second
	if r.next()%16 == 0 {
		offset *= 3600 // an hour's worth of seconds off: a clock that jumped
	}
	at := now.Add(offset).UnixNano()
	p := sample.Point{CPUTime: at, MemoryTime: at, CPU: uint64(r.next()) * 1e9, Memory: uint64(r.next()), Fields: sample.Field(r.next() % 8)}
	if p.Fields == 0 {
		p.Fields = sample.HasCPU | sample.HasMemory
	}
	return p
}

// reference records every point written per series, and which pods each
// node's last write with points listed.
type reference struct {
	points map[string][]sample.Point      // series → points written
	pods   map[string]map[PodKey][]string // node → pods of its last write with points → their containers
}

func newReference() *reference {
	return &reference{points: map[string][]sample.Point{}, pods: map[string]map[PodKey][]string{}}
}

func (r *reference) write(node string, b *sample.Batch) {
	if !b.HasPoints() {
		return
	}
	if b.Node.Has(sample.HasCPU | sample.HasMemory) {
		r.points[node] = append(r.points[node], b.Node)
	}
	pods := map[PodKey][]string{}
	for _, c := range b.Containers {
		if c.Fields&(sample.HasCPU|sample.HasMemory) == 0 {
			continue
		}
		k := PodKey{c.Namespace, c.Pod}
		pods[k] = append(pods[k], c.Name)
		r.points[node+"/"+c.Namespace+"/"+c.Pod+"/"+c.Name] = append(r.points[node+"/"+c.Namespace+"/"+c.Pod+"/"+c.Name], c.Point)
	}
	r.pods[node] = pods
}

// explains reports whether two points written to series give u: the newer
// at u's timestamp with its memory, the rate between them u's.
func (r *reference) explains(series string, u Usage, start int64) bool {
	points := r.points[series]
	for _, newer := range points {
		if pointOf(&newer).time != u.Timestamp {
			continue
		}
		if u.HasMemory && (newer.Memory != u.Memory || !newer.Has(sample.HasMemory)) {
			continue
		}
		if !u.HasCPU {
			return true
		}
		n := pointOf(&newer)
		earlier := []values{{time: start}} // a fresh container's start, counter zero
		for _, older := range points {
			if older.Has(sample.HasCPU) {
				earlier = append(earlier, values{time: pointOf(&older).time, cpu: older.CPU})
			}
		}
		for _, e := range earlier {
			if e.time < n.time && e.cpu <= n.cpu {
				nv := values{time: n.time, cpu: n.cpu}
				if rate := cpuRate(&nv, e.time, e.cpu); rate.window == u.Window && rate.nanocore == u.CPU {
					return true
				}
			}
		}
	}
	return false
}

func (r *reference) check(t *testing.T, s *Store) {
	t.Helper()
	var servedNodes int64
	for _, node := range []string{"n0", "n1", "n2"} {
		if u, ok := s.Node(node); ok {
			servedNodes++
			if !r.explains(node, u, -1) {
				t.Fatalf("node %s served %+v, which no two points written explain: %+v", node, u, r.points[node])
			}
		}
	}
	for _, ns := range []string{"ns0", "ns1"} {
		for p := range 6 {
			key := PodKey{ns, fmt.Sprintf("p%d", p)}
			bound, known := fuzzPodNode(key)
			for _, node := range []string{"n0", "n1", "n2"} {
				if u, ok := s.Pod(key, node, nil); ok && known && node != bound {
					t.Fatalf("pod %v, bound to %s, served from %s: %+v", key, bound, node, u)
				}
			}
			u, ok := s.Pod(key, bound, nil)
			if !ok {
				continue
			}
			containers, listed := r.pods[u.Node][key]
			if !listed {
				t.Fatalf("pod %v served from %s, whose last write did not list it", key, u.Node)
			}
			for _, c := range u.Containers {
				if !slices.Contains(containers, c.Name) {
					t.Fatalf("pod %v: container %s served, not in %s's last write", key, c.Name, u.Node)
				}
				series := u.Node + "/" + key.Namespace + "/" + key.Name + "/" + c.Name
				n := s.nodes[u.Node]
				start := int64(-1)
				for _, pe := range n.pods {
					if pe.key == key {
						start = pe.container(c.Name).start
					}
				}
				if !r.explains(series, c.Usage, start) {
					t.Fatalf("container %s served %+v, which no two points written explain: %+v", series, c.Usage, r.points[series])
				}
			}
		}
	}
	// A list's reader, asked in list order, answers as Store.Pod does.
	list := s.PodReader(12)
	for _, ns := range []string{"ns0", "ns1"} {
		for p := range 6 {
			key := PodKey{ns, fmt.Sprintf("p%d", p)}
			for _, node := range []string{"n0", "n1", "n2"} {
				got, gotOK := list.Pod(key, node, nil)
				want, wantOK := s.Pod(key, node, nil)
				if gotOK != wantOK || !reflect.DeepEqual(got, want) {
					t.Fatalf("pod %v on %s: a list's reader serves %+v, %v; Store.Pod %+v, %v", key, node, got, gotOK, want, wantOK)
				}
			}
		}
	}
	if nodes, _ := s.Counts(); nodes < servedNodes {
		t.Fatalf("the store counts %d nodes with a rate, serves %d", nodes, servedNodes)
	}
	for name, n := range s.nodes {
		if !slices.IsSortedFunc(n.pods, func(a, b *podEntry) int { return comparePodKeys(a.key, b.key) }) {
			t.Fatalf("node %s's pods are not sorted", name)
		}
	}
}
