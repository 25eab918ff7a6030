// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"bytes"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"
	"weak"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/metrics/pkg/apis/metrics/install"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/pkg/api/internal/apitest"
	"github.com/kubemetrics/metrics-server/pkg/sample"
)

// testCodecs are codecs of the metrics.k8s.io types like the API's (which
// this package cannot import); pkg/api's tests prove the served codecs
// take the same encoders.
func testCodecs() runtime.NegotiatedSerializer {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme)
}

func newLister(tb testing.TB, c *apitest.Cluster) *Lister {
	tb.Helper()
	l, err := New(c.Store, c.Pods, testCodecs())
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func names(a *Answer) []string {
	var got []string
	for _, it := range a.Items() {
		got = append(got, it.Namespace+"/"+it.Name)
	}
	return got
}

func TestList(t *testing.T) {
	c := apitest.New(t, 2, 4, "app")
	l := newLister(t, c)
	onNode1 := func(_, _, node string) bool { return node == "node-1" }
	for _, tc := range []struct {
		name, namespace, label string
		match                  Match
		want                   string
	}{
		{name: "all, sorted by namespace and name, pods without metrics left out",
			want: "[ns-0/pod-0-0 ns-0/pod-0-3 ns-0/pod-1-0 ns-0/pod-1-3 ns-1/pod-0-1 ns-1/pod-1-1 ns-2/pod-0-2 ns-2/pod-1-2]"},
		{name: "one namespace", namespace: "ns-1", want: "[ns-1/pod-0-1 ns-1/pod-1-1]"},
		{name: "labels", label: "app=1", want: "[ns-0/pod-0-3 ns-0/pod-1-3 ns-1/pod-0-1 ns-1/pod-1-1]"},
		{name: "match on node", namespace: "ns-0", match: onNode1, want: "[ns-0/pod-1-0 ns-0/pod-1-3]"},
		{name: "a namespace without pods", namespace: "none", want: "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := labels.Parse(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			a, err := l.List(tc.namespace, sel, tc.match, metav1.NewTime(c.Clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(names(a)); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAllPodsListReuse: an unfiltered all-namespaces selection is shared
// while the store is unchanged and encoded once per format and second; it
// is selected afresh after a write or when the informer reports a pod
// added, deleted or relabelled, and not kept once no one holds it.
func TestAllPodsListReuse(t *testing.T) {
	c := apitest.New(t, 2, 3, "app")
	l := newLister(t, c)
	all := func() *Answer {
		t.Helper()
		a, err := l.List("", labels.Everything(), nil, metav1.NewTime(c.Clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	protobuf := format{protobuf: true, apiVersion: "metrics.k8s.io/v1beta1"}
	first := all()
	if len(first.Items()) != 6 {
		t.Fatalf("%d pods, want 6", len(first.Items()))
	}
	encoded := first.selection.encode(protobuf, first.created.Unix())
	again := all()
	if again.selection != first.selection {
		t.Error("a second list in the same store version was selected again")
	}
	if b := again.selection.encode(protobuf, again.created.Unix()); &b[0] != &encoded[0] {
		t.Error("a second list in the same second was encoded again")
	}
	if filtered, err := l.List("ns-0", labels.Everything(), nil, first.created); err != nil || len(filtered.Items()) != 2 || filtered.selection == first.selection {
		t.Fatalf("namespaced list: %v, %v", err, names(filtered))
	}

	c.Clock.Step(time.Second)
	next := all()
	if next.selection != first.selection {
		t.Error("the next second selected the pods again; want them shared until the store changes")
	}
	if b := next.selection.encode(protobuf, next.created.Unix()); &b[0] == &encoded[0] {
		t.Error("the next second reused the encoding of the previous one, with its creation timestamps")
	}

	// A status update (same labels) keeps the selection; new labels do not.
	c.Pods.Add(t, apitest.Pod("ns-0", "pod-0-0", "node-0", map[string]string{"app": "0"}))
	if same := all(); same.selection != first.selection {
		t.Error("an update that kept the labels made the pods be selected again")
	}
	c.Pods.Add(t, apitest.Pod("ns-0", "pod-0-0", "node-0", map[string]string{"app": "relabelled"}))
	relabelled := all()
	if relabelled.selection == first.selection || relabelled.Items()[0].Labels["app"] != "relabelled" {
		t.Errorf("after a relabel: shared %v, labels %v", relabelled.selection == first.selection, relabelled.Items()[0].Labels)
	}

	shared := weak.Make(all().selection)
	first, again, next, relabelled = nil, nil, nil, nil
	goruntime.GC()
	if shared.Value() != nil {
		t.Error("the shared selection outlived its last user")
	}

	// A pod that stops running leaves the list once the informer says so.
	c.Pods.Delete(t, "ns-0", "pod-0-0")
	if after := all(); len(after.Items()) != 5 || after.Items()[0].Name != "pod-1-0" {
		t.Errorf("after pod-0-0 stopped: %v; want 5 pods from ns-0/pod-1-0", names(after))
	}
	// A new pod joins it.
	c.Pods.Add(t, apitest.Pod("ns-0", "pod-0-0", "node-0", nil))
	if after := all(); len(after.Items()) != 6 {
		t.Errorf("after pod-0-0 came back: %v", names(after))
	}

	// node-1 now reports no pods: its pods leave the list at once.
	t20 := apitest.T0.Add(20 * time.Second)
	c.Store.Write("node-1", &sample.Batch{Node: sample.Point{CPUTime: t20.UnixNano(), MemoryTime: t20.UnixNano(),
		CPU: 2e10, Memory: 1 << 30, Fields: sample.HasCPU | sample.HasMemory}}, t20)
	if after := all(); len(after.Items()) != 3 {
		t.Errorf("%d pods after node-1 lost its pods, want 3", len(after.Items()))
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

// BenchmarkServeAllPods compares, for the first all-pods list after the
// pods changed, the answer's own encoding with the codec's encoding of the
// PodMetricsList objects (as YAML and Table answers still are).
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

// encoderFor is the server's encoder of v1beta1 objects in mediaType.
func encoderFor(b *testing.B, mediaType string) runtime.Encoder {
	codecs := testCodecs()
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		b.Fatalf("no serializer for %s", mediaType)
	}
	return codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
}

func serveAllPods(b *testing.B, mediaType string, repeat listRepeat, objects bool) {
	encoder := encoderFor(b, mediaType)
	c := apitest.New(b, 1000, 30, "app", "sidecar")
	l := newLister(b, c)
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		switch repeat {
		case nextSecond:
			c.Clock.Step(time.Second)
		case afterScrape:
			c.Store.Forget(func(string) bool { return true }) // a new store version
		case rebuilt:
			l.podsChanged()
		}
		a, err := l.List("", labels.Everything(), nil, metav1.NewTime(c.Clock.Now()))
		if err != nil {
			b.Fatal(err)
		}
		if n := len(a.Items()); n != 30000 {
			b.Fatalf("%d pods", n)
		}
		var obj runtime.Object = a
		if objects {
			obj = a.GetObject()
		}
		out.Reset()
		if err := encoder.Encode(obj, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Len()), "bytes/answer")
}

// BenchmarkListNamespace is a list of one namespace of 150 pods (15 nodes ×
// 30 pods × 2 containers, 3 namespaces), as an HPA's or a per-namespace
// `kubectl top pods` asks: selected and encoded for each list.
func BenchmarkListNamespace(b *testing.B) {
	encoder := encoderFor(b, runtime.ContentTypeProtobuf)
	c := apitest.New(b, 15, 30, "app", "sidecar")
	l := newLister(b, c)
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		a, err := l.List("ns-1", labels.Everything(), nil, metav1.NewTime(c.Clock.Now()))
		if err != nil {
			b.Fatal(err)
		}
		if n := len(a.Items()); n != 150 {
			b.Fatalf("%d pods", n)
		}
		out.Reset()
		if err := encoder.Encode(a, &out); err != nil {
			b.Fatal(err)
		}
	}
}
