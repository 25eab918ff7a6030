// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import "k8s.io/component-base/metrics"

// The ways an answer is written: by this package's encoders, or by the
// API's codec from PodMetrics objects.
const (
	pathOwn   = "own"
	pathCodec = "codec"
)

// listAnswers counts the pod list answers by who wrote them: YAML and
// pretty-printed JSON go to the codec; JSON or protobuf going there means
// the served codecs are not the ones the Lister was given.
var listAnswers = metrics.NewCounterVec(&metrics.CounterOpts{
	Namespace:      "metrics_server",
	Subsystem:      "api",
	Name:           "pod_list_answers_total",
	Help:           "Pod metrics list answers, by encoder: own (the server's JSON and protobuf writers) or codec (the API codec, from objects).",
	StabilityLevel: metrics.ALPHA,
}, []string{"encoder"})

// RegisterMetrics registers the package's self-metrics; the server does
// so once at start, before it serves.
func RegisterMetrics(register func(...metrics.Registerable)) { register(listAnswers) }
