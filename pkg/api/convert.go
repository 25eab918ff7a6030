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
// them. Swap is reported only when the kubelet sent it.
func resourceList(u *storage.Usage) corev1.ResourceList {
	n := 2
	if u.HasSwap {
		n = 3
	}
	l := make(corev1.ResourceList, n)
	l[corev1.ResourceCPU] = *resource.NewScaledQuantity(clampInt64(u.CPU), resource.Nano)
	l[corev1.ResourceMemory] = *resource.NewQuantity(clampInt64(u.Memory), resource.BinarySI)
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

// podMetrics converts a pod's usage. The containers are converted once per
// scrape and shared by every response until the next (responses are only
// serialized, never changed), which makes repeated lists cheap.
func podMetrics(pod *metav1.PartialObjectMetadata, u *storage.PodUsage, now metav1.Time) metrics.PodMetrics {
	var containers []metrics.ContainerMetrics
	if v, ok := u.Memo.Load(u.Version); ok {
		containers = v.([]metrics.ContainerMetrics)
	} else {
		containers = make([]metrics.ContainerMetrics, len(u.Containers))
		for i := range u.Containers {
			containers[i] = metrics.ContainerMetrics{Name: u.Containers[i].Name, Usage: resourceList(&u.Containers[i].Usage)}
		}
		u.Memo.Store(u.Version, containers)
	}
	return metrics.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, CreationTimestamp: now},
		Timestamp:  metav1.NewTime(time.Unix(0, u.Timestamp)),
		Window:     metav1.Duration{Duration: u.Window},
		Containers: containers,
	}
}
