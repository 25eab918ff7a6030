// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package compression

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzip"
	"k8s.io/apiserver/pkg/endpoints/request"
)

const group = "metrics.k8s.io"

// serve sends a GET through WithGzip to a handler that answers status with
// writes of the given sizes, and returns what the client got and the
// Accept-Encoding the handler saw.
func serve(t *testing.T, info *request.RequestInfo, acceptEncoding string, status int, writes ...int) (*http.Response, []byte, string) {
	t.Helper()
	var seen string
	var want bytes.Buffer
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		seen = req.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Type", "application/json")
		if status != 0 {
			w.WriteHeader(status)
		}
		for i, n := range writes {
			p := bytes.Repeat([]byte{byte('a' + i%26)}, n)
			want.Write(p)
			if _, err := w.Write(p); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	})
	req := httptest.NewRequest(http.MethodGet, "/apis/metrics.k8s.io/v1beta1/pods", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	if info != nil {
		req = req.WithContext(request.WithRequestInfo(req.Context(), info))
	}
	rec := httptest.NewRecorder()
	WithGzip(group, handler).ServeHTTP(rec, req)
	resp := rec.Result()
	body := rec.Body.Bytes()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := stdgzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("reading the gzipped answer: %v", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("reading the gzipped answer: %v", err)
		}
	}
	if !bytes.Equal(body, want.Bytes()) {
		t.Errorf("the answer's body (%d bytes) is not what the handler wrote (%d bytes)", len(body), want.Len())
	}
	return resp, body, seen
}

func TestWithGzip(t *testing.T) {
	metricsAPI := &request.RequestInfo{IsResourceRequest: true, APIGroup: group, Verb: "list", Resource: "pods"}
	const big = thresholdBytes + 1
	tests := []struct {
		name           string
		info           *request.RequestInfo
		acceptEncoding string
		status         int
		writes         []int
		wantGzip       bool
		// wantSeen is the Accept-Encoding the handler is to see.
		wantSeen   string
		wantStatus int
	}{
		{name: "large first write", info: metricsAPI, acceptEncoding: "gzip", writes: []int{big}, wantGzip: true, wantStatus: 200},
		{name: "large first write, gzip among others", info: metricsAPI, acceptEncoding: "br, gzip", writes: []int{big, 10}, wantGzip: true, wantStatus: 200},
		{name: "small first write", info: metricsAPI, acceptEncoding: "gzip", writes: []int{1000, big}, wantStatus: 200},
		{name: "first write at the threshold", info: metricsAPI, acceptEncoding: "gzip", writes: []int{thresholdBytes}, wantStatus: 200},
		{name: "streamed, staying small", info: metricsAPI, acceptEncoding: "gzip", writes: []int{1, 1000, 1000}, wantStatus: 200},
		{name: "streamed, growing large", info: metricsAPI, acceptEncoding: "gzip", writes: []int{4, thresholdBytes / 2, thresholdBytes / 2, 10, 10}, wantGzip: true, wantStatus: 200},
		{name: "error status, large", info: metricsAPI, acceptEncoding: "gzip", status: 500, writes: []int{big}, wantGzip: true, wantStatus: 500},
		{name: "status without a body", info: metricsAPI, acceptEncoding: "gzip", status: 404, wantStatus: 404},
		{name: "nothing written", info: metricsAPI, acceptEncoding: "gzip", wantStatus: 200},
		{name: "gzip not accepted", info: metricsAPI, acceptEncoding: "identity", writes: []int{big}, wantSeen: "identity", wantStatus: 200},
		{name: "another group", info: &request.RequestInfo{IsResourceRequest: true, APIGroup: "apps"}, acceptEncoding: "gzip", writes: []int{big}, wantSeen: "gzip", wantStatus: 200},
		{name: "not a resource request", info: &request.RequestInfo{Path: "/apis/metrics.k8s.io"}, acceptEncoding: "gzip", writes: []int{big}, wantSeen: "gzip", wantStatus: 200},
		{name: "no request info", acceptEncoding: "gzip", writes: []int{big}, wantSeen: "gzip", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, seen := serve(t, tc.info, tc.acceptEncoding, tc.status, tc.writes...)
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.wantGzip {
				t.Errorf("gzipped: %v, want %v", got, tc.wantGzip)
			}
			if tc.wantGzip && resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary: %q, want Accept-Encoding", resp.Header.Get("Vary"))
			}
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if seen != tc.wantSeen {
				t.Errorf("the handler saw Accept-Encoding %q, want %q", seen, tc.wantSeen)
			}
		})
	}
}

// allPodsJSON is an all-pods list of n pods of two containers, shaped as
// the server writes one.
func allPodsJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metadata":{"name":"app-%d-7d9f8c6b5-x%05d","namespace":"team-%d","creationTimestamp":"2026-12-05T10:38:59Z",`+
			`"labels":{"app":"app-%d","pod-template-hash":"7d9f8c6b5"}},"timestamp":"2026-12-05T10:38:51Z","window":"15.012s",`+
			`"containers":[{"name":"app","usage":{"cpu":"%dn","memory":"%dKi"}},{"name":"sidecar","usage":{"cpu":"%dn","memory":"%dKi"}}]}`,
			i/30, i, i/150, i/30, 1234567+i*7919%100000, 20000+i*31%5000, 234567+i*104729%100000, 10000+i*17%3000)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// BenchmarkCompressAllPods gzips an all-pods list of 15,000 pods at the
// generic apiserver's level, with its compressor (compress/gzip) and this
// package's.
func BenchmarkCompressAllPods(b *testing.B) {
	answer := allPodsJSON(15000)
	std, err := stdgzip.NewWriterLevel(io.Discard, stdgzip.BestSpeed)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		w    gzipWriterReset
	}{
		{"compress-gzip", std},
		{"klauspost", writers.Get().(*gzip.Writer)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(answer)))
			for b.Loop() {
				tc.w.Reset(io.Discard)
				if _, err := tc.w.Write(answer); err != nil {
					b.Fatal(err)
				}
				if err := tc.w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type gzipWriterReset interface {
	io.WriteCloser
	Reset(io.Writer)
}
