package storage

import "k8s.io/component-base/metrics"

var implausibleRates = metrics.NewCounterVec(&metrics.CounterOpts{
	Namespace:      "resource_metrics",
	Subsystem:      "store",
	Name:           "implausible_rates_total",
	Help:           "CPU rates dropped as implausible, above the node's CPU capacity, by kind (node, container)",
	StabilityLevel: metrics.ALPHA,
}, []string{"kind"})

// RegisterMetrics registers the store's self-metrics; the server does so
// once at start.
func RegisterMetrics(register func(...metrics.Registerable)) { register(implausibleRates) }
