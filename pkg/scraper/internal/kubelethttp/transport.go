// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package kubelethttp is the HTTP client the scraper reaches kubelets
// with: a round tripper in place of net/http's transport on the hot path.
//
// What it speaks: HTTP/1.1 GETs, one at a time per connection, over the
// connections its Dial opens (TCP, or TLS offering http/1.1 only). Answers
// are read by net/http's own ReadResponse: Content-Length or chunked
// bodies, or a body up to the connection's end; gzip is asked for and
// taken off as net/http does (the coding's name in any case, multi-member
// streams). 1xx answers before the final one are skipped, at most
// maxInformationalResponses.
//
// What it refuses: an answer head (status line and headers, 1xx included)
// over MaxResponseHeadBytes (ErrResponseHeadTooLarge); anything
// ReadResponse refuses. Requests a proxy from the environment applies to
// are not its own: they go through Config.Fallback, net/http's transport.
// Redirects are returned, not followed: the client's to refuse.
//
// When a connection is kept (answerBody.Close): only if its answer was read
// to the end without error (the gzip stream's end being the body's end),
// the kubelet did not ask to close it, and nothing more was sent after the
// answer. It is kept for the next request to the same scheme and address,
// one per address, and closed once idle for Config.IdleTimeout, or by
// CloseIdle.
//
// When a request is sent again: once, on a new connection, if it went out
// on a kept connection and that connection turned out to be gone (EOF,
// reset, broken pipe, closed before any answer byte; see keptConnGone) or
// was answered 408, and the request's context is still live. A GET of
// /metrics/resource is safe to repeat. A request on a new connection is
// never sent again.
//
// Why not net/http's transport: it keeps a reading goroutine per kept
// connection (two for HTTP/1.1), and its HTTP/2 client a frame buffer and
// bufio buffers, for every kubelet for the whole resolution. Here the
// buffers a request reads and writes through are pooled and held only
// while it is in flight, and nothing runs while a connection waits for the
// next round: an idle connection keeps only its TLS state (how much that
// saves: docs/performance.md). A scrape is one GET per kubelet and round,
// so nothing is lost without HTTP/2's streams. The scraper's
// --kubelet-net-http-transport sends every request through net/http
// instead.
package kubelethttp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	// A quarter to a third faster at gunzipping a kubelet's answer than
	// compress/gzip (BenchmarkGunzipAnswer), with the same API; already a
	// dependency of Prometheus' client.
	"github.com/klauspost/compress/gzip"
)

// Config says how the transport reaches kubelets.
type Config struct {
	// Dial opens a connection to addr ("host:port") for scheme, with TLS
	// for https.
	Dial func(ctx context.Context, scheme, addr string) (net.Conn, error)
	// Proxy says which requests Fallback takes: those it gives a proxy
	// for (nil: none).
	Proxy    func(*http.Request) (*url.URL, error)
	Fallback http.RoundTripper
	// IdleTimeout closes a kept connection idle that long (0: never).
	IdleTimeout time.Duration
	// Now is the clock idle times are read on (nil: time.Now).
	Now func() time.Time
}

// Transport is the round tripper kubelet scrapes go through: HTTP/1.1
// over one kept connection per kubelet (see the package's comment).
type Transport struct {
	cfg Config

	mu   sync.Mutex
	idle map[string]idleConn // by scheme and address

	readers, writers, gzips sync.Pool
}

// New returns a transport reaching kubelets as cfg says.
func New(cfg Config) *Transport {
	if cfg.Proxy == nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Transport{cfg: cfg}
}

type idleConn struct {
	conn  net.Conn
	since time.Time
}

// aLongTimeAgo is a deadline that has passed: setting it makes a blocked
// read or write return at once.
var aLongTimeAgo = time.Unix(1, 0)

