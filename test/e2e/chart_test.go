// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// rendered is a chart's output by kind/name.
type rendered map[string]*unstructured.Unstructured

func renderChart(t *testing.T, values string) rendered {
	t.Helper()
	out, err := exec.Command(filepath.Join(toolsDir, "helm"), "template", "metrics-server", filepath.Join("..", "..", "charts", "metrics-server"),
		"--namespace", "kube-system", "--kube-version", serverVersion(t), "--values", values).Output()
	if err != nil {
		t.Fatalf("helm template --values %s: %v", values, stderrOf(err))
	}
	objs := rendered{}
	for _, obj := range decodeManifests(t, out) {
		objs[obj.GetKind()+"/"+obj.GetName()] = obj
	}
	return objs
}

// decodeManifests splits rendered YAML into its objects.
func decodeManifests(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatal(err)
		}
		if obj.Object != nil {
			objs = append(objs, &obj)
		}
	}
}

// serverVersion is the local kube-apiserver's version, for helm's
// capabilities (hostUsers needs 1.33).
func serverVersion(t *testing.T) string {
	t.Helper()
	v, err := cluster.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v.GitVersion
}

func (r rendered) get(t *testing.T, key string) *unstructured.Unstructured {
	t.Helper()
	obj, ok := r[key]
	if !ok {
		t.Fatalf("%s not rendered; have %v", key, slices.Sorted(func(yield func(string) bool) {
			for k := range r {
				if !yield(k) {
					return
				}
			}
		}))
	}
	return obj
}

// field reads a nested field of an object as a string (fmt's %v).
func field(obj *unstructured.Unstructured, path ...string) string {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	if !ok {
		return "<none>"
	}
	return fmt.Sprint(v)
}

