// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// TestContainerRestart moves a container's start time forward, which makes
// its counter start again from zero: the rate served must never be
// negative or huge, only absent for a moment or exact.
func TestContainerRestart(t *testing.T) {
	ctx := context.Background()
	restartedAt := time.Now().Truncate(time.Second)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, kubeletsim.StartedAnnotation, restartedAt.Format(time.RFC3339))
	if _, err := cluster.Client.CoreV1().Pods(namespace).Patch(ctx, "restarts", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * resolution)
	sawFresh := false
	for time.Now().Before(deadline) && !sawFresh {
		pm, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, "restarts", metav1.GetOptions{})
		if err == nil {
			if cpu := pm.Containers[0].Usage.Cpu(); cpu.MilliValue() != 200 || cpu.Sign() < 0 {
				t.Fatalf("rate around the restart: %s, want 200m", cpu)
			}
			sawFresh = pm.Timestamp.After(restartedAt)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !sawFresh {
		t.Fatalf("no rate after the restart within %s", 3*resolution)
	}
}

// TestKubeletFaults gives six nodes six ways of failing: the others stay
// served and fresh, the failing ones drop out after the staleness bound,
// each failure is logged and counted by reason, and all recover.
func TestKubeletFaults(t *testing.T) {
	ctx := context.Background()
	faults := map[string]kubeletsim.Fault{
		"node-4": kubeletsim.FaultHang, "node-5": kubeletsim.FaultError, "node-6": kubeletsim.FaultGarbage,
		"node-7": kubeletsim.FaultHuge, "node-8": kubeletsim.FaultTruncate, "node-9": kubeletsim.FaultBadCert,
	}
	start := time.Now()
	setFaults(t, faults)
	eventually(t, 6*resolution, func() error {
		list, err := metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		served := map[string]bool{}
		for _, n := range list.Items {
			served[n.Name] = true
			if _, faulty := faults[n.Name]; !faulty && !n.Timestamp.After(start) {
				return fmt.Errorf("healthy %s is stale: %s", n.Name, n.Timestamp)
			}
		}
		for _, n := range []string{"node-0", "node-1", "node-2", "node-3"} {
			if !served[n] {
				return fmt.Errorf("healthy %s not served", n)
			}
		}
		for n := range faults {
			if served[n] {
				return fmt.Errorf("%s (%s) still served", n, faults[n])
			}
		}
		return nil
	})
	if err := cluster.Failed(); err != nil {
		t.Fatal(err)
	}
	_, body := direct(t, "/metrics", true)
	for _, reason := range []string{"timeout", "http_status", "decode", "too_large", "tls_unknown_authority"} {
		if !strings.Contains(body, fmt.Sprintf(`resource_metrics_scraper_failures_total{node_state="ready",reason=%q}`, reason)) {
			t.Errorf("/metrics counts no %s failure of a ready node", reason)
		}
	}
	if !strings.Contains(body, `metrics_server_kubelet_request_total{success="false"}`) {
		t.Error(`/metrics lacks metrics_server_kubelet_request_total{success="false"}`)
	}
	logs, err := os.ReadFile(cluster.LogPath("metrics-server"))
	if err != nil {
		t.Fatal(err)
	}
	// Each failing node is logged when it starts failing and again only
	// when its reason changes; a success in between (the node's faults of
	// earlier tests ended) starts afresh.
	reasons := map[string][]string{}
	for _, line := range strings.Split(string(logs), "\n") {
		failed, recovered := strings.Contains(line, `"Failed to scrape node"`), strings.Contains(line, `"Scraping node succeeds again"`)
		if !failed && !recovered {
			continue
		}
		for node := range faults {
			if !strings.Contains(line, `node="`+node+`"`) {
				continue
			}
			reason := "succeeded"
			if failed {
				_, reason, _ = strings.Cut(line, `reason="`)
			}
			reasons[node] = append(reasons[node], reason)
		}
	}
	for node, f := range faults {
		got := reasons[node]
		if !slices.ContainsFunc(got, func(r string) bool { return r != "succeeded" }) {
			t.Errorf("%s (%s) failures not logged", node, f)
		}
		for i := 1; i < len(got); i++ {
			if got[i] == got[i-1] {
				t.Errorf("%s (%s) logged twice for the same reason: %v", node, f, got)
			}
		}
	}
}

// setFaults gives nodes faults and, when the test ends, takes them away
// and waits until the main metrics server serves every node again.
func setFaults(t *testing.T, faults map[string]kubeletsim.Fault) {
	t.Helper()
	ctx := context.Background()
	set := func(node string, f kubeletsim.Fault) {
		value := "null"
		if f != kubeletsim.FaultNone {
			value = fmt.Sprintf("%q", f)
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, kubeletsim.FaultAnnotation, value)
		if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for node, f := range faults {
		set(node, f)
	}
	// Later tests need every node back, whatever happens here.
	t.Cleanup(func() {
		for node := range faults {
			set(node, kubeletsim.FaultNone)
		}
		// Backed-off nodes sit out up to 8 rounds before their next
		// attempt, then need two points.
		eventually(t, 12*resolution, func() error {
			list, err := metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(list.Items) != nodeCount {
				return fmt.Errorf("%d nodes served after recovery, want %d", len(list.Items), nodeCount)
			}
			return nil
		})
	})
}

// TestAPIServerRestart stops kube-apiserver under the metrics server and
// starts it again: the metrics server keeps running and serving fresh
// metrics through the aggregation layer afterwards.
func TestAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	if err := cluster.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	eventually(t, 4*resolution, func() error {
		if err := cluster.Failed(); err != nil {
			return err
		}
		list, err := metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		fresh := 0
		for _, n := range list.Items {
			if n.Timestamp.After(restarted) {
				fresh++
			}
		}
		if fresh != nodeCount {
			return fmt.Errorf("%d of %d nodes fresh since the restart", fresh, nodeCount)
		}
		return nil
	})
	if _, err := kubectl(t, "top", "pods", "-n", namespace); err != nil {
		t.Fatal(err)
	}
}
