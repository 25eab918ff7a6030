package server

import (
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
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

func init() {
	legacyregistry.MustRegister(tickDuration, storagePoints)
}
