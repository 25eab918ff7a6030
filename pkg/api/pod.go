package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

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
	// only) by every such request while the store is unchanged, within the
	// same second: creation timestamps are served with second precision,
	// and the pod informer may be ahead of it by at most that second.
	allPods atomic.Pointer[allPodsList]
}

type allPodsList struct {
	storeVersion uint64
	second       int64
	items        []metrics.PodMetrics
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
		if l := s.allPods.Load(); l != nil && l.storeVersion == version && l.second == now.Unix() {
			for i := range l.items {
				fresh.observe(l.items[i].Timestamp.UnixNano())
			}
			return &metrics.PodMetricsList{Items: l.items}, nil
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
		s.allPods.Store(&allPodsList{storeVersion: version, second: now.Unix(), items: list.Items})
	}
	return list, nil
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
