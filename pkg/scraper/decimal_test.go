// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"strings"
	"testing"
)

// TestParseScaled: decimal text is converted exactly, rounded half up;
// what the exact path cannot hold goes through strconv and still comes out
// right.
func TestParseScaled(t *testing.T) {
	longFraction := "0." + strings.Repeat("0", 1500) + "1"
	for _, tc := range []struct {
		text   string
		scale  int
		want   uint64
		usable bool
	}{
		{"4321.77", 9, 4321_770_000_000, true},
		{"0.1", 9, 100_000_000, true},
		{"1.0000000005", 9, 1_000_000_001, true}, // half up
		{"1.0000000004999", 9, 1_000_000_000, true},
		{"+12", 0, 12, true},
		{"1.5e3", 0, 1500, true},
		{"15E-1", 0, 2, true},
		{"00000000000000000000000123", 0, 123, true},            // leading zeros are not significant
		{"12345678901234567890", 0, 12345678901234567168, true}, // 20 digits: a float64, as expfmt reads it
		{"18446744073709551615", 0, 0, false},                   // rounds past uint64 as a float
		{"1e19", 0, 10_000_000_000_000_000_000, true},
		{"1e20", 0, 0, false},
		{"1e-99999999999999999999", 9, 0, true}, // an exponent of 20 digits
		{"0e99999", 0, 0, true},
		{longFraction + "e1000", 0, 0, true},             // 1e-501
		{longFraction + "e1510", 0, 1_000_000_000, true}, // 1e9
		{"NaN", 0, 0, false},
		{"-1", 0, 0, false},
		{"+Inf", 0, 0, false},
	} {
		got, usable, err := parseScaled([]byte(tc.text), tc.scale)
		if err != nil || got != tc.want || usable != tc.usable {
			name := tc.text
			if len(name) > 40 {
				name = name[:20] + "…" + name[len(name)-20:]
			}
			t.Errorf("parseScaled(%s, %d) = %d, %v, %v; want %d, %v", name, tc.scale, got, usable, err, tc.want, tc.usable)
		}
	}
	// What expfmt refuses too; the last is 1e3499, out of a float64's range.
	for _, bad := range []string{"", ".", "1e", "1e+", "0x10", "1_000", "1.2.3", "p1", longFraction + "e5000"} {
		if _, _, err := parseScaled([]byte(bad), 0); err == nil {
			t.Errorf("parseScaled(%.40q) accepted", bad)
		}
	}
}
