package api

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

var t0 = time.Unix(1_700_000_000, 0)

// fixture is a store fed two scrapes of a cluster of nodes × pods ×
// containers, with the matching node and pod listers.
type fixture struct {
	store *storage.Store
	clock *clocktesting.FakeClock
	nodes *NodeStorage
	pods  *PodStorage
}

// newFixture: pod p of node n is "pod-n-p" in namespace "ns-<p%3>", labelled
// app=<p%2>; container c uses (c+1)·100m and (c+1)·1Mi. Names in
// containerNames are given in reverse order to the store.
func newFixture(tb testing.TB, nodes, podsPerNode int, containerNames ...string) *fixture {
	clk := clocktesting.NewFakeClock(t0.Add(20 * time.Second))
	store := storage.New(storage.Config{Points: 3, Resolution: 15 * time.Second, StaleAfter: 30 * time.Second, Clock: clk})
	nodeIndexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	podIndexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for n := range nodes {
		node := fmt.Sprintf("node-%d", n)
		if err := nodeIndexer.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{"zone": fmt.Sprint(n % 2)}}}); err != nil {
			tb.Fatal(err)
		}
		for i, ts := range []time.Duration{0, 10 * time.Second} {
			b := &sample.Batch{Node: sample.Point{CPUTime: t0.Add(ts).UnixNano(), MemoryTime: t0.Add(ts).UnixNano(),
				CPU: uint64(i) * 1e10, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory}}
			for p := range podsPerNode {
				for c := len(containerNames) - 1; c >= 0; c-- {
					b.Containers = append(b.Containers, sample.Container{
						Namespace: fmt.Sprintf("ns-%d", p%3), Pod: fmt.Sprintf("pod-%d-%d", n, p), Name: containerNames[c],
						StartTime: t0.Add(-time.Hour).UnixNano(),
						Point: sample.Point{CPUTime: t0.Add(ts).UnixNano(), MemoryTime: t0.Add(ts).UnixNano(),
							CPU: uint64(i) * uint64(c+1) * 1e9, Memory: uint64(c+1) << 20, Fields: sample.HasCPU | sample.HasMemory},
					})
				}
			}
			store.Write(node, b, t0.Add(ts))
		}
		for p := range podsPerNode {
			if err := podIndexer.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("pod-%d-%d", n, p), Namespace: fmt.Sprintf("ns-%d", p%3), Labels: map[string]string{"app": fmt.Sprint(p % 2)},
			}}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// A Running pod without metrics and a node without metrics.
	_ = podIndexer.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "no-metrics", Namespace: "ns-0"}})
	_ = nodeIndexer.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "silent"}})
	podLister := metadatalister.New(podIndexer, schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	return &fixture{
		store: store,
		clock: clk,
		nodes: NewNodeStorage(store, corelisters.NewNodeLister(nodeIndexer), labels.Everything(), clk),
		pods:  NewPodStorage(store, podLister, clk),
	}
}

