package server

import (
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"sync"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubemetrics/metrics-server/pkg/scraper"
)

var podsResource = corev1.SchemeGroupVersion.WithResource("pods")

// clusterInformers watch the nodes and the Running pods' metadata, trimmed
// to what the scraper and the API read.
type clusterInformers struct {
	nodeFactory informers.SharedInformerFactory
	podFactory  metadatainformer.SharedInformerFactory
	nodes       coreinformers.NodeInformer
	pods        informers.GenericInformer
}

func newInformers(restConfig *rest.Config) (*clusterInformers, error) {
	protobuf := rest.CopyConfig(restConfig)
	protobuf.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(protobuf)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	metadataClient, err := metadata.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("creating the metadata client: %w", err)
	}
	inf := &clusterInformers{
		nodeFactory: informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimNode)),
		podFactory: metadatainformer.NewFilteredSharedInformerFactory(metadataClient, 0, corev1.NamespaceAll,
			func(o *metav1.ListOptions) { o.FieldSelector = "status.phase=Running" }),
	}
	inf.nodes = inf.nodeFactory.Core().V1().Nodes()
	inf.pods = inf.podFactory.ForResource(podsResource)
	trimmer := newPodTrimmer()
	trimmer.live = func() int { return len(inf.pods.Informer().GetStore().ListKeys()) }
	if err := inf.pods.Informer().SetTransform(trimmer.trim); err != nil {
		return nil, fmt.Errorf("setting the pod transform: %w", err)
	}
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

// podTrimmer keeps the name, namespace and labels of a pod's metadata, and
// its resource version for the informer; the rest is dropped. Pods of one
// owner usually carry the same labels, so equal label sets share one map,
// and namespaces are interned.
type podTrimmer struct {
	mu   sync.Mutex
	seed maphash.Seed
	// labelSets holds one map per label set, by its hash; a set whose hash
	// is taken by another set is not shared.
	labelSets map[uint64]map[string]string
	// live counts the pods the informer holds. Once labelSets holds more
	// sets than twice that, it starts afresh, so the sets of pods that are
	// gone do not pile up; it is counted when labelSets has doubled since.
	live      func() int
	nextCheck int
}

func newPodTrimmer() *podTrimmer {
	return &podTrimmer{seed: maphash.MakeSeed(), labelSets: map[uint64]map[string]string{}, nextCheck: minLabelSetsChecked}
}

const minLabelSetsChecked = 1024

// trim is the pod informer's transform.
func (t *podTrimmer) trim(obj any) (any, error) {
	pod, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         unique.Make(pod.Namespace).Value(),
			ResourceVersion:   pod.ResourceVersion,
			Labels:            t.shared(pod.Labels),
			CreationTimestamp: pod.CreationTimestamp,
		},
	}, nil
}

// shared returns the map kept for the label set of labels, or keeps labels
// as that map.
func (t *podTrimmer) shared(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	// The sum of the pairs' hashes does not depend on the map's order.
	var h maphash.Hash
	h.SetSeed(t.seed)
	var sum uint64
	for k, v := range labels {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if kept, ok := t.labelSets[sum]; ok {
		if maps.Equal(kept, labels) {
			return kept
		}
		return labels
	}
	if len(t.labelSets) >= t.nextCheck && t.live != nil {
		if len(t.labelSets) > 2*t.live() {
			t.labelSets = map[uint64]map[string]string{}
		}
		t.nextCheck = max(2*len(t.labelSets), minLabelSetsChecked)
	}
	t.labelSets[sum] = labels
	return labels
}
