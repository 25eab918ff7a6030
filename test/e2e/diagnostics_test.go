// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// failureLogLines returns the main metrics server's "Failed to scrape
// node" log lines about node.
func failureLogLines(t *testing.T, node string) []string {
	t.Helper()
	logs, err := os.ReadFile(cluster.LogPath("metrics-server"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.Contains(line, `"Failed to scrape node"`) && strings.Contains(line, `node="`+node+`"`) {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestKubeletTLS: node-8 presents a certificate for its name only (no IP
// SAN) and node-9 one from a CA the cluster does not know. The main
// metrics server (standard verification, connecting by IP) fails both,
// says why per node in its log and self-metrics; a second one with
// --kubelet-verify-node-names and --kubelet-extra-certificate-authority
// serves both.
func TestKubeletTLS(t *testing.T) {
	ctx := context.Background()
	faults := map[string]kubeletsim.Fault{"node-8": kubeletsim.FaultNameOnlyCert, "node-9": kubeletsim.FaultBadCert}
	want := map[string]string{"node-8": "tls_name_mismatch", "node-9": "tls_unknown_authority"}
	start := time.Now()
	setFaults(t, faults)

	mc := startSecondServer(t, "metrics-server-tls",
		"--kubelet-verify-node-names", "--kubelet-extra-certificate-authority="+cluster.UnknownKubeletCAFile())
	eventually(t, 6*resolution, func() error {
		for node, reason := range want {
			if m, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, node, metav1.GetOptions{}); err != nil || !m.Timestamp.After(start) {
				return fmt.Errorf("the verifying server does not serve %s fresh: %v", node, err)
			}
			_, body := direct(t, "/metrics", true)
			if series := fmt.Sprintf(`resource_metrics_scraper_node_failing{node=%q,node_state="ready",reason=%q} 1`, node, reason); !strings.Contains(body, series) {
				return fmt.Errorf("the main server's /metrics lacks %s", series)
			}
		}
		return nil
	})
	for node, reason := range want {
		var found bool
		for _, line := range failureLogLines(t, node) {
			found = found || strings.Contains(line, `reason="`+reason+`"`)
		}
		if !found {
			t.Errorf("the main server did not log %s failing with %s", node, reason)
		}
	}
}

// TestNodeStates: a node that was just created and whose kubelet does not
// answer is "new", then, tainted by the cluster autoscaler, "terminating".
// Each state is logged once, as information, and counted; the node is
// backed off; once it is deleted its per-node series go.
func TestNodeStates(t *testing.T) {
	ctx := context.Background()
	const name = "e2e-new-node"
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	node, err := cluster.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}) })
	// Nothing listens on this port.
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(cluster.Ports.Unused())
	if _, err := cluster.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	waitState := func(state string) {
		t.Helper()
		eventually(t, 4*resolution, func() error {
			var logged bool
			for _, line := range failureLogLines(t, name) {
				logged = logged || strings.Contains(line, `nodeState="`+state+`"`)
			}
			if !logged {
				return fmt.Errorf("no %s failure logged for %s", state, name)
			}
			_, body := direct(t, "/metrics", true)
			if series := fmt.Sprintf(`resource_metrics_scraper_failures_total{node_state=%q,reason="connect"}`, state); !strings.Contains(body, series) {
				return fmt.Errorf("/metrics lacks %s", series)
			}
			return nil
		})
	}
	waitState("new")
	taint := []byte(`{"spec":{"taints":[{"key":"ToBeDeletedByClusterAutoscaler","value":"` + strconv.FormatInt(time.Now().Unix(), 10) + `","effect":"NoSchedule"}]}}`)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, taint, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitState("terminating")
	// More failed rounds change nothing in the log.
	time.Sleep(3 * resolution)
	lines := failureLogLines(t, name)
	if len(lines) != 2 {
		t.Errorf("%d failure lines for %s, want one per state:\n%s", len(lines), name, strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "I") {
			t.Errorf("an expected failure was logged above information: %s", line)
		}
	}
	// Failing round after round, it is backed off, and that is said once
	// per run of failures.
	logs, err := os.ReadFile(cluster.LogPath("metrics-server"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), `"Backing off a node that keeps failing" node="`+name+`"`) {
		t.Errorf("%s was not backed off", name)
	}
	_, body := direct(t, "/metrics", true)
	if m := regexp.MustCompile(`(?m)^resource_metrics_scraper_backoff_skips_total (\S+)$`).FindStringSubmatch(body); m == nil || m[1] == "0" {
		t.Errorf("/metrics counts no backed-off scrape: %v", m)
	}

	if err := cluster.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*resolution, func() error {
		if _, body := direct(t, "/metrics", true); strings.Contains(body, `node="`+name+`"`) {
			return fmt.Errorf("/metrics still has series of the deleted node %s", name)
		}
		return nil
	})
}
