package api

import (
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// resourceList converts a usage: CPU as integer nanocores (DecimalSI),
// memory and swap as bytes (BinarySI), as upstream metrics-server reports
// them. A resource is left out when it is not known (see storage.Store.Pod).
func resourceList(u *storage.Usage) corev1.ResourceList {
	l := make(corev1.ResourceList, 3)
	if u.HasCPU {
		l[corev1.ResourceCPU] = *resource.NewScaledQuantity(clampInt64(u.CPU), resource.Nano)
	}
	if u.HasMemory {
		l[corev1.ResourceMemory] = *resource.NewQuantity(clampInt64(u.Memory), resource.BinarySI)
	}
	if u.HasSwap {
		l["swap"] = *resource.NewQuantity(clampInt64(u.Swap), resource.BinarySI)
	}
	return l
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

func nodeMetrics(node *corev1.Node, u *storage.Usage, now metav1.Time) metrics.NodeMetrics {
	return metrics.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: now},
		Timestamp:  metav1.NewTime(time.Unix(0, u.Timestamp)),
		Window:     metav1.Duration{Duration: u.Window},
		Usage:      resourceList(u),
	}
}

// podMetrics converts a pod's usage.
func podMetrics(it *podItem, now metav1.Time) metrics.PodMetrics {
	u := &it.usage
	containers := make([]metrics.ContainerMetrics, len(u.Containers))
	for i := range u.Containers {
		containers[i] = metrics.ContainerMetrics{Name: u.Containers[i].Name, Usage: resourceList(&u.Containers[i].Usage)}
	}
	return metrics.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: it.name, Namespace: it.namespace, Labels: it.labels, CreationTimestamp: now},
		Timestamp:  metav1.NewTime(time.Unix(0, u.Timestamp)),
		Window:     metav1.Duration{Duration: u.Window},
		Containers: containers,
	}
}
