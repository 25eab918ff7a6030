// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command bench-scale runs the metrics server against a real control plane
// and N simulated nodes × P pods × C containers, and measures what an
// operator pays for it: CPU per scrape cycle, memory, scrape-cycle time,
// time from start to all pods served and API latency under load.
// `make bench-scale` runs it; see docs/performance.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

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
	flag.BoolVar(&b.cpuProfile, "cpu-profile", false, "keep a CPU profile of each server over its measured cycles (cpu.pb.gz and cpu-compared.pb.gz beside the heap profiles in --dir)")
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
	// steadyFile and steadyAnonymous split the steady RSS (their own
	// medians): the executable's pages and the heap, stacks and runtime.
	steadyFile, steadyAnonymous float64
	// liveHeap is the heap allocated right after a forced collection,
	// in MiB: what the server keeps.
	liveHeap float64
	// heap is the live heap by part of the server (a sampled profile).
	heap          heapShares
	cycleSeconds  float64
	startToServed time.Duration
	allPods       []time.Duration
	perNamespace  []time.Duration
	// measured is when the measurement ended, the date its row shows.
	measured time.Time
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
	ours.measured = time.Now()
	fmt.Println(tableHeader)
	fmt.Println(ours.row(key, b))
	fmt.Printf("\nSteady RSS of this server by kind: %.1f MiB file-backed, %.1f MiB anonymous\n", ours.steadyFile, ours.steadyAnonymous)
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
		r.measured = time.Now()
		compared = &r
		fmt.Println(compared.row(key+", compared", b))
		fmt.Printf("\nSteady RSS of the compared server by kind: %.1f MiB file-backed, %.1f MiB anonymous\n", compared.steadyFile, compared.steadyAnonymous)
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
