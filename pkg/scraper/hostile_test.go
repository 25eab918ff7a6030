// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

var hostilePayload = kubeletsim.AppendResourceMetrics(nil, &kubeletsim.NodeStats{
	Time: time.Unix(1_700_000_000, 0), CPUNanos: 1e9, MemoryBytes: 1 << 20,
})

// TestHostileAnswerHeads: a head larger than the scraper reads fails the
// node as too large (net/http's client would read 10 MiB of it, and a
// 64 MiB one was read whole); informational answers before the final one
// are skipped, as net/http skips them, up to its count.
func TestHostileAnswerHeads(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		reason  string // "" for success
		wantErr string
	}{
		{"a head of a few KiB", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("a", 4<<10))
			_, _ = w.Write(hostilePayload)
		}, "", ""},
		{"a 1 MiB header", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("a", 1<<20))
			_, _ = w.Write(hostilePayload)
		}, ReasonTooLarge, "larger than 65536 bytes"},
		{"many headers", func(w http.ResponseWriter, _ *http.Request) {
			for i := range 10000 {
				w.Header().Add("X-Padding", strings.Repeat("b", i%100))
			}
			_, _ = w.Write(hostilePayload)
		}, ReasonTooLarge, "larger than 65536 bytes"},
		{"103 Early Hints first", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = w.Write(hostilePayload)
		}, "", ""},
		{"too many informational answers", func(w http.ResponseWriter, _ *http.Request) {
			for range 6 {
				w.WriteHeader(http.StatusEarlyHints)
			}
			_, _ = w.Write(hostilePayload)
		}, ReasonOther, "informational"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tc.handler)
			defer srv.Close()
			client := testClient(t, 1<<20)
			var buf bytes.Buffer
			// Twice: the second time on the kept connection, if any.
			for range 2 {
				err := client.Fetch(context.Background(), kubeletAt(t, "node", srv.URL), &buf, nil)
				if tc.reason == "" {
					if err != nil || !bytes.Equal(buf.Bytes(), hostilePayload) {
						t.Fatalf("Fetch: %v, %d bytes; want the %d-byte payload", err, buf.Len(), len(hostilePayload))
					}
					continue
				}
				var se *ScrapeError
				if !errors.As(err, &se) || se.Reason != tc.reason || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Fetch error %v, want reason %s saying %q", err, tc.reason, tc.wantErr)
				}
			}
		})
	}
}

// TestRedirectNotFollowed: a kubelet that redirects (here from HTTPS to a
// plain-HTTP address) fails with a clear reason, and nothing is sent where
// it points, on the scraper's own transport and through net/http's (which
// proxied kubelets take, and every kubelet with NetHTTPTransport). Before, the redirect was followed with the
// bearer token, in clear.
func TestRedirectNotFollowed(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	plain := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		leaked = append(leaked, r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	kubelet := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/metrics/resource", http.StatusFound)
	}))
	defer kubelet.Close()
	for _, netHTTP := range []bool{false, true} {
		t.Run(fmt.Sprintf("net/http %v", netHTTP), func(t *testing.T) {
			client, err := NewClient(ClientConfig{
				Rest:   &rest.Config{BearerToken: "secret", TLSClientConfig: rest.TLSClientConfig{CAData: httptestCA}},
				Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
				MaxBodyBytes: 1 << 20, NetHTTPTransport: netHTTP,
			})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			err = client.Fetch(context.Background(), kubeletAt(t, "node", kubelet.URL), &buf, nil)
			var se *ScrapeError
			if !errors.As(err, &se) || se.Reason != ReasonHTTP || !strings.Contains(err.Error(), "redirects are not followed") {
				t.Errorf("Fetch error %v, want reason %s saying redirects are not followed", err, ReasonHTTP)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(leaked) > 0 {
				t.Errorf("the redirect was followed, with Authorization %q", leaked)
			}
		})
	}
}
