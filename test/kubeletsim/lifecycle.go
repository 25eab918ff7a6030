// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// podWorkers is how many pods are bound or started at once.
const podWorkers = 16

// oldStart is how long ago a pod the fleet runs is said to have started and
// become ready: beyond the HPA's CPU initialization period, so the HPA takes
// its metrics at face value from the first scrape.
const oldStart = 10 * time.Minute

func (f *Fleet) startPodWorkers(ctx context.Context) chan<- string {
	pending := make(chan string, 4096)
	for range podWorkers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case key := <-pending:
					if err := f.reconcile(ctx, key); err != nil && ctx.Err() == nil {
						klog.ErrorS(err, "Reconciling pod", "pod", key)
					}
				}
			}
		}()
	}
	return pending
}

// enqueue queues pods the fleet must act on, as a scheduler and a kubelet
// would: unbound pods it may schedule, and its own pods not yet running.
func (f *Fleet) enqueue(pending chan<- string, pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	_, owned := f.nodeIndex[pod.Spec.NodeName]
	unbound := pod.Spec.NodeName == "" && f.cfg.Schedule && len(f.cfg.Nodes) > 0
	if !unbound && !(owned && pod.Status.Phase != corev1.PodRunning) {
		return
	}
	key, _ := cache.MetaNamespaceKeyFunc(pod)
	pending <- key
}

func (f *Fleet) reconcile(ctx context.Context, key string) error {
	obj, exists, err := f.pods.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return f.bind(ctx, pod)
	}
	if pod.Status.Phase == corev1.PodRunning {
		return nil
	}
	return f.markRunning(ctx, pod)
}

// bind places a pod on a node chosen by a hash of its name.
func (f *Fleet) bind(ctx context.Context, pod *corev1.Pod) error {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pod.Namespace + "/" + pod.Name))
	node := f.cfg.Nodes[int(h.Sum32())%len(f.cfg.Nodes)]
	err := f.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// markRunning reports the pod Running and Ready, as its kubelet would.
func (f *Fleet) markRunning(ctx context.Context, pod *corev1.Pod) error {
	started := metav1.NewTime(time.Now().Add(-oldStart).Truncate(time.Second))
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.StartTime = &started
	pod.Status.HostIP = f.cfg.Address
	pod.Status.PodIP = f.cfg.Address
	pod.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: started})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		})
	}
	_, err := f.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is queued, or the pod is gone
	}
	return err
}

// RegisterNodes creates (or refreshes the status of) the fleet's Node
// objects: Ready, reachable at the fleet's address on each node's port.
func (f *Fleet) RegisterNodes(ctx context.Context, client kubernetes.Interface, labels map[string]string) error {
	for i, name := range f.cfg.Nodes {
		hostname := f.cfg.Hostname
		if hostname == "" {
			hostname = name
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			}},
			Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: f.cfg.Address},
					{Type: corev1.NodeHostName, Address: hostname},
				},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(f.Port(i))}},
				Capacity: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110"),
				},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
					LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
				// Swap capacity, as a kubelet on a node with swap reports it;
				// kubectl top --show-swap needs it for every node it shows.
				NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64",
					Swap: &corev1.NodeSwapStatus{Capacity: new(int64(8 << 30))}},
			},
		}
		node.Status.Allocatable = node.Status.Capacity
		for k, v := range labels {
			node.Labels[k] = v
		}
		created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			existing, getErr := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if getErr != nil {
				return getErr
			}
			existing.Status = node.Status
			_, err = client.CoreV1().Nodes().UpdateStatus(ctx, existing, metav1.UpdateOptions{})
		} else if err == nil && len(created.Status.Addresses) == 0 {
			created.Status = node.Status
			_, err = client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("registering node %s: %w", name, err)
		}
	}
	return nil
}
