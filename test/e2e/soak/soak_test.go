// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package soak runs the metrics server for a long time against a local
// cluster of simulated kubelets under continuous churn and hostile
// kubelets, and checks that nothing served is wrong, nothing that should
// be served goes missing, and nothing grows. Run with `make soak`
// (SOAK_DURATION, default 30m; SOAK_NODES, default 200).
package soak

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

const (
	resolution  = 15 * time.Second
	portBase    = 24000
	namespace   = "soak"
	podsPerNode = 10
	// Deployments of the workload; their pods spread over the nodes.
	deployments = 20
)

// The hostile and broken kubelets, for the whole run. node-4 claims the
// pods of node-5, which must go on being served from node-5.
var faults = map[string]kubeletsim.Fault{
	"node-0": kubeletsim.FaultGarbage,
	"node-1": kubeletsim.FaultSlow,
	"node-2": kubeletsim.FaultClockAhead,
	"node-3": kubeletsim.FaultRedirect,
	"node-4": kubeletsim.FaultClaimPods,
}

func TestMain(m *testing.M) {
	klog.InitFlags(nil)
	flag.Parse()
	os.Exit(m.Run())
}

func envOr[T any](name string, def T, parse func(string) (T, error)) T {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	parsed, err := parse(v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", name, v, err))
	}
	return parsed
}

func TestSoak(t *testing.T) {
	duration := envOr("SOAK_DURATION", 30*time.Minute, time.ParseDuration)
	nodes := envOr("SOAK_NODES", 200, strconv.Atoi)
	ctx, cancel := context.WithTimeout(context.Background(), duration+20*time.Minute)
	defer cancel()
	metricsAddress := "127.0.0.1:" + strconv.Itoa(localcluster.Ports{Base: portBase}.MetricsServerPlainMetrics())
	suite, err := e2eutil.StartSuite(ctx, "soak", "metrics-server-soak-", func(*e2eutil.Suite) localcluster.Config {
		return localcluster.Config{
			Manifests: filepath.Join("..", "..", "..", "manifests", "base"),
			PortBase:  portBase, Nodes: nodes,
			StatsHistory: duration + 10*time.Minute,
			MetricsServerArgs: []string{"--metric-resolution=" + resolution.String(), "--kubelet-request-timeout=5s",
				"--metrics-bind-address=" + metricsAddress},
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		code := 0
		if t.Failed() {
			code = 1
		}
		suite.End(code)
	}()
	cluster := suite.Cluster
	for node, f := range faults {
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, kubeletsim.FaultAnnotation, f)
		if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := createWorkload(ctx, cluster, nodes*podsPerNode); err != nil {
		t.Fatal(err)
	}
	pods := watchPods(ctx, cluster)
	metrics, err := metricsclient.NewForConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("soaking %s: %d nodes, %d pods, faults %v", duration, nodes, nodes*podsPerNode, faults)
	oracle, err := e2eutil.WatchServed(cluster.Admin, kubeletsim.NewOracle(cluster.Fleet))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(duration)
	missing := &missingTracker{pods: pods, metrics: metrics, lastServed: map[string]time.Time{},
		excluded: func(node string) bool { _, faulty := faults[node]; return faulty }}
	samples := &sampler{url: "http://" + metricsAddress + "/metrics"}
	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithDeadline(ctx, deadline)
	defer stopLoops()
	wg.Go(func() { every(loopCtx, 2*time.Second, missing.poll) })
	wg.Go(func() { every(loopCtx, 10*time.Second, samples.sample) })
	churn := &churner{cluster: cluster, pods: pods, nodes: nodes, rng: rand.New(rand.NewPCG(1, 2))}
	wg.Go(func() { churn.run(loopCtx, t, start.Add(duration/3)) })
	wg.Wait()

	seen := oracle.Stop()
	restarts := 0
	if err := cluster.Failed(); err != nil {
		restarts = 1
		t.Errorf("a process of the cluster died: %v", err)
	}
	window := min(20*time.Minute, duration*2/3)
	heap := samples.trend("heap", deadline.Add(-window))
	goroutines := samples.trend("goroutines", deadline.Add(-window))
	report := fmt.Sprintf(`Soak of %s, %d nodes, %d pods, resolution %s, faults %v
  churn: %s
  values checked by the oracle: %s in %d lists (%d failed, kube-apiserver restarting)
  pods Running with points, missing for longer than two resolutions: %d (longest absence %s; %d absences of a resolution or more)
  heap in use over the last %s: %s
  goroutines over the last %s: %s
  metrics server restarts: %d`,
		duration, nodes, nodes*podsPerNode, resolution, faults, churn.summary(), seen.Result, seen.Polls, seen.FailedPolls,
		len(missing.missing), missing.longest.Round(time.Second), missing.absences, window, heap, window, goroutines, restarts)
	t.Log(report)
	if path := os.Getenv("SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(report+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	if seen.Wrong > 0 || seen.Checked == 0 {
		t.Errorf("the oracle: %s:\n  %s", seen.Result, strings.Join(seen.Violations, "\n  "))
	}
	if len(missing.missing) > 0 {
		t.Errorf("pods missing for longer than two resolutions: %v", missing.missing)
	}
	if !heap.flat() || !goroutines.flat() {
		t.Errorf("not flat: heap %s, goroutines %s", heap, goroutines)
	}
}

func every(ctx context.Context, d time.Duration, f func(context.Context)) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// createWorkload creates Deployments of total pods between them, each pod
// using its own CPU rate, and waits until all run.
func createWorkload(ctx context.Context, c *localcluster.Cluster, total int) error {
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	for d := range deployments {
		replicas := int32(total / deployments)
		labels := map[string]string{"app": fmt.Sprintf("app-%d", d)}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: labels["app"], Namespace: namespace},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{kubeletsim.CPUAnnotation: strconv.Itoa(20 + 10*d)}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{
						{Name: "app", Image: "registry.k8s.io/pause:3.10"}, {Name: "sidecar", Image: "registry.k8s.io/pause:3.10"}}},
				},
			},
		}
		if _, err := c.Client.AppsV1().Deployments(namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		list, err := c.Client.CoreV1().Pods(namespace).List(waitCtx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err == nil && len(list.Items) >= total {
			return nil
		}
		select {
		case <-waitCtx.Done():
			return fmt.Errorf("waiting for %d pods to run: %w", total, waitCtx.Err())
		case <-time.After(5 * time.Second):
		}
	}
}

