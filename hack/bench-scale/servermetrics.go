// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// metricsSource is where a server's /metrics is read.
type metricsSource struct {
	client *http.Client
	url    string
}

// newMetricsSource reads the main metrics server's /metrics on its secure
// port, as the cluster's admin: every metrics server serves it there.
func newMetricsSource(c *localcluster.Cluster) (metricsSource, error) {
	cfg := c.MetricsServerConfig(c.Ports.MetricsServer())
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return metricsSource{}, err
	}
	return metricsSource{client: client, url: cfg.Host + "/metrics"}, nil
}

// serverMetrics reads the server's /metrics.
func serverMetrics(src metricsSource) (map[string]*dto.MetricFamily, error) {
	resp, err := src.client.Get(src.url)
	if err != nil {
		return nil, fmt.Errorf("reading the server's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the server's /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the server's /metrics: %w", err)
	}
	return families, nil
}

// family is one metric family of the server's /metrics, which must be
// there.
func family(src metricsSource, name string) (*dto.MetricFamily, error) {
	families, err := serverMetrics(src)
	if err != nil {
		return nil, err
	}
	f, ok := families[name]
	if !ok {
		return nil, fmt.Errorf("the server's /metrics has no %s", name)
	}
	return f, nil
}

// logGoMemory logs the Go runtime's account of the process's memory right
// after the collection the heap profile made: what the RSS holds besides
// the live heap.
func logGoMemory(src metricsSource) error {
	families, err := serverMetrics(src)
	if err != nil {
		return err
	}
	var kv []any
	for _, part := range []string{"heap_alloc", "heap_inuse", "heap_idle", "heap_released", "stack_inuse", "mspan_inuse", "gc_sys", "other_sys", "sys"} {
		f, ok := families["go_memstats_"+part+"_bytes"]
		if !ok || len(f.GetMetric()) == 0 {
			return fmt.Errorf("the server's /metrics has no go_memstats_%s_bytes", part)
		}
		kv = append(kv, part, fmt.Sprintf("%.1f MiB", f.GetMetric()[0].GetGauge().GetValue()/(1<<20)))
	}
	klog.InfoS("Go memory after the collection", kv...)
	return nil
}

type histogram struct{ sum, count float64 }

// tickStats is the server's scrape-round histogram, summed up.
func tickStats(src metricsSource) (histogram, error) {
	f, err := family(src, "metrics_server_manager_tick_duration_seconds")
	if err != nil {
		return histogram{}, err
	}
	var h histogram
	for _, m := range f.GetMetric() {
		h.sum += m.GetHistogram().GetSampleSum()
		h.count += float64(m.GetHistogram().GetSampleCount())
	}
	return h, nil
}

// bucketCounts is a cumulative histogram: observations at or below each
// upper bound (seconds), bounds ascending.
type bucketCounts struct {
	bounds []float64
	counts []float64
}

// listDurations reads the server's apiserver_request_duration_seconds
// histogram for lists of pod metrics of the given scope, summed over the API
// versions and other labels. Before the first request the family is
// absent: that is an empty histogram, not an error.
func listDurations(src metricsSource, scope string) (bucketCounts, error) {
	families, err := serverMetrics(src)
	if err != nil {
		return bucketCounts{}, err
	}
	byBound := map[float64]float64{}
	for _, m := range families["apiserver_request_duration_seconds"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["verb"] != "LIST" || labels["resource"] != "pods" || labels["scope"] != scope {
			continue
		}
		for _, b := range m.GetHistogram().GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) { // the sample count is that bucket
				byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
		}
		byBound[math.Inf(1)] += float64(m.GetHistogram().GetSampleCount())
	}
	var h bucketCounts
	h.bounds = slices.Sorted(maps.Keys(byBound))
	for _, b := range h.bounds {
		h.counts = append(h.counts, byBound[b])
	}
	return h, nil
}

// since is the histogram of the observations made after earlier; if
// earlier has other bounds (the server had not observed any yet), all.
func (h bucketCounts) since(earlier bucketCounts) bucketCounts {
	d := bucketCounts{bounds: h.bounds, counts: slices.Clone(h.counts)}
	if slices.Equal(h.bounds, earlier.bounds) {
		for i := range d.counts {
			d.counts[i] -= earlier.counts[i]
		}
	}
	return d
}

func (h bucketCounts) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantileBound is the smallest bucket bound within which the q-quantile
// lies, in seconds.
func (h bucketCounts) quantileBound(q float64) float64 {
	for i, c := range h.counts {
		if c >= q*h.count() {
			return h.bounds[i]
		}
	}
	return math.NaN()
}

// gauge reads one unlabelled gauge from the server's plain /metrics.
func gauge(src metricsSource, name string) (float64, error) {
	f, err := family(src, name)
	if err != nil {
		return 0, err
	}
	if len(f.GetMetric()) == 0 || f.GetMetric()[0].GetGauge() == nil {
		return 0, fmt.Errorf("the server's %s is not a gauge with a value", name)
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}
