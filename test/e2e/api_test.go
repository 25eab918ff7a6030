// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// get sends a GET through kube-apiserver (the aggregation layer) as the
// admin, and returns the status, content type and body.
func get(t *testing.T, path, accept string) (int, string, []byte) {
	t.Helper()
	client, err := rest.HTTPClientFor(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, cluster.APIServerURL()+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func TestRawQueries(t *testing.T) {
	const base = "/apis/metrics.k8s.io/v1beta1"
	type list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata   metav1.ObjectMeta `json:"metadata"`
			Containers []struct {
				Name string `json:"name"`
			} `json:"containers"`
		} `json:"items"`
	}
	for _, tc := range []struct {
		name, path string
		wantKind   string
		wantNames  []string // in order; nil: only count
		wantCount  int
	}{
		{"node list", base + "/nodes", "NodeMetricsList", nil, nodeCount},
		{"node list by label", base + "/nodes?labelSelector=kubernetes.io/hostname%3Dnode-1", "NodeMetricsList", []string{"node-1"}, 1},
		{"node list by name", base + "/nodes?fieldSelector=metadata.name%3Dnode-2", "NodeMetricsList", []string{"node-2"}, 1},
		{"pods in namespace", base + "/namespaces/e2e/pods", "PodMetricsList", nil, workloadPods},
		{"pods by label", base + "/namespaces/e2e/pods?labelSelector=app%3Dsteady", "PodMetricsList", nil, steadyPods},
		{"pods by name", base + "/namespaces/e2e/pods?fieldSelector=metadata.name%3Dtwo", "PodMetricsList", []string{"two"}, 1},
		{"all pods by namespace", base + "/pods?fieldSelector=metadata.namespace%3De2e", "PodMetricsList", nil, workloadPods},
		{"all pods by label", base + "/pods?labelSelector=app%3Dtwo", "PodMetricsList", []string{"two"}, 1},
		{"pods of a missing namespace", base + "/namespaces/nothing-here/pods", "PodMetricsList", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := kubectl(t, "get", "--raw", tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var l list
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatal(err)
			}
			if l.Kind != tc.wantKind || len(l.Items) != tc.wantCount {
				t.Fatalf("got %s with %d items, want %s with %d", l.Kind, len(l.Items), tc.wantKind, tc.wantCount)
			}
			var names []string
			for _, it := range l.Items {
				names = append(names, it.Metadata.Name)
			}
			if tc.wantNames != nil && !reflect.DeepEqual(names, tc.wantNames) {
				t.Errorf("names %v, want %v", names, tc.wantNames)
			}
		})
	}

	t.Run("single pod, containers sorted", func(t *testing.T) {
		out, err := kubectl(t, "get", "--raw", base+"/namespaces/e2e/pods/two")
		if err != nil {
			t.Fatal(err)
		}
		var pm metricsv1beta1.PodMetrics
		if err := json.Unmarshal([]byte(out), &pm); err != nil {
			t.Fatal(err)
		}
		if len(pm.Containers) != 2 || pm.Containers[0].Name != "app" || pm.Containers[1].Name != "sidecar" {
			t.Fatalf("containers %+v", pm.Containers)
		}
		if cpu := pm.Containers[0].Usage.Cpu().MilliValue(); cpu != 300 {
			t.Errorf("app cpu %dm, want 300m", cpu)
		}
		if pm.Window.Duration <= 0 || pm.Timestamp.IsZero() {
			t.Errorf("window %v timestamp %v", pm.Window, pm.Timestamp)
		}
	})

	for _, tc := range []struct {
		name, path string
		code       int
		message    string
	}{
		{"unknown node", base + "/nodes/nope", 404, `node "nope" not found`},
		{"unknown pod", base + "/namespaces/e2e/pods/nope", 404, `pods "nope" not found`},
		{"bad label selector", base + "/namespaces/e2e/pods?labelSelector=a%20in%20(", 400, "unable to parse requirement"},
		{"unsupported node field selector", base + "/nodes?fieldSelector=spec.nodeName%3Dnode-0", 400, `"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"`},
		{"unsupported pod field selector", base + "/pods?fieldSelector=status.phase%3DRunning", 400, `"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace", "spec.nodeName"`},
		{"watch", base + "/pods?watch=true", 405, "watch is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, tc.path, "")
			var status metav1.Status
			_ = json.Unmarshal(body, &status)
			if code != tc.code || !strings.Contains(status.Message, tc.message) {
				t.Errorf("got %d %s, want %d containing %q", code, body, tc.code, tc.message)
			}
		})
	}

	t.Run("pods by node", func(t *testing.T) {
		ctx := context.Background()
		total := 0
		for i := range nodeCount {
			node := fmt.Sprintf("node-%d", i)
			pods, err := cluster.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range pods.Items {
				want = append(want, p.Name)
			}
			sort.Strings(want)
			pm, err := metrics.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pm.Items {
				got = append(got, p.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: metrics for %v, pods %v", node, got, want)
			}
			total += len(got)
		}
		if total != workloadPods {
			t.Errorf("%d pods over all nodes, want %d", total, workloadPods)
		}
	})

	t.Run("protobuf", func(t *testing.T) {
		code, ct, _ := get(t, base+"/namespaces/e2e/pods", "application/vnd.kubernetes.protobuf")
		if code != 200 || ct != "application/vnd.kubernetes.protobuf" {
			t.Fatalf("got %d %q", code, ct)
		}
		cfg := rest.CopyConfig(cluster.Admin)
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = cfg.ContentType
		pc, err := metricsclient.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := pc.MetricsV1beta1().PodMetricses(namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil || len(l.Items) != workloadPods {
			t.Fatalf("protobuf list: %v, %d items", err, len(l.Items))
		}
	})

	// Pod lists write JSON and protobuf themselves; the other forms of the
	// answer are the generic apiserver's, from the same pods.
	t.Run("other answer forms", func(t *testing.T) {
		path := base + "/namespaces/" + namespace + "/pods"
		for _, tc := range []struct {
			name, path, accept, contentType, want string
		}{
			{"yaml", path, "application/yaml", "application/yaml", "kind: PodMetricsList"},
			{"pretty json", path + "?pretty=true", "application/json", "application/json", "{\n  \"kind\": \"PodMetricsList\""},
			{"metadata only", path, "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/json", `"kind":"PartialObjectMetadataList"`},
		} {
			code, ct, body := get(t, tc.path, tc.accept)
			if code != 200 || ct != tc.contentType || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s: got %d %q\n%s", tc.name, code, ct, body)
				continue
			}
			if n := strings.Count(string(body), "name: two") + strings.Count(string(body), `"name": "two"`) + strings.Count(string(body), `"name":"two"`); n != 1 {
				t.Errorf("%s: pod two named %d times, want once\n%s", tc.name, n, body)
			}
		}
	})

	t.Run("table", func(t *testing.T) {
		for _, tc := range []struct {
			args   []string
			header string
			rows   int
		}{
			{[]string{"get", "podmetrics", "-n", namespace}, "NAME CPU MEMORY WINDOW", workloadPods},
			{[]string{"get", "nodemetrics"}, "NAME CPU MEMORY WINDOW", nodeCount},
			{[]string{"get", "podmetrics.v1beta1.metrics.k8s.io", "two", "-n", namespace}, "NAME CPU MEMORY WINDOW", 1},
		} {
			out, err := kubectl(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			rows := table(out)
			if strings.Join(rows[0], " ") != tc.header || len(rows)-1 != tc.rows {
				t.Errorf("kubectl %v:\n%s", tc.args, out)
			}
		}
		out, _ := kubectl(t, "get", "podmetrics", "two", "-n", namespace)
		if r := table(out); len(r) != 2 || r[1][1] != "320m" || r[1][2] != "72Mi" {
			t.Errorf("pod row sums its containers:\n%s", out)
		}
	})

	t.Run("v1 and v1beta1 agree", func(t *testing.T) {
		ctx := context.Background()
		out, err := kubectl(t, "get", "--raw", "/apis/metrics.k8s.io")
		if err != nil {
			t.Fatal(err)
		}
		var group metav1.APIGroup
		if err := json.Unmarshal([]byte(out), &group); err != nil {
			t.Fatal(err)
		}
		if group.PreferredVersion.Version != "v1" || len(group.Versions) != 2 {
			t.Errorf("kubectl 1.37 reads the preferred version; discovery says %+v", group)
		}
		summarize := func(name string, ts metav1.Time, cpu, mem int64) string {
			return fmt.Sprintf("%s@%s %d %d", name, ts.UTC(), cpu, mem)
		}
		// Both reads must fall between the same two scrapes: retry.
		eventually(t, 30*time.Second, func() error {
			b, err := metrics.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			v, err := metrics.MetricsV1().PodMetricses(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var bs, vs []string
			for _, p := range b.Items {
				for _, c := range p.Containers {
					bs = append(bs, summarize(p.Name+"/"+c.Name, p.Timestamp, c.Usage.Cpu().MilliValue(), c.Usage.Memory().Value()))
				}
			}
			for _, p := range v.Items {
				for _, c := range p.Containers {
					vs = append(vs, summarize(p.Name+"/"+c.Name, p.Timestamp, c.Usage.Cpu().MilliValue(), c.Usage.Memory().Value()))
				}
			}
			if len(bs) == 0 || !reflect.DeepEqual(bs, vs) {
				return fmt.Errorf("v1beta1 %v\nv1 %v", bs, vs)
			}
			return nil
		})
	})
}
