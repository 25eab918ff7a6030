// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/pkg/api/convert"
	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Item is one pod of a list answer.
type Item struct {
	Name, Namespace string
	Labels          map[string]string
	Usage           storage.PodUsage
}

// format is an encoding an answer writes itself.
type format struct {
	protobuf   bool
	apiVersion string
}

// formatsOf maps the identifiers of codecs' encoders to the encodings an
// answer writes itself: JSON (not pretty-printed) and protobuf, in each
// served version. Any other (YAML, pretty JSON) is left to the codec.
func formatsOf(codecs runtime.NegotiatedSerializer) map[runtime.Identifier]format {
	formats := map[runtime.Identifier]format{}
	for _, info := range codecs.SupportedMediaTypes() {
		var protobuf bool
		switch info.MediaType {
		case runtime.ContentTypeProtobuf:
			protobuf = true
		case runtime.ContentTypeJSON:
		default:
			continue
		}
		for _, gv := range []schema.GroupVersion{v1beta1.SchemeGroupVersion, metricsv1.SchemeGroupVersion} {
			encoder := codecs.EncoderForVersion(info.Serializer, gv)
			formats[encoder.Identifier()] = format{protobuf: protobuf, apiVersion: gv.String()}
		}
	}
	return formats
}

// selection is the pods a list answers with. It is read only once built;
// the all-pods selection is shared by the requests of a scrape (see
// Lister), and so are its encodings within a second.
type selection struct {
	items []Item

	mu      sync.Mutex
	encoded map[format]encodedAnswer
}

type encodedAnswer struct {
	created int64
	bytes   []byte
}

// encode returns the selection's answer in f, created at the given second,
// encoding it unless a request of the same second already did.
func (s *selection) encode(f format, created int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.encoded[f]; ok && e.created == created {
		return e.bytes
	}
	var b []byte
	if f.protobuf {
		b = appendListProtobuf(make([]byte, 0, 160*len(s.items)+64), f.apiVersion, s.items, created)
	} else {
		b = appendListJSON(make([]byte, 0, 300*len(s.items)+128), f.apiVersion, s.items, created)
	}
	if s.encoded == nil {
		s.encoded = map[format]encodedAnswer{}
	}
	s.encoded[f] = encodedAnswer{created: created, bytes: b}
	return b
}

// Answer is a pod list as the API's List returns it: a
// runtime.CacheableObject, which the generic apiserver's codecs hand their
// identifier and let encode itself. It writes JSON and protobuf itself and
// gives any other codec the PodMetricsList objects.
type Answer struct {
	selection *selection
	created   metav1.Time
	formats   map[runtime.Identifier]format
}

var _ runtime.CacheableObject = &Answer{}

// Items are the answer's pods; callers only read them.
func (a *Answer) Items() []Item { return a.selection.items }

func (a *Answer) CacheEncode(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, w io.Writer) error {
	f, ok := a.formats[id]
	if !ok {
		listAnswers.WithLabelValues(pathCodec).Inc()
		return encode(a.GetObject(), w)
	}
	listAnswers.WithLabelValues(pathOwn).Inc()
	_, err := w.Write(a.selection.encode(f, a.created.Unix()))
	return err
}

// GetObject builds the PodMetricsList.
func (a *Answer) GetObject() runtime.Object {
	list := &metrics.PodMetricsList{Items: make([]metrics.PodMetrics, len(a.selection.items))}
	for i := range a.selection.items {
		it := &a.selection.items[i]
		list.Items[i] = convert.PodMetrics(it.Name, it.Namespace, it.Labels, &it.Usage, a.created)
	}
	return list
}

func (a *Answer) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the answer; the selection it refers to is read
// only.
func (a *Answer) DeepCopyObject() runtime.Object {
	c := *a
	return &c
}

type objectsWantedKey struct{}

// WithTransformedAnswers marks the requests that ask the generic apiserver
// to transform the answer: those need PodMetrics objects from List (see
// ObjectsWanted).
//
// This depends on how k8s.io/apiserver negotiates: an Accept media type
// with an "as=" parameter (Table, PartialObjectMetadataList, with g= and
// v=) is turned into a conversion target (handlers/negotiation,
// acceptMediaTypeOptions), and the handler transforms List's result after
// List returns (handlers/response.go, transformObject), which works on
// objects it knows, not on an Answer. The sniff runs before negotiation and
// reads the whole header: any "as=", in any clause and any case, gets
// objects. A request that then negotiates a clause without it gets objects
// it did not need, which costs time, never a wrong answer.
func WithTransformedAnswers(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(strings.ToLower(req.Header.Get("Accept")), "as=") {
			req = req.WithContext(context.WithValue(req.Context(), objectsWantedKey{}, true))
		}
		handler.ServeHTTP(w, req)
	})
}

// ObjectsWanted says whether the request of ctx needs PodMetrics objects
// rather than an Answer.
func ObjectsWanted(ctx context.Context) bool {
	wanted, _ := ctx.Value(objectsWantedKey{}).(bool)
	return wanted
}
