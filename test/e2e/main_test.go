// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package e2e tests the metrics server through a real kube-apiserver's
// aggregation layer, with real kubectl and the real HPA controller, against
// simulated kubelets. Run with `make test-e2e`.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

const (
	// Nodes 0-3 are healthy; 4-9 are given faults by TestKubeletFaults.
	nodeCount  = 10
	resolution = 10 * time.Second
	namespace  = "e2e"
	portBase   = 21000
	// servingCAValidity is the main metrics server's --serving-ca-validity.
	servingCAValidity = 2 * time.Minute
)

// metricsAddress is the metrics server's plain-HTTP /metrics listener.
var metricsAddress = "127.0.0.1:" + strconv.Itoa(localcluster.Ports{Base: portBase}.MetricsServerPlainMetrics())

var (
	cluster  *localcluster.Cluster
	toolsDir string
	metrics  metricsclient.Interface
)

func TestMain(m *testing.M) {
	klog.InitFlags(nil)
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	suite, err := e2eutil.StartSuite(ctx, "test-e2e", "metrics-server-e2e-", func(*e2eutil.Suite) localcluster.Config {
		return localcluster.Config{
			Manifests: filepath.Join("..", "..", "manifests", "base"),
			PortBase:  portBase, Nodes: nodeCount,
			// Longer than the whole suite: the oracle judges every served
			// value against what the kubelets reported.
			StatsHistory: time.Hour,
			MetricsServerArgs: []string{"--metric-resolution=" + resolution.String(), "--kubelet-request-timeout=5s", "--v=2",
				// Small enough that the endless answer (FaultHuge) is cut
				// off as too large long before the request times out, even
				// on a loaded machine; the fleet's answers are far smaller.
				"--kubelet-max-response-bytes=" + strconv.Itoa(4<<20),
				"--metrics-bind-address=" + metricsAddress,
				// The serving CA rotates every 80 s: every test runs
				// through the aggregation layer across rotations.
				"--serving-ca-validity=" + servingCAValidity.String()},
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, toolsDir = suite.Cluster, suite.ToolsDir
	return suite.End(runSuite(ctx, m))
}

// runSuite runs the tests on the started cluster, with the workload and
// the oracle, and returns the exit code.
func runSuite(ctx context.Context, m *testing.M) int {
	var err error
	if metrics, err = metricsclient.NewForConfig(cluster.Admin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := createWorkload(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "creating the workload:", err)
		return 1
	}
	// Everything served while the suite runs (pods created, deleted and
	// restarted, kubelet faults, kube-apiserver and metrics server
	// restarts) is judged against the simulated kubelets' truth.
	watch, err := e2eutil.WatchServed(cluster.Admin, kubeletsim.NewOracle(cluster.Fleet))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if seen := watch.Stop(); seen.Wrong > 0 || seen.Checked == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the oracle: %s in %d lists (%d failed):\n  %s\n", seen.Result, seen.Polls, seen.FailedPolls,
			strings.Join(seen.Violations, "\n  "))
		code = 1
	} else {
		fmt.Printf("The oracle: %s in %d lists (%d failed)\n", seen.Result, seen.Polls, seen.FailedPolls)
	}
	return code
}

// kubectl runs the real kubectl as the cluster admin (or with extra
// credentials flags) and returns its standard output.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return e2eutil.Kubectl(toolsDir, cluster.AdminKubeconfig, args...)
}

// eventually retries check until it passes or timeout ends, then fails
// with its last error.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	e2eutil.Eventually(t, timeout, check)
}

func listOptions(selector string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: selector}
}
