// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// counters are the server's cumulative figures read at the start and the
// end of the measured cycles.
type counters struct {
	cpu   float64 // CPU seconds
	ticks histogram
}

func readCounters(pid int, src metricsSource) (counters, error) {
	cpu, err := cpuSeconds(pid)
	if err != nil {
		return counters{}, err
	}
	ticks, err := tickStats(src)
	return counters{cpu: cpu, ticks: ticks}, err
}

// cpuSeconds is the user+system CPU time of a process.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("reading the server's CPU time: %d fields in /proc/%d/stat", len(fields), pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	return (utime + stime) / 100, nil // USER_HZ
}

// resident is a process's resident memory in MiB: in all, and the parts
// backed by files (the executable's pages) and anonymous (heap, stacks).
type resident struct{ all, file, anonymous float64 }

// residentMiB reads a process's resident memory.
func residentMiB(pid int) (resident, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return resident{}, fmt.Errorf("reading the server's resident memory: %w", err)
	}
	var r resident
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"VmRSS", &r.all}, {"RssFile", &r.file}, {"RssAnon", &r.anonymous}} {
		if *f.dst, err = statusMiB(data, pid, f.name); err != nil {
			return resident{}, err
		}
	}
	return r, nil
}

// rssMiB reads one field of a process's status in MiB, such as VmHWM (the
// peak resident memory).
func rssMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the server's %s: %w", field, err)
	}
	return statusMiB(data, pid, field)
}

// statusMiB reads field, in kB, from the text of /proc/<pid>/status.
func statusMiB(data []byte, pid int, field string) (float64, error) {
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("reading the server's %s: %w", field, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("reading the server's %s: not in /proc/%d/status", field, pid)
}
