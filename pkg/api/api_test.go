package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"testing"
	"time"
	"weak"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubemetrics/metrics-server/pkg/sample"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

var t0 = time.Unix(1_700_000_000, 0)

// fixture is a store fed two scrapes of a cluster of nodes × pods ×
// containers, with the matching node and pod listers.
type fixture struct {
	store      *storage.Store
	clock      *clocktesting.FakeClock
	nodes      *NodeStorage
	pods       *PodStorage
	podIndexer cache.Indexer
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
		store:      store,
		clock:      clk,
		nodes:      NewNodeStorage(store, corelisters.NewNodeLister(nodeIndexer), labels.Everything(), clk),
		pods:       NewPodStorage(store, podLister, clk),
		podIndexer: podIndexer,
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
			for _, p := range podMetricsItems(t, obj) {
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

// podMetricsItems are the PodMetrics of a pod list answer.
func podMetricsItems(t testing.TB, obj runtime.Object) []metrics.PodMetrics {
	t.Helper()
	answer, ok := obj.(*podListAnswer)
	if !ok {
		t.Fatalf("List returned %T, want a *podListAnswer", obj)
	}
	return answer.GetObject().(*metrics.PodMetricsList).Items
}

// TestAllPodsListReuse: an unfiltered all-namespaces selection is shared
// while the store is unchanged and encoded once per format and second; it
// is selected afresh after a write or a change of the pods, and not kept
// once no one holds it.
func TestAllPodsListReuse(t *testing.T) {
	f := newFixture(t, 2, 3, "app")
	f.pods.formats = answerFormats(servedCodecs())
	all := func() *podListAnswer {
		t.Helper()
		obj, err := f.pods.List(genericapirequest.WithNamespace(context.Background(), ""), &metainternalversion.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*podListAnswer)
	}
	protobuf := answerFormat{protobuf: true, apiVersion: "metrics.k8s.io/v1beta1"}
	first := all()
	if len(first.selection.items) != 6 {
		t.Fatalf("%d pods, want 6", len(first.selection.items))
	}
	encoded := first.selection.encode(protobuf, first.created.Unix())
	again := all()
	if again.selection != first.selection {
		t.Error("a second list in the same store version was selected again")
	}
	if b := again.selection.encode(protobuf, again.created.Unix()); &b[0] != &encoded[0] {
		t.Error("a second list in the same second was encoded again")
	}
	filtered, err := f.pods.List(genericapirequest.WithNamespace(context.Background(), "ns-0"), &metainternalversion.ListOptions{})
	if err != nil || len(filtered.(*podListAnswer).selection.items) != 2 {
		t.Fatalf("namespaced list: %v, %+v", err, filtered)
	}

	f.clock.Step(time.Second)
	next := all()
	if next.selection != first.selection {
		t.Error("the next second selected the pods again; want them shared until the store changes")
	}
	if b := next.selection.encode(protobuf, next.created.Unix()); &b[0] == &encoded[0] {
		t.Error("the next second reused the encoding of the previous one, with its creation timestamps")
	}

	f.pods.PodsChanged()
	if changed := all(); changed.selection == first.selection {
		t.Error("the shared selection outlived a change of the pods")
	}

	shared := weak.Make(all().selection)
	first, again, next = nil, nil, nil
	goruntime.GC()
	if shared.Value() != nil {
		t.Error("the shared selection outlived its last user")
	}

	// A pod that stops running leaves the list once the informer says so.
	if err := f.podIndexer.Delete(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "pod-0-0", Namespace: "ns-0"}}); err != nil {
		t.Fatal(err)
	}
	f.pods.PodsChanged()
	if after := all(); len(after.selection.items) != 5 || after.selection.items[0].name != "pod-1-0" {
		t.Errorf("after pod-0-0 stopped: %d pods, first %q; want 5, pod-1-0", len(after.selection.items), after.selection.items[0].name)
	}

	// node-1 now reports no pods: its pods leave the list at once.
	f.store.Write("node-1", &sample.Batch{Node: sample.Point{CPUTime: t0.Add(20 * time.Second).UnixNano(),
		MemoryTime: t0.Add(20 * time.Second).UnixNano(), CPU: 2e10, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory}}, t0.Add(20*time.Second))
	if after := all(); len(after.selection.items) != 2 {
		t.Errorf("%d pods after node-1 lost its pods, want 2", len(after.selection.items))
	}
}

