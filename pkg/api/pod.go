package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"weak"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
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
	// formats are the encodings answers write themselves, set by Install.
	formats map[runtime.Identifier]answerFormat

	// allPods is the last unfiltered all-namespaces selection, shared (read
	// only) by every such request while the store and the pods are
	// unchanged (see PodsChanged).
	mu      sync.Mutex
	allPods sharedSelection
	// sortedPods is every Running pod in namespace and name order, kept
	// until the pods change (podsGen counts the changes): a scrape changes
	// the usage but rarely the pods, and listing and sorting 30,000 pods
	// cost as much as looking up their usage.
	sortedPods []*metav1.PartialObjectMetadata
	podsGen    uint64
}

// sharedSelection refers to its selection weakly: it lives while requests
// use it and is not held between scrapes for nobody (at 5,000 nodes it and
// its encodings take tens of MiB).
type sharedSelection struct {
	storeVersion uint64
	selection    weak.Pointer[podSelection]
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
// have metrics, sorted by namespace and name, as an answer that encodes
// itself (see podListAnswer).
func (s *PodStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, fieldSel := selectors(options)
	ns := genericapirequest.NamespaceValue(ctx)
	now := metav1.NewTime(s.clock.Now())
	unfiltered := ns == "" && sel.Empty() && fieldSel == nil
	version := s.store.Version()
	var selection *podSelection
	if unfiltered {
		selection = s.sharedAllPods(version)
	}
	if selection == nil {
		var err error
		if selection, err = s.selectPods(ns, sel, fieldSel); err != nil {
			return nil, err
		}
		if unfiltered {
			s.shareAllPods(version, selection)
		}
	}
	fresh := newFreshnessSink(now.Time)
	for i := range selection.items {
		fresh.observe(selection.items[i].usage.Timestamp)
	}
	answer := &podListAnswer{selection: selection, created: now, formats: s.formats}
	if wanted, _ := ctx.Value(objectsWantedKey{}).(bool); wanted {
		return answer.GetObject(), nil
	}
	return answer, nil
}

func (s *PodStorage) selectPods(ns string, sel labels.Selector, fieldSel fields.Selector) (*podSelection, error) {
	pods, err := s.listPods(ns, sel)
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading pods: %w", err))
	}
	selection := &podSelection{items: make([]podItem, 0, len(pods))}
	// The containers of all pods share few arrays, filled in place by the
	// store.
	var containers []storage.ContainerUsage
	for _, pod := range pods {
		if cap(containers)-len(containers) < 8 {
			containers = make([]storage.ContainerUsage, 0, 4096)
		}
		u, ok := s.store.Pod(storage.PodKey{Namespace: pod.Namespace, Name: pod.Name}, containers[len(containers):])
		if !ok || fieldSel != nil && !fieldSel.Matches(podFields(pod.Name, pod.Namespace, u.Node)) {
			continue
		}
		if n := len(u.Containers); n <= cap(containers)-len(containers) {
			containers = containers[:len(containers)+n]
		}
		selection.items = append(selection.items, podItem{name: pod.Name, namespace: pod.Namespace, labels: pod.Labels, usage: u})
	}
	return selection, nil
}

// listPods returns the Running pods of ns (all if empty) that match sel,
// sorted by namespace and name. The slice is shared: callers only read it.
func (s *PodStorage) listPods(ns string, sel labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	if ns != "" || !sel.Empty() {
		var pods []*metav1.PartialObjectMetadata
		var err error
		if ns != "" {
			pods, err = s.pods.Namespace(ns).List(sel)
		} else {
			pods, err = s.pods.List(sel)
		}
		sortPods(pods)
		return pods, err
	}
	s.mu.Lock()
	gen, pods := s.podsGen, s.sortedPods
	s.mu.Unlock()
	if pods != nil {
		return pods, nil
	}
	pods, err := s.pods.List(sel)
	if err != nil {
		return nil, err
	}
	sortPods(pods)
	s.mu.Lock()
	// Kept only if no change came in meanwhile: the list may predate it.
	if s.podsGen == gen {
		s.sortedPods = pods
	}
	s.mu.Unlock()
	return pods, nil
}

// sharedAllPods returns the shared all-pods selection if the store is
// unchanged since it was made.
func (s *PodStorage) sharedAllPods(storeVersion uint64) *podSelection {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allPods.storeVersion != storeVersion {
		return nil
	}
	return s.allPods.selection.Value()
}

// PodsChanged says the Running pods or their labels changed: the next
// all-pods list is listed, sorted and selected afresh rather than shared.
func (s *PodStorage) PodsChanged() {
	s.mu.Lock()
	s.allPods = sharedSelection{}
	s.podsGen++
	s.sortedPods = nil
	s.mu.Unlock()
}

func (s *PodStorage) shareAllPods(storeVersion uint64, selection *podSelection) {
	s.mu.Lock()
	s.allPods = sharedSelection{storeVersion: storeVersion, selection: weak.Make(selection)}
	s.mu.Unlock()
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
	m := podMetrics(&podItem{name: pod.Name, namespace: pod.Namespace, labels: pod.Labels, usage: u}, now)
	return &m, nil
}

// ConvertToTable renders PodMetrics for kubectl get; a pod's cells are the
// sums over its containers.
func (s *PodStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var rows []tableRow
	switch o := object.(type) {
	case *metrics.PodMetrics:
		rows = append(rows, podRow(o))
	case *podListAnswer:
		return s.ConvertToTable(ctx, o.GetObject(), tableOptions)
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
