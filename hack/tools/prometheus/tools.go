// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

//go:build tools

package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
