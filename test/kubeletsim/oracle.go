// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// OracleTolerance is how far a served CPU rate may be from the truth: the
// kubelet's counters travel as decimal seconds, so a rate read back from
// two of them is exact to well under a millicore.
const OracleTolerance = time.Millisecond // of CPU per second: 1m

// Oracle judges served metrics against the truth: what the fleet's nodes
// reported (Fleet.StatsAt), so it needs a fleet that keeps its history
// (Config.History) for longer than any served point's window and age. A
// served value is wrong if no two answers of its node explain it: a CPU
// rate not within OracleTolerance of the rate between the two readings it
// claims (its timestamp and window), a working set other than the one
// reported at its timestamp, a point at a moment the node never reported,
// or a CPU rate above the node's capacity. It is safe for concurrent use.
type Oracle struct {
	fleet *Fleet

	mu         sync.Mutex
	checked    int
	violations []string
}

// NewOracle returns an oracle for f's served metrics.
func NewOracle(f *Fleet) *Oracle { return &Oracle{fleet: f} }

// maxViolationsKept bounds the violations an Oracle remembers; it counts
// them all.
const maxViolationsKept = 50

// Result is what an oracle has judged: values checked, and the wrong ones
// it kept (Wrong counts them all).
type Result struct {
	Checked, Wrong int
	Violations     []string
}

func (r Result) String() string {
	return fmt.Sprintf("%d served values checked, %d wrong", r.Checked, r.Wrong)
}

// Result reports what the oracle has judged so far.
func (o *Oracle) Result() Result {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := Result{Checked: o.checked, Wrong: len(o.violations)}
	r.Violations = append(r.Violations, o.violations[:min(len(o.violations), maxViolationsKept)]...)
	return r
}

func (o *Oracle) judge(ok bool, format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checked++
	if !ok {
		o.violations = append(o.violations, fmt.Sprintf(format, args...))
	}
}

// CheckNode judges one served NodeMetrics. Nodes that are not the fleet's
// are not judged.
func (o *Oracle) CheckNode(m *metricsv1beta1.NodeMetrics) {
	i, ok := o.fleet.nodeIndex[m.Name]
	if !ok {
		return
	}
	at, window := m.Timestamp.Time, m.Window.Duration
	newer, ok := o.fleet.StatsAt(m.Name, at)
	if !ok {
		o.judge(false, "node %s: served a point at %s, which it never reported", m.Name, at.Format(time.RFC3339Nano))
		return
	}
	if cpu, served := m.Usage[corev1.ResourceCPU]; served {
		older, ok := o.fleet.StatsAt(m.Name, at.Add(-window))
		if !ok {
			o.judge(false, "node %s: served a rate over %s before %s, when it reported nothing", m.Name, window, at.Format(time.RFC3339Nano))
		} else {
			truth := rate(older.CPUNanos, newer.CPUNanos, window)
			o.judge(near(cpu, truth), "node %s at %s: served CPU %s over %s, the truth is %dn",
				m.Name, at.Format(time.RFC3339), cpu.String(), window, truth)
		}
		if capacity := o.capacity(i); capacity > 0 {
			o.judge(cpu.ScaledValue(resource.Nano) <= capacity, "node %s at %s: served CPU %s above its capacity of %dn",
				m.Name, at.Format(time.RFC3339), cpu.String(), capacity)
		}
	}
	if mem, served := m.Usage[corev1.ResourceMemory]; served {
		o.judge(mem.Value() == int64(newer.MemoryBytes), "node %s at %s: served working set %s, the truth is %d",
			m.Name, at.Format(time.RFC3339), mem.String(), newer.MemoryBytes)
	}
}

