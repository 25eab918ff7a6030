// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/api/convert"
	"github.com/kubemetrics/metrics-server/pkg/api/podlist"
	"github.com/kubemetrics/metrics-server/pkg/podindex"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// PodStorage serves PodMetrics.
type PodStorage struct {
	store Store
	pods  cache.Indexer
	list  *podlist.Lister
	clock Clock
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

// NewPodStorage serves the Running pods that pods (the informer of
// podindex.Pods) holds and that have metrics in store. Its lists are answered
// by a podlist.Lister, which watches pods for the changes that make its
// caches stale.
func NewPodStorage(store Store, pods podlist.Informer, clock Clock) (*PodStorage, error) {
	list, err := podlist.New(store, pods, Codecs)
	if err != nil {
		return nil, err
	}
	return &PodStorage{
		store: store,
		pods:  pods.GetIndexer(),
		list:  list,
		clock: clock,
	}, nil
}

func (s *PodStorage) New() runtime.Object     { return &metrics.PodMetrics{} }
func (s *PodStorage) Destroy()                {}
func (s *PodStorage) Kind() string            { return "PodMetrics" }
func (s *PodStorage) NamespaceScoped() bool   { return true }
func (s *PodStorage) GetSingularName() string { return "" }
func (s *PodStorage) NewList() runtime.Object { return &metrics.PodMetricsList{} }

// List returns the pods of the request's namespace (or all namespaces) that
// have metrics, sorted by namespace and name, as an answer that encodes
// itself (see podlist.Answer).
func (s *PodStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, fieldSel := selectors(options)
	var match podlist.Match
	if fieldSel != nil {
		match = func(name, namespace, node string) bool { return fieldSel.Matches(podFields(name, namespace, node)) }
	}
	now := metav1.NewTime(s.clock.Now())
	answer, err := s.list.List(genericapirequest.NamespaceValue(ctx), sel, match, now)
	if err != nil {
		return nil, errors.NewInternalError(err)
	}
	fresh := newFreshnessSink(now.Time)
	for i := range answer.Items() {
		fresh.observe(answer.Items()[i].Usage.Timestamp)
	}
	if podlist.ObjectsWanted(ctx) {
		return answer.GetObject(), nil
	}
	return answer, nil
}

// Get returns one pod's metrics.
func (s *PodStorage) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	pod, err := podindex.Get(s.pods, ns, name)
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading pod %s/%s: %w", ns, name, err))
	}
	if pod == nil {
		return nil, errors.NewNotFound(corev1.Resource("pods"), name)
	}
	u, ok := s.store.Pod(storage.PodKey{Namespace: ns, Name: name}, pod.Node(), nil)
	if !ok {
		return nil, errors.NewNotFound(metrics.Resource("podmetrics"), ns+"/"+name)
	}
	now := metav1.NewTime(s.clock.Now())
	newFreshnessSink(now.Time).observe(u.Timestamp)
	m := convert.PodMetrics(pod.Name, pod.Namespace(), pod.Labels, &u, now)
	return &m, nil
}

// ConvertToTable renders PodMetrics for kubectl get; a pod's cells are the
// sums over its containers.
func (s *PodStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var rows []tableRow
	switch o := object.(type) {
	case *metrics.PodMetrics:
		rows = append(rows, podRow(o))
	case *podlist.Answer:
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
