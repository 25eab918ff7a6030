// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/internal/heaptest"
	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// testNode builds a node with pods × containers in realistic shapes: names
// like a Deployment's pods, distinct values for every series.
func testNode(pods, containers int, at time.Time) *kubeletsim.NodeStats {
	n := &kubeletsim.NodeStats{Time: at, CPUNanos: 123456789012345, MemoryBytes: 5596876800}
	for p := 0; p < pods; p++ {
		pod := kubeletsim.PodStats{Namespace: fmt.Sprintf("team-%02d", p%7), Name: fmt.Sprintf("web-frontend-7d9f8c6b5-%05d", p)}
		for c := 0; c < containers; c++ {
			pod.Containers = append(pod.Containers, kubeletsim.ContainerStats{
				Name:        fmt.Sprintf("container-%d", c),
				StartTime:   at.Add(-time.Duration(p+1) * time.Hour).Truncate(time.Second),
				Time:        at.Add(-time.Duration(c) * time.Millisecond),
				CPUNanos:    uint64(p*1000+c)*1_000_003 + 7,
				MemoryBytes: uint64(p+1)*1<<20 + uint64(c)*4096,
			})
		}
		n.Pods = append(n.Pods, pod)
	}
	kubeletsim.SortPods(n.Pods)
	return n
}

func decodeString(t *testing.T, d *Decoder, in string, now int64) (*sample.Batch, error) {
	t.Helper()
	var b sample.Batch
	err := d.Decode([]byte(in), now, &b)
	return &b, err
}

func TestDecodeGeneratedPayload(t *testing.T) {
	at := time.Unix(1795367948, 123e6)
	n := testNode(110, 2, at)
	payload := kubeletsim.AppendResourceMetrics(nil, n)
	d := NewDecoder()
	for round := 0; round < 2; round++ { // the second round hits the block cache
		b, err := decodeString(t, d, string(payload), 1)
		if err != nil {
			t.Fatal(err)
		}
		if b.Node.CPU != n.CPUNanos || b.Node.Memory != n.MemoryBytes || b.Node.CPUTime != at.UnixMilli()*1e6 {
			t.Fatalf("node = %+v", b.Node)
		}
		if len(b.Containers) != 220 {
			t.Fatalf("got %d containers, want 220", len(b.Containers))
		}
		want := map[[3]string]kubeletsim.ContainerStats{}
		for _, p := range n.Pods {
			for _, c := range p.Containers {
				want[[3]string{p.Namespace, p.Name, c.Name}] = c
			}
		}
		for _, c := range b.Containers {
			w, ok := want[[3]string{c.Namespace, c.Pod, c.Name}]
			if !ok {
				t.Fatalf("unexpected container %s/%s/%s", c.Namespace, c.Pod, c.Name)
			}
			if c.CPU != w.CPUNanos || c.Memory != w.MemoryBytes || c.StartTime != w.StartTime.UnixNano() ||
				c.CPUTime != w.Time.UnixMilli()*1e6 || !c.Has(sample.HasCPU|sample.HasMemory) || c.Has(sample.HasSwap) {
				t.Fatalf("container %s/%s/%s = %+v, want %+v", c.Namespace, c.Pod, c.Name, c.Point, w)
			}
		}
	}
}

