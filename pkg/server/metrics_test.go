// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
)

// TestRegisterMetrics: one call registers the server's, the API's and the
// scraper's self-metrics with the registry /metrics serves; a second call
// (a second server in one process) does not panic.
func TestRegisterMetrics(t *testing.T) {
	registerMetrics()
	registerMetrics()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range families {
		got[f.GetName()] = true
	}
	// Families without labels are exposed as soon as they are registered.
	for _, name := range []string{
		"metrics_server_manager_tick_duration_seconds",
		"metrics_server_api_metric_freshness_seconds",
		"resource_metrics_scraper_backoff_skips_total",
		"resource_metrics_scraper_nodes_backed_off",
		"resource_metrics_resolution_seconds",
	} {
		if !got[name] {
			t.Errorf("%s not registered", name)
		}
	}
}
