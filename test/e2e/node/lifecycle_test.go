// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
)

// TestContainerRestart: a burner's process is killed and the kubelet
// starts the container again. Polled every second for a minute, no served
// value is above what the container can use, and none taken after the
// kill comes from the old instance or a window across the restart.
func TestContainerRestart(t *testing.T) {
	const rate = 150
	pod := runPod(t, podOnNode("restarted", burner("burner", rate, 24<<20)))
	ctx := context.Background()
	e2eutil.Eventually(t, 3*resolution, func() error {
		_, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		return err
	})
	procs, err := os.ReadFile(cgroupDir(t, "cpuacct", pod, containerID(t, pod, "burner")) + "/cgroup.procs")
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for _, f := range strings.Fields(string(procs)) {
		pid, _ := strconv.Atoi(f)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing the burner (%d): %v", pid, err)
		}
	}
	var restartedAt time.Time
	served, afterRestart := 0, 0
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(time.Second) {
		if restartedAt.IsZero() {
			p, err := cluster.Client.CoreV1().Pods(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
				restartedAt = p.Status.ContainerStatuses[0].State.Running.StartedAt.Time
				t.Logf("restarted at %s, %s after the kill", restartedAt.Format(time.TimeOnly), restartedAt.Sub(killed).Round(time.Second))
			}
		}
		m, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		served++
		cpu := millicores(containerUsage(m, "burner")[corev1.ResourceCPU])
		if cpu > rate+cpuTolerance(rate) {
			t.Errorf("served %.1fm at %s over %s, above the %dm the burner uses", cpu, m.Timestamp.Format(time.TimeOnly), m.Window.Duration, rate)
		}
		if !m.Timestamp.Time.After(killed) {
			continue
		}
		// Whole seconds: the kubelet's start time is truncated.
		if restartedAt.IsZero() || m.Timestamp.Add(-m.Window.Duration).Before(restartedAt.Add(-time.Second)) {
			t.Errorf("served %.1fm at %s over %s: after the kill (%s), not from the new instance (started %s)", cpu,
				m.Timestamp.Format(time.TimeOnly), m.Window.Duration, killed.Format(time.TimeOnly), restartedAt.Format(time.TimeOnly))
		}
		afterRestart++
	}
	if restartedAt.IsZero() || afterRestart == 0 {
		t.Fatalf("in a minute, the container restarted at %v and %d of %d values served came after the kill; want a restart and values from it", restartedAt, afterRestart, served)
	}
}

// TestFinishedInitContainerAndSidecar: a pod with a finished init
// container and a native sidecar (an init container that keeps running)
// is served with its main container and its sidecar, not the finished
// one, as the HPA counts them.
func TestFinishedInitContainerAndSidecar(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := burner("sidecar", 20, 8<<20)
	sidecar.RestartPolicy = &always
	pod := podOnNode("with-sidecar", burner("main", 60, 16<<20))
	pod.Spec.InitContainers = []corev1.Container{burner("init", 50, 8<<20, "--exit-after=1s"), sidecar}
	pod = runPod(t, pod)
	ctx := context.Background()
	e2eutil.Eventually(t, 3*resolution, func() error {
		m, err := metrics.MetricsV1beta1().PodMetricses(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var names []string
		for _, c := range m.Containers {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"main", "sidecar"}) {
			return fmt.Errorf("served containers %v, want [main sidecar]", names)
		}
		return nil
	})
}
