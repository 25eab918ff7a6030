// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package startmemory

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mapping is one line of /proc/<pid>/maps.
type mapping struct {
	start, end uintptr
	perms      string
	path       string
}

// executableMappings returns the read-only mappings of path in maps, the
// text of /proc/self/maps.
func executableMappings(maps io.Reader, path string) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// address perms offset dev inode [path]; the path may hold spaces.
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		m := mapping{perms: fields[1], path: strings.Join(fields[5:], " ")}
		if m.path != path || len(m.perms) != 4 || m.perms[0] != 'r' || m.perms[1] != '-' || m.perms[3] != 'p' {
			continue
		}
		start, end, ok := strings.Cut(fields[0], "-")
		if !ok {
			return nil, fmt.Errorf("mapping %q: no address range", sc.Text())
		}
		s, err := strconv.ParseUint(start, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("mapping %q: %w", sc.Text(), err)
		}
		e, err := strconv.ParseUint(end, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("mapping %q: %w", sc.Text(), err)
		}
		if e <= s {
			return nil, fmt.Errorf("mapping %q: empty address range", sc.Text())
		}
		m.start, m.end = uintptr(s), uintptr(e)
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the memory mappings: %w", err)
	}
	return out, nil
}

// parseStatus reads RssFile and RssAnon from the text of /proc/<pid>/status.
func parseStatus(status []byte) (Resident, error) {
	var r Resident
	found := 0
	for line := range bytes.Lines(status) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(name) {
		case "RssFile":
			dst = &r.File
		case "RssAnon":
			dst = &r.Anonymous
		default:
			continue
		}
		kib, ok := bytes.CutSuffix(bytes.TrimSpace(value), []byte(" kB"))
		if !ok {
			return Resident{}, fmt.Errorf("%s: %q is not in kB", name, bytes.TrimSpace(value))
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(kib)), 10, 64)
		if err != nil {
			return Resident{}, fmt.Errorf("%s: %w", name, err)
		}
		*dst = n << 10
		found++
	}
	if found != 2 {
		return Resident{}, fmt.Errorf("RssFile and RssAnon not both found")
	}
	return r, nil
}
