// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

// Package kwok runs the metrics server against KWOK, the community's kubelet
// simulator, the way `kwokctl create cluster --enable-metrics-server` sets
// them up: every node served on one shared HTTPS port under
// /metrics/nodes/<node>/metrics/resource (the node annotation
// metrics.k8s.io/resource-metrics-path), usage from KWOK's Metric and
// ClusterResourceUsage configurations, and the metrics server with
// kwokctl's flags. Run with `make test-e2e`.
package kwok

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubemetrics/metrics-server/test/e2e/e2eutil"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

const (
	portBase  = 22000
	namespace = "kwok"
	nodes     = 2
	podsEach  = 3
)

// kwokPort serves every KWOK node's kubelet endpoints.
var kwokPort = localcluster.Ports{Base: portBase}.Kubelet(0)

var (
	cluster  *localcluster.Cluster
	toolsDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// No simulated kubelets of our own: KWOK is the fleet. The metrics
	// server runs with kwokctl's flags (--kubelet-insecure-tls,
	// --kubelet-use-node-status-port, --metric-resolution=15s,
	// --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname).
	suite, err := e2eutil.StartSuite(ctx, "test-e2e", "metrics-server-kwok-", func(*e2eutil.Suite) localcluster.Config {
		return localcluster.Config{
			Manifests: filepath.Join("..", "..", "..", "manifests", "base"),
			PortBase:  portBase, Nodes: 0,
			KubeletTLSArgs: []string{"--kubelet-insecure-tls"},
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, toolsDir = suite.Cluster, suite.ToolsDir
	kwok, err := startKWOK(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting KWOK:", err)
		return suite.End(1)
	}
	code := m.Run()
	kwok.Stop(10 * time.Second)
	return suite.End(code)
}

// startKWOK runs the kwok controller as kwokctl's binary runtime does:
// one HTTPS server for every node it manages, its stages and metrics from
// the configuration build-tools wrote from KWOK's module.
func startKWOK(ctx context.Context) (*localcluster.Process, error) {
	return cluster.StartProcess("kwok", filepath.Join(toolsDir, "kwok"),
		"--kubeconfig="+cluster.AdminKubeconfig,
		"--config="+filepath.Join(toolsDir, "kwok.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--tls-cert-file="+cluster.PKIPath("apiserver.crt"),
		"--tls-private-key-file="+cluster.PKIPath("apiserver.key"),
		"--node-ip=127.0.0.1",
		"--node-port="+strconv.Itoa(kwokPort),
		"--server-address=127.0.0.1:"+strconv.Itoa(kwokPort),
		"--node-lease-duration-seconds=0",
	)
}

func kubectl(args ...string) (string, error) {
	return e2eutil.Kubectl(toolsDir, cluster.AdminKubeconfig, args...)
}

// kwokNode is a node as kwokctl's node template makes it: KWOK manages it
// and sets its addresses, port and conditions.
func kwokNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name,
		Annotations: map[string]string{
			"kwok.x-k8s.io/node":                   "fake",
			"node.alpha.kubernetes.io/ttl":         "0",
			"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + name + "/metrics/resource",
		},
		Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
	}}
}

func kwokPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "kwok-demo"}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}},
		},
	}
}

// topPods returns kubectl top pods' CPU and memory cells by pod name.
func topPods() (map[string][2]string, error) {
	out, err := kubectl("top", "pods", "-n", namespace)
	if err != nil {
		return nil, err
	}
	rows := map[string][2]string{}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) != 3 {
			continue
		}
		rows[f[0]] = [2]string{f[1], f[2]}
	}
	return rows, nil
}

// cpuWithin reports whether a kubectl CPU cell in millicores is want or,
// because kubectl rounds a rate up, want+1: KWOK's samples carry no
// timestamps, so the window is the time between the metrics server's
// requests, which differs from KWOK's own by a little.
func cpuWithin(cell string, want int) bool {
	return cell == strconv.Itoa(want)+"m" || cell == strconv.Itoa(want+1)+"m"
}

func TestKWOK(t *testing.T) {
	ctx := context.Background()
	client := cluster.Client
	if err := cluster.EnsureNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	var pods []string
	for n := range nodes {
		node := "kwok-node-" + strconv.Itoa(n)
		if _, err := client.CoreV1().Nodes().Create(ctx, kwokNode(node), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for p := range podsEach {
			name := fmt.Sprintf("demo-%d-%d", n, p)
			if _, err := client.CoreV1().Pods(namespace).Create(ctx, kwokPod(name, node), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			pods = append(pods, name)
		}
	}

	t.Run("top pods shows KWOK's default usage", func(t *testing.T) {
		e2eutil.Eventually(t, 2*time.Minute, func() error {
			rows, err := topPods()
			if err != nil {
				return err
			}
			for _, p := range pods {
				r, ok := rows[p]
				if !ok {
					return fmt.Errorf("pod %s not shown: %v", p, rows)
				}
				if !cpuWithin(r[0], 1) || r[1] != "1Mi" {
					return fmt.Errorf("pod %s: %s %s, want 1m 1Mi", p, r[0], r[1])
				}
			}
			return nil
		})
	})

	t.Run("top nodes lists the KWOK nodes", func(t *testing.T) {
		e2eutil.Eventually(t, time.Minute, func() error {
			out, err := kubectl("top", "nodes")
			if err != nil {
				return err
			}
			for n := range nodes {
				name := "kwok-node-" + strconv.Itoa(n)
				if !strings.Contains(out, name+" ") {
					return fmt.Errorf("node %s not shown:\n%s", name, out)
				}
			}
			return nil
		})
	})

	t.Run("usage annotations change what is served", func(t *testing.T) {
		target := pods[0]
		patch := []byte(`{"metadata":{"annotations":{"kwok.x-k8s.io/usage-cpu":"100m","kwok.x-k8s.io/usage-memory":"100Mi"}}}`)
		if _, err := client.CoreV1().Pods(namespace).Patch(ctx, target, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		e2eutil.Eventually(t, 2*time.Minute, func() error {
			rows, err := topPods()
			if err != nil {
				return err
			}
			if r := rows[target]; !cpuWithin(r[0], 100) || r[1] != "100Mi" {
				return fmt.Errorf("pod %s: %v, want 100m 100Mi", target, r)
			}
			if r := rows[pods[1]]; !cpuWithin(r[0], 1) || r[1] != "1Mi" {
				return fmt.Errorf("pod %s (not annotated): %v, want 1m 1Mi", pods[1], r)
			}
			return nil
		})
	})
}
