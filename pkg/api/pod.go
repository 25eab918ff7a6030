package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"
	"weak"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// PodStorage serves PodMetrics.
type PodStorage struct {
	store Store
	pods  metadatalister.Lister
	clock Clock

	// allPods is the last unfiltered all-namespaces list, shared (read
	// only) by every such request while the store and the pods are
	// unchanged (see PodsChanged).
	mu      sync.Mutex
	allPods allPodsList
}

// allPodsList refers to its items weakly: they live while requests use them
// and are not held between scrapes for nobody (at 5,000 nodes they take
// hundreds of MiB). The weak pointer is to the items' array, which the
// responses hold.
type allPodsList struct {
	storeVersion uint64
	// second is the creation timestamp of the items, served with second
	// precision; the pod informer may be ahead of the store by at most it.
	second int64
	first  weak.Pointer[metrics.PodMetrics]
	n      int
}

var (
	_ rest.Storage              = &PodStorage{}
	_ rest.KindProvider         = &PodStorage{}
	_ rest.Scoper               = &PodStorage{}
	_ rest.Getter               = &PodStorage{}
	_ rest.Lister               = &PodStorage{}
	_ rest.TableConvertor       = &PodStorage{}
	_ rest.SingularNameProvider = &PodStorage{}
)

// NewPodStorage serves the pods pods lists (Running pods, from a
// metadata-only informer) that have metrics in store.
func NewPodStorage(store Store, pods metadatalister.Lister, clock Clock) *PodStorage {
	return &PodStorage{store: store, pods: pods, clock: clock}
}

func (s *PodStorage) New() runtime.Object     { return &metrics.PodMetrics{} }
func (s *PodStorage) Destroy()                {}
func (s *PodStorage) Kind() string            { return "PodMetrics" }
func (s *PodStorage) NamespaceScoped() bool   { return true }
func (s *PodStorage) GetSingularName() string { return "" }
func (s *PodStorage) NewList() runtime.Object { return &metrics.PodMetricsList{} }

// List returns the pods of the request's namespace (or all namespaces) that
// have metrics, sorted by namespace and name.
func (s *PodStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, fieldSel := selectors(options)
	ns := genericapirequest.NamespaceValue(ctx)
	now := metav1.NewTime(s.clock.Now())
	fresh := newFreshnessSink(now.Time)
	unfiltered := ns == "" && sel.Empty() && fieldSel == nil
	version := s.store.Version()
	if unfiltered {
		if items := s.sharedAllPods(version, now); items != nil {
			for i := range items {
				fresh.observe(items[i].Timestamp.UnixNano())
			}
			return &metrics.PodMetricsList{Items: items}, nil
		}
	}
	var pods []*metav1.PartialObjectMetadata
	var err error
	if ns != "" {
		pods, err = s.pods.Namespace(ns).List(sel)
	} else {
		pods, err = s.pods.List(sel)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading pods: %w", err))
	}
	sortPods(pods)
	list := &metrics.PodMetricsList{Items: make([]metrics.PodMetrics, 0, len(pods))}
	var buf []storage.ContainerUsage
	for _, pod := range pods {
		u, ok := s.store.Pod(storage.PodKey{Namespace: pod.Namespace, Name: pod.Name}, buf)
		if !ok || fieldSel != nil && !fieldSel.Matches(podFields(pod.Name, pod.Namespace, u.Node)) {
			continue
		}
		buf = u.Containers
		fresh.observe(u.Timestamp)
		list.Items = append(list.Items, podMetrics(pod, &u, now))
	}
	if unfiltered {
		s.shareAllPods(version, now.Unix(), list.Items)
	}
	return list, nil
}

// sharedAllPods returns the shared all-pods list if the store is unchanged
// since it was built. In a later second its items are copied with the new
// creation timestamp; the containers (the bulk of it) are shared still.
func (s *PodStorage) sharedAllPods(storeVersion uint64, now metav1.Time) []metrics.PodMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.allPods
	if l.n == 0 || l.storeVersion != storeVersion {
		return nil
	}
	first := l.first.Value()
	if first == nil {
		return nil
	}
	items := unsafe.Slice(first, l.n)
	if l.second != now.Unix() {
		items = slices.Clone(items)
		for i := range items {
			items[i].CreationTimestamp = now
		}
		s.shareLocked(storeVersion, now.Unix(), items)
	}
	return items
}

// PodsChanged says the Running pods or their labels changed: the next
// all-pods list is built afresh rather than shared.
func (s *PodStorage) PodsChanged() {
	s.mu.Lock()
	s.allPods = allPodsList{}
	s.mu.Unlock()
}

func (s *PodStorage) shareAllPods(storeVersion uint64, second int64, items []metrics.PodMetrics) {
	s.mu.Lock()
	s.shareLocked(storeVersion, second, items)
	s.mu.Unlock()
}

func (s *PodStorage) shareLocked(storeVersion uint64, second int64, items []metrics.PodMetrics) {
	s.allPods = allPodsList{storeVersion: storeVersion, second: second, n: len(items)}
	if len(items) > 0 {
		s.allPods.first = weak.Make(&items[0])
	}
}

// sortPods orders pods by namespace and name. It sorts a slice of the keys
// rather than the pointers: comparing through 30,000 pointers to scattered
// objects costs more in cache misses than the sort itself.
func sortPods(pods []*metav1.PartialObjectMetadata) {
	type entry struct {
		namespace, name string
		pod             *metav1.PartialObjectMetadata
	}
	keys := make([]entry, len(pods))
	for i, p := range pods {
		keys[i] = entry{p.Namespace, p.Name, p}
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

// Get returns one pod's metrics.
func (s *PodStorage) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	pod, err := s.pods.Namespace(ns).Get(name)
	if errors.IsNotFound(err) {
		return nil, errors.NewNotFound(corev1.Resource("pods"), name)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading pod %s/%s: %w", ns, name, err))
	}
	u, ok := s.store.Pod(storage.PodKey{Namespace: ns, Name: name}, nil)
	if !ok {
		return nil, errors.NewNotFound(metrics.Resource("podmetrics"), ns+"/"+name)
	}
	now := metav1.NewTime(s.clock.Now())
	newFreshnessSink(now.Time).observe(u.Timestamp)
	m := podMetrics(pod, &u, now)
	return &m, nil
}

// ConvertToTable renders PodMetrics for kubectl get; a pod's cells are the
// sums over its containers.
func (s *PodStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var rows []tableRow
	switch o := object.(type) {
	case *metrics.PodMetrics:
		rows = append(rows, podRow(o))
	case *metrics.PodMetricsList:
		for i := range o.Items {
			rows = append(rows, podRow(&o.Items[i]))
		}
	default:
		return nil, fmt.Errorf("cannot convert %T to a table", object)
	}
	return buildTable(rows, tableOptions)
}

func podRow(m *metrics.PodMetrics) tableRow {
	sum := corev1.ResourceList{}
	for _, c := range m.Containers {
		for name, q := range c.Usage {
			total := sum[name]
			total.Add(q)
			sum[name] = total
		}
	}
	return tableRow{m, &m.ObjectMeta, sum, m.Window.Duration}
}
