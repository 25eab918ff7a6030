// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package heaptest measures what a structure keeps on the heap, for the
// benchmarks that report bytes per unit (per container series, per pod).
package heaptest

import (
	"runtime"
	"testing"
)

// PerUnit reports, as the metric "B/<unit>", the heap that build's result
// holds after a collection, divided by units, and as "stack-B/<unit>" the
// goroutine stacks it keeps running. build runs once per iteration and
// must return what it built.
func PerUnit(b *testing.B, units int, unit string, build func() any) {
	b.Helper()
	var heap, stacks float64
	for b.Loop() {
		before := live()
		kept := build()
		after := live()
		heap = float64(after.HeapAlloc-before.HeapAlloc) / float64(units)
		stacks = (float64(after.StackInuse) - float64(before.StackInuse)) / float64(units)
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(heap, "B/"+unit)
	b.ReportMetric(stacks, "stack-B/"+unit)
}

// live is the memory statistics after a collection.
func live() runtime.MemStats {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m
}
