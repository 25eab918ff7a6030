// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubemetrics/metrics-server/pkg/podindex"
	"github.com/kubemetrics/metrics-server/pkg/scraper"
)

// clusterInformers watch the nodes and the Running pods, trimmed to what
// the scraper, the store and the API read (the pods to a podindex.Pod).
//
// Upstream watches pods' metadata only. The pods are watched whole here
// for spec.nodeName, without which any node could report for any pod:
// decoding a whole pod costs several times its metadata, but only when it
// changes (see docs/performance.md), and with the streaming list that
// kube-apiserver 1.34 and later serve, each pod is trimmed as it arrives.
type clusterInformers struct {
	nodeFactory informers.SharedInformerFactory
	podFactory  informers.SharedInformerFactory
	nodes       coreinformers.NodeInformer
	pods        coreinformers.PodInformer
}

func newInformers(restConfig *rest.Config) (*clusterInformers, error) {
	protobuf := rest.CopyConfig(restConfig)
	protobuf.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(protobuf)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	inf := &clusterInformers{}
	trimmer := podindex.NewTrimmer(func() int { return len(inf.pods.Informer().GetStore().ListKeys()) })
	inf.nodeFactory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimNode))
	inf.podFactory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimmer.Trim),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "status.phase=Running" }))
	inf.nodes = inf.nodeFactory.Core().V1().Nodes()
	inf.pods = inf.podFactory.Core().V1().Pods()
	return inf, nil
}

// start starts the informers and waits until both have synced or ctx ends.
func (inf *clusterInformers) start(ctx context.Context) error {
	inf.nodeFactory.Start(ctx.Done())
	inf.podFactory.Start(ctx.Done())
	if !cache.WaitForNamedCacheSync("metrics-server", ctx.Done(), inf.nodes.Informer().HasSynced, inf.pods.Informer().HasSynced) {
		return fmt.Errorf("informers did not sync: %w", ctx.Err())
	}
	return nil
}

// trimNode keeps only what the scraper and the API read of a Node, so a
// large cluster's node cache stays small (images alone can be kilobytes).
func trimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              node.Name,
			UID:               node.UID,
			ResourceVersion:   node.ResourceVersion,
			Labels:            node.Labels,
			CreationTimestamp: node.CreationTimestamp,
			DeletionTimestamp: node.DeletionTimestamp,
		},
		Status: corev1.NodeStatus{
			Addresses:       node.Status.Addresses,
			DaemonEndpoints: node.Status.DaemonEndpoints,
		},
	}
	// The CPU capacity bounds the rates the store accepts.
	if cpu, ok := node.Status.Capacity[corev1.ResourceCPU]; ok {
		trimmed.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: cpu}
	}
	for _, t := range node.Spec.Taints {
		if scraper.IsTerminatingTaint(t.Key) {
			trimmed.Spec.Taints = append(trimmed.Spec.Taints, corev1.Taint{Key: t.Key, Effect: t.Effect})
		}
	}
	if p, ok := node.Annotations[scraper.ResourceMetricsPathAnnotation]; ok {
		trimmed.Annotations = map[string]string{scraper.ResourceMetricsPathAnnotation: p}
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			trimmed.Status.Conditions = []corev1.NodeCondition{{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}}
		}
	}
	return trimmed, nil
}