func watchPods(ctx context.Context, c *localcluster.Cluster) cache.Indexer {
	factory := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithNamespace(namespace))
	inf := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	return inf.GetIndexer()
}

// missingTracker lists every PodMetrics each poll and remembers when each
// pod was last served. A pod Running on a node without a fault, served
// before, that is absent for longer than two resolutions is missing.
// Polls that fail (kube-apiserver restarting) are not held against the
// server: an absence counts from the end of the outage at the earliest.
type missingTracker struct {
	pods       cache.Indexer
	metrics    metricsclient.Interface
	excluded   func(node string) bool
	lastServed map[string]time.Time
	outageEnd  time.Time
	failing    bool
	missing    []string
	longest    time.Duration
	absences   int
}

func (m *missingTracker) poll(ctx context.Context) {
	list, err := m.metrics.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{})
	now := time.Now()
	if err != nil {
		m.failing = true
		return
	}
	if m.failing {
		m.failing, m.outageEnd = false, now
	}
	served := map[string]bool{}
	for _, p := range list.Items {
		served[p.Name] = true
		m.lastServed[p.Name] = now
	}
	for _, obj := range m.pods.List() {
		pod := obj.(*corev1.Pod)
		last, had := m.lastServed[pod.Name]
		if served[pod.Name] || !had || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil || m.excluded(pod.Spec.NodeName) {
			continue
		}
		gap := now.Sub(later(last, m.outageEnd))
		if gap >= resolution && gap < resolution+2*time.Second {
			m.absences++
		}
		m.longest = max(m.longest, gap)
		// The poll's own period on top: a pod is seen absent up to one
		// poll after the moment it went.
		if gap > 2*resolution+2*time.Second {
			m.missing = append(m.missing, fmt.Sprintf("%s on %s, absent %s", pod.Name, pod.Spec.NodeName, gap.Round(time.Second)))
			delete(m.lastServed, pod.Name) // counted once
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// churner keeps the cluster changing: pods deleted (their Deployments
// create others), restarted and rescaled, a node removed with its pods
// and registered again, and kube-apiserver restarted once.
type churner struct {
	cluster *localcluster.Cluster
	pods    cache.Indexer
	nodes   int
	rng     *rand.Rand

	deleted, restarted, scaled, nodesRemoved, apiserverRestarts int
}

func (c *churner) run(ctx context.Context, t *testing.T, restartAPIServerAt time.Time) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	var removedNode string
	var removedAt time.Time
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pods := c.pods.List()
		if len(pods) == 0 {
			continue
		}
		pick := func() *corev1.Pod { return pods[c.rng.IntN(len(pods))].(*corev1.Pod) }
		// Two pods deleted every 5 s.
		for range 2 {
			p := pick()
			if err := c.cluster.Client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err == nil {
				c.deleted++
			}
		}
		// A container restart every 10 s: its counters start again.
		if i%2 == 0 {
			p := pick()
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, kubeletsim.StartedAnnotation, time.Now().UTC().Format(time.RFC3339))
			if _, err := c.cluster.Client.CoreV1().Pods(namespace).Patch(ctx, p.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err == nil {
				c.restarted++
			}
		}
		// A Deployment scaled up or down by 5 every minute.
		if i%12 == 6 {
			d := c.rng.IntN(deployments)
			delta := 5 * (1 - 2*(i/12%2))
			name := fmt.Sprintf("app-%d", d)
			if scale, err := c.cluster.Client.AppsV1().Deployments(namespace).GetScale(ctx, name, metav1.GetOptions{}); err == nil {
				scale.Spec.Replicas += int32(delta)
				if _, err := c.cluster.Client.AppsV1().Deployments(namespace).UpdateScale(ctx, name, scale, metav1.UpdateOptions{}); err == nil {
					c.scaled++
				}
			}
		}
		// Every 3 minutes a node leaves with its pods; it comes back a
		// minute later.
		if removedNode == "" && i%36 == 18 {
			removedNode = fmt.Sprintf("node-%d", 10+c.rng.IntN(c.nodes-10))
			if err := c.cluster.Client.CoreV1().Nodes().Delete(ctx, removedNode, metav1.DeleteOptions{}); err != nil {
				t.Logf("removing %s: %v", removedNode, err)
			}
			for _, obj := range pods {
				if p := obj.(*corev1.Pod); p.Spec.NodeName == removedNode {
					_ = c.cluster.Client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
				}
			}
			removedAt = time.Now()
			c.nodesRemoved++
		}
		if removedNode != "" && time.Since(removedAt) > time.Minute {
			if err := c.cluster.Fleet.RegisterNodes(ctx, c.cluster.Client, nil); err != nil {
				t.Logf("registering %s again: %v", removedNode, err)
			} else {
				removedNode = ""
			}
		}
		if c.apiserverRestarts == 0 && time.Now().After(restartAPIServerAt) {
			if err := c.cluster.RestartAPIServer(ctx); err != nil {
				t.Errorf("restarting kube-apiserver: %v", err)
			}
			c.apiserverRestarts++
		}
	}
}

