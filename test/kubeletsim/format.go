// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package kubeletsim simulates a fleet of kubelets for tests, the local
// cluster and benchmarks: many nodes per process, each serving
// /metrics/resource over TLS in the kubelet's exact exposition format.
package kubeletsim

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// NodeStats is what one kubelet reports at one moment.
type NodeStats struct {
	Time        time.Time
	CPUNanos    uint64 // cumulative core-nanoseconds
	MemoryBytes uint64
	SwapBytes   uint64
	// WithSwap adds the swap families, as a kubelet on a node with swap does.
	WithSwap bool
	// ScrapeError makes resource_scrape_error report 1 and leaves every
	// other family out, as a kubelet whose stats collection failed does.
	ScrapeError bool
	Pods        []PodStats
}

// PodStats is one pod on a node.
type PodStats struct {
	Namespace, Name string
	Containers      []ContainerStats
}

// ContainerStats is one container of a pod.
type ContainerStats struct {
	Name        string
	StartTime   time.Time
	Time        time.Time
	CPUNanos    uint64
	MemoryBytes uint64
	SwapBytes   uint64
	// NoCPU and NoMemory leave the container's sample out of its family,
	// as a kubelet does when the runtime has no such statistic.
	NoCPU, NoMemory bool
}

// The HELP texts and types of the kubelet's resource metrics collector.
var families = []struct{ name, help, typ string }{
	{"container_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter"},
	{"container_memory_working_set_bytes", "[STABLE] Current working set of the container in bytes", "gauge"},
	{"container_start_time_seconds", "[STABLE] Start time of the container since unix epoch in seconds", "gauge"},
	{"container_swap_limit_bytes", "[ALPHA] Current amount of the container swap limit in bytes. Reported only on non-windows systems", "gauge"},
	{"container_swap_usage_bytes", "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems", "gauge"},
	{"node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter"},
	{"node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge"},
	{"node_swap_usage_bytes", "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems", "gauge"},
	{"pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter"},
	{"pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge"},
	{"pod_swap_usage_bytes", "[ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems", "gauge"},
	{"resource_scrape_error", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", "gauge"},
}

// SortPods orders pods and containers the way the kubelet's registry emits
// series: by container name, then namespace, then pod (the label names in
// alphabetical order). The pod families are ordered by namespace, then pod.
func SortPods(pods []PodStats) {
	slices.SortFunc(pods, func(a, b PodStats) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for i := range pods {
		slices.SortFunc(pods[i].Containers, func(a, b ContainerStats) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// UniformAnswer is the answer of a kubelet at at with pods pods of
// containers containers each, all alike but for their names: what
// benchmarks of reading an answer read.
func UniformAnswer(pods, containers int, at time.Time) []byte {
	s := &NodeStats{Time: at, CPUNanos: 1e12, MemoryBytes: 1 << 30}
	for p := range pods {
		ps := PodStats{Namespace: "namespace-0042", Name: fmt.Sprintf("deployment-5d8f9c7b6d-%05d", p)}
		for c := range containers {
			ps.Containers = append(ps.Containers, ContainerStats{
				Name: fmt.Sprintf("container-%d", c), StartTime: at.Add(-time.Hour), CPUNanos: 1e10, MemoryBytes: 1 << 26})
		}
		s.Pods = append(s.Pods, ps)
	}
	return AppendResourceMetrics(nil, s)
}

type containerRef struct {
	pod *PodStats
	c   *ContainerStats
}

// AppendResourceMetrics appends the /metrics/resource answer for s to dst.
// Pods must be sorted with SortPods for the output to be ordered exactly
// like a kubelet's; decoders must not rely on that order anyway.
func AppendResourceMetrics(dst []byte, s *NodeStats) []byte {
	var refs []containerRef
	for i := range s.Pods {
		for j := range s.Pods[i].Containers {
			refs = append(refs, containerRef{&s.Pods[i], &s.Pods[i].Containers[j]})
		}
	}
	slices.SortStableFunc(refs, func(a, b containerRef) int { return cmp.Compare(a.c.Name, b.c.Name) })
	for _, f := range families {
		swapFamily := f.name == "container_swap_limit_bytes" || f.name == "container_swap_usage_bytes" ||
			f.name == "node_swap_usage_bytes" || f.name == "pod_swap_usage_bytes"
		familyStart := len(dst)
		dst = append(dst, "# HELP "...)
		dst = append(dst, f.name...)
		dst = append(dst, ' ')
		dst = append(dst, f.help...)
		dst = append(dst, "\n# TYPE "...)
		dst = append(dst, f.name...)
		dst = append(dst, ' ')
		dst = append(dst, f.typ...)
		dst = append(dst, '\n')
		samplesStart := len(dst)
		if swapFamily && !s.WithSwap || s.ScrapeError && f.name != "resource_scrape_error" {
			dst = dst[:familyStart]
			continue
		}
		switch f.name {
		case "container_cpu_usage_seconds_total":
			for _, r := range refs {
				if !r.c.NoCPU {
					dst = containerLine(dst, f.name, r, seconds(r.c.CPUNanos), r.c.Time)
				}
			}
		case "container_memory_working_set_bytes":
			for _, r := range refs {
				if !r.c.NoMemory {
					dst = containerLine(dst, f.name, r, float64(r.c.MemoryBytes), r.c.Time)
				}
			}
		case "container_start_time_seconds":
			for _, r := range refs {
				if !r.c.StartTime.IsZero() {
					dst = containerLine(dst, f.name, r, float64(r.c.StartTime.UnixNano())/1e9, time.Time{})
				}
			}
		case "container_swap_limit_bytes":
			for _, r := range refs {
				dst = containerLine(dst, f.name, r, float64(r.c.SwapBytes+1<<30), r.c.Time)
			}
		case "container_swap_usage_bytes":
			for _, r := range refs {
				dst = containerLine(dst, f.name, r, float64(r.c.SwapBytes), r.c.Time)
			}
		case "node_cpu_usage_seconds_total":
			dst = plainLine(dst, f.name, seconds(s.CPUNanos), s.Time)
		case "node_memory_working_set_bytes":
			dst = plainLine(dst, f.name, float64(s.MemoryBytes), s.Time)
		case "node_swap_usage_bytes":
			dst = plainLine(dst, f.name, float64(s.SwapBytes), s.Time)
		case "pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes", "pod_swap_usage_bytes":
			for i := range s.Pods {
				dst = podLine(dst, f.name, &s.Pods[i], s.Time)
			}
		case "resource_scrape_error":
			v := 0.0
			if s.ScrapeError {
				v = 1
			}
			dst = plainLine(dst, f.name, v, time.Time{})
		}
		// Like the kubelet's registry, a family without samples is
		// left out entirely.
		if len(dst) == samplesStart {
			dst = dst[:familyStart]
		}
	}
	return dst
}

func seconds(nanos uint64) float64 { return float64(nanos) / 1e9 }

func containerLine(dst []byte, name string, r containerRef, v float64, t time.Time) []byte {
	dst = append(dst, name...)
	dst = append(dst, `{container="`...)
	dst = append(dst, r.c.Name...)
	dst = append(dst, `",namespace="`...)
	dst = append(dst, r.pod.Namespace...)
	dst = append(dst, `",pod="`...)
	dst = append(dst, r.pod.Name...)
	dst = append(dst, `"} `...)
	return valueAndTime(dst, v, t)
}

func podLine(dst []byte, name string, p *PodStats, t time.Time) []byte {
	var v float64
	for _, c := range p.Containers {
		switch name {
		case "pod_cpu_usage_seconds_total":
			v += seconds(c.CPUNanos)
		case "pod_memory_working_set_bytes":
			v += float64(c.MemoryBytes)
		default:
			v += float64(c.SwapBytes)
		}
	}
	dst = append(dst, name...)
	dst = append(dst, `{namespace="`...)
	dst = append(dst, p.Namespace...)
	dst = append(dst, `",pod="`...)
	dst = append(dst, p.Name...)
	dst = append(dst, `"} `...)
	return valueAndTime(dst, v, t)
}

func plainLine(dst []byte, name string, v float64, t time.Time) []byte {
	dst = append(dst, name...)
	dst = append(dst, ' ')
	return valueAndTime(dst, v, t)
}

// valueAndTime writes the value as Prometheus' text encoder does (shortest
// 'g' form) and a millisecond timestamp unless t is zero.
func valueAndTime(dst []byte, v float64, t time.Time) []byte {
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	if !t.IsZero() {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	}
	return append(dst, '\n')
}
