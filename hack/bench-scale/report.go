// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is the scale table's row of a result.
func (r result) row(key string, b benchConfig) string {
	return fmt.Sprintf("| %s | %s | %.1f m (%.3f m/node) | %.3f s | %.0f MiB (%.3f MiB/node) | %.0f MiB | %.0f MiB | %.2f s | %s | %s / %s | %s / %s | %s |",
		key, b.resolution, r.cpuMillicores, r.cpuMillicores/float64(b.nodes), r.cpuSecondsPerCycle,
		r.steadyRSS, r.steadyRSS/float64(b.nodes), r.peakRSS, r.heapInUse, r.cycleSeconds, r.startToServed.Round(100*time.Millisecond),
		ms(quantile(r.allPods, 0.5)), ms(quantile(r.allPods, 0.99)), ms(quantile(r.perNamespace, 0.5)), ms(quantile(r.perNamespace, 0.99)),
		r.measured.UTC().Format(time.DateOnly))
}

const tableHeader = `| nodes × pods × containers | resolution | CPU (avg) | CPU s / cycle | RSS steady | RSS peak | Go heap in use | scrape cycle | start → all pods served | all-pods list p50 / p99 | per-namespace list p50 / p99 (load) | measured |
|---|---|---|---|---|---|---|---|---|---|---|---|`

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// rowNodes is the node count a table row starts with ("| 500 × 30 × 2 |"),
// so that rows sort by size rather than as text.
func rowNodes(row string) int {
	fields := strings.Fields(strings.TrimPrefix(row, "| "))
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[0])
	return n
}

// The report's scale tables, each between its markers: this server's rows
// and those of the server compared in the same runs.
const (
	sectionThisServer = "bench-scale"
	sectionCompared   = "bench-scale-compared"
)

// writeRow puts row into the scale table of the report's section, replacing
// the row of the same size.
func writeRow(path, section, key, row string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := "<!-- "+section+":begin -->", "<!-- "+section+":end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(s[i+len(begin):j]), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, key) && !strings.HasPrefix(line, "| nodes") {
			rows = append(rows, line)
		}
	}
	rows = append(rows, row)
	slices.SortFunc(rows, func(a, b string) int { return cmp.Compare(rowNodes(a), rowNodes(b)) })
	out := s[:i+len(begin)] + "\n" + tableHeader + "\n" + strings.Join(rows, "\n") + "\n" + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}
