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
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzTransportFraming answers a GET on loopback with the fuzzer's bytes,
// as a kubelet (or anything between it and the server) could, and reads
// the answer through the transport and through net/http's: the
// status line, headers, 1xx answers, chunked and Content-Length bodies,
// gzip, and a second request after the first (on its kept connection, or
// a new one). The transport may refuse what net/http reads only for a head
// larger than it reads; what it reads as a 200 net/http must read too,
// with the same body; the second request must come out as the first.
func FuzzTransportFraming(f *testing.F) {
	body := "node_cpu_usage_seconds_total 1 1700000000000\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(body))
	_ = zw.Close()
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 46\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2e\r\n" + body + "\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + fmt.Sprint(gz.Len()) + "\r\n\r\n" + gz.String(),
		"HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\n\r\n" + gz.String(),
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 46\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nContent-Length: 46\r\nX-Pad: " + strings.Repeat("a", 70000) + "\r\n\r\n" + body,
		"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n" + body,
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		reqURL := "http://" + serveRaw(t, answer) + "/metrics/resource"
		ours := plainTransport(0, nil)
		theirs := &http.Transport{}
		defer theirs.CloseIdleConnections()
		first := fetchThrough(t, ours, reqURL)
		second := fetchThrough(t, ours, reqURL)
		ref := fetchThrough(t, theirs, reqURL)
		ours.CloseIdle(0)
		if first.usable() != second.usable() || first.usable() && first.body != second.body {
			t.Fatalf("the same answer read twice: %v, then %v", first, second)
		}
		switch {
		case first.usable() && !ref.usable():
			t.Fatalf("read as %v; net/http reads it as %v", first, ref)
		case first.usable() && first.body != ref.body:
			t.Fatalf("body %q; net/http reads %q", first.body, ref.body)
		case !first.usable() && ref.usable() && !errors.Is(first.err, ErrResponseHeadTooLarge):
			t.Fatalf("refused (%v); net/http reads it as %v", first, ref)
		}
	})
}

// serveRaw has the test process's raw server answer every request with
// answer, then close the connection, and returns its address. One listener
// serves every input: a listener per input left a port in TIME_WAIT with
// each, and a minute of fuzzing ran out of loopback ports.
func serveRaw(t *testing.T, answer []byte) string {
	raw.once.Do(func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			raw.err = err
			return
		}
		raw.addr = l.Addr().String()
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
						return
					}
					raw.mu.Lock()
					answer := raw.answer
					raw.mu.Unlock()
					_, _ = conn.Write(answer)
				}()
			}
		}()
	})
	if raw.err != nil {
		t.Fatal(raw.err)
	}
	raw.mu.Lock()
	raw.answer = answer
	raw.mu.Unlock()
	return raw.addr
}

// raw is the raw server of serveRaw. Inputs run one after another in a
// process, each reading its answer to the end before the next is set.
var raw struct {
	once   sync.Once
	addr   string
	err    error
	mu     sync.Mutex
	answer []byte
}

// readOutcome is what a client made of an answer.
type readOutcome struct {
	status int
	body   string
	err    error
}

// usable: a 200 whose body was read to its end, what the scraper decodes.
func (o readOutcome) usable() bool { return o.err == nil && o.status == http.StatusOK }

func (o readOutcome) String() string {
	if o.err != nil {
		return "error " + o.err.Error()
	}
	return fmt.Sprintf("status %d, %d bytes", o.status, len(o.body))
}

// fetchThrough sends a GET through rt and reads the answer's body, up to
// 1 MiB, as the scraper does, within 5 s.
func fetchThrough(t *testing.T, rt http.RoundTripper, rawURL string) readOutcome {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return readOutcome{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return readOutcome{status: resp.StatusCode, body: string(data), err: err}
}