// RoundTrip sends req on the kubelet's kept connection, or a new one, and
// returns its answer; the connection goes back to be kept when the
// answer's body has been read to its end and closed. A kept connection the
// kubelet closed meanwhile (or answered 408 on, as a proxy timing it out
// does) is found out by the request and the request is sent once more on a
// new connection: a scrape is a GET, safe to repeat.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if proxyURL, err := t.cfg.Proxy(req); err != nil || proxyURL != nil {
		return t.cfg.Fallback.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	// Ask for gzip, as net/http does (and upstream, through it), and take
	// it off again below (the coding's name in any case, as net/http
	// reads it).
	sent := req
	if req.Header.Get("Accept-Encoding") == "" && req.Header.Get("Range") == "" {
		sent = req.Clone(req.Context())
		sent.Header.Set("Accept-Encoding", "gzip")
	}
	for attempt := 0; ; attempt++ {
		var conn net.Conn
		reused := false
		if attempt == 0 {
			conn, reused = t.take(key)
		}
		if conn == nil {
			var err error
			if conn, err = t.cfg.Dial(req.Context(), req.URL.Scheme, req.URL.Host); err != nil {
				return nil, err
			}
		}
		resp, err := t.exchange(conn, key, sent)
		if err == nil && reused && resp.StatusCode == http.StatusRequestTimeout {
			_ = resp.Body.Close()
			continue
		}
		if err != nil && reused && req.Context().Err() == nil && keptConnGone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		resp.Request = req
		if sent != req && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
			resp.Header.Del("Content-Encoding")
			resp.Header.Del("Content-Length")
			resp.ContentLength = -1
			resp.Uncompressed = true
			resp.Body.(*answerBody).gunzip = true
		}
		return resp, nil
	}
}

// keptConnGone tells the errors of a kept connection its kubelet had
// closed before the request was sent or answered (io.ErrUnexpectedEOF is
// an answer broken off, not one of them).
func keptConnGone(err error) bool {
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// exchange writes req on conn and reads the answer's head. The request's
// context bounds both and the reading of the body: its deadline becomes
// the connection's, and its cancellation cuts the connection short. The
// body keeps conn under key once read (see answerBody).
func (t *Transport) exchange(conn net.Conn, key string, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	deadline, _ := ctx.Deadline() // the zero time when there is none
	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = conn.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}

	w := t.writer(conn)
	err := req.Write(w)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil)
	t.writers.Put(w)
	if err != nil {
		return fail(err)
	}
	// The answer's head is read through a bound: a kubelet's is a few
	// hundred bytes, and nothing else of it is held back by one.
	bound := &headBound{r: conn, left: MaxResponseHeadBytes}
	r := t.reader(bound)
	// The first byte apart, so that a connection closed before any answer
	// (a kept one the kubelet dropped) is told by its error from one that
	// broke an answer off.
	_, err = r.Peek(1)
	var resp *http.Response
	for interim := 0; err == nil; interim++ {
		resp, err = http.ReadResponse(r, req)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		// Informational answers (1xx, as 103 Early Hints) come before
		// the final one and are skipped, as net/http skips them; 101 is
		// a final answer, and so is a code below 100 (net/http reads
		// "000" as a final status 0).
		if err != nil || resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if interim == maxInformationalResponses {
			err = fmt.Errorf("more than %d informational (1xx) answers", maxInformationalResponses)
		}
	}
	if err != nil {
		r.Reset(nil)
		t.readers.Put(r)
		if bound.left == 0 {
			err = ErrResponseHeadTooLarge
		}
		return fail(err)
	}
	bound.left = -1 // the body is bounded by its reader
	resp.Body = &answerBody{t: t, conn: conn, key: key, r: r, raw: resp.Body, stop: stop, keep: !resp.Close}
	return resp, nil
}

func (t *Transport) reader(conn io.Reader) *bufio.Reader {
	if r, ok := t.readers.Get().(*bufio.Reader); ok {
		r.Reset(conn)
		return r
	}
	return bufio.NewReader(conn)
}

// MaxResponseHeadBytes bounds an answer's status line and headers (and
// those of the informational answers before it). A kubelet's are small;
// net/http's client allows far more, which a kubelet, or anything between
// it and the server, could make every scrape allocate.
const MaxResponseHeadBytes = 64 << 10

// maxInformationalResponses is how many 1xx answers may come before the
// final one, as in net/http.
const maxInformationalResponses = 5

// ErrResponseHeadTooLarge is the error of an answer whose head is larger
// than the scraper reads.
var ErrResponseHeadTooLarge = fmt.Errorf("the answer's status line and headers are larger than %d bytes", MaxResponseHeadBytes)

// headBound reads from r, at most left bytes while left is not negative,
// then reports io.EOF: what reads the answer's head can ask for at most,
// with the read-ahead of its buffer.
type headBound struct {
	r    io.Reader
	left int64
}

func (h *headBound) Read(p []byte) (int, error) {
	if h.left < 0 {
		return h.r.Read(p)
	}
	if h.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= int64(n)
	return n, err
}

