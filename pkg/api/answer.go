package api

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
)

// answerFormat is an encoding a pod list answer writes itself.
type answerFormat struct {
	protobuf   bool
	apiVersion string
}

// answerFormats maps the identifiers of the codecs the API is served with
// to the encodings the pod list writes itself: JSON (not pretty-printed)
// and protobuf, in each served version. Any other (YAML, pretty JSON) is
// left to the codec.
func answerFormats(codecs runtime.NegotiatedSerializer) map[runtime.Identifier]answerFormat {
	formats := map[runtime.Identifier]answerFormat{}
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
			formats[encoder.Identifier()] = answerFormat{protobuf: protobuf, apiVersion: gv.String()}
		}
	}
	return formats
}

// podSelection is the pods a list answers with. It is read only once
// built; the all-pods selection is shared by the requests of a scrape (see
// PodStorage), and so are its encodings within a second.
type podSelection struct {
	items []podItem

	mu      sync.Mutex
	encoded map[answerFormat]encodedAnswer
}

type encodedAnswer struct {
	created int64
	bytes   []byte
}

// encode returns the selection's answer in format, created at the given
// second, encoding it unless a request of the same second already did.
func (s *podSelection) encode(format answerFormat, created int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.encoded[format]; ok && e.created == created {
		return e.bytes
	}
	var b []byte
	if format.protobuf {
		b = appendPodListProtobuf(make([]byte, 0, 160*len(s.items)+64), format.apiVersion, s.items, created)
	} else {
		b = appendPodListJSON(make([]byte, 0, 300*len(s.items)+128), format.apiVersion, s.items, created)
	}
	if s.encoded == nil {
		s.encoded = map[answerFormat]encodedAnswer{}
	}
	s.encoded[format] = encodedAnswer{created: created, bytes: b}
	return b
}

// podListAnswer is a pod list as List returns it: a runtime.CacheableObject,
// which the generic apiserver's codecs hand their identifier and let encode
// itself. It writes JSON and protobuf itself and gives any other codec the
// PodMetricsList objects.
type podListAnswer struct {
	selection *podSelection
	created   metav1.Time
	formats   map[runtime.Identifier]answerFormat
}

var _ runtime.CacheableObject = &podListAnswer{}

func (a *podListAnswer) CacheEncode(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, w io.Writer) error {
	format, ok := a.formats[id]
	if !ok {
		return encode(a.GetObject(), w)
	}
	_, err := w.Write(a.selection.encode(format, a.created.Unix()))
	return err
}

// GetObject builds the PodMetricsList.
func (a *podListAnswer) GetObject() runtime.Object {
	list := &metrics.PodMetricsList{Items: make([]metrics.PodMetrics, len(a.selection.items))}
	for i := range a.selection.items {
		list.Items[i] = podMetrics(&a.selection.items[i], a.created)
	}
	return list
}

func (a *podListAnswer) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the answer; the selection it refers to is read
// only.
func (a *podListAnswer) DeepCopyObject() runtime.Object {
	c := *a
	return &c
}

type objectsWantedKey struct{}

// WithTransformedAnswers marks the requests that ask the generic apiserver
// to transform the answer (an Accept header with "as=", for Table or
// PartialObjectMetadataList): those need PodMetrics objects from List.
func WithTransformedAnswers(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.Header.Get("Accept"), "as=") {
			req = req.WithContext(context.WithValue(req.Context(), objectsWantedKey{}, true))
		}
		handler.ServeHTTP(w, req)
	})
}
