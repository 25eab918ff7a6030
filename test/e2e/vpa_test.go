// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var (
	vpas        = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}
	checkpoints = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalercheckpoints"}
	// The recommender's count of metrics.k8s.io answers it could use.
	vpaResponses = regexp.MustCompile(`(?m)^vpa_recommender_metric_server_responses\{[^}]*is_error="false"[^}]*\} (\S+)$`)
)

// TestVPA runs the Vertical Pod Autoscaler's recommender (built from its
// module, hack/tools/vpa) out of cluster, as its users run it
// (--kubeconfig), against this server: a Deployment whose container uses
// 400m of CPU and 600Mi of memory (the simulator's annotations), and a
// VerticalPodAutoscaler in updateMode Off. The recommender's target is the
// 90th percentile of the usage it saw (its histograms' buckets are 5%
// apart, and it takes a bucket's end) with a 15% safety margin: between
// 1.15 and 1.25 times the usage, above its floors (25m, 250Mi). Its count of
// good metrics.k8s.io answers grows, and so does its checkpoint's count of
// CPU samples: it takes a CPU sample only if its window starts later than
// the last one's, so the served timestamps move as it expects.
func TestVPA(t *testing.T) {
	ctx := context.Background()
	installCRDs(t, "vpa-crds.yaml", "verticalpodautoscalers.autoscaling.k8s.io", "verticalpodautoscalercheckpoints.autoscaling.k8s.io")

	const ns, name, cpu, memory = "e2e-vpa", "vpa-target", "400m", "600Mi"
	if err := cluster.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
	if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx,
		deployment(ns, name, 2, containerSpec{"app", "400", memory, "500m"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	vpa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1",
		"kind":       "VerticalPodAutoscaler",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"targetRef":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
			"updatePolicy": map[string]any{"updateMode": "Off"},
		},
	}}
	if _, err := dyn.Resource(vpas).Namespace(ns).Create(ctx, vpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	port := cluster.Ports.VPARecommender()
	recommender, err := cluster.StartProcess("vpa-recommender", filepath.Join(toolsDir, "vpa-recommender"),
		"--kubeconfig="+cluster.AdminKubeconfig, "--recommender-interval=10s",
		"--address=127.0.0.1:"+strconv.Itoa(port), "--v=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recommender.Stop(10 * time.Second) })

	goodAnswers := func() (float64, error) {
		body, err := openURL("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
		if err != nil {
			return 0, err
		}
		defer body.Close()
		data, err := io.ReadAll(body)
		if err != nil {
			return 0, err
		}
		var sum float64
		for _, m := range vpaResponses.FindAllStringSubmatch(string(data), -1) {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	}
	samples := func() (int64, error) {
		cp, err := dyn.Resource(checkpoints).Namespace(ns).Get(ctx, name+"-app", metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		n, _, err := unstructured.NestedInt64(cp.Object, "status", "totalSamplesCount")
		return n, err
	}
	inRange := func(what, got, usage string) error {
		g, u := resource.MustParse(got), resource.MustParse(usage)
		low, high := 1.15*u.AsApproximateFloat64(), 1.25*u.AsApproximateFloat64()
		if v := g.AsApproximateFloat64(); v < low || v > high {
			return fmt.Errorf("%s target %s, want 1.15-1.25 × the usage %s", what, got, usage)
		}
		return nil
	}

	var target map[string]string
	eventually(t, 3*time.Minute, func() error {
		got, err := dyn.Resource(vpas).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		recs, _, _ := unstructured.NestedSlice(got.Object, "status", "recommendation", "containerRecommendations")
		for _, r := range recs {
			rec := r.(map[string]any)
			if rec["containerName"] == "app" {
				target, _, _ = unstructured.NestedStringMap(rec, "target")
			}
		}
		if target == nil {
			return fmt.Errorf("no recommendation for container app yet: %v", got.Object["status"])
		}
		// The first recommendation may come before any sample: the floors.
		if err := inRange("CPU", target["cpu"], cpu); err != nil {
			return err
		}
		return inRange("memory", target["memory"], memory)
	})

	answers, err := goodAnswers()
	if err != nil {
		t.Fatal(err)
	}
	var firstSamples int64
	eventually(t, time.Minute, func() error {
		var err error
		firstSamples, err = samples()
		if err == nil && firstSamples == 0 {
			err = fmt.Errorf("the checkpoint has no samples yet")
		}
		return err
	})
	eventually(t, 2*time.Minute, func() error {
		now, err := goodAnswers()
		if err != nil {
			return err
		}
		n, err := samples()
		if err != nil {
			return err
		}
		if now <= answers || n <= firstSamples {
			return fmt.Errorf("good metrics.k8s.io answers %v (were %v), CPU samples %d (were %d): want both to grow", now, answers, n, firstSamples)
		}
		t.Logf("recommendation %v; good metrics.k8s.io answers %v → %v; CPU samples %d → %d", target, answers, now, firstSamples, n)
		return nil
	})
}
