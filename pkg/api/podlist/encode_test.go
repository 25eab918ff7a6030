// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// encodingCases are pod lists whose own encodings must equal the codecs'.
var encodingCases = map[string][]Item{
	"empty": {},
	"usual": {
		{Name: "web-0", Namespace: "default", Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f"},
			Usage: storage.PodUsage{Timestamp: 1_700_000_010_250_000_000, Window: 15 * time.Second, Containers: []storage.ContainerUsage{
				{Name: "app", Usage: storage.Usage{CPU: 123_456_789, Memory: 52_428_800, HasCPU: true, HasMemory: true}},
				{Name: "sidecar", Usage: storage.Usage{CPU: 1_000_000, Memory: 1536, HasCPU: true, HasMemory: true}},
			}}},
		{Name: "web-1", Namespace: "default",
			Usage: storage.PodUsage{Timestamp: 1_700_000_011_000_000_000, Window: 10500 * time.Millisecond, Containers: []storage.ContainerUsage{
				{Name: "app", Usage: storage.Usage{CPU: 0, Memory: 0, HasCPU: true, HasMemory: true}},
			}}},
	},
	// Quantities in each canonical form: whole cores, micro- and
	// millicores, values below 1024 bytes (written in decimal), binary
	// suffixes, the largest values, swap, and a container with CPU only.
	"quantities": {
		{Name: "q", Namespace: "quantities", Usage: storage.PodUsage{Timestamp: 1_700_000_000_000_000_001, Window: time.Second, Containers: []storage.ContainerUsage{
			{Name: "a", Usage: storage.Usage{CPU: 2_000_000_000, Memory: 1000, Swap: 1 << 30, HasCPU: true, HasMemory: true, HasSwap: true}},
			{Name: "b", Usage: storage.Usage{CPU: 1_500_000, Memory: 512, HasCPU: true, HasMemory: true}},
			{Name: "c", Usage: storage.Usage{CPU: 1_500, Memory: 1 << 40, HasCPU: true, HasMemory: true}},
			{Name: "d", Usage: storage.Usage{CPU: math.MaxUint64, Memory: math.MaxUint64, HasCPU: true, HasMemory: true}},
			{Name: "e", Usage: storage.Usage{CPU: 7, HasCPU: true}},
			{Name: "f", Usage: storage.Usage{Memory: 3 * 1024 * 1024 * 1000, HasMemory: true}},
		}}},
	},
	// Strings encoding/json escapes, and long ones whose lengths take more
	// than one byte in protobuf.
	"strings": {
		{Name: string(bytes.Repeat([]byte("n"), 300)), Namespace: "a&b", Labels: map[string]string{
			"<tag>": "\"quoted\" \\ back", "unicode": "zähler ✓", "control": "a\tb\x01", "separator": "\u2028", "invalid": "\xff",
			"": "", "long": string(bytes.Repeat([]byte("v"), 200)),
		}, Usage: storage.PodUsage{Timestamp: 1_700_000_000_000_000_000, Window: 15 * time.Second, Containers: []storage.ContainerUsage{
			{Name: "c>1", Usage: storage.Usage{CPU: 1, Memory: 2, HasCPU: true, HasMemory: true}},
		}}},
	},
}

// codecEncoder is a codec's encoder of one media type and version.
type codecEncoder struct {
	mediaType string
	runtime.Encoder
}

// codecEncoders are the encoders of mediaTypes in both served versions.
func codecEncoders(t testing.TB, codecs runtime.NegotiatedSerializer, mediaTypes ...string) []codecEncoder {
	var encoders []codecEncoder
	for _, mediaType := range mediaTypes {
		info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
		if !ok {
			t.Fatalf("no serializer for %s", mediaType)
		}
		for _, gv := range []schema.GroupVersion{v1beta1.SchemeGroupVersion, metricsv1.SchemeGroupVersion} {
			encoders = append(encoders, codecEncoder{mediaType, codecs.EncoderForVersion(info.Serializer, gv)})
		}
	}
	return encoders
}

