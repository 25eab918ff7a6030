// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// direct GETs a path of the main metrics server, anonymously or as admin.
func direct(t *testing.T, path string, asAdmin bool) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if asAdmin {
		var err error
		if client, err = rest.HTTPClientFor(cluster.MetricsServerConfig(cluster.Ports.MetricsServer())); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := client.Get("https://127.0.0.1:" + strconv.Itoa(cluster.Ports.MetricsServer()) + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// startSecondServer starts another metrics server, with extra flags, for
// the rest of the test, and returns a client that talks to it directly.
func startSecondServer(t *testing.T, name string, args ...string) metricsclient.Interface {
	t.Helper()
	port := cluster.Ports.SecondMetricsServer()
	p, err := cluster.StartMetricsServer(context.Background(), name, port,
		append([]string{"--metric-resolution=10s", "--kubelet-request-timeout=5s"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	mc, err := metricsclient.NewForConfig(cluster.MetricsServerConfig(port))
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// TestHealthEndpoints pins the check names and verbose output that
// upstream's own end-to-end test compares byte for byte.
func TestHealthEndpoints(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/readyz?verbose", "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n[+]poststarthook/storage-object-count-tracker-hook ok\n" +
			"[+]metric-storage-ready ok\n[+]metric-informer-sync ok\n[+]metadata-informer-sync ok\n[+]shutdown ok\nreadyz check passed\n"},
		{"/livez?verbose", "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n[+]poststarthook/storage-object-count-tracker-hook ok\n" +
			"[+]metric-collection-timely ok\n[+]metadata-informer-sync ok\nlivez check passed\n"},
		{"/healthz?verbose", "[+]ping ok\n[+]log ok\n[+]poststarthook/max-in-flight-filter ok\n[+]poststarthook/storage-object-count-tracker-hook ok\n" +
			"[+]metadata-informer-sync ok\nhealthz check passed\n"},
		{"/readyz", "ok"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := direct(t, tc.path, false)
			if code != http.StatusOK || body != tc.want {
				t.Errorf("anonymous GET %s: %d\n%s\nwant\n%s", tc.path, code, body, tc.want)
			}
		})
	}
	t.Run("anonymous /metrics is refused", func(t *testing.T) {
		if code, _ := direct(t, "/metrics", false); code != http.StatusForbidden {
			t.Errorf("got %d, want 403", code)
		}
	})
}

func TestSelfMetrics(t *testing.T) {
	code, body := direct(t, "/metrics", true)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	families := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE metrics_server_"); ok {
			families["metrics_server_"+strings.Fields(name)[0]] = true
		}
	}
	want := []string{
		// Upstream's.
		"metrics_server_api_metric_freshness_seconds", "metrics_server_kubelet_last_request_time_seconds",
		"metrics_server_kubelet_request_duration_seconds", "metrics_server_kubelet_request_total",
		"metrics_server_manager_tick_duration_seconds", "metrics_server_storage_points",
		// This server's: who wrote the pod list answers.
		"metrics_server_api_pod_list_answers_total",
	}
	for _, f := range want {
		if !families[f] {
			t.Errorf("family %s missing", f)
		}
	}
	if len(families) != len(want) {
		t.Errorf("metrics_server_* families %v, want exactly %v", families, want)
	}
	// The lists of the tests before (kubectl top, raw JSON and protobuf)
	// were written by the server's own encoders.
	for _, s := range []string{`metrics_server_storage_points{type="node"} 10`, `metrics_server_kubelet_request_total{success="true"}`,
		`metrics_server_api_pod_list_answers_total{encoder="own"}`} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}

	// The opt-in plain-HTTP listener needs no credentials.
	resp, err := http.Get("http://" + metricsAddress + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	plain, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(plain), "# TYPE metrics_server_kubelet_request_total counter") {
		t.Errorf("--metrics-bind-address: %d\n%.300s", resp.StatusCode, plain)
	}
}

// TestNodeSelector runs a second metrics server that skips nodes labelled
// metrics-server-skip=true, as upstream's test deployment does.
func TestNodeSelector(t *testing.T) {
	ctx := context.Background()
	const skipped = "node-3"
	patch := []byte(`{"metadata":{"labels":{"metrics-server-skip":"true"}}}`)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, skipped, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unpatch := []byte(`{"metadata":{"labels":{"metrics-server-skip":null}}}`)
		_, _ = cluster.Client.CoreV1().Nodes().Patch(ctx, skipped, types.MergePatchType, unpatch, metav1.PatchOptions{})
	})
	mc := startSecondServer(t, "metrics-server-selector", "--node-selector=metrics-server-skip!=true")
	eventually(t, time.Minute, func() error {
		list, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != nodeCount-1 {
			return fmt.Errorf("%d nodes served, want %d", len(list.Items), nodeCount-1)
		}
		for _, n := range list.Items {
			if n.Name == skipped {
				return fmt.Errorf("%s served despite the selector", skipped)
			}
		}
		return nil
	})
	if _, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, skipped, metav1.GetOptions{}); err == nil ||
		!strings.Contains(err.Error(), `nodemetrics.metrics.k8s.io "node-3" not found`) {
		t.Errorf("GET %s: %v, want nodemetrics not found", skipped, err)
	}
}

// TestJSONLogs runs a second server with --logging-format=json, as many
// production installs do: it starts, and every line it logs is a JSON
// object with a message.
func TestJSONLogs(t *testing.T) {
	const name = "metrics-server-json"
	mc := startSecondServer(t, name, "--logging-format=json", "--v=2")
	eventually(t, time.Minute, func() error {
		_, err := mc.MetricsV1beta1().NodeMetricses().List(context.Background(), metav1.ListOptions{})
		return err
	})
	data, err := os.ReadFile(cluster.LogPath(name))
	if err != nil {
		t.Fatal(err)
	}
	lines, started := 0, false
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var entry struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Msg == "" {
			t.Errorf("not a JSON log entry with a message: %.200s", line)
			continue
		}
		lines++
		started = started || entry.Msg == "Starting metrics-server"
	}
	if lines == 0 || !started {
		t.Errorf("%d JSON lines, start logged: %v", lines, started)
	}
}
