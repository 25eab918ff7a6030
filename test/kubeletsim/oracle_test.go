// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestOracle: served values taken from two of a node's answers pass; a
// rate skewed by 2m, a working set off by a byte, a point at a moment the
// node never reported, a rate above the node's capacity (what the earlier
// simulator's node counter made served) and a container the node did not
// report fail, each counted.
func TestOracle(t *testing.T) {
	f, pods, nodes := testFleet(t, time.Hour, "n0")
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n0"},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}}
	if err := nodes.Add(node); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	if err := pods.Add(runningPod("web", "n0", "app=250,sidecar=15", t0.Add(-time.Hour), "app", "sidecar")); err != nil {
		t.Fatal(err)
	}
	fresh := runningPod("fresh", "n0", "40", t0.Add(5*time.Second), "c0")
	if err := pods.Add(fresh); err != nil {
		t.Fatal(err)
	}
	for k := range 21 {
		f.Stats(0, t0.Add(time.Duration(k)*time.Second))
	}
	at, window := t0.Add(20*time.Second), 10*time.Second
	nodeMetrics := func(cpu, mem string, at time.Time) *metricsv1beta1.NodeMetrics {
		return &metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "n0"}, Timestamp: metav1.NewTime(at),
			Window: metav1.Duration{Duration: window}, Usage: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	podMetrics := func(name string, containers ...metricsv1beta1.ContainerMetrics) *metricsv1beta1.PodMetrics {
		return &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Timestamp: metav1.NewTime(at),
			Window: metav1.Duration{Duration: window}, Containers: containers}
	}
	container := func(name, cpu, mem string) metricsv1beta1.ContainerMetrics {
		return metricsv1beta1.ContainerMetrics{Name: name, Usage: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	nodeMem := int64(NodeOverheadMemory + 3*DefaultMemoryBytes)
	mem := func(b int64) string { return resource.NewQuantity(b, resource.BinarySI).String() }
	tests := []struct {
		name  string
		check func(o *Oracle)
		wrong string // a part of the violation; "" for none
	}{
		{"the node as reported", func(o *Oracle) { o.CheckNode(nodeMetrics("405m", mem(nodeMem), at)) }, ""},
		{"the pod as reported", func(o *Oracle) {
			o.CheckPod(podMetrics("web", container("app", "250m", mem(DefaultMemoryBytes)), container("sidecar", "15m", mem(DefaultMemoryBytes))))
		}, ""},
		{"a container rated against its start", func(o *Oracle) { o.CheckPod(podMetrics("fresh", container("c0", "40m", mem(DefaultMemoryBytes)))) }, ""},
		{"a node's rate skewed", func(o *Oracle) { o.CheckNode(nodeMetrics("407m", mem(nodeMem), at)) }, "served CPU 407m"},
		{"a node's working set off", func(o *Oracle) { o.CheckNode(nodeMetrics("405m", mem(nodeMem+1), at)) }, "served working set"},
		{"a moment never reported", func(o *Oracle) { o.CheckNode(nodeMetrics("405m", mem(nodeMem), at.Add(500*time.Millisecond))) }, "never reported"},
		{"a rate above capacity", func(o *Oracle) { o.CheckNode(nodeMetrics("426049217m", mem(nodeMem), at)) }, "above its capacity"},
		{"a container's rate skewed", func(o *Oracle) {
			o.CheckPod(podMetrics("web", container("app", "240m", mem(DefaultMemoryBytes)), container("sidecar", "15m", mem(DefaultMemoryBytes))))
		}, "no two readings explain it"},
		{"a container not reported", func(o *Oracle) { o.CheckPod(podMetrics("web", container("other", "1m", mem(1)))) }, "not reported"},
		{"a pod no node reported", func(o *Oracle) { o.CheckPod(podMetrics("ghost", container("app", "1m", mem(1)))) }, "no node reported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOracle(f)
			tc.check(o)
			r := o.Result()
			if r.Checked == 0 {
				t.Fatal("nothing was checked")
			}
			switch {
			case tc.wrong == "" && r.Wrong > 0:
				t.Errorf("judged wrong: %v", r.Violations)
			case tc.wrong != "" && (r.Wrong == 0 || !strings.Contains(strings.Join(r.Violations, "\n"), tc.wrong)):
				t.Errorf("violations %v, want one saying %q", r.Violations, tc.wrong)
			}
		})
	}
}
