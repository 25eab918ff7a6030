// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
)

// TestAuthorization: the kubelet asks kube-apiserver whether the metrics
// server may read nodes/metrics. Without that rule, the node's scrape
// fails with a per-node reason (self-metric and log) and the API goes on
// answering; with it back, the node is served again.
func TestAuthorization(t *testing.T) {
	ctx := context.Background()
	roles := cluster.Client.RbacV1().ClusterRoles()
	role, err := roles.Get(ctx, "system:metrics-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	restore := role.DeepCopy()
	role.Rules = role.Rules[1:] // nodes/metrics is the first rule
	if !strings.Contains(fmt.Sprint(restore.Rules[0].Resources), "nodes/metrics") {
		t.Fatalf("the first rule of system:metrics-server is %v, not nodes/metrics", restore.Rules[0])
	}
	if _, err := roles.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	restored := false
	put := func() {
		if restored {
			return
		}
		current, err := roles.Get(ctx, restore.Name, metav1.GetOptions{})
		if err == nil {
			restore.ResourceVersion = current.ResourceVersion
			_, err = roles.Update(ctx, restore, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("restoring system:metrics-server: %v", err)
		}
		restored = true
	}
	t.Cleanup(put)

	failing := `resource_metrics_scraper_node_failing{node="` + nodeName + `",node_state="ready",reason="http_status"} 1`
	e2eutil.Eventually(t, 4*resolution, func() error {
		body, err := selfMetrics(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(body, failing) {
			return fmt.Errorf("the self-metrics lack %s", failing)
		}
		return nil
	})
	logged, err := os.ReadFile(cluster.LogPath("metrics-server"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logged), `"Failed to scrape node" err="GET https://localhost:`) || !strings.Contains(string(logged), "Forbidden") {
		t.Errorf("the metrics server's log does not say the kubelet refused it (403 Forbidden)")
	}
	if _, err := metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the API stopped answering: %v", err)
	}

	put()
	back := time.Now()
	e2eutil.Eventually(t, 4*resolution, func() error {
		m, err := metrics.MetricsV1beta1().NodeMetricses().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !m.Timestamp.After(back) {
			return fmt.Errorf("node served from %s, before the rule was back", m.Timestamp.Format(time.TimeOnly))
		}
		return nil
	})
}

// selfMetrics reads the metrics server's /metrics as the cluster's admin.
func selfMetrics(ctx context.Context) (string, error) {
	cfg := cluster.MetricsServerConfig(cluster.Ports.MetricsServer())
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// TestKubectlTop: the real kubectl shows the real node and its pod.
func TestKubectlTop(t *testing.T) {
	pod := runPod(t, podOnNode("shown", burner("burner", 120, 24<<20)))
	e2eutil.Eventually(t, 3*resolution, func() error {
		nodes, err := e2eutil.Kubectl(toolsDir, cluster.AdminKubeconfig, "top", "nodes")
		if err != nil {
			return err
		}
		pods, err := e2eutil.Kubectl(toolsDir, cluster.AdminKubeconfig, "top", "pods", "-n", namespace, "--containers")
		if err != nil {
			return err
		}
		if !strings.Contains(nodes, nodeName) || !strings.Contains(pods, pod.Name) {
			return fmt.Errorf("kubectl top nodes:\n%s\nkubectl top pods:\n%s", nodes, pods)
		}
		t.Logf("kubectl top nodes:\n%s\nkubectl top pods --containers:\n%s", nodes, pods)
		return nil
	})
}
