// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package startmemory

import (
	"crypto/sha256"
	"reflect"
	"strings"
	"testing"
)

func TestExecutableMappings(t *testing.T) {
	const exe = "/usr/bin/metrics server"
	tests := []struct {
		name    string
		maps    string
		want    []mapping
		wantErr bool
	}{
		{
			name: "the read-only mappings of the executable",
			maps: `00400000-024c5000 r-xp 00000000 fd:01 123 /usr/bin/metrics server
024c5000-04d7f000 r--p 020c5000 fd:01 123 /usr/bin/metrics server
04d7f000-04e54000 rw-p 0497f000 fd:01 123 /usr/bin/metrics server
04e54000-06ea6000 rw-p 00000000 00:00 0
7f9a51660000-7f9a51b00000 r--p 00000000 fd:01 456 /usr/lib/locale/C.utf8/LC_CTYPE
7ffc84841000-7ffc84863000 rw-p 00000000 00:00 0                          [stack]
`,
			want: []mapping{
				{start: 0x400000, end: 0x24c5000, perms: "r-xp", path: exe},
				{start: 0x24c5000, end: 0x4d7f000, perms: "r--p", path: exe},
			},
		},
		{
			name: "shared or copied-on-write mappings are left",
			maps: `00400000-00401000 r--s 00000000 fd:01 123 /usr/bin/metrics server
00401000-00402000 rwxp 00000000 fd:01 123 /usr/bin/metrics server
`,
		},
		{
			name: "another executable of the same prefix",
			maps: "00400000-00401000 r-xp 00000000 fd:01 124 /usr/bin/metrics server-old\n",
		},
		{
			name:    "an address that is not hexadecimal",
			maps:    "0040000g-00401000 r-xp 00000000 fd:01 123 /usr/bin/metrics server\n",
			wantErr: true,
		},
		{
			name:    "an empty range",
			maps:    "00401000-00401000 r-xp 00000000 fd:01 123 /usr/bin/metrics server\n",
			wantErr: true,
		},
		{
			name:    "no range",
			maps:    "00401000 r-xp 00000000 fd:01 123 /usr/bin/metrics server\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := executableMappings(strings.NewReader(tt.maps), exe)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Resident
		wantErr bool
	}{
		{
			name:   "both",
			status: "Name:\tmetrics-server\nVmRSS:\t   69136 kB\nRssAnon:\t   16368 kB\nRssFile:\t   52768 kB\nRssShmem:\t       0 kB\n",
			want:   Resident{File: 52768 << 10, Anonymous: 16368 << 10},
		},
		{name: "no RssFile", status: "RssAnon:\t   16368 kB\n", wantErr: true},
		{name: "not in kB", status: "RssAnon:\t16368 MB\nRssFile:\t1 kB\n", wantErr: true},
		{name: "not a number", status: "RssAnon:\tmany kB\nRssFile:\t1 kB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReleaseDropsExecutablePages releases this test binary's pages and
// checks that they left the resident memory and that code still runs.
func TestReleaseDropsExecutablePages(t *testing.T) {
	before, after, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if before.File == 0 {
		t.Fatalf("no file-backed resident memory before the release: %+v", before)
	}
	// Reading the status after the release maps back the pages it runs
	// on, with their neighbours: a test binary is small enough for that to
	// be a large share of it. Without the release nothing would leave.
	if after.File > before.File/10*9 {
		t.Errorf("file-backed resident memory %d KiB before the release, %d KiB after: not a tenth less", before.File>>10, after.File>>10)
	}
	// Code and read-only data come back from the file.
	if sum := sha256.Sum256([]byte("abc")); sum[0] != 0xba {
		t.Errorf("SHA-256 after the release: %x", sum)
	}
}
