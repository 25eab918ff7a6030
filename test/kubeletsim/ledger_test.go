// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// testFleet is a fleet of the named nodes whose pods and Node objects are
// what the test puts in the returned indexers; it serves nothing.
func testFleet(t *testing.T, history time.Duration, nodes ...string) (f *Fleet, pods, nodeObjects cache.Indexer) {
	t.Helper()
	f = New(Config{Nodes: nodes, StatsInterval: time.Second, History: history})
	pods = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byNode: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}})
	f.pods = pods
	nodeObjects = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	f.nodes = corelisters.NewNodeLister(nodeObjects)
	return f, pods, nodeObjects
}

func runningPod(name, node, cpu string, started time.Time, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
			Annotations: map[string]string{CPUAnnotation: cpu, StartedAnnotation: started.Format(time.RFC3339)}},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

// TestNodeCounterAccumulates binds, removes, restarts and re-rates pods
// on a node between its stats, as a scheduler and a kubelet do, and checks
// what a reader of two consecutive answers computes: the node's rate lies
// between its overhead and its overhead plus the rates of every pod
// running at either answer, its counter never goes down, and a container
// that ran through both grew at exactly its rate. The earlier simulator,
// whose node counter was its pods' current rates times its uptime, made the
// node's rate jump by months' worth of CPU when a pod was bound.
func TestNodeCounterAccumulates(t *testing.T) {
	f, pods, _ := testFleet(t, time.Hour, "n0", "n1")
	t0 := time.Unix(1_800_000_000, 0)
	longAgo := t0.Add(-time.Hour)
	type step struct {
		name   string
		change func(t *testing.T)
	}
	add := func(p *corev1.Pod) func(*testing.T) {
		return func(t *testing.T) {
			if err := pods.Add(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(name string) func(*testing.T) {
		return func(t *testing.T) {
			obj, ok, _ := pods.GetByKey("ns/" + name)
			if !ok {
				t.Fatalf("no pod %s", name)
			}
			if err := pods.Delete(obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []step{
		{"an empty node", func(*testing.T) {}},
		{"a pod bound that started long ago", add(runningPod("a", "n0", "250", longAgo, "c0"))},
		{"a second pod with two containers", add(runningPod("b", "n0", "c0=100,c1=40", longAgo, "c0", "c1"))},
		{"a pod on another node", add(runningPod("other", "n1", "4000", longAgo, "c0"))},
		{"the first pod removed", del("a")},
		{"the second pod restarted", add(runningPod("b", "n0", "c0=100,c1=40", t0.Add(5*time.Second+500*time.Millisecond), "c0", "c1"))},
		{"the second pod re-rated", add(runningPod("b", "n0", "c0=900,c1=40", t0.Add(5*time.Second+500*time.Millisecond), "c0", "c1"))},
		{"a pod that started moments ago", add(runningPod("c", "n0", "300", t0.Add(7*time.Second), "c0"))},
		{"every pod gone", func(t *testing.T) { del("b")(t); del("c")(t) }},
		{"nothing changed", func(*testing.T) {}},
	}
	podRates := func(s *NodeStats) map[string]uint64 {
		rates := map[string]uint64{}
		for _, p := range s.Pods {
			obj, ok, _ := pods.GetByKey(p.Namespace + "/" + p.Name)
			if !ok {
				continue
			}
			for _, c := range p.Containers {
				m, _ := ContainerUsage(obj.(*corev1.Pod), c.Name)
				rates[p.Name+"/"+c.Name] = uint64(m)
			}
		}
		return rates
	}
	var prev *NodeStats
	var prevRates map[string]uint64
	for k, st := range steps {
		st.change(t)
		now := t0.Add(time.Duration(k)*time.Second + 300*time.Millisecond)
		s := f.Stats(0, now)
		rates := podRates(s)
		if got, ok := f.StatsAt("n0", now.Truncate(time.Second)); !ok || got != s {
			t.Errorf("%s: StatsAt does not find the stats just reported", st.name)
		}
		if prev == nil {
			prev, prevRates = s, rates
			continue
		}
		if s.CPUNanos < prev.CPUNanos {
			t.Fatalf("%s: the node's counter went down: %d → %d", st.name, prev.CPUNanos, s.CPUNanos)
		}
		seconds := uint64(s.Time.Sub(prev.Time) / time.Second)
		rate := (s.CPUNanos - prev.CPUNanos) / seconds / 1e6 // millicores
		ceiling := uint64(NodeOverheadMillicores)
		for name, r := range prevRates {
			ceiling += max(r, rates[name])
		}
		for name, r := range rates {
			if _, ok := prevRates[name]; !ok {
				ceiling += r
			}
		}
		if rate < NodeOverheadMillicores || rate > ceiling {
			t.Errorf("%s: the node's rate is %dm, want within [%d, %d]m", st.name, rate, NodeOverheadMillicores, ceiling)
		}
		for _, p := range s.Pods {
			for _, c := range p.Containers {
				before, ok := containerOf(prev, p.Namespace, p.Name, c.Name)
				if !ok || !before.StartTime.Equal(c.StartTime) {
					continue
				}
				want := before.CPUNanos + rates[p.Name+"/"+c.Name]*uint64(s.Time.Sub(prev.Time))/1000
				if c.CPUNanos != want {
					t.Errorf("%s: container %s/%s at %d, want %d", st.name, p.Name, c.Name, c.CPUNanos, want)
				}
			}
		}
		prev, prevRates = s, rates
	}
	if _, ok := f.StatsAt("n0", t0.Add(-time.Second)); ok {
		t.Error("StatsAt found stats for a moment never reported")
	}
}

// TestStatsHistoryKept: stats are kept for History and no longer.
func TestStatsHistoryKept(t *testing.T) {
	f, _, _ := testFleet(t, 10*time.Second, "n0")
	t0 := time.Unix(1_800_000_000, 0)
	for k := range 30 {
		f.Stats(0, t0.Add(time.Duration(k)*time.Second))
	}
	last := t0.Add(29 * time.Second)
	for _, tc := range []struct {
		at   time.Time
		kept bool
	}{{last, true}, {last.Add(-10 * time.Second), true}, {last.Add(-11 * time.Second), false}, {t0, false}} {
		if _, ok := f.StatsAt("n0", tc.at); ok != tc.kept {
			t.Errorf("stats of %s kept = %v, want %v", tc.at.Sub(t0), ok, tc.kept)
		}
	}
}

// TestHostileAnswers: a clock-ahead kubelet moves every timestamp and
// nothing else, and one claiming the next node's pods lists them beside
// its own, inflated, leaving its own and the other node's truth as they
// were.
func TestHostileAnswers(t *testing.T) {
	f, pods, _ := testFleet(t, time.Minute, "n0", "n1")
	t0 := time.Unix(1_800_000_000, 0)
	for _, p := range []*corev1.Pod{runningPod("a", "n0", "100", t0.Add(-time.Hour), "c"), runningPod("b", "n1", "200", t0.Add(-time.Hour), "c")} {
		if err := pods.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	own := f.Stats(0, t0)
	ahead := own.shifted(clockJump)
	if !ahead.Time.Equal(own.Time.Add(time.Hour)) || !ahead.Pods[0].Containers[0].Time.Equal(own.Pods[0].Containers[0].Time.Add(time.Hour)) ||
		ahead.CPUNanos != own.CPUNanos || ahead.Pods[0].Containers[0].CPUNanos != own.Pods[0].Containers[0].CPUNanos {
		t.Errorf("shifted: %+v from %+v", ahead, own)
	}
	if own.Pods[0].Containers[0].Time.Equal(ahead.Pods[0].Containers[0].Time) {
		t.Error("shifting changed the original")
	}
	other := f.Stats(1, t0)
	claimed := own.withClaimed(other)
	if len(claimed.Pods) != 2 || len(own.Pods) != 1 || claimed.CPUNanos != own.CPUNanos {
		t.Fatalf("claimed: %+v", claimed)
	}
	for _, p := range claimed.Pods {
		if p.Name == "b" && (p.Containers[0].CPUNanos != 50*other.Pods[0].Containers[0].CPUNanos || p.Containers[0].MemoryBytes != 3*other.Pods[0].Containers[0].MemoryBytes) {
			t.Errorf("claimed pod %+v, from %+v", p, other.Pods[0])
		}
	}
	if truth, ok := f.StatsAt("n1", t0); !ok || truth.Pods[0].Containers[0].CPUNanos != other.Pods[0].Containers[0].CPUNanos {
		t.Error("claiming changed the other node's truth")
	}
}

// TestRunningPods: only the pods the informer holds Running are counted,
// and a fleet that has not started counts none.
func TestRunningPods(t *testing.T) {
	if n := New(Config{Nodes: []string{"n1"}}).RunningPods(); n != 0 {
		t.Errorf("a fleet not started: %d running pods", n)
	}
	f, pods, _ := testFleet(t, 0, "n1")
	started := time.Unix(1_700_000_000, 0)
	pending := runningPod("p3", "n1", "10", started, "c")
	pending.Status.Phase = corev1.PodPending
	for _, p := range []*corev1.Pod{runningPod("p1", "n1", "10", started, "c"), runningPod("p2", "n1", "10", started, "c"), pending} {
		if err := pods.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.RunningPods(); n != 2 {
		t.Errorf("%d running pods, want 2", n)
	}
}
