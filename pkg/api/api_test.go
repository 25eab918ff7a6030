// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/api/internal/apitest"
	"github.com/kubemetrics/metrics-server/pkg/api/podlist"
)

var t0 = apitest.T0

// fixture serves a cluster built by apitest.New.
type fixture struct {
	*apitest.Cluster
	nodes *NodeStorage
	pods  *PodStorage
}

func newFixture(tb testing.TB, nodes, podsPerNode int, containerNames ...string) *fixture {
	c := apitest.New(tb, nodes, podsPerNode, containerNames...)
	pods, err := NewPodStorage(c.Store, c.Pods, c.Clock)
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{
		Cluster: c,
		nodes:   NewNodeStorage(c.Store, corelisters.NewNodeLister(c.Nodes), labels.Everything(), c.Clock),
		pods:    pods,
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
	answer, ok := obj.(*podlist.Answer)
	if !ok {
		t.Fatalf("List returned %T, want a *podlist.Answer", obj)
	}
	return answer.GetObject().(*metrics.PodMetricsList).Items
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
		{"", false},
		{"application/json", false},
		{"application/vnd.kubernetes.protobuf", false},
		{"application/yaml", false},
		{"application/vnd.kubernetes.protobuf,application/json", false},
		// kubectl get's default.
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", true},
		{"application/json;as=Table;v=v1beta1;g=meta.k8s.io", true},
		{"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", true},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", true},
		{"application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io", true},
		{"application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", true},
		// A transformed clause after a plain one: objects, though the
		// server may pick the plain one.
		{"application/json,application/json;as=Table;v=v1;g=meta.k8s.io", true},
		{"application/json; AS=Table; v=v1; g=meta.k8s.io", true},
	} {
		var got runtime.Object
		handler := podlist.WithTransformedAnswers(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
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
