// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubectlAs runs kubectl with a bearer token and no other credentials.
func kubectlAs(t *testing.T, token string, args ...string) (string, error) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(toolsDir, "kubectl"), append([]string{"--kubeconfig=" + empty,
		"--server=" + cluster.APIServerURL(), "--certificate-authority=" + cluster.CAFile(), "--token=" + token}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// TestAuthorization: the aggregated reader role reaches users through
// view; a ServiceAccount without it is refused.
func TestAuthorization(t *testing.T) {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: namespace}}
	if _, err := cluster.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cluster.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, "reader", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token

	for _, args := range [][]string{{"top", "pods", "-n", namespace}, {"top", "nodes"}, {"get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods"}} {
		out, err := kubectlAs(t, token, args...)
		if err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("kubectl %v without a role: %v, %s; want forbidden", args, err, out)
		}
	}

	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reader-view", Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: namespace}},
	}
	if _, err := cluster.Client.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The metrics server caches authorization decisions for 10s.
	eventually(t, time.Minute, func() error {
		out, err := kubectlAs(t, token, "top", "pods", "-n", namespace)
		if err != nil {
			return err
		}
		if !strings.Contains(out, "two") {
			return fmt.Errorf("pods missing:\n%s", out)
		}
		return nil
	})
	// view in one namespace grants neither nodes nor other namespaces.
	for _, args := range [][]string{{"top", "nodes"}, {"top", "pods", "-n", "e2e-hpa"}} {
		if out, err := kubectlAs(t, token, args...); err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("kubectl %v with view in %s: %v, %s; want forbidden", args, namespace, err, out)
		}
	}
}
