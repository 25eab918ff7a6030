// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command local-up runs a whole local cluster (etcd, kube-apiserver,
// kube-controller-manager, simulated kubelets and the metrics server) with
// a small demo workload, until interrupted. `make run` starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
	"github.com/kubemetrics/metrics-server/test/realnode"
)

func main() {
	var cfg localcluster.Config
	cfg.AddFlags(flag.CommandLine, "_output/local-up", 20000)
	flag.IntVar(&cfg.Nodes, "nodes", 3, "simulated nodes")
	withRealNode := flag.Bool("real-node", false, "add a real node (kubelet, containerd, runc) with a demo burner; needs root")
	klog.InitFlags(nil)
	flag.Parse()
	cfg.MetricsServerArgs = flag.Args()
	if *withRealNode {
		// Every node, the real one too, is reached at its Hostname
		// address, localhost; the real kubelet registers the machine's
		// own address as its InternalIP, where nothing may go.
		hostnameFirst := "Hostname,InternalIP,ExternalIP"
		cfg.KubeletHostname = realNodeName
		cfg.KubeletAddressTypes = hostnameFirst
		cfg.APIServerArgs = append(cfg.APIServerArgs, "--kubelet-preferred-address-types="+hostnameFirst)
	}
	giveBack, err := takeTerminal(int(os.Stdin.Fd()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	err = run(cfg, *withRealNode)
	giveBack()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// realNodeName is the real node's name and Hostname address.
const realNodeName = "localhost"

func run(cfg localcluster.Config, withRealNode bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cluster, err := localcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer cluster.Stop()
	// The demo's simulated pods, and the real node's burner.
	nodes, simulatedPods, realPods := cfg.Nodes, 5, 0
	if withRealNode {
		node, err := startRealNode(ctx, cluster, cfg)
		if node != nil {
			defer node.Stop()
		}
		if err != nil {
			return err
		}
		nodes, realPods = nodes+1, 1
	}
	if err := waitForMetrics(ctx, cluster, nodes, realPods); err != nil {
		return err
	}
	nodesServed := time.Since(cluster.MetricsServerStarted)
	demoCreated := time.Now()
	if err := createDemo(ctx, cluster); err != nil {
		return err
	}
	if err := waitForMetrics(ctx, cluster, nodes, simulatedPods+realPods); err != nil {
		return err
	}
	fmt.Printf(`
All %d nodes served %s after the metrics server started; the demo pods %s after they were created.
`, nodes, nodesServed.Round(100*time.Millisecond), time.Since(demoCreated).Round(100*time.Millisecond))
	if withRealNode {
		fmt.Printf(`
The real node %q (kubelet, containerd, runc) runs pod demo/burner, which uses 250m of CPU and
holds 64 MiB: its numbers are measured, the simulated nodes' are what they were told to report.
`, realNodeName)
	}
	fmt.Printf(`
Local cluster up in %s: %d simulated nodes, demo workload in namespace "demo".
Logs: %s/logs. Try:

  export KUBECONFIG=%s
  %s top nodes
  %s top pods -A --containers
  %s get --raw /apis/metrics.k8s.io/v1beta1/nodes

Ctrl-C stops every process.
`, time.Since(start).Round(time.Second), cfg.Nodes, cfg.Dir, cluster.AdminKubeconfig,
		filepath.Join(cfg.ToolsDir, "kubectl"), filepath.Join(cfg.ToolsDir, "kubectl"), filepath.Join(cfg.ToolsDir, "kubectl"))
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nStopping the local cluster")
			return nil
		case <-ticker.C:
			if err := cluster.Failed(); err != nil {
				return err
			}
		}
	}
}

// startRealNode starts a real node beside the cluster, lets the metrics
// server's kubelet client identity read its metrics (the simulated
// kubelets take its certificate for granted; a real one asks
// kube-apiserver), and runs a burner pod on it.
func startRealNode(ctx context.Context, c *localcluster.Cluster, cfg localcluster.Config) (*realnode.Node, error) {
	tools, err := filepath.Abs(cfg.ToolsDir)
	if err != nil {
		return nil, err
	}
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	node, err := realnode.Start(ctx, realnode.Config{
		Dir: filepath.Join(cfg.Dir, "real-node"), Repo: repo, Kubelet: filepath.Join(tools, "kubelet"),
		Cluster: c, Name: realNodeName, Port: c.Ports.RealKubelet(),
	})
	if err != nil {
		return node, fmt.Errorf("starting the real node: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server-kubelet-client"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:metrics-server"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: localcluster.KubeletClientName}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return node, err
	}
	if err := c.EnsureNamespace(ctx, "demo"); err != nil {
		return node, err
	}
	burner := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "burner", Namespace: "demo", Labels: map[string]string{"app": "burner"}},
		Spec: corev1.PodSpec{
			NodeName: realNodeName, HostNetwork: true, AutomountServiceAccountToken: new(false), TerminationGracePeriodSeconds: new(int64(1)),
			Containers: []corev1.Container{{Name: "burner", Image: realnode.BurnerImage, ImagePullPolicy: corev1.PullNever,
				Args:      []string{"--millicores=250", "--memory-bytes=67108864"},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}},
		},
	}
	if _, err := c.Client.CoreV1().Pods("demo").Create(ctx, burner, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return node, err
	}
	return node, nil
}

// createDemo runs two Deployments whose simulated usage is known: web at
// 250m and 128Mi per pod, worker with a busy app and an idle sidecar.
func createDemo(ctx context.Context, c *localcluster.Cluster) error {
	if err := c.EnsureNamespace(ctx, "demo"); err != nil {
		return err
	}
	for _, d := range []struct {
		name     string
		replicas int32
		cpu, mem string
		names    []string
	}{
		{"web", 3, "250", "128Mi", []string{"nginx"}},
		{"worker", 2, "app=400,sidecar=5", "app=256Mi,sidecar=16Mi", []string{"app", "sidecar"}},
	} {
		labels := map[string]string{"app": d.name}
		var containers []corev1.Container
		for _, n := range d.names {
			containers = append(containers, corev1.Container{Name: n, Image: "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}})
		}
		deploy := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: d.name, Namespace: "demo"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &d.replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
						kubeletsim.CPUAnnotation: d.cpu, kubeletsim.MemoryAnnotation: d.mem,
					}},
					Spec: corev1.PodSpec{Containers: containers},
				},
			},
		}
		if _, err := c.Client.AppsV1().Deployments("demo").Create(ctx, deploy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating deployment %s: %w", d.name, err)
		}
	}
	return nil
}

// waitForMetrics waits until every node and demoPods pods of namespace demo
// are served.
func waitForMetrics(ctx context.Context, c *localcluster.Cluster, nodes, demoPods int) error {
	mc, err := metricsclient.NewForConfig(c.Admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		nm, nerr := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
		pm, perr := mc.MetricsV1beta1().PodMetricses("demo").List(ctx, metav1.ListOptions{})
		if nerr == nil && perr == nil && len(nm.Items) == nodes && len(pm.Items) == demoPods {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for metrics of all nodes and demo pods: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
