// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/kubemetrics/metrics-server/pkg/api"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Upstream metrics-server's scrape-round and store metrics.
var (
	tickDuration = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace: "metrics_server",
		Subsystem: "manager",
		Name:      "tick_duration_seconds",
		Help:      "The total time spent collecting and storing metrics in seconds.",
		// The default buckets end at 10s; rounds of large clusters and
		// rounds cut by the resolution need the ones above.
		Buckets:        append(append([]float64{}, metrics.DefBuckets...), 15, 22.5, 30, 45, 60, 90, 120),
		StabilityLevel: metrics.ALPHA,
	})
	storagePoints = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      "metrics_server",
		Subsystem:      "storage",
		Name:           "points",
		Help:           "Number of metrics points stored.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"type"})
)

// Not in upstream, hence another prefix. Alerts compare round durations and
// the served metrics' age with it, whatever --metric-resolution is.
var resolutionSeconds = metrics.NewGauge(&metrics.GaugeOpts{
	Namespace:      "resource_metrics",
	Name:           "resolution_seconds",
	Help:           "The metric resolution (--metric-resolution): how often kubelets are scraped",
	StabilityLevel: metrics.ALPHA,
})

var registerOnce sync.Once

// registerMetrics registers every self-metric of the server, the API and
// the scraper with the registry /metrics serves, once per process.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(tickDuration, storagePoints, resolutionSeconds)
		api.RegisterMetrics(legacyregistry.MustRegister)
		scraper.RegisterMetrics(legacyregistry.MustRegister)
		storage.RegisterMetrics(legacyregistry.MustRegister)
	})
}
