// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package monitoring holds the alerts' promtool tests (alerts_test.yaml,
// run by `make test-monitoring`) and keeps the alerts' two packagings the
// same.
package monitoring

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestComponentRulesAreTheChartRules: the kustomize component's
// PrometheusRule holds the groups of the chart's rule file, which promtool
// tests; an alert changed in one only fails here.
func TestComponentRulesAreTheChartRules(t *testing.T) {
	root := filepath.Join("..", "..")
	var chart struct {
		Groups []any `json:"groups"`
	}
	var component struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []any `json:"groups"`
		} `json:"spec"`
	}
	read(t, filepath.Join(root, "charts", "metrics-server", "files", "prometheus-rules.yaml"), &chart)
	read(t, filepath.Join(root, "manifests", "components", "monitoring", "prometheusrule.yaml"), &component)
	if component.Kind != "PrometheusRule" || len(chart.Groups) == 0 {
		t.Fatalf("kind %q, %d groups in the chart", component.Kind, len(chart.Groups))
	}
	if !reflect.DeepEqual(component.Spec.Groups, chart.Groups) {
		t.Error("manifests/components/monitoring/prometheusrule.yaml's groups differ from charts/metrics-server/files/prometheus-rules.yaml's")
	}
}

// TestEveryAlertHasARunbook: each alert's runbook_url points at a section
// of docs/runbooks.md.
func TestEveryAlertHasARunbook(t *testing.T) {
	root := filepath.Join("..", "..")
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	read(t, filepath.Join(root, "charts", "metrics-server", "files", "prometheus-rules.yaml"), &rules)
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://github.com/kubemetrics/metrics-server/blob/main/docs/runbooks.md#"
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			url := r.Annotations["runbook_url"]
			if url != base+strings.ToLower(r.Alert) {
				t.Errorf("%s: runbook_url %q, want %s%s", r.Alert, url, base, strings.ToLower(r.Alert))
			}
			if !strings.Contains(string(runbooks), "\n## "+r.Alert+"\n") {
				t.Errorf("%s: no section in docs/runbooks.md", r.Alert)
			}
		}
	}
}

func read(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