// TestListEncoding holds the answer's own JSON and protobuf to what the
// codecs write for the same PodMetricsList, byte for byte, in both
// versions; YAML, which the answer leaves to the codec, must come out the
// same too.
func TestListEncoding(t *testing.T) {
	codecs := testCodecs()
	formats := formatsOf(codecs)
	if len(formats) != 4 {
		t.Errorf("the answer writes %d formats itself, want JSON and protobuf in 2 versions: %v", len(formats), formats)
	}
	created := metav1.NewTime(time.Unix(1_700_000_020, 500))
	for _, encoder := range codecEncoders(t, codecs, runtime.ContentTypeJSON, runtime.ContentTypeProtobuf, runtime.ContentTypeYAML) {
		_, own := formats[encoder.Identifier()]
		if wantOwn := encoder.mediaType != runtime.ContentTypeYAML; own != wantOwn {
			t.Errorf("%s: answer writes itself %v, want %v", encoder.Identifier(), own, wantOwn)
		}
		for name, items := range encodingCases {
			answer := &Answer{selection: &selection{items: items}, created: created, formats: formats}
			if err := encodesAsCodec(encoder, answer); err != nil {
				t.Errorf("%s, %s: %v", name, encoder.Identifier(), err)
			}
		}
	}
}

// FuzzListEncoding: lists of any names, labels and usage, of one to eight
// pods of one to four containers, encode as the codecs do in JSON and
// protobuf, in both versions.
func FuzzListEncoding(f *testing.F) {
	f.Add("pod", "ns", "app", "web", "c", uint64(123_456), uint64(1<<20), uint64(0), int64(1_700_000_000_123_456_789), int64(15e9), uint8(3), uint8(0))
	f.Add("", "", "", "", "", uint64(0), uint64(0), uint64(1023), int64(0), int64(0), uint8(7), uint8(1))
	f.Add("web-7d9f", "kube-system", "pod-template-hash", "5d8f", "sidecar", uint64(1e9), uint64(3<<30), uint64(1<<10), int64(1_700_000_000e9), int64(10500e6), uint8(3), uint8(0x3f))
	codecs := testCodecs()
	formats := formatsOf(codecs)
	encoders := codecEncoders(f, codecs, runtime.ContentTypeJSON, runtime.ContentTypeProtobuf)
	created := metav1.NewTime(time.Unix(1_700_000_020, 0))
	f.Fuzz(func(t *testing.T, name, namespace, key, value, container string, cpu, memory, swap uint64, timestamp, window int64, has, shape uint8) {
		if window < 0 || timestamp < 0 {
			t.Skip("the store never has negative times")
		}
		pods, containers := 1+int(shape&7), 1+int(shape>>3&3)
		items := make([]Item, pods)
		for p := range items {
			var labels map[string]string
			if key != "" || value != "" {
				labels = map[string]string{key: value}
				for l := range p {
					labels[key+strconv.Itoa(l)] = value
				}
			}
			usage := storage.PodUsage{Timestamp: timestamp + int64(p)*1e9, Window: time.Duration(window), Containers: make([]storage.ContainerUsage, containers)}
			for c := range usage.Containers {
				k := uint64(p*containers + c)
				usage.Containers[c] = storage.ContainerUsage{Name: container + strconv.Itoa(c), Usage: storage.Usage{
					CPU: cpu * (k + 1), Memory: memory << (k % 11), Swap: swap + k,
					HasCPU: has>>(k%3)&1 != 0, HasMemory: has>>(k%3+1)&1 != 0, HasSwap: has>>(k%3+2)&1 != 0,
				}}
			}
			items[p] = Item{Name: name + strconv.Itoa(p), Namespace: namespace, Labels: labels, Usage: usage}
		}
		answer := &Answer{selection: &selection{items: items}, created: created, formats: formats}
		for _, encoder := range encoders {
			if err := encodesAsCodec(encoder, answer); err != nil {
				t.Errorf("%s: %v", encoder.Identifier(), err)
			}
		}
	})
}

// encodesAsCodec compares what encoder writes for the answer with what it
// writes for the answer's PodMetricsList.
func encodesAsCodec(encoder runtime.Encoder, answer *Answer) error {
	var own, want bytes.Buffer
	if err := encoder.Encode(answer, &own); err != nil {
		return err
	}
	if err := encoder.Encode(answer.GetObject(), &want); err != nil {
		return err
	}
	if !bytes.Equal(own.Bytes(), want.Bytes()) {
		return fmt.Errorf("\ngot  %q\nwant %q", own.Bytes(), want.Bytes())
	}
	return nil
}
