// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/kubemetrics/metrics-server/pkg/api/convert"
)

// NodeStorage serves NodeMetrics.
type NodeStorage struct {
	store        Store
	nodes        corelisters.NodeLister
	nodeSelector labels.Selector
	clock        Clock
}

var (
	_ rest.Storage              = &NodeStorage{}
	_ rest.KindProvider         = &NodeStorage{}
	_ rest.Scoper               = &NodeStorage{}
	_ rest.Getter               = &NodeStorage{}
	_ rest.Lister               = &NodeStorage{}
	_ rest.TableConvertor       = &NodeStorage{}
	_ rest.SingularNameProvider = &NodeStorage{}
)

// NewNodeStorage serves the nodes that nodeSelector selects (for lists; a
// get by name answers for any node that has metrics, as upstream does).
func NewNodeStorage(store Store, nodes corelisters.NodeLister, nodeSelector labels.Selector, clock Clock) *NodeStorage {
	return &NodeStorage{store: store, nodes: nodes, nodeSelector: nodeSelector, clock: clock}
}

func (s *NodeStorage) New() runtime.Object       { return &metrics.NodeMetrics{} }
func (s *NodeStorage) Destroy()                  {}
func (s *NodeStorage) Kind() string              { return "NodeMetrics" }
func (s *NodeStorage) NamespaceScoped() bool     { return false }
func (s *NodeStorage) GetSingularName() string   { return "" }
func (s *NodeStorage) NewList() runtime.Object   { return &metrics.NodeMetricsList{} }
func (s *NodeStorage) now() metav1.Time          { return metav1.NewTime(s.clock.Now()) }
func (s *NodeStorage) freshness() *freshnessSink { return newFreshnessSink(s.clock.Now()) }

// List returns the selected nodes that have metrics, sorted by name.
func (s *NodeStorage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, fieldSel := selectors(options)
	if s.nodeSelector != nil && !s.nodeSelector.Empty() {
		reqs, _ := s.nodeSelector.Requirements()
		sel = sel.Add(reqs...)
	}
	nodes, err := s.nodes.List(sel)
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading nodes: %w", err))
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	now, fresh := s.now(), s.freshness()
	list := &metrics.NodeMetricsList{Items: make([]metrics.NodeMetrics, 0, len(nodes))}
	for _, node := range nodes {
		if fieldSel != nil && !fieldSel.Matches(objectFields(node.Name, "")) {
			continue
		}
		u, ok := s.store.Node(node.Name)
		if !ok {
			continue
		}
		fresh.observe(u.Timestamp)
		list.Items = append(list.Items, convert.NodeMetrics(node, &u, now))
	}
	return list, nil
}

// Get returns one node's metrics.
func (s *NodeStorage) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	node, err := s.nodes.Get(name)
	if errors.IsNotFound(err) {
		return nil, errors.NewNotFound(corev1.Resource("node"), name)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("failed reading node %q: %w", name, err))
	}
	u, ok := s.store.Node(name)
	if !ok {
		return nil, errors.NewNotFound(metrics.Resource("nodemetrics"), name)
	}
	s.freshness().observe(u.Timestamp)
	m := convert.NodeMetrics(node, &u, s.now())
	return &m, nil
}

// ConvertToTable renders NodeMetrics for kubectl get.
func (s *NodeStorage) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	var rows []tableRow
	switch o := object.(type) {
	case *metrics.NodeMetrics:
		rows = append(rows, tableRow{o, &o.ObjectMeta, o.Usage, o.Window.Duration})
	case *metrics.NodeMetricsList:
		for i := range o.Items {
			it := &o.Items[i]
			rows = append(rows, tableRow{it, &it.ObjectMeta, it.Usage, it.Window.Duration})
		}
	default:
		return nil, fmt.Errorf("cannot convert %T to a table", object)
	}
	return buildTable(rows, tableOptions)
}
