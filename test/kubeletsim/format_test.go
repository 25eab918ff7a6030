// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"strings"
	"testing"
	"time"
)

func TestAppendResourceMetrics(t *testing.T) {
	at := time.Unix(1_700_000_010, 0)
	start := time.Unix(1_700_000_000, 500_000_000)
	pods := []PodStats{{Namespace: "ns", Name: "p", Containers: []ContainerStats{
		{Name: "app", StartTime: start, Time: at, CPUNanos: 2_500_000_000, MemoryBytes: 1 << 20, SwapBytes: 1024},
	}}}
	tests := []struct {
		name   string
		stats  NodeStats
		want   string
		absent []string
	}{
		{
			name:  "without swap the swap families are left out entirely",
			stats: NodeStats{Time: at, CPUNanos: 12_000_000_000, MemoryBytes: 2 << 20, Pods: pods},
			want: `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="ns",pod="p"} 2.5 1700000010000
`,
			absent: []string{"swap"},
		},
		{
			name:  "start time without a timestamp",
			stats: NodeStats{Time: at, Pods: pods},
			want: `container_start_time_seconds{container="app",namespace="ns",pod="p"} 1.7000000005e+09
`,
		},
		{
			name:  "swap families with swap",
			stats: NodeStats{Time: at, WithSwap: true, SwapBytes: 4096, Pods: pods},
			want: `# TYPE node_swap_usage_bytes gauge
node_swap_usage_bytes 4096 1700000010000
`,
		},
		{
			name:   "a failed stats collection has nothing but the error",
			stats:  NodeStats{Time: at, CPUNanos: 1, MemoryBytes: 2, ScrapeError: true, Pods: pods},
			want:   "resource_scrape_error 1\n",
			absent: []string{"container_", "pod_", "node_"},
		},
		{
			name:   "a node without pods has no container families",
			stats:  NodeStats{Time: at, CPUNanos: 1, MemoryBytes: 2},
			want:   "node_cpu_usage_seconds_total 1e-09 1700000010000\n",
			absent: []string{"container_", "pod_"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := string(AppendResourceMetrics(nil, &tc.stats))
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks\n%s\ngot\n%s", tc.want, out)
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("output has %q:\n%s", a, out)
				}
			}
			if !strings.HasSuffix(out, "\n") {
				t.Error("output does not end with a newline")
			}
		})
	}
}

func TestAnnotatedValue(t *testing.T) {
	for _, tc := range []struct {
		annotation, container string
		want                  int64
	}{
		{"", "app", 7},
		{"250", "app", 250},
		{"app=250,sidecar=10", "sidecar", 10},
		{"app=250", "other", 7},
		{"app=64Mi", "app", 64 << 20},
		{"app=nonsense", "app", 7},
		{"app=10,sidecar=-", "sidecar", Absent},
		{"-", "app", Absent},
	} {
		if got := annotatedValue(tc.annotation, tc.container, 7); got != tc.want {
			t.Errorf("annotatedValue(%q, %q) = %d, want %d", tc.annotation, tc.container, got, tc.want)
		}
	}
}