func (t *Transport) writer(conn net.Conn) *bufio.Writer {
	if w, ok := t.writers.Get().(*bufio.Writer); ok {
		w.Reset(conn)
		return w
	}
	return bufio.NewWriterSize(conn, 1024)
}

// take returns the kept connection to key, if there is one that has not
// been idle too long.
func (t *Transport) take(key string) (net.Conn, bool) {
	t.mu.Lock()
	ic, ok := t.idle[key]
	delete(t.idle, key)
	t.mu.Unlock()
	if !ok {
		return nil, false
	}
	if t.cfg.IdleTimeout > 0 && t.cfg.Now().Sub(ic.since) >= t.cfg.IdleTimeout {
		_ = ic.conn.Close()
		return nil, false
	}
	return ic.conn, true
}

// keep files conn as key's kept connection; a key has one at most.
func (t *Transport) keep(key string, conn net.Conn) {
	t.mu.Lock()
	_, taken := t.idle[key]
	if !taken {
		if t.idle == nil {
			t.idle = make(map[string]idleConn)
		}
		t.idle[key] = idleConn{conn, t.cfg.Now()}
	}
	t.mu.Unlock()
	if taken {
		_ = conn.Close()
	}
}

// CloseIdle closes the kept connections idle for at least d (all of them
// for 0): those of kubelets no longer scraped, or all after a round when
// connections are not kept.
func (t *Transport) CloseIdle(d time.Duration) {
	now := t.cfg.Now()
	var closing []net.Conn
	t.mu.Lock()
	for key, ic := range t.idle {
		if now.Sub(ic.since) >= d {
			closing = append(closing, ic.conn)
			delete(t.idle, key)
		}
	}
	t.mu.Unlock()
	for _, c := range closing {
		_ = c.Close()
	}
}

// answerBody reads an answer's body, gunzipped when the transport asked
// for gzip and got it, and on Close keeps the connection for the next
// request if the body was read to its end, or closes it.
type answerBody struct {
	t    *Transport
	conn net.Conn
	key  string
	r    *bufio.Reader
	raw  io.ReadCloser
	stop func() bool
	// keep: the kubelet did not ask for the connection to be closed.
	keep bool

	gunzip bool
	gz     *gzip.Reader
	// gzipped reads raw for gz, counting what gz took (see Read).
	gzipped countingReader
	// atEnd: the raw body was read to its end; err: reading failed.
	atEnd bool
	err   error
}

func (b *answerBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	var n int
	var err error
	if b.gunzip {
		if b.gz == nil {
			b.gzipped = countingReader{r: b.raw}
			if b.gz, err = b.t.gzipReader(&b.gzipped); err != nil {
				// klauspost/compress reports a header cut off in its
				// name or comment as io.EOF, where compress/gzip (and
				// net/http through it) reports io.ErrUnexpectedEOF: an
				// answer cut off is not an empty one.
				if err == io.EOF && b.gzipped.n > 0 {
					err = io.ErrUnexpectedEOF
				}
				b.err = err
				return 0, err
			}
		}
		n, err = b.gz.Read(p)
	} else {
		n, err = b.raw.Read(p)
	}
	if err == io.EOF {
		b.atEnd = !b.gunzip || b.rawAtEnd()
	} else if err != nil {
		b.err = err
	}
	return n, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rawAtEnd is true when the gzip stream's end is the raw body's end too.
func (b *answerBody) rawAtEnd() bool {
	var one [1]byte
	n, err := b.raw.Read(one[:])
	return n == 0 && err == io.EOF
}

func (b *answerBody) Close() error {
	if b.gz != nil {
		b.t.gzips.Put(b.gz)
		b.gz = nil
	}
	stopped := b.stop()
	reusable := stopped && b.atEnd && b.err == nil && b.keep && b.r.Buffered() == 0
	b.r.Reset(nil)
	b.t.readers.Put(b.r)
	if reusable {
		b.t.keep(b.key, b.conn)
	} else {
		_ = b.conn.Close()
	}
	return nil
}

func (t *Transport) gzipReader(r io.Reader) (*gzip.Reader, error) {
	if gz, ok := t.gzips.Get().(*gzip.Reader); ok {
		if err := gz.Reset(r); err != nil {
			t.gzips.Put(gz)
			return nil, err
		}
		return gz, nil
	}
	return gzip.NewReader(r)
}
