// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// TestUpstreamSideBySide runs upstream metrics-server (a binary built from
// its source outside this repository, E2E_UPSTREAM_METRICS_SERVER; skipped
// without) beside this server against the same real node, and logs what
// each serves for a burner and the node next to the cgroups' counters over
// the same windows. Only this server's values are asserted.
func TestUpstreamSideBySide(t *testing.T) {
	binary := os.Getenv("E2E_UPSTREAM_METRICS_SERVER")
	if binary == "" {
		t.Skip("E2E_UPSTREAM_METRICS_SERVER is not set")
	}
	ctx := context.Background()
	port := cluster.Ports.SecondMetricsServer()
	p, err := cluster.StartMetricsServerBinary(ctx, binary, "metrics-server-upstream", port,
		"--metric-resolution="+resolution.String(), "--kubelet-request-timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	upstream, err := metricsclient.NewForConfig(cluster.MetricsServerConfig(port))
	if err != nil {
		t.Fatal(err)
	}
	pod := runPod(t, podOnNode("side-by-side", burner("burner", 200, 48<<20)))
	container := sampleCounter(t, cgroupDir(t, "cpuacct", pod, containerID(t, pod, "burner"))+"/cpuacct.usage")
	root := sampleCounter(t, "/sys/fs/cgroup/cpuacct/cpuacct.usage")
	servers := []struct {
		name   string
		client metricsclient.Interface
		last   time.Time
		seen   int
	}{{"this server", metrics, time.Time{}, 0}, {"upstream", upstream, time.Time{}, 0}}
	for end := time.Now().Add(7 * resolution); time.Now().Before(end); time.Sleep(time.Second) {
		for i := range servers {
			s := &servers[i]
			m, err := s.client.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil || !m.Timestamp.After(s.last) || m.Window.Duration < resolution/2 {
				continue
			}
			s.last = m.Timestamp.Time
			truth, err := container.rate(m.Timestamp.Time, m.Window.Duration)
			if err != nil {
				continue
			}
			cpu := millicores(containerUsage(m, "burner")[corev1.ResourceCPU])
			mem := containerUsage(m, "burner")[corev1.ResourceMemory]
			line := "%-11s burner at %s over %5.2fs: %6.1fm (cgroup %6.1fm, %+5.1f%%), working set %d"
			args := []any{s.name, m.Timestamp.Format(time.TimeOnly), m.Window.Seconds(), cpu, truth, 100 * (cpu - truth) / truth, mem.Value()}
			if n, err := s.client.MetricsV1beta1().NodeMetricses().Get(ctx, nodeName, metav1.GetOptions{}); err == nil {
				if nodeTruth, err := root.rate(n.Timestamp.Time, n.Window.Duration); err == nil {
					nodeCPU := millicores(n.Usage[corev1.ResourceCPU])
					line += "; node %6.1fm (root cgroup %6.1fm, %+5.1f%%)"
					args = append(args, nodeCPU, nodeTruth, 100*(nodeCPU-nodeTruth)/nodeTruth)
				}
			}
			t.Logf(line, args...)
			s.seen++
			if i == 0 && math.Abs(cpu-truth) > cpuTolerance(truth) {
				t.Errorf("this server: served %.1fm, the cgroup used %.1fm", cpu, truth)
			}
		}
	}
	for _, s := range servers {
		if s.seen < 3 {
			t.Errorf("%s: %d windows seen, want 3 or more", s.name, s.seen)
		}
	}
}
