// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build tools

// Package tools keeps the Prometheus Operator's module required; a small
// package of it stands for the whole.
package tools

import _ "github.com/prometheus-operator/prometheus-operator/pkg/versionutil"
