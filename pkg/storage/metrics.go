// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package storage

import "k8s.io/component-base/metrics"

var implausibleRates = metrics.NewCounterVec(&metrics.CounterOpts{
	Namespace:      "resource_metrics",
	Subsystem:      "store",
	Name:           "implausible_rates_total",
	Help:           "CPU rates dropped as implausible, above the node's CPU capacity, by kind (node, container)",
	StabilityLevel: metrics.ALPHA,
}, []string{"kind"})

var podsOfOtherNodes = metrics.NewCounter(&metrics.CounterOpts{
	Namespace:      "resource_metrics",
	Subsystem:      "store",
	Name:           "pods_of_other_nodes_total",
	Help:           "Pods a node's answer named that are bound to another node, and were not taken from it, counted per answer",
	StabilityLevel: metrics.ALPHA,
})

// RegisterMetrics registers the store's self-metrics; the server does so
// once at start.
func RegisterMetrics(register func(...metrics.Registerable)) {
	register(implausibleRates, podsOfOtherNodes)
}
