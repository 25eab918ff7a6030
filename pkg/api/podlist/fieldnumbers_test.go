// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestFieldNumbers reads the field numbers and wire types of the messages
// the protobuf encoder writes from the generated types' protobuf tags, so
// that a dependency bump that moves a field fails here, by name, and not
// only as a byte difference in the encoding tests. (resource.Quantity and
// map entries have no such tag: a Quantity is one string, field 1, and a
// map entry's key and value are fields 1 and 2 by the protobuf spec.)
func TestFieldNumbers(t *testing.T) {
	tests := []struct {
		typ   any
		field string
		key   int
	}{
		{runtime.Unknown{}, "TypeMeta", unknownTypeMeta},
		{runtime.Unknown{}, "Raw", unknownRaw},
		{runtime.Unknown{}, "ContentEncoding", unknownContentEncoding},
		{runtime.Unknown{}, "ContentType", unknownContentType},
		{runtime.TypeMeta{}, "APIVersion", typeMetaAPIVersion},
		{runtime.TypeMeta{}, "Kind", typeMetaKind},
		{metav1.ListMeta{}, "SelfLink", listMetaSelfLink},
		{metav1.ListMeta{}, "ResourceVersion", listMetaResourceVersion},
		{metav1.ListMeta{}, "Continue", listMetaContinue},
		{metav1.ObjectMeta{}, "Name", metaName},
		{metav1.ObjectMeta{}, "GenerateName", metaGenerateName},
		{metav1.ObjectMeta{}, "Namespace", metaNamespace},
		{metav1.ObjectMeta{}, "SelfLink", metaSelfLink},
		{metav1.ObjectMeta{}, "UID", metaUID},
		{metav1.ObjectMeta{}, "ResourceVersion", metaResourceVersion},
		{metav1.ObjectMeta{}, "Generation", metaGeneration},
		{metav1.ObjectMeta{}, "CreationTimestamp", metaCreationTimestamp},
		{metav1.ObjectMeta{}, "Labels", metaLabels},
		{metav1.Timestamp{}, "Seconds", timeSeconds},
		{metav1.Timestamp{}, "Nanos", timeNanos},
		{metav1.Duration{}, "Duration", durationNanos},
	}
	for _, version := range []struct {
		list, pod, container any
	}{
		{metricsv1beta1.PodMetricsList{}, metricsv1beta1.PodMetrics{}, metricsv1beta1.ContainerMetrics{}},
		{metricsv1.PodMetricsList{}, metricsv1.PodMetrics{}, metricsv1.ContainerMetrics{}},
	} {
		tests = append(tests, []struct {
			typ   any
			field string
			key   int
		}{
			{version.list, "ListMeta", listMetadata},
			{version.list, "Items", listItems},
			{version.pod, "ObjectMeta", podMetadata},
			{version.pod, "Timestamp", podTimestamp},
			{version.pod, "Window", podWindow},
			{version.pod, "Containers", podContainers},
			{version.container, "Name", containerName},
			{version.container, "Usage", containerUsage},
		}...)
	}
	for _, tc := range tests {
		typ := reflect.TypeOf(tc.typ)
		t.Run(typ.String()+"."+tc.field, func(t *testing.T) {
			f, ok := typ.FieldByName(tc.field)
			if !ok {
				t.Fatalf("%s has no field %s", typ, tc.field)
			}
			key, err := fieldKey(f.Tag.Get("protobuf"))
			if err != nil {
				t.Fatalf("%s.%s: %v", typ, tc.field, err)
			}
			if key != tc.key {
				t.Errorf("%s.%s is field %d, wire type %d; the encoder writes field %d, wire type %d",
					typ, tc.field, key>>3, key&7, tc.key>>3, tc.key&7)
			}
		})
	}
}

// fieldKey is the key (number << 3 | wire type) a protobuf tag such as
// "bytes,2,opt,name=items" gives its field.
func fieldKey(tag string) (int, error) {
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return 0, fmt.Errorf("no protobuf tag: %q", tag)
	}
	number, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, fmt.Errorf("protobuf tag %q: %w", tag, err)
	}
	wire := map[string]int{"varint": wireVarint, "bytes": wireBytes}
	w, ok := wire[parts[0]]
	if !ok {
		return 0, fmt.Errorf("protobuf tag %q: wire type %q not written by the encoder", tag, parts[0])
	}
	return number<<3 | w, nil
}
