// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build tools

package tools

import _ "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/recommender"
