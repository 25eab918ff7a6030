#!/usr/bin/env bash
# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Regenerates the OpenAPI definitions of the served types with openapi-gen,
# pinned by the hack/tools module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/hack/tools"
go run k8s.io/kube-openapi/cmd/openapi-gen \
  --output-dir "$root/pkg/api/generated/openapi" \
  --output-pkg github.com/kubemetrics/metrics-server/pkg/api/generated/openapi \
  --output-file zz_generated.openapi.go \
  --go-header-file "$root/hack/boilerplate.go.txt" \
  --report-filename /dev/null \
  k8s.io/metrics/pkg/apis/metrics/v1beta1 \
  k8s.io/metrics/pkg/apis/metrics/v1 \
  k8s.io/apimachinery/pkg/apis/meta/v1 \
  k8s.io/apimachinery/pkg/api/resource \
  k8s.io/apimachinery/pkg/version \
  k8s.io/apimachinery/pkg/runtime