// CheckPod judges one served PodMetrics. A pod's containers share its
// timestamp, but a container may be rated over a window of its own (one
// that restarted, against its start), so a container's rate is right if
// two readings of the same instance of it, the newer at the timestamp,
// explain it.
func (o *Oracle) CheckPod(m *metricsv1beta1.PodMetrics) {
	at := m.Timestamp.Time
	node, stats, ok := o.fleet.podAt(m.Namespace, m.Name, at)
	if !ok {
		o.judge(false, "pod %s/%s: served a point at %s, when no node reported it", m.Namespace, m.Name, at.Format(time.RFC3339Nano))
		return
	}
	capacity := o.capacity(o.fleet.nodeIndex[node])
	for _, c := range m.Containers {
		truth, ok := containerOf(stats, m.Namespace, m.Name, c.Name)
		if !ok {
			o.judge(false, "pod %s/%s on %s at %s: served container %s, which was not reported", m.Namespace, m.Name, node, at.Format(time.RFC3339), c.Name)
			continue
		}
		name := fmt.Sprintf("container %s/%s/%s on %s at %s", m.Namespace, m.Name, c.Name, node, at.Format(time.RFC3339))
		if cpu, served := c.Usage[corev1.ResourceCPU]; served {
			if truth.NoCPU {
				o.judge(false, "%s: served CPU %s, the kubelet reported none", name, cpu.String())
			} else {
				rates := o.fleet.containerRates(node, m.Namespace, m.Name, truth)
				explained := false
				for _, r := range rates {
					explained = explained || near(cpu, r)
				}
				o.judge(explained, "%s: served CPU %s, no two readings explain it (rates %v n)", name, cpu.String(), rates[:min(len(rates), 4)])
			}
			if capacity > 0 {
				o.judge(cpu.ScaledValue(resource.Nano) <= capacity, "%s: served CPU %s above its node's capacity", name, cpu.String())
			}
		}
		if mem, served := c.Usage[corev1.ResourceMemory]; served {
			o.judge(!truth.NoMemory && mem.Value() == int64(truth.MemoryBytes), "%s: served working set %s, the truth is %d (reported: %v)",
				name, mem.String(), truth.MemoryBytes, !truth.NoMemory)
		}
	}
}

// capacity is node i's CPU capacity in nanocores, 0 if unknown.
func (o *Oracle) capacity(i int) int64 {
	n := o.fleet.node(i)
	if n == nil {
		return 0
	}
	return n.Status.Capacity.Cpu().ScaledValue(resource.Nano)
}

// rate is the CPU rate in nanocores between two counters window apart.
func rate(older, newer uint64, window time.Duration) int64 {
	if window <= 0 {
		return -1
	}
	return int64(float64(newer-older) * 1e9 / float64(window))
}

func near(served resource.Quantity, truth int64) bool {
	d := served.ScaledValue(resource.Nano) - truth
	return truth >= 0 && d <= int64(OracleTolerance) && d >= -int64(OracleTolerance)
}

// podAt finds the node that reported pod ns/name at at, and that answer.
func (f *Fleet) podAt(ns, name string, at time.Time) (string, *NodeStats, bool) {
	for _, node := range f.cfg.Nodes {
		s, ok := f.StatsAt(node, at)
		if !ok {
			continue
		}
		for _, p := range s.Pods {
			if p.Namespace == ns && p.Name == name {
				return node, s, true
			}
		}
	}
	return "", nil, false
}

func containerOf(s *NodeStats, ns, pod, container string) (ContainerStats, bool) {
	for _, p := range s.Pods {
		if p.Namespace != ns || p.Name != pod {
			continue
		}
		for _, c := range p.Containers {
			if c.Name == container {
				return c, true
			}
		}
	}
	return ContainerStats{}, false
}

// containerRates are the rates that pairs of node's readings of the
// instance of a container newest is the reading of explain: against each
// earlier reading of the same instance, and against its start, when its
// counter was zero.
func (f *Fleet) containerRates(node, ns, pod string, newest ContainerStats) []int64 {
	rates := []int64{rate(0, newest.CPUNanos, newest.Time.Sub(newest.StartTime))}
	l := f.ledgers[f.nodeIndex[node]]
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.history {
		if !s.Time.Before(newest.Time) {
			break
		}
		if c, ok := containerOf(s, ns, pod, newest.Name); ok && c.StartTime.Equal(newest.StartTime) && !c.NoCPU {
			rates = append(rates, rate(c.CPUNanos, newest.CPUNanos, newest.Time.Sub(s.Time)))
		}
	}
	return rates
}
