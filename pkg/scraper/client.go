// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubemetrics/metrics-server/pkg/scraper/internal/kubelethttp"
)

// ResourceMetricsPathAnnotation on a Node replaces the path scraped on its
// kubelet, for virtual kubelets and proxies (as in upstream metrics-server).
const ResourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"

const defaultResourceMetricsPath = "/metrics/resource"

// acceptHeader prefers the Prometheus text format, the one the decoder reads,
// and accepts any other: some kubelet-like servers (KWOK's go-restful routes)
// answer 406 unless the request accepts */*. Upstream sends no Accept header,
// which a kubelet answers with text too. What comes back is judged by its
// Content-Type.
const acceptHeader = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// ClientConfig says how to reach kubelets.
type ClientConfig struct {
	// Rest carries the credentials and TLS settings (CA, client
	// certificate, token) kubelets are reached with.
	Rest *rest.Config
	// ExtraCAFile, when set, is a PEM bundle of CAs trusted besides Rest's
	// (or the system's).
	ExtraCAFile string
	// VerifyNodeNames accepts, for a kubelet reached by IP address, a
	// certificate issued for its node's names (see NodeNameVerifier).
	VerifyNodeNames bool
	// Scheme is "https", or "http" for completely insecure kubelets.
	Scheme string
	// Port is used unless UseNodeStatusPort finds a port in the node status.
	Port              int
	UseNodeStatusPort bool
	// AddressTypes is the order in which node address types are tried.
	AddressTypes []corev1.NodeAddressType
	// MaxBodyBytes bounds an answer after decompression.
	MaxBodyBytes int64
	// IdleConnTimeout is how long a kubelet connection stays open between
	// requests; longer than a resolution keeps one connection per kubelet
	// across rounds.
	IdleConnTimeout time.Duration
	// CloseAfterRound closes every kubelet connection once a round is done
	// (EndRound) instead of keeping it to the next: a kept connection holds
	// its TLS state, with a record buffer grown to the largest record, for
	// the whole resolution. The next round resumes each kubelet's TLS
	// session, which still costs a key exchange per kubelet.
	CloseAfterRound bool
	// NetHTTPTransport sends every request through net/http's transport
	// (HTTP/2 where offered) instead of the scraper's own: an operator's
	// escape hatch. Node names cannot be verified with it.
	NetHTTPTransport bool
}

// sessionCacheSize bounds the TLS sessions kept for resumption when
// connections are closed after each round: one per kubelet, up to this
// many (each is a ticket and a reference to the kubelet's certificates).
const sessionCacheSize = 16384

// Client fetches /metrics/resource from kubelets.
type Client struct {
	cfg  ClientConfig
	http *http.Client
	// kubelets carries the requests, and proxied ones through fallback;
	// it opens connections with dial.
	kubelets *kubelethttp.Transport
	dial     func(ctx context.Context, scheme, addr string) (net.Conn, error)
	fallback *http.Transport
	// nodeNames, when set, verifies kubelet certificates; it learns each
	// node's names from Fetch.
	nodeNames *NodeNameVerifier
	// sessions, when set, keeps kubelets' TLS sessions for resumption,
	// each under the address dialed.
	sessions tls.ClientSessionCache
}

// tlsHandshakeTimeout bounds a kubelet's TLS handshake, as net/http's
// default transport does.
const tlsHandshakeTimeout = 10 * time.Second