// TestTransformedAnswers: a request that asks the generic server to
// transform the answer (Table, PartialObjectMetadataList) gets PodMetrics
// objects from List.
func TestTransformedAnswers(t *testing.T) {
	f := newFixture(t, 1, 2, "app")
	for _, tc := range []struct {
		accept  string
		objects bool
	}{
		{"application/json", false},
		{"application/vnd.kubernetes.protobuf", false},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", true},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", true},
	} {
		var got runtime.Object
		handler := WithTransformedAnswers(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
			var err error
			if got, err = f.pods.List(req.Context(), &metainternalversion.ListOptions{}); err != nil {
				t.Fatal(err)
			}
		}))
		req := httptest.NewRequest(http.MethodGet, "/apis/metrics.k8s.io/v1beta1/pods", nil)
		req.Header.Set("Accept", tc.accept)
		handler.ServeHTTP(httptest.NewRecorder(), req)
		if _, isList := got.(*metrics.PodMetricsList); isList != tc.objects {
			t.Errorf("Accept %q: List returned %T", tc.accept, got)
		}
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

// BenchmarkListAllPods is what an all-pods list of 30,000 pods (1,000
// nodes × 30 pods × 2 containers) costs the server in protobuf (what
// client-go asks for), between two scrapes within a second of the previous
// such list: the shared selection and its encoding are reused.
func BenchmarkListAllPods(b *testing.B) { benchmarkListAllPods(b, sameSecond) }

// BenchmarkListAllPodsNextSecond is such a list in a later second than the
// previous one, still between scrapes: the shared selection is encoded
// again, with the new creation timestamp.
func BenchmarkListAllPodsNextSecond(b *testing.B) { benchmarkListAllPods(b, nextSecond) }

// BenchmarkListAllPodsAfterScrape is the first such list after a scrape
// while the pods stay the same (the steady state): their usage is looked up
// in the store again, then encoded.
func BenchmarkListAllPodsAfterScrape(b *testing.B) { benchmarkListAllPods(b, afterScrape) }

// BenchmarkListAllPodsRebuilt is the first such list after the pods
// changed: they are listed from the informer and sorted as well.
func BenchmarkListAllPodsRebuilt(b *testing.B) { benchmarkListAllPods(b, rebuilt) }

type listRepeat int

const (
	sameSecond listRepeat = iota
	nextSecond
	afterScrape
	rebuilt
)

func benchmarkListAllPods(b *testing.B, repeat listRepeat) {
	serveAllPods(b, runtime.ContentTypeProtobuf, repeat, false)
}

// BenchmarkServeAllPods compares, for the first all-pods list after a
// scrape, the answer's own encoding with the codec's encoding of the
// PodMetricsList objects (as the server did before, and still does for
// YAML and Table).
func BenchmarkServeAllPods(b *testing.B) {
	for _, mediaType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
		for _, objects := range []bool{false, true} {
			name := mediaType + "/own"
			if objects {
				name = mediaType + "/objects"
			}
			b.Run(name, func(b *testing.B) { serveAllPods(b, mediaType, rebuilt, objects) })
		}
	}
}

func serveAllPods(b *testing.B, mediaType string, repeat listRepeat, objects bool) {
	codecs := servedCodecs()
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		b.Fatalf("no serializer for %s", mediaType)
	}
	encoder := codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
	f := newFixture(b, 1000, 30, "app", "sidecar")
	f.pods.formats = answerFormats(codecs)
	ctx := genericapirequest.WithNamespace(context.Background(), "")
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		switch repeat {
		case nextSecond:
			f.clock.Step(time.Second)
		case afterScrape:
			f.store.Forget(func(string) bool { return true }) // a new store version
		case rebuilt:
			f.pods.PodsChanged()
		}
		obj, err := f.pods.List(ctx, &metainternalversion.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(obj.(*podListAnswer).selection.items); n != 30000 {
			b.Fatalf("%d pods", n)
		}
		if objects {
			obj = obj.(*podListAnswer).GetObject()
		}
		out.Reset()
		if err := encoder.Encode(obj, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Len()), "bytes/answer")
}

// servedCodecs are the codecs Install serves the API with.
func servedCodecs() runtime.NegotiatedSerializer {
	return genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, Scheme, metav1.ParameterCodec, Codecs).NegotiatedSerializer
}
