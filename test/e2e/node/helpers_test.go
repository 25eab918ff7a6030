// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/realnode"
)

// burner is a container of the burner image using millicores of CPU and
// holding memoryBytes.
func burner(name string, millicores int, memoryBytes int64, extra ...string) corev1.Container {
	return corev1.Container{
		Name: name, Image: realnode.BurnerImage, ImagePullPolicy: corev1.PullNever,
		Args: append([]string{"--millicores=" + strconv.Itoa(millicores), "--memory-bytes=" + strconv.FormatInt(memoryBytes, 10)}, extra...),
	}
}

// withCPULimit sets the container's CPU request and limit.
func withCPULimit(c corev1.Container, limit string) corev1.Container {
	q := resource.MustParse(limit)
	c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q}, Limits: corev1.ResourceList{corev1.ResourceCPU: q}}
	return c
}

// podOnNode is a pod bound to the real node, on the host's network and
// without a ServiceAccount token, so it needs neither CNI nor the token
// API.
func podOnNode(name string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName: nodeName, HostNetwork: true, AutomountServiceAccountToken: new(false),
			TerminationGracePeriodSeconds: new(int64(1)), Containers: containers,
		},
	}
}

// runPod creates pod and waits until it runs with every container ready;
// the pod is deleted when the test ends.
func runPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	pods := cluster.Client.CoreV1().Pods(namespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pods.Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	})
	var running *corev1.Pod
	e2eutil.Eventually(t, 2*time.Minute, func() error {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s is %s: %+v", pod.Name, p.Status.Phase, p.Status.Conditions)
		}
		for _, c := range p.Status.ContainerStatuses {
			if !c.Ready {
				return fmt.Errorf("container %s of %s not ready: %+v", c.Name, pod.Name, c.State)
			}
		}
		running = p
		return nil
	})
	return running
}

// containerID is the runtime's ID of a container of pod.
func containerID(t *testing.T, pod *corev1.Pod, container string) string {
	t.Helper()
	for _, s := range append(pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses...) {
		if s.Name == container {
			_, id, _ := strings.Cut(s.ContainerID, "://")
			return id
		}
	}
	t.Fatalf("pod %s has no container %s", pod.Name, container)
	return ""
}

// cgroupDir is the container's cgroup in a cgroup v1 controller
// (cgroupfs driver: kubepods[/<qos>]/pod<uid>/<container id>).
func cgroupDir(t *testing.T, controller string, pod *corev1.Pod, id string) string {
	t.Helper()
	for _, pattern := range []string{"kubepods/pod%s/%s", "kubepods/*/pod%s/%s"} {
		matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", controller, fmt.Sprintf(pattern, pod.UID, id)))
		if len(matches) == 1 {
			return matches[0]
		}
	}
	t.Fatalf("no %s cgroup for container %s of pod %s", controller, id, pod.Name)
	return ""
}

// counterSampler reads a cumulative CPU counter (cpuacct.usage,
// nanoseconds) every 200 ms, so the rate between any two moments can be
// interpolated.
type counterSampler struct {
	file string
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []sample
	err     error
}

type sample struct {
	at    time.Time
	nanos float64
}

func sampleCounter(t *testing.T, file string) *counterSampler {
	t.Helper()
	s := &counterSampler{file: file, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			data, err := os.ReadFile(file)
			at := time.Now()
			s.mu.Lock()
			if err != nil {
				s.err = err
			} else if v, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64); err == nil {
				s.samples = append(s.samples, sample{at, v})
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(s.stop); <-s.done })
	return s
}

// at interpolates the counter at t between the samples around it.
func (s *counterSampler) at(t time.Time) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	i := sort.Search(len(s.samples), func(i int) bool { return !s.samples[i].at.Before(t) })
	if i == 0 || i == len(s.samples) {
		return 0, fmt.Errorf("%s: no samples around %s", s.file, t.Format(time.RFC3339Nano))
	}
	a, b := s.samples[i-1], s.samples[i]
	f := float64(t.Sub(a.at)) / float64(b.at.Sub(a.at))
	return a.nanos + f*(b.nanos-a.nanos), nil
}

// rate is the counter's rate, in millicores, from t-window to t.
func (s *counterSampler) rate(t time.Time, window time.Duration) (float64, error) {
	older, err := s.at(t.Add(-window))
	if err != nil {
		return 0, err
	}
	newer, err := s.at(t)
	if err != nil {
		return 0, err
	}
	return (newer - older) / float64(window) * 1000, nil
}

// millicores is q in thousandths of a core, unrounded.
func millicores(q resource.Quantity) float64 { return float64(q.ScaledValue(resource.Nano)) / 1e6 }
