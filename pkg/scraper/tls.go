// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
)

// NodeNameVerifier verifies kubelet serving certificates itself, so that a
// kubelet reached by IP address may present a certificate issued for its
// node's name: kubelet certificates often carry names only, and the
// standard check then fails with "doesn't contain any IP SANs". The chain
// must still lead to a trusted CA.
type NodeNameVerifier struct {
	roots *x509.CertPool

	mu sync.RWMutex
	// names maps an address dialed (host:port) to the names of each node
	// there; keyed with the port, as several kubelets may share a host.
	// Two Node objects that claim one address both count, rather than
	// whichever was fetched last.
	names map[string]map[string]*nodeNames
	// round counts EndRounds: names not remembered in a round are dropped
	// at its end (their nodes are gone, or moved).
	round uint64
}

type nodeNames struct {
	names []string
	round atomic.Uint64 // the last round the node was fetched in
}

// NewNodeNameVerifier trusts roots (nil: the system's).
func NewNodeNameVerifier(roots *x509.CertPool) *NodeNameVerifier {
	return &NodeNameVerifier{roots: roots, names: make(map[string]map[string]*nodeNames)}
}

// remember records the names the node reached at addr (host:port) may be
// certified for: its name and its Hostname and DNS addresses.
func (v *NodeNameVerifier) remember(addr string, node *corev1.Node) {
	names := []string{node.Name}
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			if a.Address != node.Name {
				names = append(names, a.Address)
			}
		}
	}
	v.mu.RLock()
	kept := v.names[addr][node.Name]
	same := kept != nil && slices.Equal(kept.names, names)
	if same {
		kept.round.Store(v.round)
	}
	v.mu.RUnlock()
	if same {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	atAddr := v.names[addr]
	if atAddr == nil {
		atAddr = make(map[string]*nodeNames, 1)
		v.names[addr] = atAddr
	}
	n := &nodeNames{names: names}
	n.round.Store(v.round)
	atAddr[node.Name] = n
}

// endRound drops the names of nodes not fetched since the last endRound.
func (v *NodeNameVerifier) endRound() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for addr, atAddr := range v.names {
		for node, n := range atAddr {
			if n.round.Load() != v.round {
				delete(atAddr, node)
			}
		}
		if len(atAddr) == 0 {
			delete(v.names, addr)
		}
	}
	v.round++
}

// namesAt lists the names of every node at addr.
func (v *NodeNameVerifier) namesAt(addr string) []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var names []string
	for _, n := range v.names[addr] {
		names = append(names, n.names...)
	}
	slices.Sort(names)
	return names
}

// configure makes cfg, a connection's own copy, verify the kubelet at addr
// (host:port) with v instead of the standard check.
func (v *NodeNameVerifier) configure(cfg *tls.Config, addr string) {
	// Verified, in full, by VerifyConnection.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return v.verify(cs, addr) }
}

// verify checks the chain against the roots and the leaf against the host
// dialed or, failing that, any name of the node at that address.
func (v *NodeNameVerifier) verify(cs tls.ConnectionState, addr string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the kubelet presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	hostErr := leaf.VerifyHostname(host)
	if hostErr == nil {
		return nil
	}
	names := v.namesAt(addr)
	for _, n := range names {
		if leaf.VerifyHostname(n) == nil {
			return nil
		}
	}
	return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates,
		Err: fmt.Errorf("%w, nor for the node's names %v", hostErr, names)}
}

// tlsReason refines a TLS failure for logs and self-metrics.
func tlsReason(err error) (string, bool) {
	var (
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		alertErr  tls.AlertError
		headerErr tls.RecordHeaderError
		verifyErr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &authErr):
		return ReasonTLSUnknownAuthority, true
	case errors.As(err, &hostErr):
		return ReasonTLSNameMismatch, true
	case errors.As(err, &certErr) && certErr.Reason == x509.Expired:
		return ReasonTLSExpired, true
	case errors.As(err, &certErr), errors.As(err, &verifyErr):
		return ReasonTLSInvalid, true
	case errors.As(err, &alertErr), errors.As(err, &headerErr):
		return ReasonTLSHandshake, true
	}
	return "", false
}

// withExtraCAs adds the certificates of a PEM bundle to roots (nil: the
// system's roots).
func withExtraCAs(roots *x509.CertPool, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("extra kubelet CAs: %w", err)
	}
	if roots == nil {
		if roots, err = x509.SystemCertPool(); err != nil {
			return nil, fmt.Errorf("extra kubelet CAs: the system's roots: %w", err)
		}
	} else {
		roots = roots.Clone()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("extra kubelet CAs: no PEM certificate in %s", file)
	}
	return roots, nil
}
