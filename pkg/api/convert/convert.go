// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package convert turns the store's usage into metrics.k8s.io objects, as
// upstream metrics-server reports them. The node and pod storages and the
// pod list answers share it.
package convert

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// ResourceList converts a usage: CPU as integer nanocores (DecimalSI),
// memory and swap as bytes (BinarySI). A resource is left out when it is
// not known (see storage.Store.Pod).
func ResourceList(u *storage.Usage) corev1.ResourceList {
	l := make(corev1.ResourceList, 3)
	if u.HasCPU {
		l[corev1.ResourceCPU] = *resource.NewScaledQuantity(ClampInt64(u.CPU), resource.Nano)
	}
	if u.HasMemory {
		l[corev1.ResourceMemory] = *resource.NewQuantity(ClampInt64(u.Memory), resource.BinarySI)
	}
	if u.HasSwap {
		l["swap"] = *resource.NewQuantity(ClampInt64(u.Swap), resource.BinarySI)
	}
	return l
}

// ClampInt64 is v, or the largest int64 a Quantity holds if v is larger.
func ClampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// NodeMetrics converts a node's usage.
func NodeMetrics(node *corev1.Node, u *storage.Usage, created metav1.Time) metrics.NodeMetrics {
	return metrics.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: created},
		Timestamp:  metav1.NewTime(time.Unix(0, u.Timestamp)),
		Window:     metav1.Duration{Duration: u.Window},
		Usage:      ResourceList(u),
	}
}

// PodMetrics converts a pod's usage.
func PodMetrics(name, namespace string, labels map[string]string, u *storage.PodUsage, created metav1.Time) metrics.PodMetrics {
	containers := make([]metrics.ContainerMetrics, len(u.Containers))
	for i := range u.Containers {
		containers[i] = metrics.ContainerMetrics{Name: u.Containers[i].Name, Usage: ResourceList(&u.Containers[i].Usage)}
	}
	return metrics.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels, CreationTimestamp: created},
		Timestamp:  metav1.NewTime(time.Unix(0, u.Timestamp)),
		Window:     metav1.Duration{Duration: u.Window},
		Containers: containers,
	}
}
