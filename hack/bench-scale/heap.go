// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// heapCategory names the part of a server a heap allocation belongs to:
// the first category one of whose frame patterns appears anywhere in the
// allocation's stack. The patterns name this server's packages and
// upstream's alike (github.com/kubemetrics/metrics-server/pkg/... and
// sigs.k8s.io/metrics-server/pkg/...), so the two servers' profiles break
// down the same way. per is the unit the part grows with, if any.
type heapCategory struct {
	name     string
	patterns []string
	per      unit
}

// unit is what a part of the heap is divided by in the breakdown.
type unit int

const (
	noUnit unit = iota
	perContainer
	perPod
	perNode
)

var heapCategories = []heapCategory{
	{"decoder (series caches)", []string{"metrics-server/pkg/scraper.(*Decoder)", "metrics-server/pkg/scraper/client/resource."}, perContainer},
	{"store", []string{"metrics-server/pkg/storage."}, perContainer},
	{"API (handlers, answers, serving connections)", []string{"metrics-server/pkg/api", "k8s.io/apiserver/", "net/http.(*conn).serve", "net/http.(*http2serverConn)"}, noUnit},
	// Before the scraper: this server's kubelet connections are set up and
	// read within its scraper's frames.
	{"client connections (kubelets, kube-apiserver)", []string{"net/http.(*Transport)", "net/http.(*persistConn)", "net/http.(*http2", "net/http.http2", "golang.org/x/net/http2.", "crypto/tls.", "net.(*Dialer)"}, perNode},
	{"scraper (answers, batches)", []string{"metrics-server/pkg/scraper"}, noUnit},
	// Watch events are decoded in the watcher's goroutine, outside the
	// informer's frames.
	{"informers (nodes, pods)", []string{"k8s.io/client-go/tools/cache.", "k8s.io/apimachinery/pkg/watch.(*StreamWatcher)", "metrics-server/pkg/server.trimNode", "metrics-server/pkg/podindex."}, perPod},
}

const otherCategory = "other"

// heapShares is the in-use heap of a profile, in bytes, by category name.
type heapShares map[string]float64

// categorize sums a heap profile's in-use bytes by category.
func categorize(p *profile.Profile) (heapShares, error) {
	index := -1
	for i, st := range p.SampleType {
		if st.Type == "inuse_space" {
			index = i
		}
	}
	if index < 0 {
		return nil, fmt.Errorf("the heap profile has no inuse_space (sample types %v)", p.SampleType)
	}
	shares := heapShares{}
	for _, s := range p.Sample {
		shares[categoryOf(s)] += float64(s.Value[index])
	}
	return shares, nil
}

func categoryOf(s *profile.Sample) string {
	for _, c := range heapCategories {
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				for _, p := range c.patterns {
					if strings.Contains(line.Function.Name, p) {
						return c.name
					}
				}
			}
		}
	}
	return otherCategory
}

// heapProfile forces a collection in the server (its heap profile endpoint
// collects first when asked with gc=1), keeps the profile in file for
// `go tool pprof`, and returns it.
func heapProfile(src metricsSource, file string) (*profile.Profile, error) {
	data, p, err := serverProfile(src, "heap?gc=1", "heap")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// serverProfile asks the server's /debug/pprof/<query> for its profile of
// what, and returns it as sent and parsed.
func serverProfile(src metricsSource, query, what string) ([]byte, *profile.Profile, error) {
	resp, err := src.client.Get(strings.TrimSuffix(src.url, "/metrics") + "/debug/pprof/" + query)
	if err != nil {
		return nil, nil, fmt.Errorf("profiling the server's %s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("profiling the server's %s: %s (is --profiling off?)", what, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the server's %s profile: %w", what, err)
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the server's %s profile: %w", what, err)
	}
	return data, p, nil
}

// cpuProfileChunk is the longest single CPU profile asked of the server:
// under the generic apiserver's timeout for a request (60 s).
const cpuProfileChunk = 50

// cpuProfile profiles the server's CPU for seconds, in consecutive chunks of
// at most cpuProfileChunk seconds merged into one, and keeps the profile in
// file for `go tool pprof`. A server at a few hundred nodes burns a few
// millicores, so one chunk holds too few samples to tell its parts apart.
func cpuProfile(src metricsSource, seconds int, file string) error {
	var chunks []*profile.Profile
	for left := seconds; left > 0; left -= cpuProfileChunk {
		_, p, err := serverProfile(src, fmt.Sprintf("profile?seconds=%d", min(left, cpuProfileChunk)), "CPU")
		if err != nil {
			return err
		}
		chunks = append(chunks, p)
	}
	merged, err := profile.Merge(chunks)
	if err != nil {
		return fmt.Errorf("merging the server's CPU profiles: %w", err)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := merged.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing the server's CPU profile: %w", err)
	}
	return f.Close()
}

// breakdown is the heap table of one server: each category in MiB and per
// unit it grows with.
func (h heapShares) breakdown(containers, pods, nodes int) string {
	var b strings.Builder
	var total, decoderStore float64
	for _, v := range h {
		total += v
	}
	fmt.Fprintf(&b, "| part of the heap | MiB | per unit |\n|---|---:|---:|\n")
	for _, c := range append(heapCategories, heapCategory{name: otherCategory}) {
		v := h[c.name]
		var per string
		switch c.per {
		case perContainer:
			per = fmt.Sprintf("%.0f B per container series", v/float64(containers))
			decoderStore += v
		case perPod:
			per = fmt.Sprintf("%.0f B per pod", v/float64(pods))
		case perNode:
			per = fmt.Sprintf("%.0f B per node", v/float64(nodes))
		}
		fmt.Fprintf(&b, "| %s | %.1f | %s |\n", c.name, v/(1<<20), per)
	}
	fmt.Fprintf(&b, "| decoder and store | %.1f | %.0f B per container series |\n", decoderStore/(1<<20), decoderStore/float64(containers))
	fmt.Fprintf(&b, "| total (sampled profile) | %.1f | |\n", total/(1<<20))
	return b.String()
}

// printBreakdown prints the breakdown of a kept heap profile.
func printBreakdown(file string, b benchConfig) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	shares, err := categorize(p)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	pods := b.nodes * b.podsPerNode
	fmt.Print(shares.breakdown(pods*b.containers, pods, b.nodes))
	return nil
}
