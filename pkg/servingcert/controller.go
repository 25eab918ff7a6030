// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package servingcert

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

var apiServicesResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Config sets up a Controller.
type Config struct {
	// APIServices are the names of the APIServices whose caBundle carries
	// the CA; the first one's service gives the certificate's names.
	APIServices []string
	Client      dynamic.Interface
	// Owner names this process among replicas sharing the APIServices.
	Owner string
	// Validity is how long a CA and its serving certificate are valid;
	// both are replaced when a third of it is left.
	Validity time.Duration
	// PublishDelay is how long a new CA is in the caBundle before the
	// certificate it signed is served, for kube-apiserver to see it first.
	PublishDelay time.Duration
	// Resync is how often the caBundle is checked (someone may have
	// replaced it).
	Resync time.Duration
	Clock  clock.Clock
}

// Controller is a dynamiccertificates.CertKeyContentProvider for the
// generic apiserver's serving certificate.
type Controller struct {
	cfg   Config
	names []string
	ips   []net.IP

	mu        sync.RWMutex
	ca        *pair
	previous  *pair // the CA before the last rotation, trusted until it expires
	serving   *pair
	listeners []dynamiccertificates.Listener
}

var _ dynamiccertificates.CertKeyContentProvider = &Controller{}

// New returns a controller that has issued nothing yet; Issue issues the
// first CA and certificate.
func New(cfg Config) (*Controller, error) {
	if len(cfg.APIServices) == 0 {
		return nil, errors.New("no APIService to publish the CA in")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Controller{cfg: cfg, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}, nil
}

// Issue reads the service of the first APIService, for the names the
// certificate must carry, and issues the first CA and serving certificate.
// The server calls it before it serves.
func (c *Controller) Issue(ctx context.Context) error {
	svc, err := c.cfg.Client.Resource(apiServicesResource).Get(ctx, c.cfg.APIServices[0], metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading APIService %s for its service: %w", c.cfg.APIServices[0], err)
	}
	name, _, _ := unstructured.NestedString(svc.Object, "spec", "service", "name")
	namespace, _, _ := unstructured.NestedString(svc.Object, "spec", "service", "namespace")
	if name == "" || namespace == "" {
		return fmt.Errorf("APIService %s has no service", c.cfg.APIServices[0])
	}
	// kube-apiserver verifies the name <service>.<namespace>.svc.
	c.names = []string{name + "." + namespace + ".svc", name + "." + namespace + ".svc.cluster.local", name + "." + namespace, name, "localhost"}
	ca, serving, err := c.issue()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ca, c.serving = ca, serving
	c.mu.Unlock()
	return nil
}

// Start publishes the CA in the APIServices, then keeps the caBundle current
// and rotates the CA and certificate until ctx ends. The server calls it
// once it listens: the caBundle's update makes kube-apiserver check the
// APIService's availability at once, which before then would fail and be
// retried only after a backoff of seconds.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.publish(ctx); err != nil {
		return err
	}
	go c.Run(ctx)
	return nil
}

func (c *Controller) issue() (ca, serving *pair, err error) {
	now := c.cfg.Clock.Now()
	if ca, err = newCA(c.cfg.Owner, now, c.cfg.Validity); err != nil {
		return nil, nil, err
	}
	if serving, err = ca.issue(c.names, c.ips, now, c.cfg.Validity); err != nil {
		return nil, nil, err
	}
	return ca, serving, nil
}

// Name identifies the provider in the generic apiserver's logs.
func (c *Controller) Name() string { return "self-managed serving certificate" }

// CurrentCertKeyContent returns the certificate (with its CA) and key served
// now; nothing before Issue.
func (c *Controller) CurrentCertKeyContent() ([]byte, []byte) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.serving == nil {
		return nil, nil
	}
	return slices.Concat(c.serving.certPEM, c.ca.certPEM), c.serving.keyPEM
}

// AddListener registers a listener told when the certificate changes.
func (c *Controller) AddListener(l dynamiccertificates.Listener) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, l)
}

