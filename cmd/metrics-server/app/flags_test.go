// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
)

// TestUpstreamFlags: every flag upstream metrics-server has exists here with
// the same shorthand, type and default (testdata/upstream-flags.tsv, read off
// upstream's command).
func TestUpstreamFlags(t *testing.T) {
	f, err := os.Open("testdata/upstream-flags.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ours := NewCommand(context.Background()).Flags()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			t.Fatalf("malformed line %q", line)
		}
		name, shorthand, typ, def := fields[0], fields[1], fields[2], fields[3]
		n++
		flag := ours.Lookup(name)
		if flag == nil {
			t.Errorf("--%s: missing", name)
			continue
		}
		if flag.Shorthand != shorthand || flag.Value.Type() != typ || flag.DefValue != def {
			t.Errorf("--%s: shorthand %q, type %s, default %q; upstream: %q, %s, %q",
				name, flag.Shorthand, flag.Value.Type(), flag.DefValue, shorthand, typ, def)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read %d upstream flags; the list is cut short", n)
	}
}

// TestUpstreamArgumentSets: the argument lists upstream's manifests, chart
// and kwokctl start upstream with parse and validate here.
func TestUpstreamArgumentSets(t *testing.T) {
	manifests := []string{"--cert-dir=/tmp", "--secure-port=10250",
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port", "--metric-resolution=15s"}
	chart := []string{"--secure-port=10250", "--cert-dir=/tmp",
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port", "--metric-resolution=15s"}
	chartTLS := []string{"--tls-cert-file=/tmp/tls-certs/tls.crt", "--tls-private-key-file=/tmp/tls-certs/tls.key"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	for name, args := range map[string][]string{
		"manifests (components.yaml, high-availability.yaml)":  manifests,
		"manifests, test component":                            with(manifests, "--kubelet-insecure-tls", "--v=4", "--node-selector=metrics-server-skip!=true"),
		"chart defaults (tls.type metrics-server)":             chart,
		"chart, metrics.enabled":                               with(chart, "--authorization-always-allow-paths=/metrics"),
		"chart, tls.type helm, cert-manager or existingSecret": with(chart, chartTLS...),
		"chart, upstream's e2e values":                         with(chart, "--kubelet-insecure-tls", "--node-selector=metrics-server-skip!=true"),
		"chart, JSON logs":                                     with(chart, "--logging-format=json", "--v=2"),
		"kwokctl": {"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port",
			"--kubelet-insecure-tls", "--metric-resolution=15s", "--bind-address=0.0.0.0", "--secure-port=4443",
			"--kubeconfig=/root/.kube/config", "--authentication-kubeconfig=/root/.kube/config",
			"--authorization-kubeconfig=/root/.kube/config",
			"--tls-cert-file=/etc/kubernetes/pki/admin.crt", "--tls-private-key-file=/etc/kubernetes/pki/admin.key"},
		"a legacy address type":                  with(manifests, "--kubelet-preferred-address-types=LegacyHostIP,InternalIP"),
		"priority and fairness off, as some set": with(manifests, "--enable-priority-and-fairness=false"),
	} {
		t.Run(name, func(t *testing.T) {
			for _, err := range parseArgs(t, args).Validate() {
				t.Errorf("%v: %v", args, err)
			}
		})
	}
}
