// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package podlist answers PodMetrics lists, the server's hottest request
// (every HorizontalPodAutoscaler and `kubectl top pods -A` asks for them).
// It owns every cache of that path and their invalidation:
//
//   - the Running pods in namespace and name order, kept until the pod
//     informer reports a pod added, deleted or relabelled (the Lister
//     registers its own handler, so no wiring can forget it);
//   - the unfiltered all-namespaces selection of pods and usage, shared by
//     the requests made while the store's version is unchanged, and held
//     only weakly, so nobody's selection is kept between scrapes;
//   - that selection's encodings, reused by the requests of one second.
//
// Answers write JSON and protobuf themselves, byte for byte as the API's
// codecs would (json.go, protobuf.go), and leave any other format to the
// codecs.
package podlist

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"weak"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/kubemetrics/metrics-server/pkg/podindex"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Store is where a list reads usage.
type Store interface {
	// PodReader reads the usage of the pods of one list.
	PodReader(pods int) *storage.PodReader
	// Version changes whenever the usage served may have changed.
	Version() uint64
}

// Informer is the informer of Running pods, holding podindex.Pods (a
// cache.SharedIndexInformer).
type Informer interface {
	GetIndexer() cache.Indexer
	AddEventHandler(handler cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error)
}

// Lister selects the pods of a list and answers with them.
type Lister struct {
	store   Store
	pods    cache.Indexer
	formats map[runtime.Identifier]format

	mu sync.Mutex
	// allPods is the last unfiltered all-namespaces selection.
	allPods sharedSelection
	// sortedPods is every Running pod in namespace and name order, kept
	// until the pods change (podsGen counts the changes): a scrape changes
	// the usage but rarely the pods, and listing and sorting the pods costs
	// as much as looking up their usage.
	sortedPods []*podindex.Pod
	podsGen    uint64
}

// sharedSelection refers to its selection weakly: it lives while requests
// use it and is not held between scrapes for nobody (in a large cluster it
// and its encodings are large).
type sharedSelection struct {
	storeVersion uint64
	selection    weak.Pointer[selection]
}

// New returns a Lister of the pods informer holds, with usage from store,
// whose answers write themselves for the JSON and protobuf codecs of
// codecs (the API group's negotiated serializer). It watches informer for
// the changes that make its caches stale.
func New(store Store, informer Informer, codecs runtime.NegotiatedSerializer) (*Lister, error) {
	l := &Lister{
		store:   store,
		pods:    informer.GetIndexer(),
		formats: formatsOf(codecs),
	}
	// The sorted pods hold the Running pods and their labels; only
	// changes to those make them stale (status updates do not).
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { l.podsChanged() },
		DeleteFunc: func(any) { l.podsChanged() },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*podindex.Pod)
			n, ok2 := cur.(*podindex.Pod)
			if !ok1 || !ok2 || !maps.Equal(o.Labels, n.Labels) {
				l.podsChanged()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watching pods: %w", err)
	}
	return l, nil
}

// Match says whether a pod on node belongs in a list; nil keeps all.
type Match func(name, namespace, node string) bool

// List answers with the Running pods of ns (all namespaces if empty) that
// sel and match select and have usage in the store, sorted by namespace
// and name, created at the given time.
func (l *Lister) List(ns string, sel labels.Selector, match Match, created metav1.Time) (*Answer, error) {
	unfiltered := ns == "" && sel.Empty() && match == nil
	version := l.store.Version()
	var s *selection
	if unfiltered {
		s = l.sharedAllPods(version)
	}
	if s == nil {
		pods, err := l.listPods(ns, sel)
		if err != nil {
			return nil, fmt.Errorf("reading pods: %w", err)
		}
		s = l.selectPods(pods, match)
		if unfiltered {
			l.shareAllPods(version, s)
		}
	}
	return &Answer{selection: s, created: created, formats: l.formats}, nil
}

func (l *Lister) selectPods(pods []*podindex.Pod, match Match) *selection {
	s := &selection{items: make([]Item, 0, len(pods))}
	// The containers of all pods share few arrays, filled in place by the
	// store, sized for two containers a pod so that a namespace's list does
	// not take an array made for all pods.
	chunk := min(4096, 2*len(pods)+8)
	var containers []storage.ContainerUsage
	usage := l.store.PodReader(len(pods))
	for _, pod := range pods {
		if cap(containers)-len(containers) < 8 {
			containers = make([]storage.ContainerUsage, 0, chunk)
		}
		u, ok := usage.Pod(storage.PodKey{Namespace: pod.Namespace(), Name: pod.Name}, pod.Node(), containers[len(containers):])
		if !ok || match != nil && !match(pod.Name, pod.Namespace(), u.Node) {
			continue
		}
		if n := len(u.Containers); n <= cap(containers)-len(containers) {
			containers = containers[:len(containers)+n]
		}
		s.items = append(s.items, Item{Name: pod.Name, Namespace: pod.Namespace(), Labels: pod.Labels, Usage: u})
	}
	return s
}

// listPods returns the Running pods of ns (all if empty) that match sel,
// sorted by namespace and name. The slice is shared: callers only read it.
func (l *Lister) listPods(ns string, sel labels.Selector) ([]*podindex.Pod, error) {
	if ns != "" || !sel.Empty() {
		pods, err := podindex.List(l.pods, ns, sel)
		sortPods(pods)
		return pods, err
	}
	l.mu.Lock()
	gen, pods := l.podsGen, l.sortedPods
	l.mu.Unlock()
	if pods != nil {
		return pods, nil
	}
	pods, err := podindex.List(l.pods, "", sel)
	if err != nil {
		return nil, err
	}
	sortPods(pods)
	l.mu.Lock()
	// Kept only if no change came in meanwhile: the list may predate it.
	if l.podsGen == gen {
		l.sortedPods = pods
	}
	l.mu.Unlock()
	return pods, nil
}

// sharedAllPods returns the shared all-pods selection if the store is
// unchanged since it was made.
func (l *Lister) sharedAllPods(storeVersion uint64) *selection {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.allPods.storeVersion != storeVersion {
		return nil
	}
	return l.allPods.selection.Value()
}

func (l *Lister) shareAllPods(storeVersion uint64, s *selection) {
	l.mu.Lock()
	l.allPods = sharedSelection{storeVersion: storeVersion, selection: weak.Make(s)}
	l.mu.Unlock()
}

// podsChanged says the Running pods or their labels changed: the next
// all-pods list is listed, sorted and selected afresh rather than shared.
func (l *Lister) podsChanged() {
	l.mu.Lock()
	l.allPods = sharedSelection{}
	l.podsGen++
	l.sortedPods = nil
	l.mu.Unlock()
}

// sortPods orders pods by namespace and name. It sorts a slice of the keys
// rather than the pointers: comparing through pointers to scattered objects
// costs more in cache misses than the sort itself.
func sortPods(pods []*podindex.Pod) {
	type entry struct {
		namespace, name string
		pod             *podindex.Pod
	}
	keys := make([]entry, len(pods))
	for i, p := range pods {
		keys[i] = entry{p.Namespace(), p.Name, p}
	}
	slices.SortFunc(keys, func(a, b entry) int {
		if c := strings.Compare(a.namespace, b.namespace); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for i := range keys {
		pods[i] = keys[i].pod
	}
}
