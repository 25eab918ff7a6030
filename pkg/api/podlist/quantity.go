// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"strconv"

	"github.com/kubemetrics/metrics-server/pkg/api/convert"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Quantities are formatted as resource.Quantity's canonical form does
// (CanonicalizeBytes), which allocates for every binary value: decimal
// values take the largest power-of-1000 suffix that keeps the number whole;
// binary values below 1024 are written in decimal, others take the largest
// power-of-1024 suffix that keeps the number whole. encode_test.go and
// FuzzListEncoding hold them to resource.Quantity.

// quantityBuf holds one formatted quantity; the longest int64 with a
// suffix fits.
type quantityBuf [24]byte

var decimalSuffixes = map[int]string{-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}

var binarySuffixes = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// formatCPU formats nanocores (DecimalSI).
func formatCPU(dst *quantityBuf, nanocores uint64) []byte {
	return formatDecimal(dst, convert.ClampInt64(nanocores), -9)
}

// formatDecimal formats v × 10^exponent, v ≥ 0, exponent a multiple of 3.
func formatDecimal(dst *quantityBuf, v int64, exponent int) []byte {
	if v == 0 {
		return append(dst[:0], '0')
	}
	for v%10 == 0 {
		v /= 10
		exponent++
	}
	// Back to a multiple of 3; v only grows by factors just taken out.
	switch exponent % 3 {
	case 1, -2:
		v *= 10
		exponent--
	case 2, -1:
		v *= 100
		exponent -= 2
	}
	return append(strconv.AppendInt(dst[:0], v, 10), decimalSuffixes[exponent]...)
}

// formatBytes formats a byte count (BinarySI).
func formatBytes(dst *quantityBuf, bytes uint64) []byte {
	v := convert.ClampInt64(bytes)
	if v < 1024 {
		return formatDecimal(dst, v, 0)
	}
	power := 0
	for v%1024 == 0 {
		v /= 1024
		power++
	}
	return append(strconv.AppendInt(dst[:0], v, 10), binarySuffixes[power]...)
}

// usageQuantities are a container's usage formatted, in the order of their
// names (cpu < memory < swap), as both encodings sort map keys.
type usageQuantities struct {
	names  [3]string
	values [3][]byte
	n      int
	bufs   [3]quantityBuf
}

func (q *usageQuantities) set(u *storage.Usage) {
	q.n = 0
	if u.HasCPU {
		q.names[q.n], q.values[q.n] = "cpu", formatCPU(&q.bufs[q.n], u.CPU)
		q.n++
	}
	if u.HasMemory {
		q.names[q.n], q.values[q.n] = "memory", formatBytes(&q.bufs[q.n], u.Memory)
		q.n++
	}
	if u.HasSwap {
		q.names[q.n], q.values[q.n] = "swap", formatBytes(&q.bufs[q.n], u.Swap)
		q.n++
	}
}
