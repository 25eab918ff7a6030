// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package sample holds the resource samples decoded from one kubelet's
// /metrics/resource answer: the value type the scraper produces and the
// store consumes, so neither package depends on the other.
package sample

// Field flags say which values of a Point were present and usable in the
// kubelet's answer. A value the kubelet did not send, or sent as NaN, Inf or a
// negative number, is absent rather than zero.
type Field uint8

const (
	HasCPU Field = 1 << iota
	HasMemory
	HasSwap
)

// Point is one observation of a node or a container.
type Point struct {
	// CPUTime is when the CPU counter was read (unix nanoseconds); rates are
	// computed between CPU times, so they match the counter exactly.
	CPUTime int64
	// MemoryTime is when the working set was read (unix nanoseconds).
	MemoryTime int64
	// CPU is the cumulative CPU usage in core-nanoseconds.
	CPU uint64
	// Memory is the working set in bytes.
	Memory uint64
	// Swap is the swap usage in bytes.
	Swap   uint64
	Fields Field
}

// Has reports whether every flag in f is set.
func (p *Point) Has(f Field) bool { return p.Fields&f == f }

// Container is a point of one container, named by its pod.
type Container struct {
	Namespace string
	Pod       string
	Name      string
	// StartTime is the container's start (unix nanoseconds), 0 when unknown.
	StartTime int64
	Point
}

// Batch is everything one scrape of one kubelet yielded.
type Batch struct {
	Node Point
	// Containers are in the order their first sample appeared.
	Containers []Container
	// KubeletError is true when the kubelet reported resource_scrape_error 1:
	// it could not collect its own statistics.
	KubeletError bool
	// Skipped counts samples of consumed families that could not be used
	// (a missing label, or a value that is NaN, infinite or negative).
	Skipped int
}

// HasPoints reports whether b holds a value the API could serve: a node or
// container point with CPU or memory. A kubelet that could not collect its
// stats answers with none.
func (b *Batch) HasPoints() bool {
	if b.Node.Has(HasCPU | HasMemory) {
		return true
	}
	for i := range b.Containers {
		if b.Containers[i].Fields&(HasCPU|HasMemory) != 0 {
			return true
		}
	}
	return false
}

// Reset empties b, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.Node = Point{}
	b.Containers = b.Containers[:0]
	b.KubeletError = false
	b.Skipped = 0
}
