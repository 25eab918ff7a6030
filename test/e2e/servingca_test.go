// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubemetrics/metrics-server/test/localcluster"
)

// servingCertificate is the certificate the main metrics server presents.
func servingCertificate(t *testing.T) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(cluster.Ports.MetricsServer()), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// TestServingCA: the APIServices verify the main metrics server (no
// insecureSkipTLSVerify) with the CA it keeps in their caBundle. With a
// validity of 2 minutes the CA rotates every 80 s; requests through the
// aggregation layer keep succeeding across a rotation, and the new
// certificate verifies against the updated bundle.
func TestServingCA(t *testing.T) {
	ctx := context.Background()
	client, err := dynamic.NewForConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	apiServices := client.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	verifies := func(cert *x509.Certificate) error {
		for _, name := range localcluster.APIServices {
			obj, err := apiServices.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if insecure, _, _ := unstructured.NestedBool(obj.Object, "spec", "insecureSkipTLSVerify"); insecure {
				return fmt.Errorf("%s skips TLS verification", name)
			}
			bundle, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "caBundle")
			encoded, _ := bundle.(string)
			pem, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil {
				return fmt.Errorf("%s caBundle: %w", name, err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s has no CA in its caBundle", name)
			}
			// What kube-apiserver checks: the service's name.
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "metrics-server.kube-system.svc"}); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
	first := servingCertificate(t)
	if err := verifies(first); err != nil {
		t.Fatal(err)
	}

	// Query through kube-apiserver until the certificate has changed and
	// a little beyond; every request must succeed.
	deadline := time.Now().Add(servingCAValidity + 30*time.Second)
	var rotatedAt time.Time
	requests := 0
	for time.Now().Before(deadline) && (rotatedAt.IsZero() || time.Since(rotatedAt) < 10*time.Second) {
		if _, err := metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("a request through the aggregation layer failed after %d: %v", requests, err)
		}
		requests++
		if rotatedAt.IsZero() && !servingCertificate(t).Equal(first) {
			rotatedAt = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
	if rotatedAt.IsZero() {
		t.Fatalf("the serving certificate did not rotate within %v", servingCAValidity+30*time.Second)
	}
	if err := verifies(servingCertificate(t)); err != nil {
		t.Errorf("after rotation: %v", err)
	}
	t.Logf("%d requests through the aggregation layer, none failed, across a rotation", requests)
}
