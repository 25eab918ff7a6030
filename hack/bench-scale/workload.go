// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// createPods spreads the pods over the nodes (bound directly, like a
// scheduler would) and namespaces, and waits until the simulator has
// reported them all Running.
func createPods(ctx context.Context, c *localcluster.Cluster, b benchConfig) error {
	var wg sync.WaitGroup
	errs := make(chan error, b.namespaces)
	sem := make(chan struct{}, 16)
	for i := range b.namespaces {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.EnsureNamespace(ctx, nsName(i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	total := b.nodes * b.podsPerNode
	next := atomic.Int64{}
	var failed atomic.Pointer[error]
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total || failed.Load() != nil {
					return
				}
				if err := createPod(ctx, c, b, i); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return *err
	}
	// Counted in the simulator's informer: listing every pod each time
	// would hold gigabytes in kube-apiserver and here at 10,000 nodes.
	for {
		running := c.Fleet.RunningPods()
		if running >= total {
			return nil
		}
		klog.InfoS("Waiting for pods to run", "running", running, "of", total)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

func nsName(i int) string { return fmt.Sprintf("bench-%04d", i) }

func createPod(ctx context.Context, c *localcluster.Cluster, b benchConfig, i int) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%07d", i), Namespace: nsName(i % b.namespaces),
			Labels:      map[string]string{"app": fmt.Sprintf("app-%d", i%10)},
			Annotations: map[string]string{kubeletsim.CPUAnnotation: strconv.Itoa(10 + i%90)}},
		Spec: corev1.PodSpec{NodeName: fmt.Sprintf("sim-%d", i/b.podsPerNode)},
	}
	for j := range b.containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", j), Image: "registry.k8s.io/pause:3.10"})
	}
	_, err := c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	return err
}

// loadPerNamespace runs b.clients concurrent clients, each listing the pods
// of one namespace after another every b.clientInterval, like many HPAs,
// and returns every latency. Independent clients are not in phase, so their
// starts are spread over one interval unless b.lockstep asks for bursts.
func loadPerNamespace(ctx context.Context, mc metricsclient.Interface, b benchConfig) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	start := time.Now()
	deadline := start.Add(b.loadDuration)
	var wg sync.WaitGroup
	for w := range b.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !b.lockstep {
				time.Sleep(time.Until(start.Add(b.clientInterval * time.Duration(w) / time.Duration(b.clients))))
			}
			var mine []time.Duration
			for i := w; time.Now().Before(deadline); i += b.clients {
				t := time.Now()
				if _, err := mc.MetricsV1beta1().PodMetricses(nsName(i%b.namespaces)).List(ctx, metav1.ListOptions{}); err != nil {
					klog.ErrorS(err, "Per-namespace list")
					continue
				}
				mine = append(mine, time.Since(t))
				time.Sleep(b.clientInterval - time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}
