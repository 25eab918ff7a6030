// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
)

// TestHPA: the real HorizontalPodAutoscaler controller scales a Deployment
// of the real node's pods by the CPU they really use: 150m against 100m
// requested is 150%, over a 60% target: from 1 replica to the maximum, 2
// (the third would not fit a busy 2-core machine).
func TestHPA(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{"app": "scaled"}
	c := burner("burner", 150, 16<<20)
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	pod := podOnNode("", c)
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "scaled", Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}
	deployments := cluster.Client.AppsV1().Deployments(namespace)
	if _, err := deployments.Create(ctx, deployment, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = deployments.Delete(context.Background(), deployment.Name, metav1.DeleteOptions{PropagationPolicy: new(metav1.DeletePropagationForeground)})
	})
	target := int32(60)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "scaled", Namespace: namespace},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment.Name},
			MinReplicas:    new(int32(1)), MaxReplicas: 2,
			Metrics: []autoscalingv2.MetricSpec{e2eutil.CPUUtilization(target)},
		},
	}
	hpas := cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(namespace)
	if _, err := hpas.Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hpas.Delete(context.Background(), hpa.Name, metav1.DeleteOptions{}) })
	e2eutil.Eventually(t, 3*time.Minute, func() error {
		got, err := hpas.Get(ctx, hpa.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var utilization int32 = -1
		for _, m := range got.Status.CurrentMetrics {
			if m.Resource != nil && m.Resource.Current.AverageUtilization != nil {
				utilization = *m.Resource.Current.AverageUtilization
			}
		}
		// At most 150% and a tolerance; less if the machine is so busy
		// the burner does not get its 150m, which the served values
		// follow (TestCPUAgreesWithCgroup).
		if got.Status.DesiredReplicas != 2 || utilization < 100 || utilization > 165 {
			return fmt.Errorf("the HPA wants %d replicas at %d%% of the request; want 2 at 100–165%% (conditions %+v)",
				got.Status.DesiredReplicas, utilization, got.Status.Conditions)
		}
		t.Logf("the HPA wants %d replicas at %d%% of the request", got.Status.DesiredReplicas, utilization)
		return nil
	})
}
