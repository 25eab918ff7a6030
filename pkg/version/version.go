// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package version holds the metrics server's own version, stamped at build
// time with -ldflags "-X github.com/kubemetrics/metrics-server/pkg/version.gitVersion=…".
//
// It is kept apart from k8s.io/component-base/version on purpose: the
// generic apiserver reads that one as the Kubernetes version it emulates,
// and a metrics-server version there breaks the server's start.
package version

import (
	"fmt"
	"runtime"
)

var (
	gitVersion = "v0.0.0-dev"
	gitCommit  = "unknown"
	buildDate  = "unknown"
)

// Info describes a build.
type Info struct {
	GitVersion, GitCommit, BuildDate, GoVersion, Platform string
}

// Get returns this build's version information.
func Get() Info {
	return Info{
		GitVersion: gitVersion, GitCommit: gitCommit, BuildDate: buildDate,
		GoVersion: runtime.Version(), Platform: fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}
