// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package e2eutil

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// Watch is a running poll of everything served, judged by an oracle.
type Watch struct {
	oracle *kubeletsim.Oracle
	stop   context.CancelFunc
	done   chan struct{}
	// polls and failed count the lists read and those that failed (the
	// API unavailable meanwhile, e.g. while kube-apiserver restarts).
	polls, failed int
}

// WatchServed lists every NodeMetrics and PodMetrics (all namespaces) of
// both versions through cfg (kube-apiserver's aggregation layer) every
// second, and has the oracle judge each, until Stop.
func WatchServed(cfg *rest.Config, oracle *kubeletsim.Oracle) (*Watch, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	client, err := rest.UnversionedRESTClientFor(withCodec(c))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watch{oracle: oracle, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			for _, version := range []string{"v1beta1", "v1"} {
				w.poll(ctx, client, version)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w, nil
}

func withCodec(c *rest.Config) *rest.Config {
	c.APIPath = "/apis"
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

// poll lists one version's nodes and pods; the v1 objects have the
// v1beta1 ones' fields, so both decode into the v1beta1 types.
func (w *Watch) poll(ctx context.Context, client *rest.RESTClient, version string) {
	var wg sync.WaitGroup
	var nodes metricsv1beta1.NodeMetricsList
	var pods metricsv1beta1.PodMetricsList
	var nodeErr, podErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		nodeErr = getInto(ctx, client, "/apis/metrics.k8s.io/"+version+"/nodes", &nodes)
	}()
	go func() {
		defer wg.Done()
		podErr = getInto(ctx, client, "/apis/metrics.k8s.io/"+version+"/pods", &pods)
	}()
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	w.polls += 2
	if nodeErr != nil {
		w.failed++
	} else {
		for i := range nodes.Items {
			w.oracle.CheckNode(&nodes.Items[i])
		}
	}
	if podErr != nil {
		w.failed++
	} else {
		for i := range pods.Items {
			w.oracle.CheckPod(&pods.Items[i])
		}
	}
}

// WatchResult is what a watch saw: the oracle's judgement and the lists.
type WatchResult struct {
	kubeletsim.Result
	Polls, FailedPolls int
}

// Stop ends the watch and returns what it saw.
func (w *Watch) Stop() WatchResult {
	w.stop()
	<-w.done
	return WatchResult{Result: w.oracle.Result(), Polls: w.polls, FailedPolls: w.failed}
}

func getInto(ctx context.Context, client *rest.RESTClient, path string, into any) error {
	body, err := client.Get().AbsPath(path).DoRaw(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, into)
}