func listOptions(t *testing.T, label, field string) *metainternalversion.ListOptions {
	t.Helper()
	o := &metainternalversion.ListOptions{}
	var err error
	if label != "" {
		if o.LabelSelector, err = labels.Parse(label); err != nil {
			t.Fatal(err)
		}
	}
	if field != "" {
		if o.FieldSelector, err = fields.ParseSelector(field); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestPodList(t *testing.T) {
	f := newFixture(t, 2, 6, "app", "sidecar")
	tests := []struct {
		name, namespace, label, field string
		want                          []string
	}{
		{name: "all namespaces, sorted by namespace and name", want: []string{
			"ns-0/pod-0-0", "ns-0/pod-0-3", "ns-0/pod-1-0", "ns-0/pod-1-3", "ns-1/pod-0-1", "ns-1/pod-0-4",
			"ns-1/pod-1-1", "ns-1/pod-1-4", "ns-2/pod-0-2", "ns-2/pod-0-5", "ns-2/pod-1-2", "ns-2/pod-1-5"}},
		{name: "one namespace", namespace: "ns-1", want: []string{"ns-1/pod-0-1", "ns-1/pod-0-4", "ns-1/pod-1-1", "ns-1/pod-1-4"}},
		{name: "label selector", namespace: "ns-0", label: "app=1", want: []string{"ns-0/pod-0-3", "ns-0/pod-1-3"}},
		{name: "field selector on name", field: "metadata.name=pod-1-4", want: []string{"ns-1/pod-1-4"}},
		{name: "field selector on namespace", field: "metadata.namespace=ns-2,metadata.name!=pod-0-2", want: []string{"ns-2/pod-0-5", "ns-2/pod-1-2", "ns-2/pod-1-5"}},
		{name: "a namespace without pods", namespace: "nothing", want: nil},
		{name: "field selector on node", namespace: "ns-2", field: "spec.nodeName=node-1", want: []string{"ns-2/pod-1-2", "ns-2/pod-1-5"}},
		{name: "field selector excluding a node", field: "spec.nodeName!=node-0,metadata.namespace=ns-0", want: []string{"ns-0/pod-1-0", "ns-0/pod-1-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := genericapirequest.WithNamespace(context.Background(), tc.namespace)
			obj, err := f.pods.List(ctx, listOptions(t, tc.label, tc.field))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range obj.(*metrics.PodMetricsList).Items {
				got = append(got, p.Namespace+"/"+p.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestPodFieldLabels(t *testing.T) {
	for _, tc := range []struct {
		version, label string
		ok             bool
	}{
		{"v1beta1", "spec.nodeName", true},
		{"v1", "spec.nodeName", true},
		{"v1beta1", "metadata.name", true},
		{"v1beta1", "status.phase", false},
	} {
		gvk := schema.GroupVersionKind{Group: metrics.GroupName, Version: tc.version, Kind: "PodMetrics"}
		_, _, err := Scheme.ConvertFieldLabel(gvk, tc.label, "x")
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: %v, want accepted=%v", tc.version, tc.label, err, tc.ok)
		}
	}
	gvk := schema.GroupVersionKind{Group: metrics.GroupName, Version: "v1beta1", Kind: "NodeMetrics"}
	if _, _, err := Scheme.ConvertFieldLabel(gvk, "spec.nodeName", "x"); err == nil {
		t.Error("nodes accept spec.nodeName; want only metadata fields")
	}
}

// TestAllPodsListReuse: an unfiltered all-namespaces list is shared while
// the store is unchanged, restamped in a later second, rebuilt after a
// write, and not kept once no one holds it.
func TestAllPodsListReuse(t *testing.T) {
	f := newFixture(t, 2, 3, "app")
	all := func() []metrics.PodMetrics {
		t.Helper()
		obj, err := f.pods.List(genericapirequest.WithNamespace(context.Background(), ""), &metainternalversion.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*metrics.PodMetricsList).Items
	}
	first := all()
	if len(first) != 6 {
		t.Fatalf("%d pods, want 6", len(first))
	}
	if again := all(); &again[0] != &first[0] {
		t.Error("a second list in the same second and store version was rebuilt")
	}
	filtered, err := f.pods.List(genericapirequest.WithNamespace(context.Background(), "ns-0"), &metainternalversion.ListOptions{})
	if err != nil || len(filtered.(*metrics.PodMetricsList).Items) != 2 {
		t.Fatalf("namespaced list: %v, %+v", err, filtered)
	}

	f.clock.Step(time.Second)
	next := all()
	if &next[0] == &first[0] || !next[0].CreationTimestamp.Time.Equal(f.clock.Now()) {
		t.Error("the list was not restamped in the next second")
	}
	converted := &first[0].Containers[0]
	if &next[0].Containers[0] != converted {
		t.Error("the next second converted the containers again; want them shared until the store changes")
	}
	if !first[0].CreationTimestamp.Time.Equal(f.clock.Now().Add(-time.Second)) {
		t.Error("restamping changed a list already handed out")
	}

	f.pods.PodsChanged()
	again := all()
	if &again[0] == &next[0] {
		t.Error("the shared list outlived a change of the pods")
	}

	converted = &again[0].Containers[0]
	first, next, again = nil, nil, nil
	runtime.GC()
	if rebuilt := all(); &rebuilt[0].Containers[0] == converted {
		t.Error("the shared list outlived its last user")
	}

	// node-1 now reports no pods: its pods leave the list at once.
	f.store.Write("node-1", &sample.Batch{Node: sample.Point{CPUTime: t0.Add(20 * time.Second).UnixNano(),
		MemoryTime: t0.Add(20 * time.Second).UnixNano(), CPU: 2e10, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory}}, t0.Add(20*time.Second))
	if after := all(); len(after) != 3 {
		t.Errorf("%d pods after node-1 lost its pods, want 3", len(after))
	}
}

func TestPodGet(t *testing.T) {
	f := newFixture(t, 1, 3, "b", "a")
	ctx := genericapirequest.WithNamespace(context.Background(), "ns-0")
	obj, err := f.pods.Get(ctx, "pod-0-0", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pm := obj.(*metrics.PodMetrics)
	if len(pm.Containers) != 2 || pm.Containers[0].Name != "a" || pm.Containers[1].Name != "b" {
		t.Fatalf("containers not sorted by name: %+v", pm.Containers)
	}
	// a is the second name given: 200m, 2Mi.
	if cpu, mem := pm.Containers[0].Usage.Cpu(), pm.Containers[0].Usage.Memory(); cpu.String() != "200m" || mem.String() != "2Mi" {
		t.Errorf("a uses %s and %s, want 200m and 2Mi", cpu, mem)
	}
	if pm.Window.Duration != 10*time.Second || !pm.Timestamp.Time.Equal(t0.Add(10*time.Second)) {
		t.Errorf("window %v timestamp %v", pm.Window.Duration, pm.Timestamp)
	}

	for _, tc := range []struct{ name, message string }{
		{"absent", `pods "absent" not found`},
		{"no-metrics", `podmetrics.metrics.k8s.io "ns-0/no-metrics" not found`},
	} {
		_, err := f.pods.Get(ctx, tc.name, &metav1.GetOptions{})
		if !apierrors.IsNotFound(err) || err.Error() != tc.message {
			t.Errorf("get %s: %v, want NotFound %q", tc.name, err, tc.message)
		}
	}
}

func TestNodeListAndGet(t *testing.T) {
	f := newFixture(t, 3, 1, "app")
	obj, err := f.nodes.List(context.Background(), listOptions(t, "zone=0", ""))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range obj.(*metrics.NodeMetricsList).Items {
		got = append(got, n.Name+" "+n.Usage.Cpu().String())
	}
	if want := "[node-0 1 node-2 1]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	for _, tc := range []struct{ name, message string }{
		{"absent", `node "absent" not found`},
		{"silent", `nodemetrics.metrics.k8s.io "silent" not found`},
	} {
		_, err := f.nodes.Get(context.Background(), tc.name, &metav1.GetOptions{})
		if !apierrors.IsNotFound(err) || err.Error() != tc.message {
			t.Errorf("get %s: %v, want NotFound %q", tc.name, err, tc.message)
		}
	}
}

func TestPodTable(t *testing.T) {
	f := newFixture(t, 1, 1, "app", "sidecar")
	ctx := genericapirequest.WithNamespace(context.Background(), "ns-0")
	obj, err := f.pods.List(ctx, listOptions(t, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	table, err := f.pods.ConvertToTable(ctx, obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if fmt.Sprint(cols) != "[Name cpu memory Window]" {
		t.Errorf("columns %v", cols)
	}
	if len(table.Rows) != 1 || fmt.Sprint(table.Rows[0].Cells) != "[pod-0-0 300m 3Mi 10s]" {
		t.Errorf("rows %+v: a pod's cells are the sums of its containers", table.Rows)
	}
}

// BenchmarkListAllPods lists 30,000 pods (1,000 nodes × 30 pods × 2
// containers) across all namespaces, to API objects, as repeated lists do
// between two scrapes within a second.
func BenchmarkListAllPods(b *testing.B) { benchmarkListAllPods(b, sameSecond) }

// BenchmarkListAllPodsNextSecond is such a list in a later second than the
// previous one, still between scrapes: the shared list is copied with the
// new creation timestamp.
func BenchmarkListAllPodsNextSecond(b *testing.B) { benchmarkListAllPods(b, nextSecond) }

// BenchmarkListAllPodsRebuilt is the first such list after a scrape: every
// PodMetrics is built and converted from the store.
func BenchmarkListAllPodsRebuilt(b *testing.B) { benchmarkListAllPods(b, rebuilt) }

type listRepeat int

const (
	sameSecond listRepeat = iota
	nextSecond
	rebuilt
)

func benchmarkListAllPods(b *testing.B, repeat listRepeat) {
	f := newFixture(b, 1000, 30, "app", "sidecar")
	ctx := genericapirequest.WithNamespace(context.Background(), "")
	opts := &metainternalversion.ListOptions{}
	b.ReportAllocs()
	for b.Loop() {
		switch repeat {
		case nextSecond:
			f.clock.Step(time.Second)
		case rebuilt:
			f.pods.shareAllPods(0, 0, nil)
		}
		obj, err := f.pods.List(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(obj.(*metrics.PodMetricsList).Items); n != 30000 {
			b.Fatalf("%d pods", n)
		}
	}
}
