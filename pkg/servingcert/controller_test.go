// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package servingcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

func apiService(name string, caBundle []byte, insecure bool) *unstructured.Unstructured {
	spec := map[string]any{
		"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		"service": map[string]any{"name": "metrics-server", "namespace": "kube-system"},
	}
	if insecure {
		spec["insecureSkipTLSVerify"] = true
	}
	if caBundle != nil {
		spec["caBundle"] = base64.StdEncoding.EncodeToString(caBundle)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
}

func bundleOf(t *testing.T, client *dynamicfake.FakeDynamicClient, name string) ([]*x509.Certificate, *x509.CertPool, bool) {
	t.Helper()
	obj, err := client.Resource(apiServicesResource).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	encoded, _, _ := unstructured.NestedString(obj.Object, "spec", "caBundle")
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	insecure, _, _ := unstructured.NestedBool(obj.Object, "spec", "insecureSkipTLSVerify")
	pool := x509.NewCertPool()
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, raw = pem.Decode(raw)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
		pool.AddCert(c)
	}
	return certs, pool, insecure
}

// verifiesAs checks the controller's current certificate the way
// kube-apiserver does: against the caBundle, for the service's name.
func verifiesAs(t *testing.T, c *Controller, roots *x509.CertPool) error {
	t.Helper()
	certPEM, keyPEM := c.CurrentCertKeyContent()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "metrics-server.kube-system.svc"})
	return err
}

type countingListener struct{ n int }

func (l *countingListener) Enqueue() { l.n++ }

func TestController(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	otherReplica, err := newCA("other-pod/1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := newCA("gone-pod/1", now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	myLastLife, err := newCA("me/1", now.Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	existing := append(append(append([]byte{}, otherReplica.certPEM...), expired.certPEM...), myLastLife.certPEM...)
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(),
		apiService("v1beta1.metrics.k8s.io", existing, false), apiService("v1.metrics.k8s.io", nil, true))

	c, err := New(Config{APIServices: []string{"v1beta1.metrics.k8s.io", "v1.metrics.k8s.io", "v2.absent"}, Client: client,
		Owner: "me/1", Validity: time.Hour, Resync: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(client.Actions()) != 0 {
		t.Fatalf("New reached the API server: %v", client.Actions())
	}
	if cert, key := c.CurrentCertKeyContent(); cert != nil || key != nil {
		t.Fatal("a certificate before Issue")
	}
	if err := c.Issue(ctx); err != nil {
		t.Fatal(err)
	}
	if certs, _, _ := bundleOf(t, client, "v1.metrics.k8s.io"); len(certs) != 0 {
		t.Fatal("the CA was published before Start")
	}
	if err := c.publish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"v1beta1.metrics.k8s.io", "v1.metrics.k8s.io"} {
		certs, roots, insecure := bundleOf(t, client, name)
		if insecure {
			t.Errorf("%s still skips TLS verification", name)
		}
		if err := verifiesAs(t, c, roots); err != nil {
			t.Errorf("%s: the serving certificate does not verify against the caBundle: %v", name, err)
		}
		for _, cert := range certs {
			if cert.Equal(expired.cert) || cert.Equal(myLastLife.cert) {
				t.Errorf("%s keeps %s (expired, or this owner's earlier CA)", name, cert.Subject.CommonName)
			}
		}
		if name == "v1beta1.metrics.k8s.io" && (len(certs) != 2 || !certs[0].Equal(otherReplica.cert)) {
			t.Errorf("%s: %d CAs; want the other replica's kept, then ours", name, len(certs))
		}
	}

	// Publishing again changes nothing, whatever the order in the bundle.
	client.ClearActions()
	if err := c.publish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range client.Actions() {
		if _, ok := a.(k8stesting.UpdateAction); ok {
			t.Errorf("an unchanged bundle was written again: %v", a)
		}
	}

	// Rotation: the new CA is trusted beside the old before the new
	// certificate is served, and listeners hear of it.
	l := &countingListener{}
	c.AddListener(l)
	_, oldRoots, _ := bundleOf(t, client, "v1beta1.metrics.k8s.io")
	before, _ := c.CurrentCertKeyContent()
	if err := c.rotate(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := c.CurrentCertKeyContent()
	if string(before) == string(after) || l.n != 1 {
		t.Fatalf("rotation changed the certificate %v, told %d listeners; want true, 1", string(before) != string(after), l.n)
	}
	if err := verifiesAs(t, c, oldRoots); err == nil {
		t.Error("the rotated certificate verifies against the old bundle: the CA did not change")
	}
	certs, roots, _ := bundleOf(t, client, "v1beta1.metrics.k8s.io")
	if err := verifiesAs(t, c, roots); err != nil {
		t.Errorf("the rotated certificate does not verify against the new bundle: %v", err)
	}
	if len(certs) != 3 {
		t.Errorf("%d CAs after rotation; want the other replica's, the previous and the new", len(certs))
	}
}

// TestRetryBackoff: while rotating the CA fails (the APIServices cannot be
// written), Run tries again after 1, 2, 4 … s, at most a minute apart,
// not at once; a success ends the backoff. Timed with the injected clock.
func TestRetryBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), apiService("v1.metrics.k8s.io", nil, false))
	clk := clocktesting.NewFakeClock(time.Now())
	c, err := New(Config{APIServices: []string{"v1.metrics.k8s.io"}, Client: client, Owner: "me/1",
		Validity: time.Hour, Resync: time.Hour, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Issue(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failing, gets := true, 0
	client.PrependReactor("get", "apiservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		gets++
		if failing {
			return true, nil, errors.New("etcd is down")
		}
		return false, nil, nil
	})
	attempts := func() int {
		mu.Lock()
		defer mu.Unlock()
		return gets
	}
	go c.Run(ctx)
	// Run waits until the CA is due for rotation, at two thirds of its
	// validity.
	waitForWaiters(t, clk)
	clk.Step(40 * time.Minute)
	wantGaps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, gap := range wantGaps {
		waitFor(t, func() bool { return attempts() == i+1 }, "attempt %d", i+1)
		waitForWaiters(t, clk)
		clk.Step(gap - time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		if n := attempts(); n != i+1 {
			t.Fatalf("attempt %d came %s after the one before, before its backoff of %s", n, gap-time.Millisecond, gap)
		}
		clk.Step(time.Millisecond)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	waitFor(t, func() bool {
		clk.Step(time.Millisecond) // through the publish delay
		c.mu.RLock()
		defer c.mu.RUnlock()
		return c.previous != nil
	}, "the rotation once the API works")
}

func waitForWaiters(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	waitFor(t, clk.HasWaiters, "Run to wait")
}

func waitFor(t *testing.T, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for "+what, args...)
		}
		time.Sleep(time.Millisecond)
	}
}
