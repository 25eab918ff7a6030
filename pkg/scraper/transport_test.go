// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
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
	k := newCountingKubelet(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(transportPayload[:100])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	client := testClient(t, 1<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	err := client.Fetch(ctx, kubeletAt(t, "node", k.URL), &buf, nil)
	var se *ScrapeError
	if !errors.As(err, &se) || se.Reason != ReasonTimeout {
		t.Fatalf("Fetch: %v, want a %s error", err, ReasonTimeout)
	}
	if n := len(client.kubelets.idle); n != 0 {
		t.Errorf("%d connections kept after a cut answer, want 0", n)
	}
}

// TestTransportIdle: a kept connection idle for the idle timeout is closed,
// by the next request to its kubelet or at the end of a round.
func TestTransportIdle(t *testing.T) {
	k := newCountingKubelet(t, textAnswer)
	client := testClient(t, 1<<20)
	now := time.Unix(1_700_000_000, 0)
	client.kubelets.now = func() time.Time { return now }
	node := kubeletAt(t, "node", k.URL)
	var buf bytes.Buffer
	fetch := func() {
		t.Helper()
		if err := client.Fetch(context.Background(), node, &buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	fetch()
	now = now.Add(time.Minute - time.Second) // testClient's idle timeout is a minute
	fetch()
	if got := k.connCount(); got != 1 {
		t.Fatalf("%d connections, want the first kept", got)
	}
	now = now.Add(time.Minute)
	fetch()
	if got := k.connCount(); got != 2 {
		t.Fatalf("%d connections, want a new one after a minute idle", got)
	}
	client.EndRound()
	if n := len(client.kubelets.idle); n != 1 {
		t.Fatalf("%d connections kept after a round, want 1", n)
	}
	now = now.Add(time.Minute)
	client.EndRound()
	if n := len(client.kubelets.idle); n != 0 {
		t.Errorf("%d connections kept a minute after their last use, want 0", n)
	}
}

// TestTransportProxy: a request a proxy from the environment applies to
// goes through net/http's transport.
func TestTransportProxy(t *testing.T) {
	var proxied []string
	tr := &kubeletTransport{
		proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Host == "behind-proxy:10250" {
				return url.Parse("http://proxy:3128")
			}
			return nil, nil
		},
		fallback: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			proxied = append(proxied, r.URL.Host)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
		}),
		dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("dialed directly")
		},
		now: time.Now,
	}
	for _, host := range []string{"behind-proxy:10250", "direct:10250"} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/metrics/resource", nil)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		if direct := host == "direct:10250"; direct != (err != nil) {
			t.Errorf("%s: %v", host, err)
		}
	}
	if len(proxied) != 1 || proxied[0] != "behind-proxy:10250" {
		t.Errorf("proxied %v, want [behind-proxy:10250]", proxied)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkGunzipAnswer reads a gzipped answer of 30 pods × 2 containers
// through the transport's pooled gzip reader, as a scrape does.
func BenchmarkGunzipAnswer(b *testing.B) {
	payload := nodeAnswer(30, 2)
	var gzipped bytes.Buffer
	w := gzip.NewWriter(&gzipped)
	if _, err := w.Write(payload); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	t := &kubeletTransport{}
	var out bytes.Buffer
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		gz, err := t.gzipReader(bytes.NewReader(gzipped.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		out.Reset()
		if _, err := out.ReadFrom(gz); err != nil {
			b.Fatal(err)
		}
		t.gzips.Put(gz)
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

// serveKeepAlive listens on loopback and answers every request of every
// connection with answer, keeping the connection open.
func serveKeepAlive(t *testing.T, answer []byte) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := http.ReadRequest(r); err != nil {
						return
					}
					if _, err := conn.Write(answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestConnectionReuseRules: a connection is kept for the next request only
// when its answer was read to the end, gzip's end being the body's end
// too, the kubelet did not ask to close it, and nothing more came after
// the answer; otherwise it is closed.
func TestConnectionReuseRules(t *testing.T) {
	body := "node_cpu_usage_seconds_total 1 1700000000000\n"
	gz := gzipped(t, body)
	withLength := func(headers string, b []byte) []byte {
		return append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n", headers, len(b))), b...)
	}
	tests := []struct {
		name    string
		answer  []byte
		readAll bool
		// brokenBody: reading the body fails.
		brokenBody bool
		wantKept   bool
	}{
		{"content length, read to the end", withLength("", []byte(body)), true, false, true},
		{"chunked, read to the end", []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)), true, false, true},
		{"gzip, its end the body's end", withLength("Content-Encoding: gzip\r\n", gz), true, false, true},
		{"two gzip members", withLength("Content-Encoding: gzip\r\n", append(gzipped(t, body[:10]), gzipped(t, body[10:])...)), true, false, true},
		{"the kubelet asks to close", withLength("Connection: close\r\n", []byte(body)), true, false, false},
		{"read in part", withLength("", []byte(body)), false, false, false},
		{"gzip, then bytes that are not", withLength("Content-Encoding: gzip\r\n", append(slices.Clone(gz), "trailing"...)), true, true, false},
		{"bytes after the answer", append(withLength("", []byte(body)), "HTTP/1.1 200 OK\r\n"...), true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveKeepAlive(t, tc.answer)
			dialer := &net.Dialer{}
			tr := &kubeletTransport{
				dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
					return dialer.DialContext(ctx, "tcp", addr)
				},
				proxy: func(*http.Request) (*url.URL, error) { return nil, nil },
				now:   time.Now,
			}
			defer tr.closeIdle(0)
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics/resource", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.readAll {
				got, err := io.ReadAll(resp.Body)
				if (err != nil) != tc.brokenBody || !tc.brokenBody && string(got) != body {
					t.Fatalf("read %q, %v; want %q (broken %v)", got, err, body, tc.brokenBody)
				}
			} else if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			tr.mu.Lock()
			kept := len(tr.idle)
			tr.mu.Unlock()
			if (kept == 1) != tc.wantKept {
				t.Errorf("connections kept: %d, want kept %v", kept, tc.wantKept)
			}
		})
	}
}

// TestRawAtEnd: a gzip stream's end is the answer's end only if the raw
// body has nothing after it.
func TestRawAtEnd(t *testing.T) {
	for _, tc := range []struct {
		rest string
		want bool
	}{{"", true}, {"x", false}, {"\x1f\x8b", false}} {
		b := &answerBody{raw: io.NopCloser(strings.NewReader(tc.rest))}
		if got := b.rawAtEnd(); got != tc.want {
			t.Errorf("after a gzip stream, %q left: rawAtEnd() = %v, want %v", tc.rest, got, tc.want)
		}
	}
}
