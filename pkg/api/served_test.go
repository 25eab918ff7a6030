// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/metrics"
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

	cfg := genericapiserver.NewConfig(Codecs)
	cfg.LoopbackClientConfig = &rest.Config{}
	cfg.ExternalAddress = "localhost:443"
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	Configure(cfg)
	generic, err := cfg.Complete(nil).New("test", genericapiserver.NewEmptyDelegate())
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(generic, f.nodes, f.pods); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(generic.Handler)
	defer server.Close()

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
