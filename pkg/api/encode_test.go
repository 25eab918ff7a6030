package api

import (
	"bytes"
	"fmt"
	"math"
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
var encodingCases = map[string][]podItem{
	"empty": {},
	"usual": {
		{name: "web-0", namespace: "default", labels: map[string]string{"app": "web", "pod-template-hash": "5d8f"},
			usage: storage.PodUsage{Timestamp: 1_700_000_010_250_000_000, Window: 15 * time.Second, Containers: []storage.ContainerUsage{
				{Name: "app", Usage: storage.Usage{CPU: 123_456_789, Memory: 52_428_800, HasCPU: true, HasMemory: true}},
				{Name: "sidecar", Usage: storage.Usage{CPU: 1_000_000, Memory: 1536, HasCPU: true, HasMemory: true}},
			}}},
		{name: "web-1", namespace: "default",
			usage: storage.PodUsage{Timestamp: 1_700_000_011_000_000_000, Window: 10500 * time.Millisecond, Containers: []storage.ContainerUsage{
				{Name: "app", Usage: storage.Usage{CPU: 0, Memory: 0, HasCPU: true, HasMemory: true}},
			}}},
	},
	// Quantities in each canonical form: whole cores, micro- and
	// millicores, values below 1024 bytes (written in decimal), binary
	// suffixes, the largest values, swap, and a container with CPU only.
	"quantities": {
		{name: "q", namespace: "quantities", usage: storage.PodUsage{Timestamp: 1_700_000_000_000_000_001, Window: time.Second, Containers: []storage.ContainerUsage{
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
		{name: string(bytes.Repeat([]byte("n"), 300)), namespace: "a&b", labels: map[string]string{
			"<tag>": "\"quoted\" \\ back", "unicode": "zähler ✓", "control": "a\tb\x01", "separator": "\u2028", "invalid": "\xff",
			"": "", "long": string(bytes.Repeat([]byte("v"), 200)),
		}, usage: storage.PodUsage{Timestamp: 1_700_000_000_000_000_000, Window: 15 * time.Second, Containers: []storage.ContainerUsage{
			{Name: "c>1", Usage: storage.Usage{CPU: 1, Memory: 2, HasCPU: true, HasMemory: true}},
		}}},
	},
}

// TestPodListEncoding holds the answer's own JSON and protobuf to what the
// served codecs write for the same PodMetricsList, byte for byte, in both
// versions; YAML, which the answer leaves to the codec, must come out the
// same too.
func TestPodListEncoding(t *testing.T) {
	codecs := servedCodecs()
	formats := answerFormats(codecs)
	created := metav1.NewTime(time.Unix(1_700_000_020, 500))
	for name, items := range encodingCases {
		for _, mediaType := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf, runtime.ContentTypeYAML} {
			for _, gv := range []schema.GroupVersion{v1beta1.SchemeGroupVersion, metricsv1.SchemeGroupVersion} {
				info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
				if !ok {
					t.Fatalf("no serializer for %s", mediaType)
				}
				encoder := codecs.EncoderForVersion(info.Serializer, gv)
				answer := &podListAnswer{selection: &podSelection{items: items}, created: created, formats: formats}
				if err := encodesAsCodec(encoder, answer); err != nil {
					t.Errorf("%s, %s %s: %v", name, mediaType, gv, err)
				}
				_, written := formats[encoder.Identifier()]
				if wantWritten := mediaType != runtime.ContentTypeYAML; written != wantWritten {
					t.Errorf("%s %s: answer writes itself %v, want %v", mediaType, gv, written, wantWritten)
				}
			}
		}
	}
}

// FuzzPodListEncoding: any names, labels and usage encode as the codecs do.
func FuzzPodListEncoding(f *testing.F) {
	f.Add("pod", "ns", "app", "web", "c", uint64(123_456), uint64(1<<20), uint64(0), int64(1_700_000_000_123_456_789), int64(15e9), uint8(3))
	f.Add("", "", "", "", "", uint64(0), uint64(0), uint64(1023), int64(0), int64(0), uint8(7))
	codecs := servedCodecs()
	formats := answerFormats(codecs)
	created := metav1.NewTime(time.Unix(1_700_000_020, 0))
	var encoders []runtime.Encoder
	for _, mediaType := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf} {
		info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), mediaType)
		encoders = append(encoders, codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion))
	}
	f.Fuzz(func(t *testing.T, name, namespace, key, value, container string, cpu, memory, swap uint64, timestamp, window int64, has uint8) {
		if window < 0 || timestamp < 0 {
			t.Skip("the store never has negative times")
		}
		var labels map[string]string
		if key != "" || value != "" {
			labels = map[string]string{key: value, "z" + key: value}
		}
		items := []podItem{{name: name, namespace: namespace, labels: labels, usage: storage.PodUsage{
			Timestamp: timestamp, Window: time.Duration(window), Containers: []storage.ContainerUsage{{Name: container, Usage: storage.Usage{
				CPU: cpu, Memory: memory, Swap: swap, HasCPU: has&1 != 0, HasMemory: has&2 != 0, HasSwap: has&4 != 0,
			}}},
		}}}
		answer := &podListAnswer{selection: &podSelection{items: items}, created: created, formats: formats}
		for _, encoder := range encoders {
			if err := encodesAsCodec(encoder, answer); err != nil {
				t.Errorf("%s: %v", encoder.Identifier(), err)
			}
		}
	})
}

// encodesAsCodec compares what encoder writes for the answer with what it
// writes for the answer's PodMetricsList.
func encodesAsCodec(encoder runtime.Encoder, answer *podListAnswer) error {
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
