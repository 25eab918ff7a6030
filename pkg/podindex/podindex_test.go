// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podindex

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/internal/heaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// TestTrim: the index keeps a pod's namespace, name, node, labels and
// resource version; anything else passes through.
func TestTrim(t *testing.T) {
	full := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{
		Name: "p", Namespace: "ns", UID: types.UID("uid-p"), ResourceVersion: "9", Labels: map[string]string{"app": "web"},
		CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0)), Annotations: map[string]string{"big": "annotation"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-1"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
	}, Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}}
	tests := []struct {
		name     string
		in, want any
	}{
		{"a pod keeps what is read", full, NewPod("ns", "p", "node-1", map[string]string{"app": "web"}, "9")},
		{"a pod without labels", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns", Labels: map[string]string{}}, Spec: corev1.PodSpec{NodeName: "node-2"}},
			NewPod("ns", "q", "node-2", nil, "")},
		{"anything else passes through", "tombstone", "tombstone"},
	}
	trim := NewTrimmer(func() int { return 0 })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := trim.Trim(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Trim() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestLabelSets: pods with equal labels share one map, in any order of
// insertion; other label sets keep their own; the sets start afresh once
// they outnumber twice the live pods.
func TestLabelSets(t *testing.T) {
	live := 0
	trim := NewTrimmer(func() int { return live })
	labelsOf := func(name string, labels map[string]string) map[string]string {
		obj, err := trim.Trim(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*Pod).Labels
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

// TestLookups: List and Get read an indexer of Pods keyed and indexed by
// namespace as the informer's is, through Pod's metadata view.
func TestLookups(t *testing.T) {
	index := newIndexer()
	for _, p := range []*Pod{
		NewPod("a", "web-1", "node-1", map[string]string{"app": "web"}, "1"),
		NewPod("a", "db-1", "node-1", map[string]string{"app": "db"}, "2"),
		NewPod("b", "web-2", "node-2", map[string]string{"app": "web"}, "3"),
	} {
		if err := index.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	tests := []struct {
		ns   string
		sel  labels.Selector
		want []string
	}{
		{"", labels.Everything(), []string{"a/db-1", "a/web-1", "b/web-2"}},
		{"a", labels.Everything(), []string{"a/db-1", "a/web-1"}},
		{"", web, []string{"a/web-1", "b/web-2"}},
		{"b", web, []string{"b/web-2"}},
		{"c", labels.Everything(), nil},
	}
	for _, tc := range tests {
		pods, err := List(index, tc.ns, tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range pods {
			got = append(got, p.Namespace()+"/"+p.Name)
		}
		slices.Sort(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q, %v) = %v, want %v", tc.ns, tc.sel, got, tc.want)
		}
	}
	if p, err := Get(index, "b", "web-2"); err != nil || p == nil || p.ResourceVersion() != "3" {
		t.Errorf("Get(b, web-2) = %+v, %v", p, err)
	}
	if p, err := Get(index, "b", "web-1"); err != nil || p != nil {
		t.Errorf("Get(b, web-1) = %+v, %v; want none", p, err)
	}
	if err := index.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: "odd"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := List(index, "c", labels.Everything()); err == nil {
		t.Error("List over an object that is not a Pod: no error")
	}
	if _, err := Get(index, "c", "odd"); err == nil {
		t.Error("Get of an object that is not a Pod: no error")
	}
}

func newIndexer() cache.Indexer {
	return cache.NewIndexer(cache.DeletionHandlingMetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// BenchmarkIndexLiveHeap reports what the pod index keeps per Running pod
// (heap after a collection ÷ pods): 15,000 pods in 100 namespaces,
// labelled as a Deployment's pods are (an app and a template hash, 10
// Deployments a namespace), each decoded on its own as from the watch, then
// trimmed and indexed by namespace as the informer does.
func BenchmarkIndexLiveHeap(b *testing.B) {
	const pods = 15000
	heaptest.PerUnit(b, pods, "pod", func() any {
		index := newIndexer()
		trim := NewTrimmer(func() int { return len(index.ListKeys()) })
		for i := range pods {
			app := fmt.Sprintf("app-%d", i%10)
			decoded := &corev1.Pod{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("%s-7d9f8c6b5-%05d", app, i), Namespace: fmt.Sprintf("team-%02d", i%100),
					UID: types.UID(fmt.Sprintf("8c1a2f4e-0b3d-4c5e-9f60-%012d", i)), ResourceVersion: strconv.Itoa(100000 + i),
					Labels:            map[string]string{"app": app, "pod-template-hash": "7d9f8c6b5"},
					CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0)),
				},
				Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%03d", i/30)},
			}
			obj, err := trim.Trim(decoded)
			if err != nil {
				b.Fatal(err)
			}
			if err := index.Add(obj); err != nil {
				b.Fatal(err)
			}
		}
		return []any{index, trim}
	})
}

// TestInformer runs a real shared informer with Trim as its transform, fed
// by a stand-in watch: Pods are keyed and indexed by namespace, a relabel
// (a new resource version) reaches the handlers as an update, and a
// deletion removes the pod.
func TestInformer(t *testing.T) {
	w := watch.NewFake()
	lw := &cache.ListWatch{
		ListFunc: func(metav1.ListOptions) (apiruntime.Object, error) {
			return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, nil
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			if o.SendInitialEvents != nil && *o.SendInitialEvents {
				// A streaming list: no pods, then the bookmark that ends it.
				go w.Action(watch.Bookmark, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1",
					Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}})
			}
			return w, nil
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := informer.SetTransform(NewTrimmer(func() int { return len(informer.GetStore().ListKeys()) }).Trim); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 10)
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { events <- "add " + o.(*Pod).Name },
		UpdateFunc: func(_, o any) { events <- "update " + o.(*Pod).Name + " " + o.(*Pod).Labels["app"] },
		DeleteFunc: func(o any) { events <- "delete " + o.(*Pod).Name },
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("not synced")
	}
	pod := func(rv, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ResourceVersion: rv,
			UID: "u", Labels: map[string]string{"app": app}}, Spec: corev1.PodSpec{NodeName: "node-1"}}
	}
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			return "nothing"
		}
	}
	w.Add(pod("2", "a"))
	if e := next(); e != "add web" {
		t.Fatalf("event %q, want add web", e)
	}
	w.Modify(pod("3", "b"))
	if e := next(); e != "update web b" {
		t.Fatalf("event %q, want update web b", e)
	}
	if pods, err := List(informer.GetIndexer(), "ns", labels.SelectorFromSet(labels.Set{"app": "b"})); err != nil || len(pods) != 1 {
		t.Errorf("List(ns, app=b) = %v, %v", pods, err)
	}
	w.Delete(pod("4", "b"))
	if e := next(); e != "delete web" {
		t.Fatalf("event %q, want delete web", e)
	}
	if p, err := Get(informer.GetIndexer(), "ns", "web"); err != nil || p != nil {
		t.Errorf("Get after delete = %v, %v", p, err)
	}
}

// TestResourceVersion: kube-apiserver's decimal versions come back as
// they were given; any other version comes back as a stand-in that is
// equal for equal versions and differs for different ones.
func TestResourceVersion(t *testing.T) {
	for _, tc := range []struct{ given, want string }{
		{"0", "0"}, {"9", "9"}, {"123456789", "123456789"}, {"18446744073709551615", "18446744073709551615"},
	} {
		if got := NewPod("ns", "p", "n", nil, tc.given).ResourceVersion(); got != tc.want {
			t.Errorf("version %q kept as %q", tc.given, got)
		}
	}
	others := []string{"", "007", "18446744073709551616", "abc", "1.5", "-1"}
	seen := map[string]string{}
	for _, given := range others {
		a, b := NewPod("ns", "p", "n", nil, given).ResourceVersion(), NewPod("ns", "q", "n", nil, given).ResourceVersion()
		if a != b {
			t.Errorf("version %q: stand-ins %q and %q differ", given, a, b)
		}
		if prev, dup := seen[a]; dup {
			t.Errorf("versions %q and %q share the stand-in %q", prev, given, a)
		}
		seen[a] = given
	}
}
