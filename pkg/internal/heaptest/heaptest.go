// Package heaptest measures what a structure keeps on the heap, for the
// benchmarks that report bytes per unit (per container series, per pod).
package heaptest

import (
	"runtime"
	"testing"
)

// PerUnit reports, as the metric "B/<unit>", the heap that build's result
// holds after a collection, divided by units. build runs once per
// iteration and must return what it built.
func PerUnit(b *testing.B, units int, unit string, build func() any) {
	b.Helper()
	var perUnit float64
	for b.Loop() {
		before := live()
		kept := build()
		perUnit = float64(live()-before) / float64(units)
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(perUnit, "B/"+unit)
}

// live is the heap allocated after a collection.
func live() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
