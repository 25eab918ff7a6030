// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"slices"
	"strings"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Pod lists are written straight from the store's usage to the bytes the
// generic apiserver's codecs would produce for a PodMetricsList, in
// protobuf and in JSON: building and encoding a PodMetrics object per pod (a
// ResourceList map per container, a Quantity formatted several times per
// value by the generated marshallers) was a large share of the server's CPU
// in large clusters (docs/performance.md). encode_test.go holds both
// writers to the codecs' bytes.

// encoder keeps the scratch space of one answer's encoding.
type encoder struct {
	labels     []label
	quantities []usageQuantities
	// window and windowText are the last window written in JSON: most
	// pods share it.
	window     time.Duration
	windowText []byte
}

type label struct{ key, value string }

func (e *encoder) formatContainers(u *storage.PodUsage) []usageQuantities {
	e.quantities = e.quantities[:0]
	for i := range u.Containers {
		e.quantities = append(e.quantities, usageQuantities{})
		e.quantities[i].set(&u.Containers[i].Usage)
	}
	return e.quantities
}

// sortedLabels are a pod's labels sorted by key, as both encodings write
// maps.
func (e *encoder) sortedLabels(labels map[string]string) []label {
	e.labels = e.labels[:0]
	for k, v := range labels {
		e.labels = append(e.labels, label{k, v})
	}
	slices.SortFunc(e.labels, func(a, b label) int { return strings.Compare(a.key, b.key) })
	return e.labels
}

// seconds truncates unix nanoseconds to the whole seconds both encodings
// keep of a metav1.Time.
func seconds(unixNano int64) int64 { return time.Unix(0, unixNano).Unix() }
