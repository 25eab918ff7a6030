// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// The decoder is in four files by job: this one reads an answer line by
// line and stores the samples the API needs into a batch; series.go maps
// metric names to families and keeps the label blocks seen before;
// textformat.go is the full grammar of the text format, for lines the fast
// path does not take; decimal.go converts values exactly.

// Decoder reads the Prometheus text format (0.0.4) that a kubelet serves on
// /metrics/resource. It accepts every input that expfmt's TextParser accepts
// and reads the same values from it (see decode_diff_test.go), but it is built
// for the steady state of a scrape loop: each label block it has seen is kept
// with the series it names, so a known series costs one map lookup and no
// allocation. A Decoder is used by one goroutine at a time, typically one per
// node, and is reused for every scrape of that node.
type Decoder struct {
	// blocks maps the raw bytes of a label block, braces included, to what
	// they name. Blocks are compared byte for byte, so a cached entry was
	// validated by a full parse of exactly these bytes. A block that names
	// no container (a node's or a pod's) maps to nil.
	blocks  map[string]*containerRef
	gen     uint32
	scratch []byte // unescaped label values
	keyBuf  []byte // the kubelet's spelling of the block being parsed
}

// NewDecoder returns an empty decoder.
func NewDecoder() *Decoder {
	return &Decoder{blocks: make(map[string]*containerRef)}
}

// Decode parses one complete /metrics/resource answer into b, which is reset
// first. now (unix nanoseconds) stands in for samples without a timestamp. An
// input that does not end in a newline is rejected: it was cut off.
func (d *Decoder) Decode(data []byte, now int64, b *sample.Batch) error {
	b.Reset()
	d.gen++
	for lineNo := 1; len(data) > 0; lineNo++ {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			if skipBlank(data, 0) == len(data) {
				break // trailing blanks end the input as well as a newline does
			}
			return lineError(lineNo, data, errors.New("unexpected end of input: the last line has no newline, the answer was cut off"))
		}
		line := data[:nl]
		data = data[nl+1:]
		if err := d.line(line, now, b); err != nil {
			return lineError(lineNo, line, err)
		}
	}
	d.prune(len(b.Containers))
	return nil
}

func lineError(lineNo int, line []byte, err error) error {
	const maxShown = 80
	shown := line
	if len(shown) > maxShown {
		shown = shown[:maxShown]
	}
	return fmt.Errorf("line %d %q: %w", lineNo, shown, err)
}

func (d *Decoder) line(line []byte, now int64, b *sample.Batch) error {
	i := skipBlank(line, 0)
	if i == len(line) {
		return nil
	}
	if line[i] == '#' {
		return checkComment(line[i+1:])
	}
	// Fast path: an unquoted name, then labels, value and timestamp found
	// from the end of the line and a label block seen before.
	start := i
	if isNameStart(line[i], true) {
		for i < len(line) && isNameByte(line[i], true) {
			i++
		}
		if i == len(line) || line[i] == '{' || isBlank(line[i]) {
			if ok, err := d.knownSample(familyOf(line[start:i]), line[i:], now, b); ok {
				return err
			}
		}
	}
	return d.parseSample(line[start:], now, b)
}

// knownSample handles a sample line after its unquoted name. It reports
// ok=false when the line is not in the simple form, or its label block was
// not seen before; the caller then parses the line in full.
func (d *Decoder) knownSample(fam family, rest []byte, now int64, b *sample.Batch) (ok bool, err error) {
	// Last token, then an optional second-to-last: value [timestamp].
	end := len(rest)
	tokStart := lastTokenStart(rest, end)
	if tokStart == end || tokStart == 0 {
		return false, nil
	}
	valEnd, valStart := end, tokStart
	var ts []byte
	p := skipBlankBack(rest, tokStart)
	if p > 0 && rest[p-1] != '}' {
		// Two tokens after the labels: value and timestamp.
		ts = rest[tokStart:end]
		valEnd = p
		valStart = lastTokenStart(rest, p)
		if valStart == 0 {
			return false, nil
		}
		p = skipBlankBack(rest, valStart)
	}
	if bytes.IndexByte(rest[valStart:valEnd], '}') >= 0 {
		// The value is glued to the label block ("A {}0"): not the simple
		// form.
		return false, nil
	}
	blockStart := skipBlank(rest, 0)
	var ref *containerRef
	if blockStart < p {
		if rest[blockStart] != '{' || rest[p-1] != '}' {
			return false, nil
		}
		var known bool
		if ref, known = d.blocks[string(rest[blockStart:p])]; !known {
			return false, nil
		}
	}
	return true, d.apply(fam, ref, rest[valStart:valEnd], ts, now, b)
}

// apply stores one sample's value into the batch; ref is the container its
// label block names, nil if none.
func (d *Decoder) apply(fam family, ref *containerRef, value, ts []byte, now int64, b *sample.Batch) error {
	if fam == famOther {
		// Only the syntax matters.
		if _, err := parseFloat(value); err != nil {
			return err
		}
		_, _, err := parseTimestamp(ts, now)
		return err
	}
	scale := 0 // decimal exponent turning the text into an integer unit
	switch fam {
	case famNodeCPU, famContainerCPU, famContainerStart:
		scale = 9 // seconds to nanoseconds
	}
	v, usable, err := parseScaled(value, scale)
	if err != nil {
		return err
	}
	at, ok, err := parseTimestamp(ts, now)
	if err != nil {
		return err
	}
	if fam == famScrapeError {
		b.KubeletError = b.KubeletError || (usable && v > 0)
		return nil
	}
	if !usable || !ok {
		b.Skipped++
		return nil
	}
	switch fam {
	case famNodeCPU:
		b.Node.CPU, b.Node.CPUTime = v, at
		b.Node.Fields |= sample.HasCPU
		return nil
	case famNodeMemory:
		b.Node.Memory, b.Node.MemoryTime = v, at
		b.Node.Fields |= sample.HasMemory
		return nil
	case famNodeSwap:
		b.Node.Swap = v
		b.Node.Fields |= sample.HasSwap
		return nil
	}
	if ref == nil || (fam == famContainerStart && v > math.MaxInt64) {
		// A container sample must name namespace, pod and container, and a
		// start time must fit in int64 nanoseconds.
		b.Skipped++
		return nil
	}
	c := d.containerOf(ref, b)
	switch fam {
	case famContainerCPU:
		c.CPU, c.CPUTime = v, at
		c.Fields |= sample.HasCPU
	case famContainerMemory:
		c.Memory, c.MemoryTime = v, at
		c.Fields |= sample.HasMemory
	case famContainerSwap:
		c.Swap = v
		c.Fields |= sample.HasSwap
	case famContainerStart:
		c.StartTime = int64(v)
	}
	return nil
}

func (d *Decoder) containerOf(ref *containerRef, b *sample.Batch) *sample.Container {
	if ref.gen != d.gen {
		ref.gen = d.gen
		ref.idx = int32(len(b.Containers))
		namespace, pod, name := ref.names()
		b.Containers = append(b.Containers, sample.Container{Namespace: namespace, Pod: pod, Name: name})
	}
	return &b.Containers[ref.idx]
}
