// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command metrics-server serves metrics.k8s.io from the kubelets' resource
// metrics.
package main

import (
	"fmt"
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/logs"

	"github.com/kubemetrics/metrics-server/cmd/metrics-server/app"
)

func main() {
	logs.InitLogs()
	defer logs.FlushLogs()
	ctx := genericapiserver.SetupSignalContext()
	cmd := app.NewCommand(ctx)
	cmd.Use = "metrics-server"
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		logs.FlushLogs()
		os.Exit(1)
	}
}
