// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestInstallArtifacts renders every kustomize overlay and every chart
// values file in charts/metrics-server/ci and applies the result to the
// cluster with a server-side dry run: the API server validates every object.
func TestInstallArtifacts(t *testing.T) {
	root := filepath.Join("..", "..")
	kubectlBin, helmBin := filepath.Join(toolsDir, "kubectl"), filepath.Join(toolsDir, "helm")
	// The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, so
	// that the monitoring objects are validated too.
	installCRDs(t, "prometheus-operator-crds.yaml", "servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com")
	render := map[string]*exec.Cmd{}
	for _, overlay := range []string{"base", "overlays/release", "overlays/release-ha", "overlays/release-ha-1.21+"} {
		render["kustomize "+overlay] = exec.Command(kubectlBin, "kustomize", filepath.Join(root, "manifests", overlay))
	}
	abs, err := filepath.Abs(filepath.Join(root, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	// Each component on top of the release overlay, as users reference them.
	for _, component := range []string{"network-policy", "autoscale", "high-availability-1.21+", "monitoring"} {
		dir := t.TempDir()
		// kustomize takes only relative paths to other kustomizations.
		release, err := filepath.Rel(dir, filepath.Join(abs, "overlays", "release"))
		if err != nil {
			t.Fatal(err)
		}
		path, err := filepath.Rel(dir, filepath.Join(abs, "components", component))
		if err != nil {
			t.Fatal(err)
		}
		kustomization := "resources:\n- " + release + "\ncomponents:\n- " + path + "\n"
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
			t.Fatal(err)
		}
		render["kustomize "+component+" component"] = exec.Command(kubectlBin, "kustomize", dir)
	}
	chart := filepath.Join(root, "charts", "metrics-server")
	values, _ := filepath.Glob(filepath.Join(chart, "ci", "*.yaml"))
	if len(values) == 0 {
		t.Fatal("no chart values in charts/metrics-server/ci")
	}
	kubeVersion := serverVersion(t)
	for _, v := range values {
		render["helm template "+filepath.Base(v)] = exec.Command(helmBin, "template", "metrics-server", chart,
			"--namespace", "kube-system", "--kube-version", kubeVersion, "--values", v)
	}
	for name, cmd := range render {
		t.Run(name, func(t *testing.T) {
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v", cmd.Args, stderrOf(err))
			}
			out = withoutUninstalledKinds(t, out)
			// Server-side, as the cluster's own install: the same field
			// manager, so fields a variant leaves out are dropped.
			apply := exec.Command(kubectlBin, "--kubeconfig="+cluster.AdminKubeconfig, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-")
			apply.Stdin = strings.NewReader(string(out))
			result, err := apply.CombinedOutput()
			if err != nil {
				t.Fatalf("server-side dry run: %v\n%s", err, result)
			}
			if !strings.Contains(string(result), "deployment.apps/") || !strings.Contains(string(result), "apiservice.apiregistration.k8s.io/v1.metrics.k8s.io") {
				t.Errorf("a Deployment and the v1 APIService expected:\n%s", result)
			}
			for kind, applied := range map[string]string{"ServiceMonitor": "servicemonitor.monitoring.coreos.com/", "PrometheusRule": "prometheusrule.monitoring.coreos.com/"} {
				if strings.Contains(string(out), "kind: "+kind+"\n") && !strings.Contains(string(result), applied) {
					t.Errorf("a %s rendered but not applied:\n%s", kind, result)
				}
			}
		})
	}
}

// installCRDs applies the CRDs in file, which hack/build-tools.sh copies
// from their projects' modules beside the tools, and waits until each one
// named is established.
func installCRDs(t *testing.T, file string, names ...string) {
	t.Helper()
	if _, err := kubectl(t, "apply", "--server-side", "-f", filepath.Join(toolsDir, file)); err != nil {
		t.Fatal(err)
	}
	wait := []string{"wait", "--for=condition=Established", "--timeout=60s"}
	for _, n := range names {
		wait = append(wait, "crd/"+n)
	}
	if _, err := kubectl(t, wait...); err != nil {
		t.Fatal(err)
	}
}

func stderrOf(err error) string {
	if e, ok := err.(*exec.ExitError); ok {
		return err.Error() + ": " + string(e.Stderr)
	}
	return err.Error()
}

// uninstalledGroups are API groups of objects a chart variant renders whose
// CRDs the local cluster does not have (cert-manager); such objects are left
// out of the dry run.
var uninstalledGroups = []string{"cert-manager.io"}

func withoutUninstalledKinds(t *testing.T, manifests []byte) []byte {
	t.Helper()
	var kept bytes.Buffer
	for _, obj := range decodeManifests(t, manifests) {
		if slices.Contains(uninstalledGroups, obj.GroupVersionKind().Group) {
			t.Logf("left out of the dry run (no CRD here): %s %s", obj.GetKind(), obj.GetName())
			continue
		}
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			t.Fatal(err)
		}
		kept.WriteString("---\n")
		kept.Write(doc)
	}
	return kept.Bytes()
}
