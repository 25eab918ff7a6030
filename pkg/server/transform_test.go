package server

import (
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubemetrics/metrics-server/pkg/scraper"
)

// TestTrimNode: the node informer keeps what the scraper and the API read
// (name, labels, addresses, port, readiness, the metrics path annotation,
// autoscaler taints, creation and deletion) and drops the rest.
func TestTrimNode(t *testing.T) {
	created := metav1.NewTime(time.Unix(1_700_000_000, 0))
	deleted := metav1.NewTime(time.Unix(1_700_000_100, 0))
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: created,
		Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: deleted}
	full := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "n1", UID: types.UID("uid-1"), ResourceVersion: "7", Labels: map[string]string{"zone": "a"},
			CreationTimestamp: created, DeletionTimestamp: &deleted,
			Annotations:   map[string]string{scraper.ResourceMetricsPathAnnotation: "/metrics/nodes/n1/metrics/resource", "other": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24", Taints: []corev1.Taint{
			{Key: "ToBeDeletedByClusterAutoscaler", Value: "1700000000", Effect: corev1.TaintEffectNoSchedule},
			{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		}},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, ready},
			Images:          []corev1.ContainerImage{{Names: []string{"registry.example/app:1"}, SizeBytes: 1 << 30}},
			Capacity:        corev1.ResourceList{},
		},
	}
	tests := []transformCase{
		{"a full node keeps what is read", full, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: "n1", UID: types.UID("uid-1"), ResourceVersion: "7", Labels: map[string]string{"zone": "a"},
				CreationTimestamp: created, DeletionTimestamp: &deleted,
				Annotations: map[string]string{scraper.ResourceMetricsPathAnnotation: "/metrics/nodes/n1/metrics/resource"},
			},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "ToBeDeletedByClusterAutoscaler", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{
				Addresses:       full.Status.Addresses,
				DaemonEndpoints: full.Status.DaemonEndpoints,
				Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: created}},
			},
		}},
		{"a bare node stays bare", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}},
		{"anything else (a deletion tombstone) passes through", "tombstone", "tombstone"},
	}
	checkTransform(t, "trimNode", trimNode, tests)
}

// TestTrimPod: the pod informer keeps name, namespace, labels, creation
// and the resource version.
func TestTrimPod(t *testing.T) {
	created := metav1.NewTime(time.Unix(1_700_000_000, 0))
	full := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"}, ObjectMeta: metav1.ObjectMeta{
		Name: "p", Namespace: "ns", UID: types.UID("uid-p"), ResourceVersion: "9", Labels: map[string]string{"app": "web"},
		CreationTimestamp: created, Annotations: map[string]string{"big": "annotation"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
	}}
	tests := []transformCase{
		{"pod metadata keeps what is read", full, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", ResourceVersion: "9", Labels: map[string]string{"app": "web"},
			CreationTimestamp: created,
		}}},
		{"a pod without labels", &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}},
			&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}}},
		{"anything else passes through", "tombstone", "tombstone"},
	}
	checkTransform(t, "trimPod", newPodTrimmer().trim, tests)
}

// TestPodLabelSets: pods with equal labels share one map, in any order of
// insertion; other label sets keep their own; the sets start afresh once
// they outnumber twice the live pods.
func TestPodLabelSets(t *testing.T) {
	trim := newPodTrimmer()
	live := 0
	trim.live = func() int { return live }
	labelsOf := func(name string, labels map[string]string) map[string]string {
		obj, err := trim.trim(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*metav1.PartialObjectMetadata).Labels
	}
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}

	a := labelsOf("a", map[string]string{"app": "web", "pod-template-hash": "1"})
	b := labelsOf("b", map[string]string{"pod-template-hash": "1", "app": "web"})
	c := labelsOf("c", map[string]string{"app": "web", "pod-template-hash": "2"})
	d := labelsOf("d", map[string]string{"app": "web"})
	if !same(a, b) {
		t.Error("equal label sets do not share a map")
	}
	if same(a, c) || same(a, d) || !maps.Equal(c, map[string]string{"app": "web", "pod-template-hash": "2"}) {
		t.Errorf("different label sets share a map or lose labels: %v %v %v", a, c, d)
	}

	// Many pods come and go; the informer holds only a few.
	live = 10
	for i := range 3 * minLabelSetsChecked {
		labelsOf(fmt.Sprint("job-", i), map[string]string{"job": fmt.Sprint(i)})
	}
	if n := len(trim.labelSets); n > minLabelSetsChecked+1 {
		t.Errorf("%d label sets kept for %d live pods", n, live)
	}
	// While all pods live, no set is forgotten.
	live = 1 << 20
	for i := range 3 * minLabelSetsChecked {
		labelsOf(fmt.Sprint("web-", i), map[string]string{"web": fmt.Sprint(i)})
	}
	first := labelsOf("again", map[string]string{"web": "0"})
	if n := len(trim.labelSets); n < 3*minLabelSetsChecked || !same(first, labelsOf("again2", map[string]string{"web": "0"})) {
		t.Errorf("%d label sets kept for %d live pods", n, live)
	}
}

// transformCase is an informer transform's input and the object it must
// give.
type transformCase struct {
	name     string
	in, want any
}

func checkTransform(t *testing.T, name string, transform func(any) (any, error), tests []transformCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("%s() = %+v\nwant %+v", name, got, tc.want)
			}
		})
	}
}

// BenchmarkPodIndexLiveHeap reports what the pod informer's index keeps per
// Running pod (heap after a collection ÷ pods): 15,000 pods in 100
// namespaces, labelled as a Deployment's pods are (an app and a template
// hash, 10 Deployments a namespace), each decoded on its own as from the
// watch, then trimmed and indexed by namespace as the informer does.
func BenchmarkPodIndexLiveHeap(b *testing.B) {
	const pods = 15000
	var perPod float64
	for b.Loop() {
		trim := newPodTrimmer()
		before := liveHeap()
		index := cache.NewIndexer(cache.DeletionHandlingMetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		trim.live = func() int { return len(index.ListKeys()) }
		for i := range pods {
			app := fmt.Sprintf("app-%d", i%10)
			decoded := &metav1.PartialObjectMetadata{
				TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
				ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("%s-7d9f8c6b5-%05d", app, i), Namespace: fmt.Sprintf("team-%02d", i%100),
					UID: types.UID(fmt.Sprintf("8c1a2f4e-0b3d-4c5e-9f60-%012d", i)), ResourceVersion: strconv.Itoa(100000 + i),
					Labels:            map[string]string{"app": app, "pod-template-hash": "7d9f8c6b5"},
					CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0)),
				},
			}
			obj, err := trim.trim(decoded)
			if err != nil {
				b.Fatal(err)
			}
			if err := index.Add(obj); err != nil {
				b.Fatal(err)
			}
		}
		perPod = float64(liveHeap()-before) / pods
		runtime.KeepAlive(index)
		runtime.KeepAlive(trim)
	}
	b.ReportMetric(perPod, "B/pod")
}

// liveHeap is the heap allocated after a collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
