// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package localcluster

// Ports is the port layout of a local cluster, counted from its base. The
// local cluster (make run), the end-to-end suites and the scale benchmark
// all take their ports from here, each with its own base.
type Ports struct{ Base int }

// EtcdClient and EtcdPeer are etcd's ports.
func (p Ports) EtcdClient() int { return p.Base }
func (p Ports) EtcdPeer() int   { return p.Base + 1 }

// APIServer is kube-apiserver's secure port.
func (p Ports) APIServer() int { return p.Base + 2 }

// MetricsServer is the secure port of the metrics server the APIServices
// point at.
func (p Ports) MetricsServer() int { return p.Base + 3 }

// SecondMetricsServer is for a test's extra metrics server, reached
// directly.
func (p Ports) SecondMetricsServer() int { return p.Base + 4 }

// MetricsServerPlainMetrics is for the metrics server's
// --metrics-bind-address.
func (p Ports) MetricsServerPlainMetrics() int { return p.Base + 5 }

// RealKubelet is a real node's kubelet (see test/realnode), and the next
// port its health endpoint.
func (p Ports) RealKubelet() int { return p.Base + 6 }

// KubeStateMetrics is kube-state-metrics' metrics port, and the next port
// its own telemetry.
func (p Ports) KubeStateMetrics() int { return p.Base + 8 }

// VPARecommender is the VPA recommender's metrics port.
func (p Ports) VPARecommender() int { return p.Base + 10 }

// Unused is a port nothing listens on, for a node whose kubelet is gone.
func (p Ports) Unused() int { return p.Base + 99 }

// Kubelet is simulated node i's kubelet (or, for KWOK, which serves every
// node on one port, the KWOK controller's at i = 0).
func (p Ports) Kubelet(i int) int { return p.Base + 100 + i }
