// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// measure starts a metrics server with start and measures it: the start
// to all pods served, then whole scrape cycles with one all-pods list each,
// then per-namespace lists under load, and last its live heap, whose
// profile is kept in heapFile.
func measure(ctx context.Context, c *localcluster.Cluster, mc metricsclient.Interface, b benchConfig, heapFile string, start func(context.Context) error) (result, error) {
	var r result
	var err error
	if r.startToServed, err = startToAllServed(ctx, mc, b, start); err != nil {
		return r, err
	}
	// Warm-up: one more resolution, then measure whole cycles, serving one
	// all-pods list per cycle as the targets assume.
	time.Sleep(b.resolution)
	pid := c.MetricsServerPID()
	src, err := newMetricsSource(c)
	if err != nil {
		return r, err
	}
	if err := measureCycles(ctx, mc, b, pid, src, heapFile, &r); err != nil {
		return r, err
	}
	if err := measureLoad(ctx, mc, b, pid, src, &r); err != nil {
		return r, err
	}
	return r, measureLiveHeap(b, src, heapFile, &r)
}

// startToAllServed starts the server and times it until an all-pods list
// returns every pod.
func startToAllServed(ctx context.Context, mc metricsclient.Interface, b benchConfig, start func(context.Context) error) (time.Duration, error) {
	total := b.nodes * b.podsPerNode
	started := time.Now()
	if err := start(ctx); err != nil {
		return 0, err
	}
	for {
		n, _, err := listAllPods(ctx, mc)
		if err == nil && n == total {
			break
		}
		if time.Since(started) > 5*time.Minute {
			return 0, fmt.Errorf("pods not all served after 5 minutes (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(started)
	klog.InfoS("All pods served", "after", took)
	return took, nil
}

// measureCycles measures b.cycles scrape cycles with one all-pods list
// each: CPU, RSS (sampled each second), the mean cycle and the heap in use,
// with a CPU profile if asked.
func measureCycles(ctx context.Context, mc metricsclient.Interface, b benchConfig, pid int, src metricsSource, heapFile string, r *result) error {
	before, err := readCounters(pid, src)
	if err != nil {
		return err
	}
	wall0 := time.Now()
	profiled := make(chan error, 1)
	if b.cpuProfile {
		file := filepath.Join(filepath.Dir(heapFile), strings.Replace(filepath.Base(heapFile), "heap", "cpu", 1))
		seconds := b.cycles*int(b.resolution/time.Second) - 1
		go func() { profiled <- cpuProfile(src, seconds, file) }()
	} else {
		profiled <- nil
	}
	var rss, file, anonymous []float64
	for i := range b.cycles {
		cycleEnd := wall0.Add(time.Duration(i+1) * b.resolution)
		_, took, err := listAllPods(ctx, mc)
		if err != nil {
			return err
		}
		r.allPods = append(r.allPods, took)
		for time.Now().Before(cycleEnd) {
			v, err := residentMiB(pid)
			if err != nil {
				return err
			}
			rss, file, anonymous = append(rss, v.all), append(file, v.file), append(anonymous, v.anonymous)
			time.Sleep(time.Second)
		}
	}
	wall := time.Since(wall0).Seconds()
	if err := <-profiled; err != nil {
		return err
	}
	after, err := readCounters(pid, src)
	if err != nil {
		return err
	}
	cpu := after.cpu - before.cpu
	r.cpuMillicores = cpu / wall * 1000
	r.cpuSecondsPerCycle = cpu / float64(b.cycles)
	n := after.ticks.count - before.ticks.count
	if n <= 0 {
		return fmt.Errorf("no scrape round finished in %d cycles", b.cycles)
	}
	r.cycleSeconds = (after.ticks.sum - before.ticks.sum) / n
	r.steadyRSS, r.steadyFile, r.steadyAnonymous = median(rss), median(file), median(anonymous)
	heap, err := gauge(src, "go_memstats_heap_inuse_bytes")
	if err != nil {
		return err
	}
	r.heapInUse = heap / (1 << 20)
	return nil
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// measureLoad runs the per-namespace load, logs the server's own timing of
// it, then ten more all-pods lists, and reads the peak RSS.
func measureLoad(ctx context.Context, mc metricsclient.Interface, b benchConfig, pid int, src metricsSource, r *result) error {
	served0, err := listDurations(src, "namespace")
	if err != nil {
		return err
	}
	r.perNamespace = loadPerNamespace(ctx, mc, b)
	served1, err := listDurations(src, "namespace")
	if err != nil {
		return err
	}
	served := served1.since(served0)
	// The server's own view of the same requests, to tell its share of the
	// latency from the aggregation layer's and the clients'.
	klog.InfoS("Per-namespace lists as the server timed them", "requests", served.count(),
		"p50Within", served.quantileBound(0.5), "p99Within", served.quantileBound(0.99))
	for range 10 {
		_, took, err := listAllPods(ctx, mc)
		if err != nil {
			return err
		}
		r.allPods = append(r.allPods, took)
	}
	if r.peakRSS, err = rssMiB(pid, "VmHWM"); err != nil {
		return err
	}
	if len(r.perNamespace) == 0 {
		return errors.New("no per-namespace list succeeded in the load phase")
	}
	return nil
}

// measureLiveHeap reads the heap left after a collection and its breakdown
// by category.
func measureLiveHeap(b benchConfig, src metricsSource, heapFile string, r *result) error {
	live, shares, err := liveHeap(src, heapFile)
	if err != nil {
		return err
	}
	r.liveHeap, r.heap = live/(1<<20), shares
	if err := logGoMemory(src); err != nil {
		// A diagnostic only: the run's figures stand without it.
		klog.ErrorS(err, "Reading the Go memory figures")
	}
	klog.InfoS("Live heap after a collection", "MiB", fmt.Sprintf("%.1f", r.liveHeap),
		"bytesPerContainer", fmt.Sprintf("%.0f", live/float64(b.nodes*b.podsPerNode*b.containers)), "bytesPerNode", fmt.Sprintf("%.0f", live/float64(b.nodes)), "profile", heapFile)
	return nil
}

// listAllPods lists every pod's metrics through kube-apiserver, as
// client-go's metrics client does, and says how many came and how long it
// took.
func listAllPods(ctx context.Context, mc metricsclient.Interface) (int, time.Duration, error) {
	start := time.Now()
	list, err := mc.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	return len(list.Items), time.Since(start), nil
}

// liveHeap forces a collection in the server and reads the heap then
// allocated, in bytes, with its breakdown from the heap profile (kept in
// file).
func liveHeap(src metricsSource, file string) (float64, heapShares, error) {
	p, err := heapProfile(src, file)
	if err != nil {
		return 0, nil, err
	}
	shares, err := categorize(p)
	if err != nil {
		return 0, nil, err
	}
	live, err := gauge(src, "go_memstats_heap_alloc_bytes")
	return live, shares, err
}