// Run keeps the caBundle current and rotates the CA and certificate
// until ctx ends. After a failed rotation or publication it tries again
// after retryDelay, doubling with each failure in a row: each rotation
// issues two keys and reads the APIServices.
func (c *Controller) Run(ctx context.Context) {
	failures := 0
	for {
		c.mu.RLock()
		rotateAt := c.ca.cert.NotAfter.Add(-c.cfg.Validity / 3)
		c.mu.RUnlock()
		wait := min(c.cfg.Resync, rotateAt.Sub(c.cfg.Clock.Now()))
		if failures > 0 {
			wait = retryDelay(failures)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.cfg.Clock.After(max(wait, 0)):
		}
		var err error
		if !c.cfg.Clock.Now().Before(rotateAt) {
			if err = c.rotate(ctx); err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "Failed to rotate the serving CA; retrying", "after", retryDelay(failures+1))
			}
		} else if err = c.publish(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "Failed to keep the serving CA in the APIServices' caBundle; retrying", "after", retryDelay(failures+1))
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
	}
}

// Retries after failures start at firstRetry and double up to maxRetry.
const (
	firstRetry = time.Second
	maxRetry   = time.Minute
)

// retryDelay is the wait before the attempt after failures failed ones in
// a row.
func retryDelay(failures int) time.Duration {
	return min(firstRetry<<min(failures-1, 16), maxRetry)
}

// rotate publishes a new CA beside the current one, waits PublishDelay,
// then serves a certificate of the new CA.
func (c *Controller) rotate(ctx context.Context) error {
	ca, serving, err := c.issue()
	if err != nil {
		return err
	}
	c.mu.Lock()
	previous := c.ca
	c.mu.Unlock()
	if err := c.publishCAs(ctx, []*pair{ca, previous}); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.cfg.Clock.After(c.cfg.PublishDelay):
	}
	c.mu.Lock()
	c.previous, c.ca, c.serving = previous, ca, serving
	listeners := slices.Clone(c.listeners)
	c.mu.Unlock()
	for _, l := range listeners {
		l.Enqueue()
	}
	klog.InfoS("Rotated the serving CA and certificate", "notAfter", serving.cert.NotAfter)
	return nil
}

// publish makes sure the caBundle of every APIService trusts this
// process's CAs.
func (c *Controller) publish(ctx context.Context) error {
	c.mu.RLock()
	cas := []*pair{c.ca}
	if c.previous != nil {
		cas = append(cas, c.previous)
	}
	c.mu.RUnlock()
	return c.publishCAs(ctx, cas)
}

func (c *Controller) publishCAs(ctx context.Context, cas []*pair) error {
	var own []*x509.Certificate
	for _, ca := range cas {
		own = append(own, ca.cert)
	}
	var errs []error
	for _, name := range c.cfg.APIServices {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			return c.publishTo(ctx, name, own)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("APIService %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) publishTo(ctx context.Context, name string, own []*x509.Certificate) error {
	client := c.cfg.Client.Resource(apiServicesResource)
	obj, err := client.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		klog.V(2).InfoS("APIService not found; nothing to publish the CA in", "apiService", name)
		return nil
	}
	if err != nil {
		return err
	}
	encoded, _, _ := unstructured.NestedString(obj.Object, "spec", "caBundle")
	current, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		current = nil // replaced below
	}
	insecure, _, _ := unstructured.NestedBool(obj.Object, "spec", "insecureSkipTLSVerify")
	merged := mergeBundle(current, c.cfg.Owner, own, c.cfg.Clock.Now())
	if !insecure && sameCertificates(current, merged) {
		return nil
	}
	// A caBundle may not be set together with insecureSkipTLSVerify.
	unstructured.RemoveNestedField(obj.Object, "spec", "insecureSkipTLSVerify")
	if err := unstructured.SetNestedField(obj.Object, base64.StdEncoding.EncodeToString(merged), "spec", "caBundle"); err != nil {
		return err
	}
	if _, err := client.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "metrics-server"}); err != nil {
		return err
	}
	klog.InfoS("Published the serving CA in the APIService's caBundle", "apiService", name)
	return nil
}

// sameCertificates reports whether two PEM bundles hold the same
// certificates, in any order (replicas append their own CAs last).
func sameCertificates(a, b []byte) bool {
	set := func(bundle []byte) []string {
		var ders []string
		for {
			var block *pem.Block
			block, bundle = pem.Decode(bundle)
			if block == nil {
				break
			}
			ders = append(ders, string(block.Bytes))
		}
		slices.Sort(ders)
		return ders
	}
	return slices.Equal(set(a), set(b))
}
