// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/metrics"

	"github.com/kubemetrics/metrics-server/pkg/api/podlist"
)

// TestServedListsWriteThemselves serves pod lists through a real generic
// apiserver with the API installed as the server installs it, and checks
// that JSON and protobuf answers of both versions are written by the pod
// list's own encoders (a codec the Lister does not know would fall back
// to the codec quietly), while YAML and Table answers are the codec's.
func TestServedListsWriteThemselves(t *testing.T) {
	f := newFixture(t, 2, 3, "app")
	registry := metrics.NewKubeRegistry()
	RegisterMetrics(registry.MustRegister)

	server := serve(t, f, Configure)

	for _, tc := range []struct {
		version, accept, wantType string
		encoder                   string
	}{
		{"v1beta1", "application/json", "application/json", "own"},
		{"v1", "application/json", "application/json", "own"},
		{"v1beta1", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf", "own"},
		{"v1", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf", "own"},
		{"v1beta1", "application/vnd.kubernetes.protobuf, application/json", "application/vnd.kubernetes.protobuf", "own"},
		{"v1", "application/yaml", "application/yaml", "codec"},
		{"v1beta1", "application/json;as=Table;v=v1;g=meta.k8s.io", "application/json", ""},
	} {
		before := map[string]float64{}
		for _, e := range []string{"own", "codec"} {
			before[e] = answersWritten(t, registry, e)
		}
		req, err := http.NewRequest(http.MethodGet, server.URL+"/apis/metrics.k8s.io/"+tc.version+"/pods", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", tc.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("%s %s: %s, Content-Type %q, want 200 and %s: %.200s", tc.version, tc.accept, resp.Status, resp.Header.Get("Content-Type"), tc.wantType, body)
			continue
		}
		if !strings.Contains(string(body), "pod-1-2") {
			t.Errorf("%s %s: pod-1-2 not in the answer", tc.version, tc.accept)
		}
		for _, e := range []string{"own", "codec"} {
			want := 0.0
			if e == tc.encoder {
				want = 1
			}
			if got := answersWritten(t, registry, e) - before[e]; got != want {
				t.Errorf("%s %s: %v answers written by %s, want %v", tc.version, tc.accept, got, e, want)
			}
		}
	}
}

// answersWritten reads metrics_server_api_pod_list_answers_total of an
// encoder from registry.
func answersWritten(t *testing.T, registry metrics.KubeRegistry, encoder string) float64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() != "metrics_server_api_pod_list_answers_total" {
			continue
		}
		for _, m := range family.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "encoder" && l.GetValue() == encoder {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// serve serves f's API through a real generic apiserver configured by
// configure, until the test ends.
func serve(t *testing.T, f *fixture, configure func(*genericapiserver.Config)) *httptest.Server {
	t.Helper()
	cfg := genericapiserver.NewConfig(Codecs)
	cfg.LoopbackClientConfig = &rest.Config{}
	cfg.ExternalAddress = "localhost:443"
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	configure(cfg)
	generic, err := cfg.Complete(nil).New("test", genericapiserver.NewEmptyDelegate())
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(generic, f.nodes, f.pods); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(generic.Handler)
	t.Cleanup(server.Close)
	return server
}

// TestServedAnswersGzippedAsTheGenericAPIServerGzips asks the same
// questions of the server as configured and of one whose answers the
// generic apiserver compresses itself, and checks that the two answer
// with the same status, headers and (uncompressed) bodies: the API's own
// gzip changes the compressor, not when an answer is compressed.
func TestServedAnswersGzippedAsTheGenericAPIServerGzips(t *testing.T) {
	// Enough pods for an all-pods answer over the 128 KiB above which
	// answers are compressed.
	f := newFixture(t, 40, 30, "app", "sidecar")
	own := serve(t, f, Configure)
	generic := serve(t, f, func(c *genericapiserver.Config) {
		Configure(c)
		c.BuildHandlerChainFunc = func(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
			return genericapiserver.DefaultBuildHandlerChain(podlist.WithTransformedAnswers(apiHandler), c)
		}
	})
	compressed := 0
	for _, tc := range []struct{ path, accept string }{
		{"/apis/metrics.k8s.io/v1beta1/pods", "application/json"},
		{"/apis/metrics.k8s.io/v1/pods", "application/vnd.kubernetes.protobuf"},
		{"/apis/metrics.k8s.io/v1beta1/pods", "application/yaml"},
		{"/apis/metrics.k8s.io/v1beta1/pods", "application/json;as=Table;v=v1;g=meta.k8s.io"},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/ns-1/pods", "application/json"},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/ns-1/pods/pod-0-1", "application/json"},
		{"/apis/metrics.k8s.io/v1beta1/namespaces/ns-1/pods/no-such-pod", "application/json"},
		{"/apis/metrics.k8s.io/v1beta1/nodes", "application/json"},
		{"/apis/metrics.k8s.io/v1beta1/pods?labelSelector=%3D%3D", "application/json"},
		{"/apis/metrics.k8s.io/v1beta1", "application/json"},
		{"/openapi/v2", "application/json"},
	} {
		for _, acceptEncoding := range []string{"gzip", ""} {
			name := tc.path + " " + tc.accept + " " + acceptEncoding
			want := get(t, generic.URL+tc.path, tc.accept, acceptEncoding)
			got := get(t, own.URL+tc.path, tc.accept, acceptEncoding)
			if got.status != want.status || got.body != want.body {
				t.Errorf("%s: %d, %d bytes, want %d, %d bytes", name, got.status, len(got.body), want.status, len(want.body))
			}
			for _, h := range []string{"Content-Type", "Content-Encoding", "Vary", "Content-Length"} {
				if got.header.Get(h) != want.header.Get(h) {
					t.Errorf("%s: %s %q, want %q", name, h, got.header.Get(h), want.header.Get(h))
				}
			}
			if got.header.Get("Content-Encoding") == "gzip" {
				compressed++
			}
		}
	}
	if compressed < 3 {
		t.Errorf("%d answers were gzipped; the fixture is to make at least the three large all-pods answers", compressed)
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// get asks url for accept, with Accept-Encoding as given (none if empty),
// and returns the answer with its body uncompressed.
func get(t *testing.T, url, accept, acceptEncoding string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	// Set by hand, Accept-Encoding makes net/http hand the body over as
	// it came; without it, net/http would ask for gzip itself.
	transport := &http.Transport{DisableCompression: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}
