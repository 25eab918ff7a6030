// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// acceptsAnything answers 406 unless the Accept header is empty or lists
// */*, as go-restful routes without Produces do (KWOK's metrics routes).
func acceptsAnything(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept := r.Header.Get("Accept")
		ok := accept == ""
		for _, part := range strings.Split(accept, ",") {
			mediaType, _, _ := strings.Cut(part, ";")
			ok = ok || strings.TrimSpace(mediaType) == "*/*"
		}
		if !ok {
			http.Error(w, "406: Not Acceptable\n\nAvailable representations: ", http.StatusNotAcceptable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestFetchNegotiation: the request is accepted by servers that serve only
// */* and by those that negotiate text; the answer's Content-Type decides
// whether it is read.
func TestFetchNegotiation(t *testing.T) {
	payload := kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{
		Time: time.Unix(1_700_000_000, 0), CPUNanos: 1e9, MemoryBytes: 1 << 20,
	})
	answer := func(contentType string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			_, _ = w.Write(payload)
		})
	}
	tests := []struct {
		name    string
		handler http.Handler
		// wantErr is a part of the error's text, "" for success.
		wantErr string
	}{
		{"server accepting only */* (KWOK)", acceptsAnything(answer("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")), ""},
		{"kubelet negotiating text", answer("text/plain; version=0.0.4; charset=utf-8"), ""},
		{"text/plain without a version", answer("text/plain"), ""},
		{"no Content-Type", answer(""), ""},
		{"protobuf answer", answer("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"),
			`content type "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"`},
		{"OpenMetrics answer", answer("application/openmetrics-text; version=1.0.0; charset=utf-8"),
			`content type "application/openmetrics-text; version=1.0.0; charset=utf-8"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			client, err := NewClient(ClientConfig{Rest: &rest.Config{}, Scheme: "http", UseNodeStatusPort: true,
				AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, MaxBodyBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = client.Fetch(context.Background(), kubeletAt(t, "node", srv.URL), &buf, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if !bytes.Equal(buf.Bytes(), payload) {
					t.Errorf("read %d bytes, want the %d-byte payload", buf.Len(), len(payload))
				}
				return
			}
			var se *ScrapeError
			if !errors.As(err, &se) || se.Reason != ReasonDecode || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Fetch error %v, want reason %s naming %s", err, ReasonDecode, tc.wantErr)
			}
		})
	}
}