func TestDecode(t *testing.T) {
	const now = int64(1_700_000_000_000_000_000)
	type ctr struct {
		ns, pod, name string
		cpu, mem      uint64
		start         int64
		cpuTime       int64
		fields        sample.Field
	}
	tests := []struct {
		name       string
		in         string
		node       sample.Point
		containers []ctr
		skipped    int
		scrapeErr  bool
		err        string // substring of the error; "" for none
	}{
		{
			name: "timestamps and exact decimal conversion",
			in: "node_cpu_usage_seconds_total 4321.77 1700000000123\n" +
				"node_memory_working_set_bytes 5.5968768e+09 1700000000123\n" +
				`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web"} 0.100000001 1700000000456` + "\n" +
				`container_memory_working_set_bytes{container="app",namespace="shop",pod="web"} 6.7108864e+07 1700000000456` + "\n" +
				`container_start_time_seconds{container="app",namespace="shop",pod="web"} 1.6999e+09` + "\n",
			node:       sample.Point{CPU: 4321770000000, CPUTime: 1700000000123e6, Memory: 5596876800, MemoryTime: 1700000000123e6, Fields: sample.HasCPU | sample.HasMemory},
			containers: []ctr{{"shop", "web", "app", 100000001, 67108864, 1699900000e9, 1700000000456e6, sample.HasCPU | sample.HasMemory}},
		},
		{
			name:       "missing timestamps stand for the scrape time",
			in:         `container_cpu_usage_seconds_total{container="app",namespace="shop",pod="web"} 2` + "\n",
			containers: []ctr{{"shop", "web", "app", 2e9, 0, 0, now, sample.HasCPU}},
		},
		{
			name: "any label order, extra labels, blanks, one container",
			in: `container_cpu_usage_seconds_total{pod="web",namespace="shop",container="app"} 1 5` + "\n" +
				`container_memory_working_set_bytes { id = "x" , container="app",namespace="shop",pod="web", }   10   5` + "\n",
			containers: []ctr{{"shop", "web", "app", 1e9, 10, 0, 5e6, sample.HasCPU | sample.HasMemory}},
		},
		{
			name:       "escaped label values are unescaped",
			in:         `container_cpu_usage_seconds_total{container="a\"b\\c\nd",namespace="n",pod="p"} 1 5` + "\n",
			containers: []ctr{{"n", "p", "a\"b\\c\nd", 1e9, 0, 0, 5e6, sample.HasCPU}},
		},
		{
			name: "escaped values in any label order, one container",
			in: `container_cpu_usage_seconds_total{container="a\"b",namespace="n\\",pod="p"} 1 5` + "\n" +
				`container_memory_working_set_bytes{pod="p",container="a\"b",namespace="n\\"} 2 5` + "\n",
			containers: []ctr{{"n\\", "p", "a\"b", 1e9, 2, 0, 5e6, sample.HasCPU | sample.HasMemory}},
		},
		{
			name: "quoted and braced metric names",
			in: `{"container_cpu_usage_seconds_total",container="a",namespace="n",pod="p"} 1 5` + "\n" +
				`"container_memory_working_set_bytes"{container="a",namespace="n",pod="p"} 2 5` + "\n",
			containers: []ctr{{"n", "p", "a", 1e9, 2, 0, 5e6, sample.HasCPU | sample.HasMemory}},
		},
		{
			name: "NaN, Inf, negative values and old timestamps are skipped",
			in: "node_cpu_usage_seconds_total NaN 5\nnode_memory_working_set_bytes +Inf 5\n" +
				`container_cpu_usage_seconds_total{container="a",namespace="n",pod="p"} -1 5` + "\n" +
				`container_memory_working_set_bytes{container="a",namespace="n",pod="p"} 1 -5` + "\n",
			skipped: 4,
		},
		{
			name:    "container sample without a pod label is skipped",
			in:      `container_cpu_usage_seconds_total{container="a",namespace="n"} 1 5` + "\n",
			skipped: 1,
		},
		{
			name: "other families are read for syntax only",
			in: "# HELP pod_cpu_usage_seconds_total [STABLE] x\n# TYPE pod_cpu_usage_seconds_total counter\n" +
				`pod_cpu_usage_seconds_total{namespace="n",pod="p"} 1 5` + "\n# a comment\n\nscrape_error 0\n",
		},
		{
			name:      "resource_scrape_error 1 is reported",
			in:        "resource_scrape_error 1\n",
			scrapeErr: true,
		},
		{name: "cut off answer", in: "node_cpu_usage_seconds_total 1 5\nnode_memory", err: "line 2"},
		{name: "garbage", in: "<html>oops</html>\n", err: `line 1 "<html>oops</html>": invalid metric name`},
		{name: "value not a float", in: "node_cpu_usage_seconds_total abc 5\n", err: `expected float as value, got "abc"`},
		{name: "timestamp not an integer", in: "node_cpu_usage_seconds_total 1 5.5\n", err: "expected integer as timestamp"},
		{name: "spurious token", in: "node_cpu_usage_seconds_total 1 5 6\n", err: "spurious string after timestamp"},
		{name: "trailing blank", in: "node_cpu_usage_seconds_total 1 \n", err: "line 1"},
		{name: "unterminated label value", in: `container_cpu_usage_seconds_total{container="a} 1 5` + "\n", err: "line 1"},
		{name: "bad escape", in: `container_cpu_usage_seconds_total{container="\q",namespace="n",pod="p"} 1 5` + "\n", err: "invalid escape sequence"},
		{name: "duplicate label", in: `container_cpu_usage_seconds_total{pod="a",pod="b"} 1 5` + "\n", err: "duplicate label names"},
		{name: "hex float", in: "node_cpu_usage_seconds_total 0x1p3 5\n", err: "expected float"},
		{name: "histogram type on a consumed family", in: "# TYPE node_cpu_usage_seconds_total histogram\n", err: "unexpected type"},
		{name: "error names the line", in: "node_cpu_usage_seconds_total 1 5\n\n# c\nnode_memory_working_set_bytes 1 x\n", err: "line 4 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder()
			for round := 0; round < 2; round++ { // cold, then with a warm block cache
				b, err := decodeString(t, d, tc.in, now)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("error = %v, want one containing %q", err, tc.err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if b.Node != tc.node {
					t.Errorf("node = %+v, want %+v", b.Node, tc.node)
				}
				if b.Skipped != tc.skipped || b.KubeletError != tc.scrapeErr {
					t.Errorf("skipped = %d, kubelet error = %v; want %d, %v", b.Skipped, b.KubeletError, tc.skipped, tc.scrapeErr)
				}
				if len(b.Containers) != len(tc.containers) {
					t.Fatalf("containers = %+v, want %+v", b.Containers, tc.containers)
				}
				for i, w := range tc.containers {
					c := b.Containers[i]
					got := ctr{c.Namespace, c.Pod, c.Name, c.CPU, c.Memory, c.StartTime, c.CPUTime, c.Fields}
					if got != w {
						t.Errorf("container %d = %+v, want %+v", i, got, w)
					}
				}
			}
		})
	}
}

