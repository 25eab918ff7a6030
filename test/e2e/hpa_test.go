// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
)

// TestHPA runs the real HorizontalPodAutoscaler controller against the
// metrics server: pods at 80% of their CPU request against a 40% target
// double the Deployment, capped at 4 replicas. The last two cases are the
// per-container policy: upstream metrics-server hides such pods entirely
// (a container with a zero working set, or without a CPU sample), so the
// HPA would see no metrics and not scale.
func TestHPA(t *testing.T) {
	ctx := context.Background()
	const ns = "e2e-hpa"
	if err := cluster.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	target := int32(40)
	for _, tc := range []struct {
		name       string
		containers []containerSpec
		metric     autoscalingv2.MetricSpec
		// wantMillis is the average usage the HPA reports.
		wantMillis int64
	}{
		{
			name:       "resource",
			wantMillis: 400,
			containers: []containerSpec{{"main", "400", "64Mi", "500m"}},
			metric:     e2eutil.CPUUtilization(target),
		},
		{
			// The sidecar's 5m of 100m (5%) would average the pod down
			// to 67%; a ContainerResource target looks at app alone.
			name:       "container-resource",
			wantMillis: 400,
			containers: []containerSpec{{"app", "400", "64Mi", "500m"}, {"sidecar", "5", "8Mi", "100m"}},
			metric:     e2eutil.ContainerCPUUtilization("app", target),
		},
		{
			// An idle sidecar (no CPU used, zero working set) is a value:
			// 480m of 600m requested is 80%.
			name:       "idle-sidecar",
			wantMillis: 480,
			containers: []containerSpec{{"app", "480", "64Mi", "500m"}, {"idle", "0", "0", "100m"}},
			metric:     e2eutil.CPUUtilization(target),
		},
		{
			// The kubelet sends no CPU sample for "nocpu": the pod is
			// listed with nocpu's working set only, and app's CPU serves
			// a ContainerResource target.
			name:       "container-without-cpu",
			wantMillis: 400,
			containers: []containerSpec{{"app", "400", "64Mi", "500m"}, {"nocpu", "-", "16Mi", "100m"}},
			metric:     e2eutil.ContainerCPUUtilization("app", target),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, deployment(ns, tc.name, 2, tc.containers...), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			min := int32(2)
			hpa := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: tc.name},
					MinReplicas:    &min, MaxReplicas: 4,
					Metrics: []autoscalingv2.MetricSpec{tc.metric},
				},
			}
			if _, err := cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 3*time.Minute, func() error {
				h, err := cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, tc.name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if len(h.Status.CurrentMetrics) != 1 {
					return fmt.Errorf("no current metrics yet; conditions %+v", h.Status.Conditions)
				}
				m := h.Status.CurrentMetrics[0]
				var current autoscalingv2.MetricValueStatus
				switch {
				case m.Resource != nil:
					current = m.Resource.Current
				case m.ContainerResource != nil:
					current = m.ContainerResource.Current
				}
				if current.AverageUtilization == nil || *current.AverageUtilization != 80 {
					return fmt.Errorf("current metric %+v, want 80%% utilization", current)
				}
				if current.AverageValue == nil || current.AverageValue.MilliValue() != tc.wantMillis {
					return fmt.Errorf("current average value %v, want %dm", current.AverageValue, tc.wantMillis)
				}
				d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, tc.name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if *d.Spec.Replicas != 4 || h.Status.DesiredReplicas != 4 {
					return fmt.Errorf("replicas %d, desired %d, want 4", *d.Spec.Replicas, h.Status.DesiredReplicas)
				}
				return nil
			})
		})
	}
}
