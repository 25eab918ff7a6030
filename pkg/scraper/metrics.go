// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"time"

	"k8s.io/component-base/metrics"
)

// Upstream metrics-server's kubelet request metrics, with the same names,
// labels and buckets, so dashboards and alerts keep working.
var (
	requestDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "metrics_server",
		Subsystem:      "kubelet",
		Name:           "request_duration_seconds",
		Help:           "Duration of requests to kubelet API in seconds",
		Buckets:        metrics.DefBuckets,
		StabilityLevel: metrics.ALPHA,
	}, []string{"node"})
	requestTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "metrics_server",
		Subsystem:      "kubelet",
		Name:           "request_total",
		Help:           "Number of requests sent to kubelet API",
		StabilityLevel: metrics.ALPHA,
	}, []string{"success"})
	lastRequestTime = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      "metrics_server",
		Subsystem:      "kubelet",
		Name:           "last_request_time_seconds",
		Help:           "Time of last request performed to kubelet API since unix epoch in seconds",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node"})
	// Not in upstream, hence another prefix: tools that expect upstream's
	// exact set of metrics_server_* families keep finding it.
	scrapeFailures = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "resource_metrics",
		Subsystem: "scraper",
		Name:      "failures_total",
		Help: "Failed scrapes of kubelets by reason (no_address, timeout, connect, tls_unknown_authority, tls_name_mismatch, " +
			"tls_expired, tls_invalid, tls_handshake, http_status, too_large, decode, kubelet_stats_error, empty, other) and node state (ready, not_ready, new, terminating)",
		StabilityLevel: metrics.ALPHA,
	}, []string{"reason", "node_state"})
	nodeFailing = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      "resource_metrics",
		Subsystem:      "scraper",
		Name:           "node_failing",
		Help:           "1 for each node whose last scrape failed, labelled with the reason and the node's state then (ready, not_ready, new, terminating); absent for nodes scraped successfully",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node", "reason", "node_state"})
	scrapesSkipped = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "resource_metrics",
		Subsystem:      "scraper",
		Name:           "backoff_skips_total",
		Help:           "Scrapes skipped because the node failed repeatedly and is backed off",
		StabilityLevel: metrics.ALPHA,
	})
	nodesBackedOff = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      "resource_metrics",
		Subsystem:      "scraper",
		Name:           "nodes_backed_off",
		Help:           "Nodes currently backed off after repeated failures",
		StabilityLevel: metrics.ALPHA,
	})
)

// RegisterMetrics registers the scraper's self-metrics; the server does so
// once at start, before the first scrape.
func RegisterMetrics(register func(...metrics.Registerable)) {
	register(requestDuration, requestTotal, lastRequestTime, scrapeFailures, nodeFailing, scrapesSkipped, nodesBackedOff)
}

func recordRequest(node string, start time.Time, elapsed time.Duration, err error) {
	requestDuration.WithLabelValues(node).Observe(elapsed.Seconds())
	lastRequestTime.WithLabelValues(node).Set(float64(start.UnixNano()) / 1e9)
	if err == nil {
		requestTotal.WithLabelValues("true").Inc()
	} else {
		requestTotal.WithLabelValues("false").Inc()
	}
}

// recordNodeOutcome counts a failure (reason not "") and keeps the node's
// node_failing series at its current reason and state.
func recordNodeOutcome(node string, o outcome, state string) {
	if o.reason != "" {
		scrapeFailures.WithLabelValues(o.reason, state).Inc()
	}
	if o.reason == o.previous && (o.reason == "" || state == o.previousState) {
		return
	}
	if o.previous != "" {
		nodeFailing.DeleteLabelValues(node, o.previous, o.previousState)
	}
	if o.reason != "" {
		nodeFailing.WithLabelValues(node, o.reason, state).Set(1)
	}
}

// forgetNode drops a node's per-node series, so a cluster with node churn
// does not keep series of nodes long gone.
func forgetNode(node string, st *nodeState) {
	requestDuration.DeleteLabelValues(node)
	lastRequestTime.DeleteLabelValues(node)
	if st.lastReason != "" {
		nodeFailing.DeleteLabelValues(node, st.lastReason, st.failedState)
	}
}
