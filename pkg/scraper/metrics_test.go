// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"slices"
	"sync"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
)

var registerForTest sync.Once

// registerMetricsForTest registers the scraper's metrics, which record
// nothing before.
func registerMetricsForTest() {
	registerForTest.Do(func() { RegisterMetrics(legacyregistry.MustRegister) })
}

// failingSeries lists node's node_failing series as "reason/node_state".
func failingSeries(t *testing.T, node string) []string {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, f := range families {
		if f.GetName() != "resource_metrics_scraper_node_failing" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["node"] == node {
				series = append(series, labels["reason"]+"/"+labels["node_state"])
			}
		}
	}
	return series
}

// TestNodeFailingSeries: a failing node has one node_failing series, with
// its last failure's reason and the node's state then; it moves when either
// changes and goes with a success or the node.
func TestNodeFailingSeries(t *testing.T) {
	registerMetricsForTest()
	const node = "node-failing-series"
	st := &nodeState{}
	steps := []struct {
		state, reason string
		want          []string
	}{
		{NodeStateReady, ReasonTimeout, []string{"timeout/ready"}},
		{NodeStateReady, ReasonTimeout, []string{"timeout/ready"}},
		{NodeStateNotReady, ReasonTimeout, []string{"timeout/not_ready"}},
		{NodeStateNotReady, ReasonConnect, []string{"connect/not_ready"}},
		{NodeStateReady, "", nil},
		{NodeStateReady, ReasonDecode, []string{"decode/ready"}},
	}
	for i, step := range steps {
		st.state = step.state
		recordNodeOutcome(node, st.settle(step.reason), step.state)
		if got := failingSeries(t, node); !slices.Equal(got, step.want) {
			t.Fatalf("step %d (%s, %q): series %v, want %v", i, step.state, step.reason, got, step.want)
		}
	}
	forgetNode(node, st)
	if got := failingSeries(t, node); len(got) != 0 {
		t.Errorf("series of a node gone: %v", got)
	}
}
