// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubemetrics/metrics-server/pkg/api"
	"github.com/kubemetrics/metrics-server/pkg/podindex"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/servingcert"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Config is everything a Server needs, made from validated options
// without reaching the cluster.
type Config struct {
	Apiserver *genericapiserver.Config
	// Rest reaches the cluster's API server, for the informers.
	Rest *rest.Config

	Kubelet               scraper.ClientConfig
	KubeletRequestTimeout time.Duration
	// ScrapeConcurrency bounds kubelet requests in flight.
	ScrapeConcurrency int

	MetricResolution time.Duration
	NodeSelector     labels.Selector
	// StaleAfter is how long a node that cannot be scraped stays served.
	StaleAfter time.Duration
	// MetricsBindAddress, when set, serves /metrics over plain HTTP there,
	// without authentication or authorization, for Prometheus.
	MetricsBindAddress string
	// ServingCA, when set, issues the serving certificate and keeps its CA
	// in the APIServices' caBundle while the server runs.
	ServingCA *servingcert.Controller

	// Clock defaults to the real one.
	Clock clock.WithTicker
}

// CompletedConfig is a Config with its defaults filled in, ready for New.
type CompletedConfig struct{ *completedConfig }

type completedConfig struct {
	Config
	apiserver genericapiserver.CompletedConfig
	// serving is closed when the secure server first accepts a
	// connection; set with a ServingCA, which is published then.
	serving <-chan struct{}
}

// Complete fills in the defaults and what the generic apiserver needs to
// serve metrics.k8s.io (see api.Configure).
func (c *Config) Complete() CompletedConfig {
	cc := &completedConfig{Config: *c}
	if cc.Clock == nil {
		cc.Clock = clock.RealClock{}
	}
	if cc.ServingCA != nil && cc.Apiserver.SecureServing != nil {
		// The CA is published once the server listens; see
		// servingcert.Controller.Start. Not a post-start hook: each hook
		// adds a line to the verbose health output, which must read as
		// upstream's.
		listener := &acceptNotifier{Listener: cc.Apiserver.SecureServing.Listener, accepting: make(chan struct{})}
		cc.Apiserver.SecureServing.Listener = listener
		cc.serving = listener.accepting
	}
	api.Configure(cc.Apiserver)
	cc.apiserver = cc.Apiserver.Complete(nil)
	return CompletedConfig{cc}
}

// A regular round's requests start spread over 8 ms per node, at most
// 4 s, as upstream's do.
const (
	staggerPerNode = 8 * time.Millisecond
	maxStagger     = 4 * time.Second
)

// New builds the server: informers, store, scraper, health checks and the
// API. It does not reach the cluster; Run does.
func (c CompletedConfig) New() (*Server, error) {
	registerMetrics()
	resolutionSeconds.Set(c.MetricResolution.Seconds())
	inf, err := newInformers(c.Rest)
	if err != nil {
		return nil, err
	}
	// Read after the memory limit is set from the container's (see
	// cmd/metrics-server/app).
	budget := scraper.NewAnswerBudget(debug.SetMemoryLimit(-1), c.ScrapeConcurrency, c.Kubelet.MaxBodyBytes)
	if budget.MaxAnswer() < c.Kubelet.MaxBodyBytes {
		klog.InfoS("Kubelet answers are bounded below --kubelet-max-response-bytes to fit the memory limit", "maxResponseBytes", budget.MaxAnswer())
		c.Kubelet.MaxBodyBytes = budget.MaxAnswer()
	}
	client, err := scraper.NewClient(c.Kubelet)
	if err != nil {
		return nil, err
	}
	nodeLister := inf.nodes.Lister()
	selected := func() ([]*corev1.Node, error) { return nodeLister.List(c.NodeSelector) }
	store := storage.New(storage.Config{
		Resolution:  c.MetricResolution,
		StaleAfter:  c.StaleAfter,
		Clock:       c.Clock,
		CPUCapacity: cpuCapacity(nodeLister),
		PodNode:     podNode(inf.pods.Informer().GetIndexer()),
	})
	generic, err := c.apiserver.New("metrics-server", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the API server: %w", err)
	}
	s := &Server{
		generic:     generic,
		informers:   inf,
		nodesSynced: inf.nodes.Informer().HasSynced,
		podsSynced:  inf.pods.Informer().HasSynced,
		store:       store,
		scraper: scraper.New(scraper.Config{
			Client:         client,
			Nodes:          selected,
			Sink:           store,
			RequestTimeout: c.KubeletRequestTimeout,
			Concurrency:    c.ScrapeConcurrency,
			Budget:         budget,
			StaggerPerNode: staggerPerNode,
			MaxStagger:     maxStagger,
			Clock:          c.Clock,
		}),
		nodes:       nodeNames(selected),
		resolution:  c.MetricResolution,
		clock:       c.Clock,
		metricsAddr: c.MetricsBindAddress,
		servingCA:   c.ServingCA,
		serving:     c.serving,
		warmedUp:    make(chan struct{}),
	}
	// Added after New, like upstream, so the verbose probe output lists
	// them after the generic post-start hooks, in this order.
	if err := errors.Join(
		generic.AddReadyzChecks(s.readyzChecks()...),
		generic.AddLivezChecks(0, s.livezChecks()...),
		generic.AddHealthChecks(s.healthChecks()...),
	); err != nil {
		return nil, fmt.Errorf("adding health checks: %w", err)
	}
	pods, err := api.NewPodStorage(store, inf.pods.Informer(), c.Clock)
	if err != nil {
		return nil, err
	}
	if err := api.Install(generic, api.NewNodeStorage(store, nodeLister, c.NodeSelector, c.Clock), pods); err != nil {
		return nil, fmt.Errorf("installing metrics.k8s.io: %w", err)
	}
	return s, nil
}

// cpuCapacity reads a node's CPU capacity from the node informer.
func cpuCapacity(nodes corelisters.NodeLister) func(string) (uint64, bool) {
	return func(name string) (uint64, bool) {
		node, err := nodes.Get(name)
		if err != nil {
			return 0, false
		}
		q, ok := node.Status.Capacity[corev1.ResourceCPU]
		if !ok || q.Sign() <= 0 {
			return 0, false
		}
		return uint64(q.ScaledValue(resource.Nano)), true
	}
}

// podNode tells the node a pod of the index is bound to.
func podNode(pods cache.Indexer) func(storage.PodKey) (string, bool) {
	return func(key storage.PodKey) (string, bool) {
		pod, err := podindex.Get(pods, key.Namespace, key.Name)
		if err != nil || pod == nil {
			return "", false
		}
		return pod.Node(), true
	}
}

// nodeNames lists the names of the nodes selected lists.
func nodeNames(selected func() ([]*corev1.Node, error)) func() ([]string, error) {
	return func() ([]string, error) {
		nodes, err := selected()
		names := make([]string, len(nodes))
		for i, n := range nodes {
			names[i] = n.Name
		}
		return names, err
	}
}
