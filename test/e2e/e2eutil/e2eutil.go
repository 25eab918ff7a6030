// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package e2eutil holds what the end-to-end suites share: running the real
// kubectl, waiting for a condition, and printing the local cluster's logs
// when a suite fails.
package e2eutil

import (
	"fmt"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kubectl runs the kubectl in toolsDir with a kubeconfig and returns its
// standard output; the error carries its standard error.
func Kubectl(toolsDir, kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(toolsDir, "kubectl"), append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
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

// SuiteEnv reads what a suite's make target hands it (E2E_TOOLS_DIR, the
// pinned tools, and E2E_METRICS_SERVER, the binary under test) and makes
// a new folder for its cluster, named after prefix.
func SuiteEnv(target, prefix string) (toolsDir, binary, dir string, err error) {
	toolsDir, binary = os.Getenv("E2E_TOOLS_DIR"), os.Getenv("E2E_METRICS_SERVER")
	if toolsDir == "" || binary == "" {
		return "", "", "", fmt.Errorf("E2E_TOOLS_DIR and E2E_METRICS_SERVER must be set; run `make %s`", target)
	}
	dir, err = os.MkdirTemp("", prefix)
	return toolsDir, binary, dir, err
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
