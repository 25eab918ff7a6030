// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package apitest builds the stores and informers the API's tests and
// benchmarks serve from: a store fed two scrapes of a cluster, and the
// matching nodes and Running pods.
package apitest

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/podindex"
	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// T0 is the time of the first scrape.
var T0 = time.Unix(1_700_000_000, 0)

// Cluster is a store and the informers' contents it answers for.
type Cluster struct {
	Store *storage.Store
	// Clock is 20 s after T0, 10 s after the second scrape.
	Clock *clocktesting.FakeClock
	Nodes cache.Indexer
	Pods  *Pods
}

// New builds a cluster of nodes × podsPerNode × containers: pod p of node n
// is "pod-n-p" in namespace "ns-<p%3>", labelled app=<p%2>; container c
// uses (c+1)·100m and (c+1)·1Mi; node n is labelled zone=<n%2>. Names in
// containerNames are given in reverse order to the store. Besides, a
// Running pod "ns-0/no-metrics" and a node "silent" have no metrics.
func New(tb testing.TB, nodes, podsPerNode int, containerNames ...string) *Cluster {
	tb.Helper()
	clk := clocktesting.NewFakeClock(T0.Add(20 * time.Second))
	c := &Cluster{
		Store: storage.New(storage.Config{Resolution: 15 * time.Second, StaleAfter: 30 * time.Second, Clock: clk}),
		Clock: clk,
		Nodes: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		Pods:  NewPods(),
	}
	for n := range nodes {
		node := fmt.Sprintf("node-%d", n)
		if err := c.Nodes.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{"zone": fmt.Sprint(n % 2)}}}); err != nil {
			tb.Fatal(err)
		}
		for i, ts := range []time.Duration{0, 10 * time.Second} {
			b := &sample.Batch{Node: sample.Point{CPUTime: T0.Add(ts).UnixNano(), MemoryTime: T0.Add(ts).UnixNano(),
				CPU: uint64(i) * 1e10, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory}}
			for p := range podsPerNode {
				for c := len(containerNames) - 1; c >= 0; c-- {
					b.Containers = append(b.Containers, sample.Container{
						Namespace: fmt.Sprintf("ns-%d", p%3), Pod: fmt.Sprintf("pod-%d-%d", n, p), Name: containerNames[c],
						StartTime: T0.Add(-time.Hour).UnixNano(),
						Point: sample.Point{CPUTime: T0.Add(ts).UnixNano(), MemoryTime: T0.Add(ts).UnixNano(),
							CPU: uint64(i) * uint64(c+1) * 1e9, Memory: uint64(c+1) << 20, Fields: sample.HasCPU | sample.HasMemory},
					})
				}
			}
			c.Store.Write(node, b, T0.Add(ts))
		}
		for p := range podsPerNode {
			c.Pods.Add(tb, Pod(fmt.Sprintf("ns-%d", p%3), fmt.Sprintf("pod-%d-%d", n, p), node, map[string]string{"app": fmt.Sprint(p % 2)}))
		}
	}
	c.Pods.Add(tb, Pod("ns-0", "no-metrics", "node-0", nil))
	if err := c.Nodes.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "silent"}}); err != nil {
		tb.Fatal(err)
	}
	return c
}

// Pod is a Running pod bound to node as the pod informer holds it.
func Pod(namespace, name, node string, labels map[string]string) *podindex.Pod {
	return podindex.NewPod(namespace, name, node, labels, "")
}

// Pods stands in for the pod informer: an indexer, and the handlers
// registered with it, told of each change as the informer would.
type Pods struct {
	indexer  cache.Indexer
	handlers []cache.ResourceEventHandler
}

// NewPods returns an informer without pods.
func NewPods() *Pods {
	return &Pods{indexer: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})}
}

func (p *Pods) GetIndexer() cache.Indexer { return p.indexer }

func (p *Pods) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	p.handlers = append(p.handlers, h)
	return nil, nil
}

// Add adds or replaces a pod and tells the handlers.
func (p *Pods) Add(tb testing.TB, pod *podindex.Pod) {
	tb.Helper()
	old, exists, err := p.indexer.Get(pod)
	if err == nil {
		err = p.indexer.Update(pod)
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range p.handlers {
		if exists {
			h.OnUpdate(old, pod)
		} else {
			h.OnAdd(pod, false)
		}
	}
}

// Delete removes a pod and tells the handlers.
func (p *Pods) Delete(tb testing.TB, namespace, name string) {
	tb.Helper()
	pod := Pod(namespace, name, "", nil)
	if err := p.indexer.Delete(pod); err != nil {
		tb.Fatal(err)
	}
	for _, h := range p.handlers {
		h.OnDelete(pod)
	}
}
