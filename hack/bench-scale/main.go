// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command bench-scale runs the metrics server against a real control plane
// and N simulated nodes × P pods × C containers, and measures what an
// operator pays for it: CPU per scrape cycle, memory, scrape-cycle time,
// time from start to all pods served and API latency under load.
// `make bench-scale` runs it; see docs/performance.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

type benchConfig struct {
	nodes, podsPerNode, containers, namespaces int
	resolution                                 time.Duration
	cycles, clients                            int
	loadDuration, clientInterval               time.Duration
	lockstep                                   bool
	report                                     string
	// compare is another metrics-server binary measured after this one,
	// in the same cluster against the same fleet.
	compare string
	// cpuProfile: profile each server's CPU over its measured cycles.
	cpuProfile bool
}

func main() {
	var cfg localcluster.Config
	var b benchConfig
	cfg.AddFlags(flag.CommandLine, "_output/bench-scale", 22000)
	flag.IntVar(&b.nodes, "nodes", 100, "simulated nodes")
	flag.IntVar(&b.podsPerNode, "pods-per-node", 30, "pods per node")
	flag.IntVar(&b.containers, "containers", 2, "containers per pod")
	podsPerNamespace := flag.Int("pods-per-namespace", 150, "pods per namespace: the pods are spread over nodes × pods-per-node / this many namespaces")
	flag.DurationVar(&b.resolution, "metric-resolution", 15*time.Second, "the server's --metric-resolution")
	flag.IntVar(&b.cycles, "cycles", 10, "scrape cycles measured after warm-up")
	flag.IntVar(&b.clients, "clients", 100, "concurrent per-namespace list clients in the load phase")
	flag.DurationVar(&b.loadDuration, "load-duration", 20*time.Second, "length of the load phase")
	flag.DurationVar(&b.clientInterval, "client-interval", time.Second, "how often each load client lists (0: back to back)")
	flag.BoolVar(&b.lockstep, "lockstep", false, "start every load client at once, so that each interval begins with a burst of --clients simultaneous lists, instead of spreading their starts evenly over one interval")
	flag.StringVar(&b.report, "report", "", "markdown file whose scale table gets this run's row, e.g. docs/performance.md (empty, the default: print only)")
	flag.StringVar(&b.compare, "compare", "", "another metrics-server binary (e.g. upstream's, built from its source outside this repository) measured the same way after this one, in the same cluster against the same fleet, started with upstream's manifest flags")
	flag.BoolVar(&b.cpuProfile, "cpu-profile", false, "keep a CPU profile of each server over its measured cycles, at most their first 50 s (cpu.pb.gz and cpu-compared.pb.gz beside the heap profiles in --dir)")
	serverEnv := flag.String("server-env", "", "comma-separated KEY=value pairs added to the metrics server's environment (e.g. GOGC=50)")
	serverArgs := flag.String("server-args", "", "comma-separated flags added to this metrics server's arguments (not the compared one's), e.g. --kubelet-keep-connections=false")
	breakdown := flag.String("breakdown", "", "print the heap breakdown of a heap profile a run kept (e.g. _output/bench-scale/heap.pb.gz) for --nodes, --pods-per-node and --containers, and exit")
	klog.InitFlags(nil)
	flag.Parse()
	if *breakdown != "" {
		if err := printBreakdown(*breakdown, b); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	if *serverEnv != "" {
		cfg.MetricsServerEnv = strings.Split(*serverEnv, ",")
	}
	cfg.Nodes = b.nodes
	b.namespaces = max(1, (b.nodes*b.podsPerNode+*podsPerNamespace-1) / *podsPerNamespace)
	cfg.NodePrefix = "sim"
	cfg.DeferMetricsServer = true
	cfg.MetricsServerArgs = []string{"--metric-resolution=" + b.resolution.String()}
	if *serverArgs != "" {
		cfg.MetricsServerArgs = append(cfg.MetricsServerArgs, strings.Split(*serverArgs, ",")...)
	}
	if err := run(cfg, b); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

type result struct {
	cpuMillicores, cpuSecondsPerCycle float64
	peakRSS, steadyRSS, heapInUse     float64 // MiB
	// liveHeap is the heap allocated right after a forced collection,
	// in MiB: what the server keeps.
	liveHeap float64
	// heap is the live heap by part of the server (a sampled profile).
	heap          heapShares
	cycleSeconds  float64
	startToServed time.Duration
	allPods       []time.Duration
	perNamespace  []time.Duration
}

func run(cfg localcluster.Config, b benchConfig) error {
	ctx := context.Background()
	c, err := localcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Stop()
	total := b.nodes * b.podsPerNode
	start := time.Now()
	if err := createPods(ctx, c, b); err != nil {
		return err
	}
	klog.InfoS("Pods running", "pods", total, "duration", time.Since(start).Round(time.Second))

	mc, err := metricsclient.NewForConfig(c.Admin)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%d × %d × %d", b.nodes, b.podsPerNode, b.containers)
	ours, err := measure(ctx, c, mc, b, filepath.Join(cfg.Dir, "heap.pb.gz"), c.StartMainMetricsServer)
	if err != nil {
		return err
	}
	fmt.Println(tableHeader)
	fmt.Println(ours.row(key, b))
	fmt.Printf("\nLive heap of this server after a collection, %.1f MiB, by part:\n%s\n", ours.liveHeap, ours.heap.breakdown(total*b.containers, total, b.nodes))
	var compared *result
	if b.compare != "" {
		c.StopMainMetricsServer()
		r, err := measure(ctx, c, mc, b, filepath.Join(cfg.Dir, "heap-compared.pb.gz"), func(ctx context.Context) error {
			return c.StartUpstreamMetricsServer(ctx, b.compare, "--metric-resolution="+b.resolution.String())
		})
		if err != nil {
			return fmt.Errorf("%s: %w", b.compare, err)
		}
		compared = &r
		fmt.Println(compared.row(key+", compared", b))
		fmt.Printf("\nLive heap of the compared server after a collection, %.1f MiB, by part:\n%s\n", compared.liveHeap, compared.heap.breakdown(total*b.containers, total, b.nodes))
		fmt.Printf("this server ÷ compared: CPU %.2f×, RSS steady %.2f×, RSS peak %.2f×, heap in use %.2f×, live heap %.2f× (%.1f vs %.1f MiB), start → all pods served %.2f×\n",
			ours.cpuMillicores/compared.cpuMillicores, ours.steadyRSS/compared.steadyRSS, ours.peakRSS/compared.peakRSS,
			ours.heapInUse/compared.heapInUse, ours.liveHeap/compared.liveHeap, ours.liveHeap, compared.liveHeap,
			ours.startToServed.Seconds()/compared.startToServed.Seconds())
	}
	if b.report == "" {
		return nil
	}
	if err := writeRow(b.report, sectionThisServer, "| "+key+" |", ours.row(key, b)); err != nil {
		return err
	}
	if compared != nil {
		return writeRow(b.report, sectionCompared, "| "+key+" |", compared.row(key, b))
	}
	return nil
}

// measure starts a metrics server with start and measures it: the start
// to all pods served, then whole scrape cycles with one all-pods list each,
// then per-namespace lists under load, and last its live heap, whose
// profile is kept in heapFile.
func measure(ctx context.Context, c *localcluster.Cluster, mc metricsclient.Interface, b benchConfig, heapFile string, start func(context.Context) error) (result, error) {
	var r result
	total := b.nodes * b.podsPerNode
	started := time.Now()
	if err := start(ctx); err != nil {
		return r, err
	}
	for {
		n, _, err := listAllPods(ctx, mc)
		if err == nil && n == total {
			break
		}
		if time.Since(started) > 5*time.Minute {
			return r, fmt.Errorf("pods not all served after 5 minutes (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.startToServed = time.Since(started)
	klog.InfoS("All pods served", "after", r.startToServed)

	// Warm-up: one more resolution, then measure whole cycles, serving one
	// all-pods list per cycle as the targets assume.
	time.Sleep(b.resolution)
	pid := c.MetricsServerPID()
	src, err := newMetricsSource(c)
	if err != nil {
		return r, err
	}
	before, err := readCounters(pid, src)
	if err != nil {
		return r, err
	}
	wall0 := time.Now()
	profiled := make(chan error, 1)
	if b.cpuProfile {
		file := filepath.Join(filepath.Dir(heapFile), strings.Replace(filepath.Base(heapFile), "heap", "cpu", 1))
		// Under the generic apiserver's timeout for a request (60 s).
		seconds := min(b.cycles*int(b.resolution/time.Second)-1, 50)
		go func() { profiled <- cpuProfile(src, seconds, file) }()
	} else {
		profiled <- nil
	}
	var rss []float64
	for i := range b.cycles {
		cycleEnd := wall0.Add(time.Duration(i+1) * b.resolution)
		_, took, err := listAllPods(ctx, mc)
		if err != nil {
			return r, err
		}
		r.allPods = append(r.allPods, took)
		for time.Now().Before(cycleEnd) {
			v, err := rssMiB(pid, "VmRSS")
			if err != nil {
				return r, err
			}
			rss = append(rss, v)
			time.Sleep(time.Second)
		}
	}
	wall := time.Since(wall0).Seconds()
	if err := <-profiled; err != nil {
		return r, err
	}
	after, err := readCounters(pid, src)
	if err != nil {
		return r, err
	}
	cpu := after.cpu - before.cpu
	r.cpuMillicores = cpu / wall * 1000
	r.cpuSecondsPerCycle = cpu / float64(b.cycles)
	n := after.ticks.count - before.ticks.count
	if n <= 0 {
		return r, fmt.Errorf("no scrape round finished in %d cycles", b.cycles)
	}
	r.cycleSeconds = (after.ticks.sum - before.ticks.sum) / n
	slices.Sort(rss)
	r.steadyRSS = rss[len(rss)/2]
	heap, err := gauge(src, "go_memstats_heap_inuse_bytes")
	if err != nil {
		return r, err
	}
	r.heapInUse = heap / (1 << 20)

	served0, err := listDurations(src, "namespace")
	if err != nil {
		return r, err
	}
	r.perNamespace = loadPerNamespace(ctx, mc, b)
	served1, err := listDurations(src, "namespace")
	if err != nil {
		return r, err
	}
	served := served1.since(served0)
	// The server's own view of the same requests, to tell its share of the
	// latency from the aggregation layer's and the clients'.
	klog.InfoS("Per-namespace lists as the server timed them", "requests", served.count(),
		"p50Within", served.quantileBound(0.5), "p99Within", served.quantileBound(0.99))
	for range 10 {
		_, took, err := listAllPods(ctx, mc)
		if err != nil {
			return r, err
		}
		r.allPods = append(r.allPods, took)
	}
	if r.peakRSS, err = rssMiB(pid, "VmHWM"); err != nil {
		return r, err
	}
	if len(r.perNamespace) == 0 {
		return r, errors.New("no per-namespace list succeeded in the load phase")
	}
	live, shares, err := liveHeap(src, heapFile)
	if err != nil {
		return r, err
	}
	r.liveHeap, r.heap = live/(1<<20), shares
	if err := logGoMemory(src); err != nil {
		// A diagnostic only: the run's figures stand without it.
		klog.ErrorS(err, "Reading the Go memory figures")
	}
	klog.InfoS("Live heap after a collection", "MiB", fmt.Sprintf("%.1f", r.liveHeap),
		"bytesPerContainer", fmt.Sprintf("%.0f", live/float64(total*b.containers)), "bytesPerNode", fmt.Sprintf("%.0f", live/float64(b.nodes)), "profile", heapFile)
	return r, nil
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

// counters are the server's cumulative figures read at the start and the
// end of the measured cycles.
type counters struct {
	cpu   float64 // CPU seconds
	ticks histogram
}

func readCounters(pid int, src metricsSource) (counters, error) {
	cpu, err := cpuSeconds(pid)
	if err != nil {
		return counters{}, err
	}
	ticks, err := tickStats(src)
	return counters{cpu: cpu, ticks: ticks}, err
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

// row is the scale table's row of a result.
func (r result) row(key string, b benchConfig) string {
	return fmt.Sprintf("| %s | %s | %.1f m (%.3f m/node) | %.3f s | %.0f MiB (%.3f MiB/node) | %.0f MiB | %.0f MiB | %.2f s | %s | %s / %s | %s / %s |",
		key, b.resolution, r.cpuMillicores, r.cpuMillicores/float64(b.nodes), r.cpuSecondsPerCycle,
		r.steadyRSS, r.steadyRSS/float64(b.nodes), r.peakRSS, r.heapInUse, r.cycleSeconds, r.startToServed.Round(100*time.Millisecond),
		ms(quantile(r.allPods, 0.5)), ms(quantile(r.allPods, 0.99)), ms(quantile(r.perNamespace, 0.5)), ms(quantile(r.perNamespace, 0.99)))
}

const tableHeader = `| nodes × pods × containers | resolution | CPU (avg) | CPU s / cycle | RSS steady | RSS peak | Go heap in use | scrape cycle | start → all pods served | all-pods list p50 / p99 | per-namespace list p50 / p99 (load) |
|---|---|---|---|---|---|---|---|---|---|---|`

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
	for {
		list, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{ResourceVersion: "0", FieldSelector: "status.phase=Running"})
		if err != nil {
			return err
		}
		if len(list.Items) >= total {
			return nil
		}
		klog.InfoS("Waiting for pods to run", "running", len(list.Items), "of", total)
		time.Sleep(5 * time.Second)
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

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// cpuSeconds is the user+system CPU time of a process.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("reading the server's CPU time: %d fields in /proc/%d/stat", len(fields), pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	return (utime + stime) / 100, nil // USER_HZ
}

// rssMiB reads VmRSS or VmHWM (peak) of a process.
func rssMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's %s: %w", field, err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("reading the server's %s: %w", field, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("reading the server's %s: not in /proc/%d/status", field, pid)
}

// metricsSource is where a server's /metrics is read.
type metricsSource struct {
	client *http.Client
	url    string
}

// newMetricsSource reads the main metrics server's /metrics on its secure
// port, as the cluster's admin: every metrics server serves it there.
func newMetricsSource(c *localcluster.Cluster) (metricsSource, error) {
	cfg := c.MetricsServerConfig(c.Ports.MetricsServer())
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return metricsSource{}, err
	}
	return metricsSource{client: client, url: cfg.Host + "/metrics"}, nil
}

// serverMetrics reads the server's /metrics.
func serverMetrics(src metricsSource) (map[string]*dto.MetricFamily, error) {
	resp, err := src.client.Get(src.url)
	if err != nil {
		return nil, fmt.Errorf("reading the server's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the server's /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the server's /metrics: %w", err)
	}
	return families, nil
}

// family is one metric family of the server's /metrics, which must be
// there.
func family(src metricsSource, name string) (*dto.MetricFamily, error) {
	families, err := serverMetrics(src)
	if err != nil {
		return nil, err
	}
	f, ok := families[name]
	if !ok {
		return nil, fmt.Errorf("the server's /metrics has no %s", name)
	}
	return f, nil
}

// logGoMemory logs the Go runtime's account of the process's memory right
// after the collection the heap profile made: what the RSS holds besides
// the live heap.
func logGoMemory(src metricsSource) error {
	families, err := serverMetrics(src)
	if err != nil {
		return err
	}
	var kv []any
	for _, part := range []string{"heap_alloc", "heap_inuse", "heap_idle", "heap_released", "stack_inuse", "mspan_inuse", "gc_sys", "other_sys", "sys"} {
		f, ok := families["go_memstats_"+part+"_bytes"]
		if !ok || len(f.GetMetric()) == 0 {
			return fmt.Errorf("the server's /metrics has no go_memstats_%s_bytes", part)
		}
		kv = append(kv, part, fmt.Sprintf("%.1f MiB", f.GetMetric()[0].GetGauge().GetValue()/(1<<20)))
	}
	klog.InfoS("Go memory after the collection", kv...)
	return nil
}

type histogram struct{ sum, count float64 }

// tickStats is the server's scrape-round histogram, summed up.
func tickStats(src metricsSource) (histogram, error) {
	f, err := family(src, "metrics_server_manager_tick_duration_seconds")
	if err != nil {
		return histogram{}, err
	}
	var h histogram
	for _, m := range f.GetMetric() {
		h.sum += m.GetHistogram().GetSampleSum()
		h.count += float64(m.GetHistogram().GetSampleCount())
	}
	return h, nil
}

// bucketCounts is a cumulative histogram: observations at or below each
// upper bound (seconds), bounds ascending.
type bucketCounts struct {
	bounds []float64
	counts []float64
}

// listDurations reads the server's apiserver_request_duration_seconds
// histogram for lists of pod metrics of the given scope, summed over the API
// versions and other labels. Before the first request the family is
// absent: that is an empty histogram, not an error.
func listDurations(src metricsSource, scope string) (bucketCounts, error) {
	families, err := serverMetrics(src)
	if err != nil {
		return bucketCounts{}, err
	}
	byBound := map[float64]float64{}
	for _, m := range families["apiserver_request_duration_seconds"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["verb"] != "LIST" || labels["resource"] != "pods" || labels["scope"] != scope {
			continue
		}
		for _, b := range m.GetHistogram().GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // the sample count is that bucket
				byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
		}
		byBound[math.Inf(1)] += float64(m.GetHistogram().GetSampleCount())
	}
	var h bucketCounts
	h.bounds = slices.Sorted(maps.Keys(byBound))
	for _, b := range h.bounds {
		h.counts = append(h.counts, byBound[b])
	}
	return h, nil
}

// since is the histogram of the observations made after earlier; if
// earlier has other bounds (the server had not observed any yet), all.
func (h bucketCounts) since(earlier bucketCounts) bucketCounts {
	d := bucketCounts{bounds: h.bounds, counts: slices.Clone(h.counts)}
	if slices.Equal(h.bounds, earlier.bounds) {
		for i := range d.counts {
			d.counts[i] -= earlier.counts[i]
		}
	}
	return d
}

func (h bucketCounts) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantileBound is the smallest bucket bound within which the q-quantile
// lies, in seconds.
func (h bucketCounts) quantileBound(q float64) float64 {
	for i, c := range h.counts {
		if c >= q*h.count() {
			return h.bounds[i]
		}
	}
	return math.NaN()
}

// gauge reads one unlabelled gauge from the server's plain /metrics.
func gauge(src metricsSource, name string) (float64, error) {
	f, err := family(src, name)
	if err != nil {
		return 0, err
	}
	if len(f.GetMetric()) == 0 || f.GetMetric()[0].GetGauge() == nil {
		return 0, fmt.Errorf("the server's %s is not a gauge with a value", name)
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// rowNodes is the node count a table row starts with ("| 500 × 30 × 2 |"),
// so that rows sort by size rather than as text.
func rowNodes(row string) int {
	fields := strings.Fields(strings.TrimPrefix(row, "| "))
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// The report's scale tables, each between its markers: this server's rows
// and those of the server compared in the same runs.
const (
	sectionThisServer = "bench-scale"
	sectionCompared   = "bench-scale-compared"
)

// writeRow puts row into the scale table of the report's section, replacing
// the row of the same size.
func writeRow(path, section, key, row string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- "+section+":begin -->", "<!-- "+section+":end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(s[i+len(begin):j]), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, key) && !strings.HasPrefix(line, "| nodes") {
			rows = append(rows, line)
		}
	}
	rows = append(rows, row)
	slices.SortFunc(rows, func(a, b string) int { return cmp.Compare(rowNodes(a), rowNodes(b)) })
	out := s[:i+len(begin)] + "\n" + tableHeader + "\n" + strings.Join(rows, "\n") + "\n" + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}