// NewClient builds the client's transport: TLS and credentials from the
// configuration, one connection per kubelet, kept between rounds.
func NewClient(cfg ClientConfig) (*Client, error) {
	tlsConfig, err := rest.TLSConfigFor(cfg.Rest)
	if err != nil {
		return nil, fmt.Errorf("kubelet TLS configuration: %w", err)
	}
	if cfg.ExtraCAFile != "" {
		if tlsConfig == nil {
			return nil, errors.New("kubelet TLS configuration: extra CAs for kubelets reached without TLS")
		}
		if tlsConfig.RootCAs, err = withExtraCAs(tlsConfig.RootCAs, cfg.ExtraCAFile); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg}
	if cfg.VerifyNodeNames && cfg.NetHTTPTransport {
		return nil, errors.New("kubelet TLS configuration: node names are verified by the scraper's own transport only")
	}
	if cfg.VerifyNodeNames {
		if tlsConfig == nil {
			return nil, errors.New("kubelet TLS configuration: node names verified for kubelets reached without TLS")
		}
		c.nodeNames = NewNodeNameVerifier(tlsConfig.RootCAs)
	}
	if cfg.CloseAfterRound {
		c.sessions = tls.NewLRUClientSessionCache(sessionCacheSize)
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	// Kubelets behind a proxy from the environment are reached through
	// net/http's transport, which speaks to proxies.
	c.fallback = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		ForceAttemptHTTP2:   true,
		// No limit on the total: one connection per kubelet.
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     cfg.IdleConnTimeout,
		// The own transport's bound on an answer's head, not net/http's.
		MaxResponseHeaderBytes: kubelethttp.MaxResponseHeadBytes,
	}
	c.dial = c.dialKubelet(dialer, tlsConfig)
	c.kubelets = kubelethttp.New(kubelethttp.Config{
		Dial:        c.dial,
		Proxy:       http.ProxyFromEnvironment,
		Fallback:    c.fallback,
		IdleTimeout: cfg.IdleConnTimeout,
	})
	var transport http.RoundTripper = c.kubelets
	if cfg.NetHTTPTransport {
		transport = c.fallback
	}
	rt, err := rest.HTTPWrappersForConfig(cfg.Rest, transport)
	if err != nil {
		return nil, fmt.Errorf("kubelet client credentials: %w", err)
	}
	// A kubelet never redirects /metrics/resource; following one would
	// send the credentials wherever it points, in clear for http.
	c.http = &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

// dialKubelet opens a connection to a kubelet: TCP for http, and for https
// TLS with base (the credentials) offering HTTP/1.1 only, the server name
// its host unless base names one, node names verified when asked, and the
// TLS session kept under the address dialed. Go's own session cache keys
// by host alone, so kubelets sharing an address on different ports, as
// simulated ones do, would overwrite each other's.
func (c *Client) dialKubelet(dialer *net.Dialer, base *tls.Config) func(ctx context.Context, scheme, addr string) (net.Conn, error) {
	return func(ctx context.Context, scheme, addr string) (net.Conn, error) {
		raw, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil || scheme == "http" {
			return raw, err
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			_ = raw.Close()
			return nil, err
		}
		cfg := base.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if c.sessions != nil {
			cfg.ClientSessionCache = sessionsAt{c.sessions, addr}
		}
		if c.nodeNames != nil {
			c.nodeNames.configure(cfg, addr)
		}
		conn := tls.Client(raw, cfg)
		hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
		defer cancel()
		if err := conn.HandshakeContext(hctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// sessionsAt is a view of a session cache that files the sessions of one
// connection under the address it dialed, in place of TLS's key (the
// server name), which several kubelets may share.
type sessionsAt struct {
	cache tls.ClientSessionCache
	addr  string
}

func (s sessionsAt) Get(string) (*tls.ClientSessionState, bool) { return s.cache.Get(s.addr) }
func (s sessionsAt) Put(_ string, cs *tls.ClientSessionState)   { s.cache.Put(s.addr, cs) }

// EndRound is told by the scraper that a round is done: the node names
// of nodes not fetched in it are forgotten; with CloseAfterRound, the
// kubelet connections, all idle now, are closed; otherwise those idle
// longer than IdleConnTimeout (of kubelets no longer scraped).
func (c *Client) EndRound() {
	if c.nodeNames != nil {
		c.nodeNames.endRound()
	}
	if c.cfg.CloseAfterRound {
		c.kubelets.CloseIdle(0)
		c.fallback.CloseIdleConnections()
	} else if c.cfg.IdleConnTimeout > 0 {
		c.kubelets.CloseIdle(c.cfg.IdleConnTimeout)
	}
}

// Error kinds, for logs and self-metrics.
const (
	ReasonAddress = "no_address"
	ReasonTimeout = "timeout"
	ReasonConnect = "connect"
	// TLS failures, by what was wrong.
	ReasonTLSUnknownAuthority = "tls_unknown_authority"
	ReasonTLSNameMismatch     = "tls_name_mismatch"
	ReasonTLSExpired          = "tls_expired"
	ReasonTLSInvalid          = "tls_invalid"
	ReasonTLSHandshake        = "tls_handshake"
	ReasonHTTP                = "http_status"
	ReasonTooLarge            = "too_large"
	// Other answers in flight held the memory budget (AnswerBudget).
	ReasonBudget = "answer_budget"
	ReasonDecode = "decode"
	// The kubelet answered, without stats: it could not collect them
	// (resource_scrape_error 1), or the answer holds no sample at all.
	ReasonKubeletStats = "kubelet_stats_error"
	ReasonEmpty        = "empty"
	ReasonOther        = "other"
)

// ScrapeError is a failed scrape with the reason it failed.
type ScrapeError struct {
	Reason string
	Err    error
}

func (e *ScrapeError) Error() string { return e.Err.Error() }
func (e *ScrapeError) Unwrap() error { return e.Err }

// target returns the URL of node's resource metrics and the address
// (host:port) in it.
func (c *Client) target(node *corev1.Node) (url, addr string, err error) {
	host, err := nodeAddress(node, c.cfg.AddressTypes)
	if err != nil {
		return "", "", err
	}
	port := c.cfg.Port
	if c.cfg.UseNodeStatusPort {
		if p := node.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 0 {
			port = int(p)
		}
	}
	path := defaultResourceMetricsPath
	if p := node.Annotations[ResourceMetricsPathAnnotation]; p != "" {
		path = p
	}
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	return c.cfg.Scheme + "://" + addr + path, addr, nil
}

// nodeAddress picks the first address of the first preferred type the node has.
func nodeAddress(node *corev1.Node, types []corev1.NodeAddressType) (string, error) {
	for _, t := range types {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address, nil
			}
		}
	}
	return "", fmt.Errorf("node %q has no address of the types %v", node.Name, types)
}

// Fetch reads node's answer into buf (reset first), growing buf only with
// room from lease (nil: unbounded). When node names are verified, it first
// tells the verifier the names the kubelet at the node's address may be
// certified for.
func (c *Client) Fetch(ctx context.Context, node *corev1.Node, buf *bytes.Buffer, lease *Lease) error {
	url, addr, err := c.target(node)
	if err != nil {
		return &ScrapeError{ReasonAddress, err}
	}
	if c.nodeNames != nil {
		c.nodeNames.remember(addr, node)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &ScrapeError{ReasonOther, err}
	}
	req.Header.Set("Accept", acceptHeader)
	resp, err := c.http.Do(req)
	if err != nil {
		return &ScrapeError{classify(ctx, err), err}
	}
	defer func() { _ = resp.Body.Close() }()
	buf.Reset() // keeps its capacity
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return &ScrapeError{ReasonHTTP, fmt.Errorf("GET %s: status %q redirecting to %q: redirects are not followed", url, resp.Status, resp.Header.Get("Location"))}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(buf, io.LimitReader(resp.Body, 256))
		return &ScrapeError{ReasonHTTP, fmt.Errorf("GET %s: status %q: %q", url, resp.Status, buf.Bytes())}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		return &ScrapeError{ReasonDecode, fmt.Errorf("GET %s: answered with content type %q; only the Prometheus text format (text/plain) is read", url, ct)}
	}
	switch err := readAnswer(buf, resp.Body, c.cfg.MaxBodyBytes, lease); {
	case errors.Is(err, errTooLarge):
		return &ScrapeError{ReasonTooLarge, fmt.Errorf("GET %s: answer larger than %d bytes", url, c.cfg.MaxBodyBytes)}
	case errors.Is(err, ErrBudget):
		return &ScrapeError{ReasonBudget, fmt.Errorf("GET %s: %w after %d bytes", url, err, buf.Len())}
	case err != nil:
		return &ScrapeError{classify(ctx, err), fmt.Errorf("GET %s: reading the answer: %w", url, err)}
	}
	return nil
}

var errTooLarge = errors.New("answer too large")

// readAnswer appends r to buf, up to limit bytes (errTooLarge past it). It
// grows buf itself rather than through bytes.Buffer, so that each growth
// is reserved from lease before it is allocated, and never past limit.
func readAnswer(buf *bytes.Buffer, r io.Reader, limit int64, lease *Lease) error {
	for {
		if buf.Available() < bytes.MinRead && int64(buf.Cap()) <= limit {
			size := min(max(2*buf.Cap(), bytes.MinRead), int(limit)+1)
			if err := lease.Grow(int64(size)); err != nil {
				return err
			}
			grown := make([]byte, buf.Len(), size)
			copy(grown, buf.Bytes())
			*buf = *bytes.NewBuffer(grown)
		}
		p := buf.AvailableBuffer()
		p = p[:min(cap(p), int(limit+1)-buf.Len())]
		n, err := r.Read(p)
		buf.Write(p[:n])
		if int64(buf.Len()) > limit {
			return errTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func classify(ctx context.Context, err error) string {
	// The request's deadline is its connection's too.
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return ReasonTimeout
	}
	if reason, ok := tlsReason(err); ok {
		return reason
	}
	if errors.Is(err, kubelethttp.ErrResponseHeadTooLarge) {
		return ReasonTooLarge
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return ReasonConnect
	}
	return ReasonOther
}
