// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

// containerSpec is a container with the usage the simulator reports for it
// and its CPU request.
type containerSpec struct {
	name, cpu, memory, request string
}

func podTemplate(labels map[string]string, containers ...containerSpec) corev1.PodTemplateSpec {
	cpu, mem := "", ""
	var cs []corev1.Container
	for i, c := range containers {
		sep := ""
		if i > 0 {
			sep = ","
		}
		cpu += sep + c.name + "=" + c.cpu
		mem += sep + c.name + "=" + c.memory
		cs = append(cs, corev1.Container{Name: c.name, Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c.request)}}})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
			kubeletsim.CPUAnnotation: cpu, kubeletsim.MemoryAnnotation: mem,
		}},
		Spec: corev1.PodSpec{Containers: cs},
	}
}

func deployment(ns, name string, replicas int32, containers ...containerSpec) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, containers...),
		},
	}
}

func pod(ns, name string, containers ...containerSpec) *corev1.Pod {
	t := podTemplate(map[string]string{"app": name}, containers...)
	t.ObjectMeta.Name, t.ObjectMeta.Namespace = name, ns
	return &corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
}

// The workload of namespace e2e: 3 steady single-container pods, a pod
// with a busy app and an idle sidecar, and a pod the restart test uses.
const steadyPods, workloadPods = 3, 5

func createWorkload(ctx context.Context) error {
	if err := cluster.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	c := cluster.Client
	if _, err := c.AppsV1().Deployments(namespace).Create(ctx,
		deployment(namespace, "steady", steadyPods, containerSpec{"main", "250", "100Mi", "500m"}), metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, p := range []*corev1.Pod{
		pod(namespace, "two", containerSpec{"app", "300", "64Mi", "500m"}, containerSpec{"sidecar", "20", "8Mi", "100m"}),
		pod(namespace, "restarts", containerSpec{"main", "200", "50Mi", "500m"}),
	} {
		if _, err := c.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	// Wait until every pod of the workload is served.
	return wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := metrics.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		return len(list.Items) == workloadPods, nil
	})
}

// expectedUsage is what the simulator reports for every Running pod's
// containers (namespace/pod → container → usage) and for every node.
type usage struct{ millicores, bytes int64 }

func expectedUsage(ctx context.Context) (pods map[string]map[string]usage, nodes map[string]usage, err error) {
	list, err := cluster.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return nil, nil, err
	}
	nodeList, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	pods, nodes = map[string]map[string]usage{}, map[string]usage{}
	for _, n := range nodeList.Items {
		nodes[n.Name] = usage{kubeletsim.NodeOverheadMillicores, kubeletsim.NodeOverheadMemory}
	}
	for i := range list.Items {
		p := &list.Items[i]
		key := p.Namespace + "/" + p.Name
		pods[key] = map[string]usage{}
		n := nodes[p.Spec.NodeName]
		for _, c := range p.Spec.Containers {
			m, b := kubeletsim.ContainerUsage(p, c.Name)
			m, b = max(m, 0), max(b, 0) // an absent sample adds nothing to kubectl's sums
			pods[key][c.Name] = usage{m, b}
			n.millicores += m
			n.bytes += b
		}
		nodes[p.Spec.NodeName] = n
	}
	if len(nodes) != nodeCount {
		return nil, nil, fmt.Errorf("%d nodes, want %d", len(nodes), nodeCount)
	}
	return pods, nodes, nil
}