// container returns a container of the Deployment's pod by name.
func (r rendered) container(t *testing.T, name string) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(r.get(t, "Deployment/metrics-server").Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

func (r rendered) args(t *testing.T) string {
	return fmt.Sprint(r.container(t, "metrics-server")["args"])
}

func (r rendered) volume(t *testing.T, name string) string {
	vs, _, _ := unstructured.NestedSlice(r.get(t, "Deployment/metrics-server").Object, "spec", "template", "spec", "volumes")
	for _, v := range vs {
		if m := v.(map[string]any); m["name"] == name {
			return fmt.Sprint(m)
		}
	}
	return "<none>"
}

// TestUpstreamChartValues renders values files written for upstream's chart
// (charts/metrics-server/ci/upstream-*.yaml, one per group of upstream's
// keys) and checks that each renders what upstream's chart renders for
// those keys. TestInstallArtifacts dry-runs them against the cluster.
func TestUpstreamChartValues(t *testing.T) {
	ci := filepath.Join("..", "..", "charts", "metrics-server", "ci")
	contains := func(t *testing.T, what, got, want string) {
		t.Helper()
		if !strings.Contains(got, want) {
			t.Errorf("%s: %s, want it to contain %s", what, got, want)
		}
	}
	equal := func(t *testing.T, what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}
	// upstreamTLS: the APIService skips verification as upstream's does and
	// the server issues no CA of its own.
	upstreamTLS := func(t *testing.T, r rendered) {
		t.Helper()
		equal(t, "v1beta1 APIService insecureSkipTLSVerify", field(r.get(t, "APIService/v1beta1.metrics.k8s.io"), "spec", "insecureSkipTLSVerify"), "true")
		if strings.Contains(r.args(t), "--serving-ca-apiservices") {
			t.Errorf("args %s: upstream's values get upstream's TLS mode", r.args(t))
		}
	}
	for file, check := range map[string]func(*testing.T, rendered){
		"upstream-addon-resizer-values.yaml": func(t *testing.T, r rendered) {
			nanny := r.container(t, "metrics-server-nanny")
			equal(t, "nanny image", fmt.Sprint(nanny["image"]), "registry.k8s.io/autoscaling/addon-resizer:1.8.23")
			equal(t, "nanny command", fmt.Sprint(nanny["command"]), "[/pod_nanny --config-dir=/etc/config --deployment=metrics-server --container=metrics-server --threshold=5 --poll-period=300000 --estimator=exponential --minClusterSize=100 --use-metrics=true]")
			contains(t, "nanny ConfigMap", field(r.get(t, "ConfigMap/metrics-server-nanny-config"), "data", "NannyConfiguration"),
				"baseCPU: 0m\ncpuPerNode: 2m\nbaseMemory: 0Mi\nmemoryPerNode: 4Mi")
			contains(t, "nanny volume", r.volume(t, "nanny-config-volume"), "name:metrics-server-nanny-config")
			contains(t, "nanny ClusterRole", field(r.get(t, "ClusterRole/system:metrics-server-nanny"), "rules"), "nonResourceURLs:[/metrics]")
			r.get(t, "ClusterRoleBinding/system:metrics-server-nanny")
			contains(t, "nanny Role", field(r.get(t, "Role/system:metrics-server-nanny"), "rules"), "resourceNames:[metrics-server]")
			equal(t, "nanny RoleBinding role", field(r.get(t, "RoleBinding/metrics-server-nanny"), "roleRef", "name"), "system:metrics-server-nanny")
		},
		"upstream-host-users-values.yaml": func(t *testing.T, r rendered) {
			equal(t, "hostUsers", field(r.get(t, "Deployment/metrics-server"), "spec", "template", "spec", "hostUsers"), "false")
		},
		"upstream-metrics-values.yaml": func(t *testing.T, r rendered) {
			contains(t, "args", r.args(t), "--authorization-always-allow-paths=/metrics ")
		},
		"upstream-own-certificate-values.yaml": func(t *testing.T, r rendered) {
			contains(t, "args", r.args(t), "--tls-cert-file=/etc/metrics-server/tls/tls.crt")
			if strings.Contains(r.args(t), "--serving-ca-apiservices") {
				t.Errorf("args %s: a certificate of one's own gets upstream's TLS mode", r.args(t))
			}
			apiService := r.get(t, "APIService/v1beta1.metrics.k8s.io")
			equal(t, "insecureSkipTLSVerify", field(apiService, "spec", "insecureSkipTLSVerify"), "<none>")
			if field(apiService, "spec", "caBundle") == "<none>" {
				t.Error("APIService without the caBundle of the values")
			}
		},
		"upstream-external-rbac-values.yaml": func(t *testing.T, r rendered) {
			for key := range r {
				if strings.HasPrefix(key, "ClusterRole") || strings.HasPrefix(key, "Role") || strings.HasPrefix(key, "ServiceAccount") {
					t.Errorf("%s rendered with rbac.create=false and serviceAccount.create=false", key)
				}
			}
			equal(t, "serviceAccountName", field(r.get(t, "Deployment/metrics-server"), "spec", "template", "spec", "serviceAccountName"), "metrics-server")
			upstreamTLS(t, r)
		},
		"upstream-cert-manager-values.yaml": func(t *testing.T, r rendered) {
			cert := r.get(t, "Certificate/metrics-server")
			equal(t, "issuerRef", field(cert, "spec", "issuerRef"), "map[group:cert-manager.io kind:Issuer name:my-issuer]")
			equal(t, "secretName", field(cert, "spec", "secretName"), "metrics-server")
			contains(t, "certs volume", r.volume(t, "certs"), "secretName:metrics-server]")
			contains(t, "args", r.args(t), "--tls-cert-file=/tmp/tls-certs/tls.crt")
			equal(t, "CA injection", field(r.get(t, "APIService/v1beta1.metrics.k8s.io"), "metadata", "annotations", "cert-manager.io/inject-ca-from"), "kube-system/metrics-server")
		},
		"upstream-e2e-values.yaml": func(t *testing.T, r rendered) {
			contains(t, "args", r.args(t), "--kubelet-insecure-tls --node-selector=metrics-server-skip!=true")
			for key := range r {
				if strings.HasPrefix(key, "PodSecurityPolicy/") {
					t.Errorf("%s rendered for Kubernetes %s", key, serverVersion(t))
				}
			}
		},
		"tls-helm-values.yaml": func(t *testing.T, r rendered) {
			equal(t, "Secret type", field(r.get(t, "Secret/metrics-server"), "type"), "Opaque")
			contains(t, "certs volume", r.volume(t, "certs"), "secretName:metrics-server]")
		},
		"existing-secret-values.yaml": func(t *testing.T, r rendered) {
			contains(t, "certs volume", r.volume(t, "certs"), "secretName:my-metrics-server-tls]")
		},
		"tls-metrics-server-values.yaml": upstreamTLS,
		"monitoring-values.yaml": func(t *testing.T, r rendered) {
			r.get(t, "ServiceMonitor/metrics-server")
			contains(t, "args", r.args(t), "--authorization-always-allow-paths=/metrics")
			rule := r.get(t, "PrometheusRule/metrics-server")
			equal(t, "PrometheusRule label", field(rule, "metadata", "labels", "release"), "kube-prometheus-stack")
			groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
			var alerts int
			for _, g := range groups {
				rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
				for _, rr := range rules {
					alert := rr.(map[string]any)
					alerts++
					name := fmt.Sprint(alert["alert"])
					labels, _, _ := unstructured.NestedStringMap(alert, "labels")
					if labels["team"] != "platform" || labels["severity"] == "" {
						t.Errorf("%s: labels %v, want its severity and team=platform", name, labels)
					}
					url, _, _ := unstructured.NestedString(alert, "annotations", "runbook_url")
					equal(t, name+" runbook_url", url, "https://runbooks.example.com/metrics-server#"+strings.ToLower(name))
				}
			}
			if alerts != 6 {
				t.Errorf("%d alerts in the PrometheusRule, want the rule file's 6", alerts)
			}
			dashboard := r.get(t, "ConfigMap/metrics-server-dashboard")
			equal(t, "dashboard label", field(dashboard, "metadata", "labels", "grafana_dashboard"), "1")
			equal(t, "dashboard folder", field(dashboard, "metadata", "annotations", "grafana_folder"), "Kubernetes")
			want, err := os.ReadFile(filepath.Join("..", "..", "charts", "metrics-server", "files", "dashboard.json"))
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := unstructured.NestedString(dashboard.Object, "data", "metrics-server.json"); got != strings.TrimRight(string(want), "\n") {
				t.Errorf("the ConfigMap's dashboard (%d bytes) is not files/dashboard.json (%d bytes)", len(got), len(want))
			}
		},
	} {
		t.Run(file, func(t *testing.T) { check(t, renderChart(t, filepath.Join(ci, file))) })
	}
}
