// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRepositoryMonitoring: the repository's alerts and dashboard pass, and
// read the server's own metrics among others.
func TestRepositoryMonitoring(t *testing.T) {
	files := filepath.Join("..", "..", "..", "..", "charts", "metrics-server", "files")
	names, err := check(filepath.Join(files, "prometheus-rules.yaml"), filepath.Join(files, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aggregator_unavailable_apiservice", "metrics_server_manager_tick_duration_seconds_bucket", "resource_metrics_scraper_node_failing"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not among the names read: %v", want, names)
		}
	}
}

func TestDashboardQueries(t *testing.T) {
	const good = `{"uid": "u", "title": "t", "schemaVersion": 39, "panels": [
		{"id": 1, "type": "row", "title": "r", "panels": [{"id": 3, "type": "stat", "title": "in a row", "targets": [{"refId": "A", "expr": "up"}]}]},
		{"id": 2, "type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "rate(a_total{job=~\"$job\"}[$__rate_interval])"}]}],
		"templating": {"list": [{"name": "job", "type": "query", "query": {"query": "label_values(b_count, job)"}}]}}`
	queries, err := dashboardQueries([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"up", `rate(a_total{job=~"x"}[5m])`, "b_count"}; !slices.Equal(queries, want) {
		t.Errorf("queries %q, want %q", queries, want)
	}
	for _, tc := range []struct{ name, dashboard, wantErr string }{
		{"old schema", `{"uid": "u", "title": "t", "schemaVersion": 16}`, "schemaVersion"},
		{"no uid", `{"title": "t", "schemaVersion": 39}`, "uid"},
		{"a shared id", `{"uid": "u", "title": "t", "schemaVersion": 39, "panels": [
			{"id": 1, "type": "row", "title": "r", "panels": [{"id": 2, "type": "stat", "title": "a", "targets": [{"expr": "up"}]}]},
			{"id": 2, "type": "stat", "title": "b", "targets": [{"expr": "up"}]}]}`, "share the id 2"},
		{"no query", `{"uid": "u", "title": "t", "schemaVersion": 39, "panels": [{"id": 1, "type": "stat", "title": "a"}]}`, "no query"},
		{"a variable not of label_values", `{"uid": "u", "title": "t", "schemaVersion": 39,
			"templating": {"list": [{"name": "v", "type": "query", "query": {"query": "up"}}]}}`, "label_values"},
	} {
		if _, err := dashboardQueries([]byte(tc.dashboard)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		want    []string
		wantErr bool
	}{
		{`sum by (reason) (rate(a_total{x="y"}[5m])) / ignoring (reason) group_left () sum(rate(b_total[5m])) > 0.05`, []string{"a_total", "b_total"}, false},
		{`{__name__="c"} and on (job) d`, []string{"c", "d"}, false},
		{`histogram_quantile(0.9, sum by (le) (rate(e_bucket[5m])))`, []string{"e_bucket"}, false},
		{`{job="x"}`, nil, true},
		{`rate(a_total[5m]`, nil, true},
	} {
		got, err := metricNames(tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want an error %v", tc.expr, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.expr, got, tc.want)
		}
	}
}
