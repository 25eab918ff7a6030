// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package server assembles the metrics server as k8s.io/sample-apiserver
// does: a Config made from validated options, Complete() to fill in the
// defaults, New() to build the informers, store, scraper, health checks and
// the generic API server serving metrics.k8s.io, and Run(ctx) to start
// them, scrape and serve.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubemetrics/metrics-server/pkg/scraper"
	"github.com/kubemetrics/metrics-server/pkg/servingcert"
	"github.com/kubemetrics/metrics-server/pkg/startmemory"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// firstWarmup is how soon after the first scrape the server scrapes again
// while it cannot yet serve every node: a rate needs two points, and waiting a
// whole resolution for the second one (as upstream does) delays the first
// `kubectl top` by a minute with the default resolution. The kubelet's next
// statistics may come a second later or fifteen, so the warm-up rounds come
// 1, 2, 4, 8 s … apart (a round that finds nothing new stores nothing).
const firstWarmup = time.Second

// Server is a runnable metrics server.
type Server struct {
	generic   *genericapiserver.GenericAPIServer
	informers *clusterInformers
	// nodesSynced and podsSynced say whether the informers have synced.
	nodesSynced, podsSynced cache.InformerSynced
	scraper                 roundScraper
	store                   *storage.Store
	// nodes lists the names of the selected nodes.
	nodes       func() ([]string, error)
	resolution  time.Duration
	clock       clock.WithTicker
	metricsAddr string
	// servingCA, when set, is issued before serving and started once
	// serving is closed.
	servingCA *servingcert.Controller
	serving   <-chan struct{}

	// lastTickStart is the unix nanosecond start of the latest scrape round,
	// 0 before the first; liveness fails when it is too old.
	lastTickStart atomic.Int64
	// warmedUp is closed when the scrape loop's warm-up rounds are over.
	warmedUp chan struct{}
}

// roundScraper scrapes every node once (scraper.Scraper).
type roundScraper interface {
	Scrape(ctx context.Context, stagger bool) (scraper.Result, error)
}

// Run starts the informers, waits for them to sync, then scrapes and serves
// until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	// The package initialisers and the set-up are over: most of the pages
	// they touched are not read again, and the start's peak is lower
	// without them.
	releaseStartMemory("set-up")
	// The API is useless without the informers, and upstream does not
	// listen before they sync either.
	if err := s.informers.start(ctx); err != nil {
		return err
	}
	if s.servingCA != nil {
		if err := s.servingCA.Issue(ctx); err != nil {
			return fmt.Errorf("issuing the serving certificate: %w", err)
		}
	}
	if s.metricsAddr != "" {
		if err := s.serveMetrics(ctx); err != nil {
			return err
		}
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if s.servingCA != nil {
		go s.startServingCA(runCtx, stop)
	}
	go s.scrapeLoop(runCtx)
	go s.releaseWhenStarted(runCtx)
	err := s.generic.PrepareRun().RunWithContext(runCtx)
	if ctx.Err() == nil && runCtx.Err() != nil {
		return context.Cause(runCtx)
	}
	return err
}

// startServingCA publishes the serving CA once the secure server accepts
// connections, and stops the server if that fails: kube-apiserver could
// not verify it.
func (s *Server) startServingCA(ctx context.Context, stop context.CancelCauseFunc) {
	select {
	case <-s.serving:
	case <-ctx.Done():
		return
	}
	if err := s.servingCA.Start(ctx); err != nil {
		stop(fmt.Errorf("publishing the serving CA: %w", err))
	}
}

// releaseWhenStarted gives back the memory only the start used once the
// start is over: the API serves and the warm-up rounds are done.
func (s *Server) releaseWhenStarted(ctx context.Context) {
	for _, done := range []<-chan struct{}{s.serving, s.warmedUp} {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
	releaseStartMemory("start")
}

// releaseStartMemory gives back the memory that only the part of the start
// named by over used (see package startmemory).
func releaseStartMemory(over string) {
	before, after, err := startmemory.Release()
	if err != nil {
		klog.ErrorS(err, "Releasing the memory only the start used", "over", over)
		return
	}
	klog.InfoS("Released the memory only the start used; what the server still reads comes back", "over", over,
		"fileBackedBefore", before.File, "fileBackedAfter", after.File, "anonymousBefore", before.Anonymous, "anonymousAfter", after.Anonymous)
}

// acceptNotifier closes accepting on the first Accept: the moment the
// secure server begins to serve.
type acceptNotifier struct {
	net.Listener
	once      sync.Once
	accepting chan struct{}
}

func (l *acceptNotifier) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepting) })
	return l.Listener.Accept()
}

// serveMetrics serves the self-metrics on their own plain-HTTP listener
// until ctx ends, so Prometheus can scrape them without apiserver
// authorization. It fails at once if the address cannot be bound.
func (s *Server) serveMetrics(ctx context.Context) error {
	l, err := net.Listen("tcp", s.metricsAddr)
	if err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", legacyregistry.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "Serving metrics", "address", s.metricsAddr)
		}
	}()
	klog.InfoS("Serving metrics without authorization", "address", l.Addr().String())
	return nil
}

// scrapeLoop scrapes at once, then every resolution. Rounds never overlap. It
// adds warm-up rounds between the first ones until every node can be served,
// then closes warmedUp. Regular rounds stagger their requests; the first and
// the warm-up rounds do not, since they exist to serve metrics soon after
// start.
func (s *Server) scrapeLoop(ctx context.Context) {
	ticker := s.clock.NewTicker(s.resolution)
	defer ticker.Stop()
	s.tick(ctx, false)
	interval := firstWarmup
	warmup := s.clock.NewTimer(interval)
	defer warmup.Stop()
	warming := 2*interval < s.resolution
	warmedUp := sync.OnceFunc(func() { close(s.warmedUp) })
	if !warming {
		warmedUp()
	}
	for {
		var warmupC <-chan time.Time
		if warming {
			warmupC = warmup.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			warming = false
			warmedUp()
			s.tick(ctx, true)
		case <-warmupC:
			s.tick(ctx, false)
			interval *= 2
			if s.allNodesServed() || s.clock.Since(time.Unix(0, s.lastTickStart.Load()))+interval >= s.resolution {
				warming = false
				warmedUp()
			} else {
				warmup.Reset(interval)
			}
		}
	}
}

func (s *Server) tick(ctx context.Context, stagger bool) {
	start := s.clock.Now()
	s.lastTickStart.Store(start.UnixNano())
	ctx, cancel := context.WithTimeout(ctx, s.resolution)
	defer cancel()
	res, err := s.scraper.Scrape(ctx, stagger)
	if err != nil {
		klog.ErrorS(err, "Scrape round incomplete")
	}
	if names, err := s.nodes(); err == nil {
		listed := make(map[string]bool, len(names))
		for _, n := range names {
			listed[n] = true
		}
		s.store.Forget(func(node string) bool { return listed[node] })
	}
	elapsed := s.clock.Since(start)
	tickDuration.Observe(elapsed.Seconds())
	nodes, containers := s.store.Counts()
	storagePoints.WithLabelValues("node").Set(float64(nodes))
	storagePoints.WithLabelValues("container").Set(float64(containers))
	klog.V(2).InfoS("Scrape round finished", "nodes", res.Nodes, "failed", res.Failed, "skipped", res.Skipped, "duration", elapsed,
		"servableNodes", nodes, "servableContainers", containers)
}

func (s *Server) allNodesServed() bool {
	names, err := s.nodes()
	if err != nil {
		return false
	}
	served, _ := s.store.Counts()
	return int(served) >= len(names)
}
