// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command monitoringcheck reads the alerts (a Prometheus rule file) and the
// Grafana dashboard (its JSON model) with Prometheus' own rule-file and
// PromQL parsers, at the version promtool is built from. It fails when the
// dashboard is not a valid model (no schema version or uid, a panel id
// used twice, a query that does not parse) and prints every metric name
// the alerts and the dashboard read, one per line: the end-to-end suite
// requires each of them in what the server, kube-apiserver and
// kube-state-metrics export, so a renamed metric cannot blind an alert or
// a panel.
//
//	go -C hack/tools/prometheus run ./monitoringcheck <rules.yaml> <dashboard.json>
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: monitoringcheck <rules.yaml> <dashboard.json>")
		os.Exit(2)
	}
	names, err := check(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Println(n)
	}
}

// check returns the sorted metric names the rules and the dashboard read.
func check(rulesPath, dashboardPath string) ([]string, error) {
	var exprs []string
	groups, errs := rulefmt.ParseFile(rulesPath, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", rulesPath, errors.Join(errs...))
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		return nil, err
	}
	queries, err := dashboardQueries(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dashboardPath, err)
	}
	exprs = append(exprs, queries...)
	var names []string
	for _, e := range exprs {
		n, err := metricNames(e)
		if err != nil {
			return nil, err
		}
		names = append(names, n...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// dashboard is what is checked of a Grafana dashboard's JSON model.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

// minSchemaVersion is the schema of Grafana 10, the oldest the
// kube-prometheus-stack charts of the last years ship.
const minSchemaVersion = 36

// dashboardQueries checks the dashboard's model and returns its panels'
// and variables' PromQL, Grafana's variables replaced by values that
// parse.
func dashboardQueries(data []byte) ([]string, error) {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if d.UID == "" || d.Title == "" {
		return nil, errors.New("the dashboard needs a uid and a title")
	}
	if d.SchemaVersion < minSchemaVersion {
		return nil, fmt.Errorf("schemaVersion %d, want at least %d", d.SchemaVersion, minSchemaVersion)
	}
	var queries []string
	seen := map[int]string{}
	var walk func([]panel) error
	walk = func(panels []panel) error {
		for _, p := range panels {
			if p.ID <= 0 {
				return fmt.Errorf("panel %q has no id", p.Title)
			}
			if other, ok := seen[p.ID]; ok {
				return fmt.Errorf("panels %q and %q share the id %d", other, p.Title, p.ID)
			}
			seen[p.ID] = p.Title
			if p.Type != "row" && len(p.Targets) == 0 {
				return fmt.Errorf("panel %q has no query", p.Title)
			}
			for _, t := range p.Targets {
				if t.Expr == "" {
					return fmt.Errorf("panel %q, query %s is empty", p.Title, t.RefID)
				}
				queries = append(queries, grafanaVariables(t.Expr))
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, err
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		query, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(query)
		if m == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(<metric>, <label>)", v.Name, query)
		}
		queries = append(queries, m[1])
	}
	return queries, nil
}

var (
	// labelValues is the query of a variable: Grafana's, not PromQL.
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	// Grafana's interval variables, then the dashboard's own.
	intervalVariable = regexp.MustCompile(`\$__(rate_interval|interval|range)`)
	variable         = regexp.MustCompile(`\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?`)
)

func grafanaVariables(expr string) string {
	return variable.ReplaceAllString(intervalVariable.ReplaceAllString(expr, "5m"), "x")
}

// metricNames parses expr and returns the metric names its selectors read.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	var names []string
	var nameless error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			nameless = fmt.Errorf("%q: a selector without a metric name (%s)", expr, vs)
		}
		names = append(names, name)
		return nil
	})
	return names, nameless
}
