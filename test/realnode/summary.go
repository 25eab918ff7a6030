// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package realnode

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"k8s.io/client-go/rest"
)

// Summary is the part of the kubelet's Summary API answer
// (/stats/summary) the suite reads.
type Summary struct {
	Pods []struct {
		PodRef struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"podRef"`
		Containers []struct {
			Name   string `json:"name"`
			Memory *struct {
				WorkingSetBytes *uint64 `json:"workingSetBytes"`
			} `json:"memory"`
		} `json:"containers"`
	} `json:"pods"`
}

// WorkingSet is what the summary reports as a container's working set.
func (s *Summary) WorkingSet(namespace, pod, container string) (uint64, bool) {
	for _, p := range s.Pods {
		if p.PodRef.Namespace != namespace || p.PodRef.Name != pod {
			continue
		}
		for _, c := range p.Containers {
			if c.Name == container && c.Memory != nil && c.Memory.WorkingSetBytes != nil {
				return *c.Memory.WorkingSetBytes, true
			}
		}
	}
	return 0, false
}

// Summary reads the kubelet's Summary API as the cluster's admin.
func (n *Node) Summary(ctx context.Context) (*Summary, error) {
	tlsConfig, err := rest.TLSConfigFor(n.cfg.Cluster.Admin)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(n.cfg.Cluster.PKIPath("kubelet-ca.crt"))
	if err != nil {
		return nil, err
	}
	tlsConfig.RootCAs = x509.NewCertPool()
	tlsConfig.RootCAs.AppendCertsFromPEM(ca)
	tlsConfig.ServerName = n.cfg.Name
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.kubeletURL()+"/stats/summary", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /stats/summary: %s: %s", resp.Status, body)
	}
	var s Summary
	return &s, json.Unmarshal(body, &s)
}
