// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestPerContainerPolicy: every container the kubelet reports is listed
// with what is known of it. Zero values are values; a container without a
// CPU or working-set sample carries only the other resource. Upstream
// metrics-server hides this whole pod.
func TestPerContainerPolicy(t *testing.T) {
	ctx := context.Background()
	const ns = "e2e-policy"
	if err := cluster.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	p := pod(ns, "partial",
		containerSpec{"app", "300", "64Mi", "500m"},
		containerSpec{"idle", "0", "0", "10m"},
		containerSpec{"nocpu", "-", "16Mi", "10m"},
		containerSpec{"nomem", "50", "-", "10m"})
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	type want struct {
		name        string
		cpu, memory string // "" when the resource must be absent
	}
	wants := []want{{"app", "300m", "64Mi"}, {"idle", "0", "0"}, {"nocpu", "", "16Mi"}, {"nomem", "50m", ""}}
	eventually(t, 2*time.Minute, func() error {
		out, err := kubectl(t, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods/partial")
		if err != nil {
			return err
		}
		var m metricsv1beta1.PodMetrics
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		if len(m.Containers) != len(wants) {
			return fmt.Errorf("containers %+v, want %d", m.Containers, len(wants))
		}
		for i, w := range wants {
			c := m.Containers[i]
			if c.Name != w.name {
				return fmt.Errorf("container %d is %q, want %q", i, c.Name, w.name)
			}
			for res, q := range map[corev1.ResourceName]string{corev1.ResourceCPU: w.cpu, corev1.ResourceMemory: w.memory} {
				got, found := c.Usage[res]
				switch {
				case q == "" && found:
					return fmt.Errorf("%s has %s %s; the kubelet sent none", c.Name, res, got.String())
				case q != "" && !found:
					return fmt.Errorf("%s lacks %s", c.Name, res)
				case q != "" && got.Cmp(resource.MustParse(q)) != 0:
					return fmt.Errorf("%s %s = %s, want %s", c.Name, res, got.String(), q)
				}
			}
		}
		if m.Window.Duration <= 0 {
			return fmt.Errorf("window %v", m.Window)
		}
		return nil
	})

	// kubectl sums what is listed.
	out, err := kubectl(t, "top", "pod", "partial", "-n", ns, "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(out), " "); got != "partial 350m 80Mi" {
		t.Errorf("kubectl top pod: %q, want %q", got, "partial 350m 80Mi")
	}
}
