// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package node tests the metrics server against one real node: a kubelet
// built from the pinned module, with containerd and runc, running real
// containers on this machine, registered with a local control plane. The
// served values are checked against the containers' own cgroup counters
// and the kubelet's Summary API. Needs root; run with `make test-e2e-node`.
package node

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/localcluster"
	"github.com/kubemetrics/metrics-server/test/realnode"
)

const (
	portBase   = 23000
	resolution = 10 * time.Second
	namespace  = "node-e2e"
	// nodeName is the real node's name and Hostname address, which
	// resolves to loopback: the only address it is reached at.
	nodeName = "localhost"
)

var (
	cluster  *localcluster.Cluster
	node     *realnode.Node
	toolsDir string
	metrics  metricsclient.Interface
)

func TestMain(m *testing.M) {
	klog.InitFlags(nil)
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the real-node suite needs root (containerd, runc, the kubelet's cgroups)")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hostnameFirst := "Hostname,InternalIP,ExternalIP"
	suite, err := e2eutil.StartSuite(ctx, "test-e2e-node", "metrics-server-e2e-node-", func(s *e2eutil.Suite) localcluster.Config {
		return localcluster.Config{
			Manifests: filepath.Join("..", "..", "..", "manifests", "base"),
			PortBase:  portBase,
			// Only the real node: the kubelet is reached at its Hostname
			// address (loopback); it registers the machine's own address as
			// its InternalIP, where nothing of the suite may go.
			APIServerArgs:       []string{"--kubelet-preferred-address-types=" + hostnameFirst},
			KubeletAddressTypes: hostnameFirst,
			// As in a cluster: the kubelet's serving CA, and the metrics
			// server's own ServiceAccount token as its credentials, which the
			// kubelet checks with kube-apiserver (TokenReview,
			// SubjectAccessReview for nodes/metrics).
			KubeletTLSArgs:     []string{"--kubelet-certificate-authority=" + filepath.Join(s.Dir, "pki", "kubelet-ca.crt")},
			MetricsServerArgs:  []string{"--metric-resolution=" + resolution.String(), "--kubelet-request-timeout=5s", "--v=2"},
			DeferMetricsServer: true,
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, toolsDir = suite.Cluster, suite.ToolsDir
	dir := suite.Dir
	// The node goes first: its pods go through the cluster.
	defer func() {
		if node != nil {
			node.Stop()
		}
		code = suite.End(code)
	}()
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	node, err = realnode.Start(ctx, realnode.Config{
		Dir: filepath.Join(dir, "node"), Repo: repo, Kubelet: filepath.Join(toolsDir, "kubelet"),
		Cluster: cluster, Name: nodeName, Port: cluster.Ports.RealKubelet(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the real node:", err)
		return 1
	}
	if err := cluster.StartMainMetricsServer(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "starting the metrics server:", err)
		return 1
	}
	if metrics, err = metricsclient.NewForConfig(cluster.Admin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.EnsureNamespace(ctx, namespace); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
