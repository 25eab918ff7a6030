// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubelethttp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
)

const answerBody200 = "node_cpu_usage_seconds_total 1 1700000000000\n"

// withLength is a 200 answer of body with its Content-Length and headers.
func withLength(headers string, body []byte) []byte {
	return append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n", headers, len(body))), body...)
}

// reply is what a scripted kubelet does with a request: write answer,
// then close the connection if hangUp (resetting it if reset), or keep it
// for the next request.
type reply struct {
	answer        string
	hangUp, reset bool
}

var (
	hangUp = reply{hangUp: true}
	reset  = reply{hangUp: true, reset: true}
)

// rawKubelet listens on loopback and replies to the req-th request (from
// 0) of its conn-th connection (from 0) with script(conn, req).
type rawKubelet struct {
	addr   string
	mu     sync.Mutex
	conns  int
	script func(conn, req int) reply
}

func serveScript(t *testing.T, script func(conn, req int) reply) *rawKubelet {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	k := &rawKubelet{addr: l.Addr().String(), script: script}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			k.mu.Lock()
			n := k.conns
			k.conns++
			k.mu.Unlock()
			go k.serve(conn, n)
		}
	}()
	return k
}

func (k *rawKubelet) serve(conn net.Conn, n int) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for req := 0; ; req++ {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		rep := k.script(n, req)
		if _, err := io.WriteString(conn, rep.answer); err != nil || rep.hangUp {
			if rep.reset {
				_ = conn.(*net.TCPConn).SetLinger(0)
			}
			return
		}
	}
}

func (k *rawKubelet) connCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conns
}

// serveKeepAlive answers every request of every connection with answer,
// keeping the connection open.
func serveKeepAlive(t *testing.T, answer []byte) *rawKubelet {
	return serveScript(t, func(int, int) reply { return reply{answer: string(answer)} })
}

// plainTransport reaches kubelets over TCP, on the clock now.
func plainTransport(idleTimeout time.Duration, now func() time.Time) *Transport {
	dialer := &net.Dialer{}
	return New(Config{
		Dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		IdleTimeout: idleTimeout,
		Now:         now,
	})
}

func (t *Transport) keptCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.idle)
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
	body := answerBody200
	gz := gzipped(t, body)
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
			k := serveKeepAlive(t, tc.answer)
			tr := plainTransport(0, nil)
			defer tr.CloseIdle(0)
			req, err := http.NewRequest(http.MethodGet, "http://"+k.addr+"/metrics/resource", nil)
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
			if kept := tr.keptCount(); (kept == 1) != tc.wantKept {
				t.Errorf("connections kept: %d, want kept %v", kept, tc.wantKept)
			}
		})
	}
}

// TestSentAgain: a request is sent again, once and on a new connection,
// only when it went out on a kept connection that turned out to be gone
// before any answer, or was answered 408; an answer broken off, or a new
// connection's failure, is the request's error.
func TestSentAgain(t *testing.T) {
	ok := reply{answer: string(withLength("", []byte(answerBody200)))}
	timedOut := reply{answer: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", hangUp: true}
	// onKept answers the first request of each connection, and the
	// second of the first connection with second.
	onKept := func(second reply) func(conn, req int) reply {
		return func(conn, req int) reply {
			if conn == 0 && req == 1 {
				return second
			}
			return ok
		}
	}
	tests := []struct {
		name   string
		script func(conn, req int) reply
		// requests: 1, a request on a new connection; 2, a second
		// request on the first one's kept connection.
		requests   int
		wantStatus int // of the last request; 0: an error
		wantConns  int
	}{
		{"kept connection closed before the answer", onKept(hangUp), 2, 200, 2},
		{"kept connection reset", onKept(reset), 2, 200, 2},
		{"408 on the kept connection", onKept(timedOut), 2, 200, 2},
		{"answer broken off on the kept connection", onKept(reply{answer: "HTTP/1.1 200 OK\r\nContent-Len", hangUp: true}), 2, 0, 1},
		{"kept connection gone, and the new one too", func(conn, req int) reply {
			if conn == 0 && req == 0 {
				return ok
			}
			return hangUp
		}, 2, 0, 2},
		{"new connection closed before the answer", func(int, int) reply { return hangUp }, 1, 0, 1},
		{"408 on a new connection", func(int, int) reply { return timedOut }, 1, http.StatusRequestTimeout, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := serveScript(t, tc.script)
			tr := plainTransport(0, nil)
			defer tr.CloseIdle(0)
			var status int
			var err error
			for i := range tc.requests {
				o := fetchThrough(t, tr, "http://"+k.addr+"/metrics/resource")
				if status, err = o.status, o.err; i < tc.requests-1 && err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			if (err == nil) != (tc.wantStatus != 0) || status != tc.wantStatus {
				t.Errorf("last request: status %d, error %v; want status %d (0: an error)", status, err, tc.wantStatus)
			}
			if got := k.connCount(); got != tc.wantConns {
				t.Errorf("%d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// TestIdleConnections: a kept connection idle for the idle timeout is
// closed, by the next request to its kubelet or by CloseIdle.
func TestIdleConnections(t *testing.T) {
	k := serveKeepAlive(t, withLength("", []byte(answerBody200)))
	now := time.Unix(1_700_000_000, 0)
	tr := plainTransport(time.Minute, func() time.Time { return now })
	defer tr.CloseIdle(0)
	fetch := func() {
		t.Helper()
		if o := fetchThrough(t, tr, "http://"+k.addr+"/metrics/resource"); !o.usable() {
			t.Fatal(o)
		}
	}
	fetch()
	now = now.Add(time.Minute - time.Second)
	fetch()
	if got := k.connCount(); got != 1 {
		t.Fatalf("%d connections, want the first kept", got)
	}
	now = now.Add(time.Minute)
	fetch()
	if got := k.connCount(); got != 2 {
		t.Fatalf("%d connections, want a new one after a minute idle", got)
	}
	tr.CloseIdle(time.Minute)
	if n := tr.keptCount(); n != 1 {
		t.Fatalf("%d connections kept, want 1", n)
	}
	now = now.Add(time.Minute)
	tr.CloseIdle(time.Minute)
	if n := tr.keptCount(); n != 0 {
		t.Errorf("%d connections kept a minute after their last use, want 0", n)
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

// TestProxy: a request a proxy applies to goes through the fallback.
func TestProxy(t *testing.T) {
	var proxied []string
	tr := New(Config{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Host == "behind-proxy:10250" {
				return url.Parse("http://proxy:3128")
			}
			return nil, nil
		},
		Fallback: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			proxied = append(proxied, r.URL.Host)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
		}),
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("dialed directly")
		},
	})
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
	payload := kubeletsim.UniformAnswer(30, 2, time.Unix(1_700_000_000, 0))
	var gzipped bytes.Buffer
	w := gzip.NewWriter(&gzipped)
	if _, err := w.Write(payload); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	t := New(Config{})
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
