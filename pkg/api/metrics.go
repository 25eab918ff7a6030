// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"time"

	"k8s.io/component-base/metrics"

	"github.com/kubemetrics/metrics-server/pkg/api/podlist"
)

// metricFreshness is upstream metrics-server's freshness histogram: for every
// item served, how old its timestamp was.
var metricFreshness = metrics.NewHistogram(&metrics.HistogramOpts{
	Namespace:      "metrics_server",
	Subsystem:      "api",
	Name:           "metric_freshness_seconds",
	Help:           "Freshness of metrics exported",
	Buckets:        metrics.ExponentialBuckets(1, 1.364, 20),
	StabilityLevel: metrics.ALPHA,
})

// RegisterMetrics registers the API's self-metrics, its pod lists'
// included; the server does so once at start, before it serves.
func RegisterMetrics(register func(...metrics.Registerable)) {
	register(metricFreshness)
	podlist.RegisterMetrics(register)
}

// freshnessSink observes item ages against one request time.
type freshnessSink struct{ now int64 }

func newFreshnessSink(now time.Time) *freshnessSink { return &freshnessSink{now: now.UnixNano()} }

func (f *freshnessSink) observe(timestamp int64) {
	metricFreshness.Observe(time.Duration(f.now - timestamp).Seconds())
}
