// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/test/testca"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

type testCA struct{ *testca.Authority }

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	ca, err := testca.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{ca}
}

// serving issues a kubelet serving certificate for names and ips, valid
// until notAfter.
func (ca testCA) serving(t *testing.T, names []string, ips []net.IP, notAfter time.Time) tls.Certificate {
	t.Helper()
	l, err := ca.Issue(testca.Spec{CommonName: "kubelet", DNSNames: names, IPs: ips, Server: true, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := l.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestNodeNameVerifier connects by IP to kubelets whose certificates name
// the node only, carry the IP, are expired, or come from another CA.
func TestNodeNameVerifier(t *testing.T) {
	ca, stranger := newTestCA(t, "kubelet-ca"), newTestCA(t, "stranger")
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name       string
		cert       tls.Certificate
		verifier   bool
		wantReason string // "" for success
	}{
		{"standard check: a name-only certificate fails for the IP", ca.serving(t, []string{"node-a"}, nil, later), false, ReasonTLSNameMismatch},
		{"the node's name is accepted", ca.serving(t, []string{"node-a"}, nil, later), true, ""},
		{"the node's hostname address is accepted", ca.serving(t, []string{"node-a.example"}, nil, later), true, ""},
		{"the IP is still accepted", ca.serving(t, nil, loopback, later), true, ""},
		{"another node's name is not", ca.serving(t, []string{"node-b"}, nil, later), true, ReasonTLSNameMismatch},
		{"an unknown CA is not", stranger.serving(t, []string{"node-a"}, loopback, later), true, ReasonTLSUnknownAuthority},
		{"an expired certificate is not", ca.serving(t, []string{"node-a"}, loopback, time.Now().Add(-time.Minute)), true, ReasonTLSExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("ok"))
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{tc.cert}}
			srv.StartTLS()
			defer srv.Close()
			host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}, Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: host}, {Type: corev1.NodeHostName, Address: "node-a.example"}},
			}}
			cfg := ClientConfig{
				Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca.PEM}},
				Scheme: "https", AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, MaxBodyBytes: 1 << 10,
				VerifyNodeNames: tc.verifier,
			}
			if cfg.Port, err = strconv.Atoi(port); err != nil {
				t.Fatal(err)
			}
			client, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			err = client.Fetch(context.Background(), node, &body, nil)
			switch {
			case tc.wantReason == "" && err != nil:
				t.Fatalf("Fetch: %v", err)
			case tc.wantReason == "" && body.String() != "ok":
				t.Fatalf("body %q", body.String())
			case tc.wantReason != "":
				var se *ScrapeError
				if !errors.As(err, &se) || se.Reason != tc.wantReason {
					t.Fatalf("Fetch error %v, want reason %s", err, tc.wantReason)
				}
				if tc.verifier && tc.wantReason == ReasonTLSNameMismatch && !strings.Contains(err.Error(), "node-a.example") {
					t.Errorf("the error %q does not say which names were tried", err)
				}
			}
		})
	}
}

// TestExtraCAs: a kubelet certificate from a CA named only in the extra
// bundle is trusted beside the cluster's CA; bundles that cannot be read
// fail NewClient with their reason.
func TestExtraCAs(t *testing.T) {
	cluster, extra := newTestCA(t, "cluster-ca"), newTestCA(t, "kubelet-ca")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{extra.serving(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Now().Add(time.Hour))}}
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name, extraFile string
		// newErr is part of NewClient's error; fetchReason the Fetch
		// failure's reason; both "" for success.
		newErr, fetchReason string
	}{
		{"the extra CA is trusted", write("extra.pem", extra.PEM), "", ""},
		{"without it the kubelet is unknown", "", "", ReasonTLSUnknownAuthority},
		{"a missing file", filepath.Join(dir, "absent.pem"), "no such file", ""},
		{"a file without certificates", write("empty.pem", []byte("not PEM")), "no PEM certificate", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := NewClient(ClientConfig{
				Rest:        &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: cluster.PEM}},
				ExtraCAFile: tc.extraFile, Scheme: "https", UseNodeStatusPort: true,
				AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, MaxBodyBytes: 1 << 10,
			})
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("NewClient error %v, want one with %q", err, tc.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			err = client.Fetch(context.Background(), kubeletAt(t, "node", srv.URL), &body, nil)
			var se *ScrapeError
			switch {
			case tc.fetchReason == "" && err != nil:
				t.Fatalf("Fetch: %v", err)
			case tc.fetchReason != "" && (!errors.As(err, &se) || se.Reason != tc.fetchReason):
				t.Fatalf("Fetch error %v, want reason %s", err, tc.fetchReason)
			}
		})
	}
}

// TestNodeNamesPerAddress: kubelets on one host and different ports, as
// simulated ones are, each certified for its own node's name only, are
// each verified against their own node's names, whichever node was
// fetched last: a connection to node-a set up after node-b's fetch (as
// when their scrapes run at once) still expects node-a.
func TestNodeNamesPerAddress(t *testing.T) {
	ca := newTestCA(t, "kubelet-ca")
	later := time.Now().Add(time.Hour)
	nodes := map[string]*corev1.Node{}
	for _, name := range []string{"node-a", "node-b"} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok"))
		}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.serving(t, []string{name}, nil, later)}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		nodes[name] = kubeletAt(t, name, srv.URL)
	}
	client, err := NewClient(ClientConfig{
		Rest:   &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca.PEM}},
		Scheme: "https", UseNodeStatusPort: true, AddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
		MaxBodyBytes: 1 << 10, VerifyNodeNames: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var body bytes.Buffer
	for _, name := range []string{"node-a", "node-b"} {
		if err := client.Fetch(ctx, nodes[name], &body, nil); err != nil {
			t.Fatalf("Fetch %s: %v", name, err)
		}
	}
	_, addr, err := client.target(nodes["node-a"])
	if err != nil {
		t.Fatal(err)
	}
	conn, err := client.dial(ctx, "https", addr)
	if err != nil {
		t.Fatalf("a new connection to node-a after node-b's fetch: %v", err)
	}
	_ = conn.Close()
}

// TestNodeNamesOfSharedAddressesAndGoneNodes: two Node objects that claim
// one address are both verified there, whichever was fetched last (each
// overwrote the other's names before), and the names of a node not fetched
// in a round are forgotten when it ends.
func TestNodeNamesOfSharedAddressesAndGoneNodes(t *testing.T) {
	v := NewNodeNameVerifier(nil)
	node := func(name, hostname string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: hostname}}}}
	}
	const addr, other = "10.0.0.1:10250", "10.0.0.2:10250"
	v.remember(addr, node("node-a", "host-a"))
	v.remember(addr, node("node-b", "host-b"))
	v.remember(other, node("node-c", "node-c"))
	if got, want := v.namesAt(addr), []string{"host-a", "host-b", "node-a", "node-b"}; !slices.Equal(got, want) {
		t.Errorf("names at a shared address: %v, want %v", got, want)
	}
	v.endRound()
	v.remember(addr, node("node-a", "host-a")) // node-b and node-c were not fetched
	v.endRound()
	if got, want := v.namesAt(addr), []string{"host-a", "node-a"}; !slices.Equal(got, want) {
		t.Errorf("names after node-b was not fetched for a round: %v, want %v", got, want)
	}
	if got := v.namesAt(other); len(got) != 0 {
		t.Errorf("names of a node gone: %v", got)
	}
	if len(v.names) != 1 {
		t.Errorf("%d addresses kept, want 1", len(v.names))
	}
}
