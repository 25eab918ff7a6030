// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"
)

// parseTimestamp converts an optional millisecond timestamp to unix
// nanoseconds; a missing one is now. usable is false for times before 1970
// or beyond what int64 nanoseconds hold.
func parseTimestamp(ts []byte, now int64) (at int64, usable bool, err error) {
	if ts == nil {
		return now, true, nil
	}
	ms, err := strconv.ParseInt(string(ts), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("expected integer as timestamp, got %q", ts)
	}
	if ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false, nil
	}
	return ms * int64(time.Millisecond), true, nil
}

// parseFloat parses a sample value as expfmt does.
func parseFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, fmt.Errorf("expected float as value, got %q", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("expected float as value, got %q", b)
	}
	return f, nil
}

// parseScaled parses a non-negative decimal value times 10^scale, rounded to
// the nearest integer. Decimal text is converted exactly, without the
// rounding of a float64: a CPU counter printed as 4321.77 seconds becomes
// exactly 4321770000000 nanoseconds. Other forms go through strconv.
// usable is false for NaN, infinities, negative or too large values.
func parseScaled(b []byte, scale int) (v uint64, usable bool, err error) {
	if v, ok := parseDecimalScaled(b, scale); ok {
		return v, true, nil
	}
	f, err := parseFloat(b)
	if err != nil {
		return 0, false, err
	}
	f *= math.Pow10(scale)
	if !(f >= 0) || f >= math.MaxUint64 {
		return 0, false, nil
	}
	return uint64(math.Round(f)), true, nil
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// maxDigits is how many significant decimal digits a uint64 always holds.
const maxDigits = 19

// maxExponent bounds the exponents read here; larger ones (and the long
// fractions they may offset) are left to strconv.
const maxExponent = 1000

// digits accumulates the significant digits of a decimal number.
type digits struct {
	value uint64
	n     int // significant digits in value
}

// read adds the decimal digits of b from i, skipping leading zeros, and
// returns the index after them and how many were read. ok is false when
// there are more than maxDigits significant digits.
func (d *digits) read(b []byte, i int) (next, read int, ok bool) {
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if d.value == 0 && b[i] == '0' {
			continue
		}
		if d.n == maxDigits {
			return i, i - start, false
		}
		d.value = d.value*10 + uint64(b[i]-'0')
		d.n++
	}
	return i, i - start, true
}

// parseDecimalScaled handles the forms a kubelet prints: digits, an
// optional fraction and an optional exponent, at most 19 significant digits.
// It reports ok=false for anything else, including values it cannot hold;
// the caller then converts through strconv.
func parseDecimalScaled(b []byte, scale int) (uint64, bool) {
	i := 0
	if i < len(b) && b[i] == '+' {
		i++
	}
	var mant digits
	i, whole, ok := mant.read(b, i)
	if !ok {
		return 0, false
	}
	exp, fraction := 0, 0
	if i < len(b) && b[i] == '.' {
		if i, fraction, ok = mant.read(b, i+1); !ok {
			return 0, false
		}
		exp = -fraction
	}
	if whole+fraction == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		neg := i < len(b) && b[i] == '-'
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		var e digits
		var read int
		if i, read, ok = e.read(b, i); !ok || read == 0 {
			return 0, false
		}
		if e.value > maxExponent {
			return 0, false
		}
		ev := int(e.value)
		if neg {
			ev = -ev
		}
		exp += ev
	}
	if i != len(b) {
		return 0, false
	}
	if mant.value == 0 {
		return 0, true
	}
	exp += scale
	switch {
	case exp >= 0:
		if exp >= len(pow10) {
			return 0, false
		}
		hi, lo := bits.Mul64(mant.value, pow10[exp])
		if hi != 0 {
			return 0, false
		}
		return lo, true
	case -exp >= len(pow10):
		return 0, true // rounds to zero: mant < 10^19 < 0.5 * 10^(-exp)
	default:
		div := pow10[-exp]
		q, r := mant.value/div, mant.value%div
		if r >= div-r { // round half up
			q++
		}
		return q, true
	}
}
