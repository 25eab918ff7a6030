// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package kubeletsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kubemetrics/metrics-server/test/testca"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

// servingCert issues ca's certificate named cn for 127.0.0.1.
func servingCert(t *testing.T, ca *testca.Authority, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	l, err := ca.Issue(testca.Spec{CommonName: cn, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := l.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return cert, cert.Leaf
}

// freePort is a port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSessionResumption: a client that opens a connection per request
// resumes its TLS session with a kubelet and is answered; once the
// kubelet's certificate changes, the old session no longer resumes and the
// client sees the new certificate.
func TestSessionResumption(t *testing.T) {
	ca, err := testca.New("kubelet-ca")
	if err != nil {
		t.Fatal(err)
	}
	good, goodLeaf := servingCert(t, ca, "good")
	nameOnly, nameOnlyLeaf := servingCert(t, ca, "name-only")
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n0"}}
	client := fake.NewClientset(node)
	fleet := New(Config{
		Nodes: []string{"n0"}, Address: "127.0.0.1", BasePort: freePort(t), Token: "secret",
		StatsInterval: time.Second, Client: client,
		Certificate: func(_ string, kind Fault) (tls.Certificate, error) {
			if kind == FaultNameOnlyCert {
				return nameOnly, nil
			}
			return good, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fleet.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	httpClient := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(8)},
		DisableKeepAlives: true, // a connection per request
	}}
	url := "https://127.0.0.1:" + strconv.Itoa(fleet.Port(0)) + "/metrics/resource"
	get := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := httpClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp, err
	}
	check := func(step string, wantResumed bool, wantCert *x509.Certificate) {
		t.Helper()
		resp, err := get()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if resp.StatusCode != http.StatusOK || resp.TLS.DidResume != wantResumed || !resp.TLS.PeerCertificates[0].Equal(wantCert) {
			t.Errorf("%s: status %d, resumed %v, certificate %q; want 200, %v, %q", step, resp.StatusCode,
				resp.TLS.DidResume, resp.TLS.PeerCertificates[0].Subject.CommonName, wantResumed, wantCert.Subject.CommonName)
		}
	}

	// The fleet listens once its informers have synced.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		_, err := get()
		return err == nil, nil
	}); err != nil {
		t.Fatalf("the fleet never answered: %v", err)
	}
	check("a later connection", true, goodLeaf)

	node.Annotations = map[string]string{FaultAnnotation: string(FaultNameOnlyCert)}
	if _, err := client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return fleet.fault(0) == FaultNameOnlyCert, nil
	}); err != nil {
		t.Fatal("the fleet never saw the fault")
	}
	check("after the certificate changed", false, nameOnlyLeaf)
	check("a connection after that", true, nameOnlyLeaf)
}

// TestGzippedAnswers: the answer is gzipped when the request accepts gzip,
// as a kubelet's metrics handler negotiates it, and plain otherwise.
func TestGzippedAnswers(t *testing.T) {
	body := []byte("node_cpu_usage_seconds_total 1 2\n")
	for _, tc := range []struct {
		acceptEncoding string
		gzipped        bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"deflate", false},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"identity", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics/resource", nil)
		if tc.acceptEncoding != "" {
			r.Header.Set("Accept-Encoding", tc.acceptEncoding)
		}
		w := httptest.NewRecorder()
		WriteMaybeGzipped(w, r, body)
		got := w.Body.Bytes()
		if gzipped := w.Header().Get("Content-Encoding") == "gzip"; gzipped != tc.gzipped {
			t.Errorf("Accept-Encoding %q: gzipped = %v, want %v", tc.acceptEncoding, gzipped, tc.gzipped)
			continue
		}
		if tc.gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("Accept-Encoding %q: %v", tc.acceptEncoding, err)
			}
			if got, err = io.ReadAll(zr); err != nil {
				t.Fatalf("Accept-Encoding %q: %v", tc.acceptEncoding, err)
			}
		}
		if !bytes.Equal(got, body) {
			t.Errorf("Accept-Encoding %q: body %q, want %q", tc.acceptEncoding, got, body)
		}
	}
}
