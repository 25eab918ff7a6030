// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package podindex is the compact index of Running pods that the API
// serves PodMetrics for: the pod informer's transform (Trimmer) turns each
// pod into a Pod that keeps only what the API and the store read, and the
// lookups here read the informer's indexer of them.
package podindex

import (
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"maps"
	"strconv"
	"sync"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// Pod is a Running pod as the index keeps it.
type Pod struct {
	// namespace is interned: a namespace's pods share its name, and a
	// handle is half a string's size.
	namespace unique.Handle[string]
	// node, the node the pod is bound to, is interned too: a node's pods
	// share it.
	node unique.Handle[string]
	Name string
	// Labels may be shared with other pods: read only.
	Labels map[string]string
	// version is the pod's resource version, kept for the informer, which
	// compares versions for equality only (in a relist, a pod of the same
	// version counts as a resync). kube-apiserver's are decimal numbers
	// (etcd revisions) and are kept as one; any other is kept as its hash,
	// which tells the same equality. A number takes half a string's
	// header and no allocation of its own.
	version uint64
}

// NewPod is the index's pod for these fields.
func NewPod(namespace, name, node string, labels map[string]string, resourceVersion string) *Pod {
	return &Pod{namespace: unique.Make(namespace), node: unique.Make(node), Name: name, Labels: labels, version: versionOf(resourceVersion)}
}

// versionOf is a resource version as Pod keeps it: the number it spells
// when it spells one canonically, otherwise its hash.
func versionOf(resourceVersion string) uint64 {
	if n, err := strconv.ParseUint(resourceVersion, 10, 64); err == nil && strconv.FormatUint(n, 10) == resourceVersion {
		return n
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(resourceVersion))
	return h.Sum64()
}

// ResourceVersion is the pod's resource version: the one it was given if
// that was a canonical decimal number, or a stand-in equal for equal
// versions (see Pod.version).
func (p *Pod) ResourceVersion() string { return strconv.FormatUint(p.version, 10) }

// Namespace is the pod's namespace.
func (p *Pod) Namespace() string { return p.namespace.Value() }

// Node is the node the pod is bound to (spec.nodeName): the only node
// whose kubelet may report its usage.
func (p *Pod) Node() string { return p.node.Value() }

// GetObjectMeta gives client-go (meta.Accessor: keys, the namespace index,
// resync detection) a read-only view of the pod's metadata.
func (p *Pod) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.Namespace(), Name: p.Name, Labels: p.Labels, ResourceVersion: p.ResourceVersion()}
}

// Trimmer is the pod informer's transform. Pods of one owner usually carry
// the same labels, so equal label sets share one map, and namespaces are
// interned.
type Trimmer struct {
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

// NewTrimmer returns a transform for an informer whose pod count live
// tells.
func NewTrimmer(live func() int) *Trimmer {
	return &Trimmer{seed: maphash.MakeSeed(), labelSets: map[uint64]map[string]string{}, live: live, nextCheck: minLabelSetsChecked}
}

const minLabelSetsChecked = 1024

// Trim turns a pod into a Pod; anything else (a deletion tombstone) passes
// through.
func (t *Trimmer) Trim(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return NewPod(pod.Namespace, pod.Name, pod.Spec.NodeName, t.shared(pod.Labels), pod.ResourceVersion), nil
}

// shared returns the map kept for the label set of labels, or keeps labels
// as that map.
func (t *Trimmer) shared(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return nil
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
	if len(t.labelSets) >= t.nextCheck {
		if len(t.labelSets) > 2*t.live() {
			t.labelSets = map[uint64]map[string]string{}
		}
		t.nextCheck = max(2*len(t.labelSets), minLabelSetsChecked)
	}
	t.labelSets[sum] = labels
	return labels
}

// List returns the pods of indexer in namespace ns (all if empty) that sel
// selects.
func List(indexer cache.Indexer, ns string, sel labels.Selector) ([]*Pod, error) {
	var objs []any
	if ns == "" {
		objs = indexer.List()
	} else {
		var err error
		if objs, err = indexer.ByIndex(cache.NamespaceIndex, ns); err != nil {
			return nil, err
		}
	}
	pods := make([]*Pod, 0, len(objs))
	for _, o := range objs {
		p, ok := o.(*Pod)
		if !ok {
			return nil, fmt.Errorf("the pod index holds a %T", o)
		}
		if sel.Empty() || sel.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// Get returns the pod ns/name of indexer, nil if there is none.
func Get(indexer cache.Indexer, ns, name string) (*Pod, error) {
	o, ok, err := indexer.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil, err
	}
	p, ok := o.(*Pod)
	if !ok {
		return nil, fmt.Errorf("the pod index holds a %T", o)
	}
	return p, nil
}
