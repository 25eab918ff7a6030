// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

// countingKubelet is a TLS server offering HTTP/2 and HTTP/1.1, as a
// kubelet does, that counts the connections opened to it and records the
// protocol and Accept-Encoding of each request.
type countingKubelet struct {
	*httptest.Server
	mu          sync.Mutex
	conns       int
	protos      []string
	encodings   []string
	connections map[net.Conn]bool
}

func newCountingKubelet(t *testing.T, h http.HandlerFunc) *countingKubelet {
	t.Helper()
	k := &countingKubelet{connections: make(map[net.Conn]bool)}
	k.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.protos = append(k.protos, r.Proto)
		k.encodings = append(k.encodings, r.Header.Get("Accept-Encoding"))
		k.mu.Unlock()
		h(w, r)
	}))
	k.EnableHTTP2 = true
	k.Config.ConnState = func(c net.Conn, s http.ConnState) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if s == http.StateNew {
			k.conns++
		}
	}
	k.StartTLS()
	t.Cleanup(k.Close)
	return k
}

func (k *countingKubelet) connCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conns
}

var transportPayload = bytes.Repeat([]byte("container_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 1 1700000000000\n"), 1000)

func textAnswer(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write(transportPayload)
}

// gzipAnswer compresses when asked to, as the kubelet's Prometheus handler
// does.
func gzipAnswer(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		textAnswer(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	w.Header().Set("Content-Encoding", "gzip")
	gz := gzip.NewWriter(w)
	_, _ = gz.Write(transportPayload)
	_ = gz.Close()
}

// chunkedAnswer sends the answer in pieces without a length.
func chunkedAnswer(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for part := range bytes.SplitAfterSeq(transportPayload, []byte("\n")) {
		_, _ = w.Write(part)
		w.(http.Flusher).Flush()
	}
}

// TestTransportKeepsConnections: answers of every framing a kubelet uses
// are read whole over HTTP/1.1, and the connection is kept for the next
// request unless the kubelet closes it.
func TestTransportKeepsConnections(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantConns int
	}{
		{"with a length", textAnswer, 1},
		{"chunked", chunkedAnswer, 1},
		{"gzipped", gzipAnswer, 1},
		{"connection closed by the kubelet", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			textAnswer(w, r)
		}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newCountingKubelet(t, tc.handler)
			client := testClient(t, 1<<20)
			node := kubeletAt(t, "node", k.URL)
			var buf bytes.Buffer
			for range 3 {
				if err := client.Fetch(context.Background(), node, &buf, nil); err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if !bytes.Equal(buf.Bytes(), transportPayload) {
					t.Fatalf("read %d bytes, want the %d-byte payload", buf.Len(), len(transportPayload))
				}
			}
			if got := k.connCount(); got != tc.wantConns {
				t.Errorf("%d connections for 3 requests, want %d", got, tc.wantConns)
			}
			k.mu.Lock()
			defer k.mu.Unlock()
			for i := range k.protos {
				if k.protos[i] != "HTTP/1.1" || k.encodings[i] != "gzip" {
					t.Errorf("request %d: %s, Accept-Encoding %q; want HTTP/1.1 asking for gzip", i, k.protos[i], k.encodings[i])
				}
			}
		})
	}
}

// TestTransportRenewsConnections: a kept connection the kubelet dropped,
// or one a proxy answers 408 on, is replaced without failing the scrape; a
// connection left with an unread answer is not kept.
func TestTransportRenewsConnections(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		// between runs after the first Fetch.
		between   func(k *countingKubelet)
		maxBody   int64
		wantFirst bool // whether the first Fetch succeeds
		wantConns int
	}{
		{"kubelet closed the kept connection", textAnswer, func(k *countingKubelet) { k.CloseClientConnections() }, 1 << 20, true, 2},
		{"408 on the kept connection", answer408OnReuse(), nil, 1 << 20, true, 2},
		{"answer larger than the limit", textAnswer, nil, 1 << 10, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newCountingKubelet(t, tc.handler)
			client := testClient(t, tc.maxBody)
			node := kubeletAt(t, "node", k.URL)
			var buf bytes.Buffer
			if err := client.Fetch(context.Background(), node, &buf, nil); (err == nil) != tc.wantFirst {
				t.Fatalf("first Fetch: %v", err)
			}
			if tc.between != nil {
				tc.between(k)
			}
			err := client.Fetch(context.Background(), node, &buf, nil)
			if tc.wantFirst && err != nil {
				t.Fatalf("second Fetch: %v", err)
			}
			if got := k.connCount(); got != tc.wantConns {
				t.Errorf("%d connections for 2 requests, want %d", got, tc.wantConns)
			}
		})
	}
}

// answer408OnReuse answers the first request on a connection and 408 to
// the next, as a proxy does on a connection it timed out.
func answer408OnReuse() http.HandlerFunc {
	var mu sync.Mutex
	seen := make(map[string]bool)
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reused := seen[r.RemoteAddr]
		seen[r.RemoteAddr] = true
		mu.Unlock()
		if reused {
			w.Header().Set("Connection", "close")
			http.Error(w, "request timeout", http.StatusRequestTimeout)
			return
		}
		textAnswer(w, r)
	}
}

// TestTransportCancel: a kubelet that stops in the middle of its answer
// holds the scrape no longer than its context, and the connection is not
// kept.
func TestTransportCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var stalled atomic.Bool
	k := newCountingKubelet(t, func(w http.ResponseWriter, r *http.Request) {
		if !stalled.CompareAndSwap(false, true) {
			textAnswer(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(transportPayload[:100])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	client := testClient(t, 1<<20)
	node := kubeletAt(t, "node", k.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	err := client.Fetch(ctx, node, &buf, nil)
	var se *ScrapeError
	if !errors.As(err, &se) || se.Reason != ReasonTimeout {
		t.Fatalf("Fetch: %v, want a %s error", err, ReasonTimeout)
	}
	if err := client.Fetch(context.Background(), node, &buf, nil); err != nil {
		t.Fatalf("the next Fetch: %v", err)
	}
	if got := k.connCount(); got != 2 {
		t.Errorf("%d connections for a cut answer and the next, want 2 (the cut one not kept)", got)
	}
}

// TestNetHTTPTransport: with the escape hatch, requests go through
// net/http's transport, which speaks HTTP/2 to a kubelet that offers it;
// the own transport speaks HTTP/1.1. Both read the same answer.
func TestNetHTTPTransport(t *testing.T) {
	var mu sync.Mutex
	var proto string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proto = r.Proto
		mu.Unlock()
		textAnswer(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, tc := range []struct {
		netHTTP   bool
		wantProto string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}} {
		client, err := NewClient(ClientConfig{
			Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}},
			Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
			MaxBodyBytes: 1 << 20, IdleConnTimeout: time.Minute, NetHTTPTransport: tc.netHTTP,
		})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := client.Fetch(context.Background(), kubeletAt(t, "node", srv.URL), &buf, nil); err != nil {
			t.Fatalf("net/http %v: %v", tc.netHTTP, err)
		}
		mu.Lock()
		got := proto
		mu.Unlock()
		if got != tc.wantProto || buf.Len() == 0 {
			t.Errorf("net/http %v: %s, %d bytes; want %s and the answer", tc.netHTTP, got, buf.Len(), tc.wantProto)
		}
	}
}
