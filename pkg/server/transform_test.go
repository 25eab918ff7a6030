// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemetrics/metrics-server/pkg/scraper"
)

// TestTrimNode: the node informer keeps what the scraper and the API read
// (name, labels, addresses, port, readiness, the metrics path annotation,
// autoscaler taints, creation and deletion) and drops the rest.
func TestTrimNode(t *testing.T) {
	created := metav1.NewTime(time.Unix(1_700_000_000, 0))
	deleted := metav1.NewTime(time.Unix(1_700_000_100, 0))
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: created,
		Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: deleted}
	full := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "n1", UID: types.UID("uid-1"), ResourceVersion: "7", Labels: map[string]string{"zone": "a"},
			CreationTimestamp: created, DeletionTimestamp: &deleted,
			Annotations:   map[string]string{scraper.ResourceMetricsPathAnnotation: "/metrics/nodes/n1/metrics/resource", "other": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24", Taints: []corev1.Taint{
			{Key: "ToBeDeletedByClusterAutoscaler", Value: "1700000000", Effect: corev1.TaintEffectNoSchedule},
			{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		}},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			Conditions:      []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, ready},
			Images:          []corev1.ContainerImage{{Names: []string{"registry.example/app:1"}, SizeBytes: 1 << 30}},
			Capacity:        corev1.ResourceList{},
		},
	}
	tests := []transformCase{
		{"a full node keeps what is read", full, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: "n1", UID: types.UID("uid-1"), ResourceVersion: "7", Labels: map[string]string{"zone": "a"},
				CreationTimestamp: created, DeletionTimestamp: &deleted,
				Annotations: map[string]string{scraper.ResourceMetricsPathAnnotation: "/metrics/nodes/n1/metrics/resource"},
			},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "ToBeDeletedByClusterAutoscaler", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{
				Addresses:       full.Status.Addresses,
				DaemonEndpoints: full.Status.DaemonEndpoints,
				Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: created}},
			},
		}},
		{"a bare node stays bare", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}},
		{"anything else (a deletion tombstone) passes through", "tombstone", "tombstone"},
	}
	checkTransform(t, "trimNode", trimNode, tests)
}

// transformCase is an informer transform's input and the object it must
// give.
type transformCase struct {
	name     string
	in, want any
}

func checkTransform(t *testing.T, name string, transform func(any) (any, error), tests []transformCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("%s() = %+v\nwant %+v", name, got, tc.want)
			}
		})
	}
}
