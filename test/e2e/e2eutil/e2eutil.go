// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package e2eutil holds what the end-to-end suites share: running the real
// kubectl, waiting for a condition, and printing the local cluster's logs
// when a suite fails.
package e2eutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// Kubectl runs the kubectl in toolsDir with a kubeconfig and returns its
// standard output; the error carries its standard error.
func Kubectl(toolsDir, kubeconfig string, args ...string) (string, error) {
	return KubectlBinary(filepath.Join(toolsDir, "kubectl"), kubeconfig, args...)
}

// KubectlBinary runs the kubectl at binary (another release's) as Kubectl
// runs the pinned one.
func KubectlBinary(binary, kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(binary, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// Eventually retries check every second until it passes or timeout ends,
// then fails the test with its last error.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// DumpLogs prints the tail of every component's log in a local cluster's
// folder, for CI.
func DumpLogs(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(string(data), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		fmt.Fprintf(os.Stderr, "\n===== %s (last lines)\n%s\n", f, strings.Join(lines, "\n"))
	}
}

// Suite is a running end-to-end suite: its local cluster, the tools it
// was built from and the folder of its files and logs.
type Suite struct {
	Cluster  *localcluster.Cluster
	ToolsDir string
	Dir      string
}

// StartSuite reads the suite's environment (E2E_TOOLS_DIR and
// E2E_METRICS_SERVER, which `make <target>` sets, and the optional
// E2E_METRICS_SERVER_ARGS), makes its folder and
// starts the local cluster configure describes; Dir, ToolsDir and
// MetricsServer are filled in. On failure it prints the logs.
func StartSuite(ctx context.Context, target, prefix string, configure func(s *Suite) localcluster.Config) (*Suite, error) {
	toolsDir, binary := os.Getenv("E2E_TOOLS_DIR"), os.Getenv("E2E_METRICS_SERVER")
	if toolsDir == "" || binary == "" {
		return nil, fmt.Errorf("E2E_TOOLS_DIR and E2E_METRICS_SERVER must be set; run `make %s`", target)
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	s := &Suite{ToolsDir: toolsDir, Dir: dir}
	cfg := configure(s)
	cfg.Dir, cfg.ToolsDir, cfg.MetricsServer = dir, toolsDir, binary
	// E2E_METRICS_SERVER_ARGS adds flags to the metrics server under test,
	// e.g. to run a suite with --kubelet-net-http-transport.
	cfg.MetricsServerArgs = append(cfg.MetricsServerArgs, strings.Fields(os.Getenv("E2E_METRICS_SERVER_ARGS"))...)
	if s.Cluster, err = localcluster.Start(ctx, cfg); err != nil {
		DumpLogs(dir)
		return nil, fmt.Errorf("starting the local cluster: %w", err)
	}
	return s, nil
}

// End stops the cluster (stop what runs through it first), then prints
// the logs and keeps the folder if the suite failed (code != 0), or
// removes the folder. It returns code.
func (s *Suite) End(code int) int {
	s.Cluster.Stop()
	if code != 0 {
		DumpLogs(s.Dir)
	} else {
		os.RemoveAll(s.Dir)
	}
	return code
}

// CPUUtilization is an HPA metric: the pods' average CPU at percent of
// their requests.
func CPUUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: cpuTarget(percent)}}
}

// ContainerCPUUtilization is an HPA metric: one container's average CPU at
// percent of its request.
func ContainerCPUUtilization(container string, percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: container, Target: cpuTarget(percent)}}
}

func cpuTarget(percent int32) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent}
}