func (c *churner) summary() string {
	return fmt.Sprintf("%d pods deleted (and replaced), %d container restarts, %d rescales, %d nodes removed and registered again, %d kube-apiserver restarts",
		c.deleted, c.restarted, c.scaled, c.nodesRemoved, c.apiserverRestarts)
}

// sampler reads the metrics server's heap in use and goroutines from its
// /metrics listener.
type sampler struct {
	url     string
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at               time.Time
	heap, goroutines float64
}

func (s *sampler) sample(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // not a reading: nothing recorded
	}
	defer resp.Body.Close()
	got := sample{at: time.Now(), heap: -1, goroutines: -1}
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(nil, 1<<20)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			got.heap = v
		case "go_goroutines":
			got.goroutines = v
		}
	}
	if got.heap < 0 || got.goroutines < 0 {
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, got)
	s.mu.Unlock()
}

// trend is the least-squares line through a series' samples since from.
type trend struct {
	n                        int
	mean, change, residualSD float64
	unit                     string
}

func (s *sampler) trend(series string, from time.Time) trend {
	var xs, ys []float64
	for _, smp := range s.samples {
		if smp.at.Before(from) {
			continue
		}
		y := smp.goroutines
		if series == "heap" {
			y = smp.heap / (1 << 20)
		}
		xs = append(xs, smp.at.Sub(from).Minutes())
		ys = append(ys, y)
	}
	tr := trend{n: len(xs), unit: map[string]string{"heap": "MiB", "goroutines": ""}[series]}
	if tr.n < 3 {
		return tr
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(tr.n)
	my /= float64(tr.n)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	slope := sxy / sxx
	var ss float64
	for i := range xs {
		r := ys[i] - (my + slope*(xs[i]-mx))
		ss += r * r
	}
	tr.mean = my
	tr.change = slope * (xs[len(xs)-1] - xs[0])
	tr.residualSD = math.Sqrt(ss / float64(tr.n-2))
	return tr
}

// flat: the fitted change over the window is within the noise around the
// line (twice its standard deviation) or 5% of the mean.
func (t trend) flat() bool {
	return t.n >= 3 && math.Abs(t.change) <= max(2*t.residualSD, 0.05*t.mean)
}

func (t trend) String() string {
	return fmt.Sprintf("mean %.1f%s, fitted change %+.1f%s (noise ±%.1f%s, %d samples)", t.mean, t.unit, t.change, t.unit, t.residualSD, t.unit, t.n)
}
