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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kubemetrics/metrics-server/test/kubeletsim"
	"github.com/kubemetrics/metrics-server/test/localcluster"
)

func main() {
	var cfg localcluster.Config
	cfg.AddFlags(flag.CommandLine, "_output/local-up", 20000)
	flag.IntVar(&cfg.Nodes, "nodes", 3, "simulated nodes")
	klog.InitFlags(nil)
	flag.Parse()
	cfg.MetricsServerArgs = flag.Args()
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(cfg localcluster.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cluster, err := localcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer cluster.Stop()
	if err := waitForMetrics(ctx, cluster, cfg.Nodes, 0); err != nil {
		return err
	}
	nodesServed := time.Since(cluster.MetricsServerStarted)
	demoCreated := time.Now()
	if err := createDemo(ctx, cluster); err != nil {
		return err
	}
	if err := waitForMetrics(ctx, cluster, cfg.Nodes, 5); err != nil {
		return err
	}
	fmt.Printf(`
All %d nodes served %s after the metrics server started; the demo pods %s after they were created.
`, cfg.Nodes, nodesServed.Round(100*time.Millisecond), time.Since(demoCreated).Round(100*time.Millisecond))
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
