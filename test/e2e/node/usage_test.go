// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
)

// cpuTolerance is how far a served rate may be from the cgroup's over the
// same window: 5% and 5m, for the time between the kubelet's reading of
// the counter and the timestamp it gives it.
func cpuTolerance(truth float64) float64 { return 0.05*truth + 5 }

// TestCPUAgreesWithCgroup: a burner's served CPU rate agrees with its own
// cgroup counter (cpuacct.usage, read by the test) over the same window,
// within 5% + 5m, for several windows in a row; a burner limited to 100m
// that tries to use 300m is never served above its limit beyond that
// tolerance; and the node's served rate agrees with the root cgroup's
// counter within 5%.
func TestCPUAgreesWithCgroup(t *testing.T) {
	pod := runPod(t, podOnNode("burner", burner("free", 200, 48<<20), withCPULimit(burner("limited", 300, 16<<20), "100m")))
	free := sampleCounter(t, cgroupDir(t, "cpuacct", pod, containerID(t, pod, "free"))+"/cpuacct.usage")
	limited := sampleCounter(t, cgroupDir(t, "cpuacct", pod, containerID(t, pod, "limited"))+"/cpuacct.usage")
	root := sampleCounter(t, "/sys/fs/cgroup/cpuacct/cpuacct.usage")
	ctx := context.Background()

	const windows = 4
	var lastPod, lastNode time.Time
	checkedPod, checkedNode := 0, 0
	deadline := time.Now().Add(time.Duration(windows+4) * resolution)
	for (checkedPod < windows || checkedNode < windows) && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if m, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err == nil && m.Timestamp.Time.After(lastPod) {
			lastPod = m.Timestamp.Time
			for _, c := range m.Containers {
				sampler := map[string]*counterSampler{"free": free, "limited": limited}[c.Name]
				truth, err := sampler.rate(m.Timestamp.Time, m.Window.Duration)
				if err != nil {
					t.Logf("container %s: %v", c.Name, err)
					continue
				}
				served := millicores(c.Usage[corev1.ResourceCPU])
				t.Logf("container %s at %s over %s: served %.1fm, cgroup %.1fm", c.Name, m.Timestamp.Format(time.TimeOnly), m.Window.Duration, served, truth)
				if math.Abs(served-truth) > cpuTolerance(truth) {
					t.Errorf("container %s: served %.1fm, its cgroup used %.1fm over the same window", c.Name, served, truth)
				}
				if c.Name == "limited" && served > 100+cpuTolerance(100) {
					t.Errorf("container limited to 100m served at %.1fm", served)
				}
			}
			checkedPod++
		}
		if m, err := metrics.MetricsV1beta1().NodeMetricses().Get(ctx, nodeName, metav1.GetOptions{}); err == nil && m.Timestamp.Time.After(lastNode) {
			lastNode = m.Timestamp.Time
			truth, err := root.rate(m.Timestamp.Time, m.Window.Duration)
			if err != nil {
				t.Logf("node: %v", err)
				continue
			}
			served := millicores(m.Usage[corev1.ResourceCPU])
			t.Logf("node at %s over %s: served %.1fm, root cgroup %.1fm", m.Timestamp.Format(time.TimeOnly), m.Window.Duration, served, truth)
			if math.Abs(served-truth) > 0.05*truth {
				t.Errorf("node: served %.1fm, the root cgroup used %.1fm over the same window", served, truth)
			}
			checkedNode++
		}
	}
	if checkedPod < windows || checkedNode < windows {
		t.Fatalf("checked %d pod and %d node windows, want %d each", checkedPod, checkedNode, windows)
	}
}

// TestWorkingSetAgreesWithSummary: a container's served working set equals
// what the kubelet's Summary API reports for it within 1%.
func TestWorkingSetAgreesWithSummary(t *testing.T) {
	pod := runPod(t, podOnNode("holder", burner("holder", 10, 96<<20)))
	ctx := context.Background()
	e2eutil.Eventually(t, 3*resolution, func() error {
		m, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		served := containerUsage(m, "holder")[corev1.ResourceMemory]
		summary, err := node.Summary(ctx)
		if err != nil {
			return err
		}
		truth, ok := summary.WorkingSet(namespace, pod.Name, "holder")
		if !ok {
			return fmt.Errorf("the summary lists no container holder")
		}
		t.Logf("working set: served %d, summary %d", served.Value(), truth)
		if d := math.Abs(float64(served.Value()) - float64(truth)); d > 0.01*float64(truth) {
			return fmt.Errorf("served working set %d, the kubelet's summary says %d", served.Value(), truth)
		}
		return nil
	})
}

func containerUsage(m *metricsv1beta1.PodMetrics, name string) corev1.ResourceList {
	for _, c := range m.Containers {
		if c.Name == name {
			return c.Usage
		}
	}
	return nil
}