func TestDecodeSteadyStateAllocatesNothing(t *testing.T) {
	payload := kubeletsim.AppendResourceMetrics(nil, testNode(110, 2, time.Unix(1795367948, 0)))
	d := NewDecoder()
	var b sample.Batch
	if err := d.Decode(payload, 1, &b); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := d.Decode(payload, 1, &b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("steady-state decode allocates %v times, want 0", allocs)
	}
}

func TestDecoderForgetsGonePods(t *testing.T) {
	d := NewDecoder()
	var b sample.Batch
	at := time.Unix(1795367948, 0)
	for i := 0; i < 50; i++ {
		n := testNode(20, 1, at)
		for p := range n.Pods {
			n.Pods[p].Name = fmt.Sprintf("job-%d-%d", i, p) // every pod is new each round
		}
		if err := d.Decode(kubeletsim.AppendResourceMetrics(nil, n), 1, &b); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.blocks) > 4*20+64+2*20 {
		t.Fatalf("decoder keeps %d blocks for 20 live pods", len(d.blocks))
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := kubeletsim.AppendResourceMetrics(nil, testNode(110, 2, time.Unix(1795367948, 0)))
	d := NewDecoder()
	var batch sample.Batch
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(payload, 1, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeRound decodes one round of 500 nodes of 30 pods × 2
// containers per op, each node with its own decoder and answer, as a server
// does: unlike BenchmarkDecode, the decoders' caches are not in the CPU's
// caches when their answer comes.
func BenchmarkDecodeRound(b *testing.B) {
	const nodes = 500
	payloads := make([][]byte, nodes)
	decoders := make([]*Decoder, nodes)
	var batch sample.Batch
	for i := range nodes {
		payloads[i] = kubeletsim.AppendResourceMetrics(nil, testNode(30, 2, time.Unix(1795367948, 0)))
		decoders[i] = NewDecoder()
		if err := decoders[i].Decode(payloads[i], 1, &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(nodes * len(payloads[0])))
	b.ReportAllocs()
	for b.Loop() {
		for i, d := range decoders {
			if err := d.Decode(payloads[i], 1, &batch); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecoderLiveHeap reports what decoders keep per container series
// (heap after a collection ÷ containers): one decoder per node of 30 pods ×
// 2 containers, 500 nodes, each after two decodes. The batch is pooled per
// request in the server, so it is not counted.
func BenchmarkDecoderLiveHeap(b *testing.B) {
	const nodes = 500
	payload := kubeletsim.AppendResourceMetrics(nil, testNode(30, 2, time.Unix(1795367948, 0)))
	var batch sample.Batch
	heaptest.PerUnit(b, nodes*30*2, "container", func() any {
		decoders := make([]*Decoder, nodes)
		for i := range decoders {
			decoders[i] = NewDecoder()
			for range 2 {
				if err := decoders[i].Decode(payload, 1, &batch); err != nil {
					b.Fatal(err)
				}
			}
		}
		return decoders
	})
}
