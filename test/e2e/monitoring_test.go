// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// TestMonitoringMetricNames: every metric the alerts and the dashboard read
// (as Prometheus' parser reads their queries: hack/tools/prometheus's
// monitoringcheck) is exported by the running metrics server,
// kube-apiserver or kube-state-metrics, so that a renamed metric cannot
// silently blind an alert or a panel. Families with labels appear only
// once they have a series: a node is made to fail, and a pod with CPU and
// memory requests and limits is created for kube-state-metrics to report.
func TestMonitoringMetricNames(t *testing.T) {
	ctx := context.Background()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(root, "charts", "metrics-server", "files")
	check := exec.Command("go", "-C", filepath.Join(root, "hack", "tools", "prometheus"), "run", "./monitoringcheck",
		filepath.Join(files, "prometheus-rules.yaml"), filepath.Join(files, "dashboard.json"))
	out, err := check.Output()
	if err != nil {
		t.Fatalf("%v: %v", check.Args, stderrOf(err))
	}
	used := strings.Fields(string(out))
	if len(used) == 0 {
		t.Fatal("the alerts and the dashboard read no metric")
	}

	setFaults(t, map[string]kubeletsim.Fault{"node-7": kubeletsim.FaultBadCert})
	// In a namespace of its own, which the other tests do not count.
	const ns = "e2e-monitoring"
	if err := cluster.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Gone before the next test lists every namespace's pods.
		zero := int64(0)
		_ = cluster.Client.CoreV1().Pods(ns).Delete(ctx, "limited", metav1.DeleteOptions{GracePeriodSeconds: &zero})
		eventually(t, time.Minute, func() error {
			if _, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "limited", metav1.GetOptions{}); err == nil {
				return fmt.Errorf("pod %s/limited still there", ns)
			}
			return nil
		})
		_ = cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	limited := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "limited", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		}}}},
	}
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, limited, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ksmPort := cluster.Ports.KubeStateMetrics()
	ksm, err := cluster.StartProcess("kube-state-metrics", filepath.Join(toolsDir, "kube-state-metrics"),
		"--kubeconfig="+cluster.AdminKubeconfig, "--resources=pods",
		"--host=127.0.0.1", "--port="+strconv.Itoa(ksmPort),
		"--telemetry-host=127.0.0.1", "--telemetry-port="+strconv.Itoa(ksmPort+1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ksm.Stop(5 * time.Second) })

	var missing []string
	eventually(t, 6*resolution, func() error {
		exported := map[string]bool{}
		for source, read := range map[string]func() (io.ReadCloser, error){
			"metrics server": func() (io.ReadCloser, error) { return openURL("http://" + metricsAddress + "/metrics") },
			"kube-apiserver": func() (io.ReadCloser, error) {
				return cluster.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").Stream(ctx)
			},
			"kube-state-metrics": func() (io.ReadCloser, error) {
				return openURL("http://127.0.0.1:" + strconv.Itoa(ksmPort) + "/metrics")
			},
		} {
			body, err := read()
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(body)
			_ = body.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			for name, f := range families {
				for _, series := range seriesNames(name, f.GetType()) {
					exported[series] = true
				}
			}
		}
		missing = missing[:0]
		for _, name := range used {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("read by the alerts or the dashboard, exported by none: %v", missing)
		}
		return nil
	})
	t.Logf("all %d metrics the alerts and the dashboard read are exported: %v", len(used), used)
}

// seriesNames are the names a family's samples have in the text format.
func seriesNames(family string, typ dto.MetricType) []string {
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{family + "_bucket", family + "_sum", family + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{family, family + "_sum", family + "_count"}
	}
	return []string{family}
}

// openURL GETs url and returns the body of a 200.
func openURL(url string) (io.ReadCloser, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}
