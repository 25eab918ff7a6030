// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/cobra"
	"k8s.io/apiserver/pkg/util/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"

	"github.com/kubemetrics/metrics-server/pkg/version"
)

// NewCommand returns the metrics-server command.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Short:         "Launch metrics-server",
		Long:          "Launch metrics-server",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if o.ShowVersion {
				_, err := fmt.Fprintln(c.OutOrStdout(), version.Get().GitVersion)
				return err
			}
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q", args)
			}
			if err := compatibility.DefaultComponentGlobalsRegistry.Set(); err != nil {
				return err
			}
			if errs := o.Validate(); len(errs) > 0 {
				return errs[0]
			}
			if err := logsapi.ValidateAndApply(o.Logging, nil); err != nil {
				return err
			}
			return run(ctx, o)
		},
	}
	fss := o.Flags()
	fs := cmd.Flags()
	for _, f := range fss.FlagSets {
		fs.AddFlagSet(f)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		_, err := fmt.Fprintf(c.OutOrStderr(), "Usage:\n  %s\n", c.UseLine())
		cliflag.PrintSections(c.OutOrStderr(), fss, cols)
		return err
	})
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		printHelp(c.OutOrStdout(), c, fss, cols)
	})
	return cmd
}

func printHelp(w io.Writer, c *cobra.Command, fss cliflag.NamedFlagSets, cols int) {
	_, _ = fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", c.Long, c.UseLine())
	cliflag.PrintSections(w, fss, cols)
}

func run(ctx context.Context, o *Options) error {
	setMemoryLimit(memlimit.FromCgroup)
	setGCPercent()
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	s, err := cfg.Complete().New()
	if err != nil {
		return err
	}
	klog.InfoS("Starting metrics-server", "version", version.Get().GitVersion, "resolution", o.MetricResolution)
	return s.Run(ctx)
}

// memoryLimitRatio is the share of the container's memory limit given to
// the Go runtime as its soft limit; the rest is for what the runtime does
// not count (the binary, thread stacks outside the heap).
const memoryLimitRatio = 0.9

// setMemoryLimit gives the Go runtime a soft memory limit of
// memoryLimitRatio × the container's memory limit, as read by limitOf
// (the cgroup's), unless GOMEMLIMIT or AUTOMEMLIMIT is set: near the limit
// the collector works harder rather than letting the process be OOM-killed.
// Without a limit nothing changes. It returns the limit now in force.
func setMemoryLimit(limitOf memlimit.Provider) int64 {
	limit, err := memlimit.Set(memlimit.WithProvider(limitOf), memlimit.WithRatio(memoryLimitRatio),
		memlimit.WithLogger(slog.New(slog.DiscardHandler)))
	switch {
	case err != nil:
		klog.V(2).InfoS("No container memory limit read; the Go runtime has no soft memory limit", "err", err)
	case limit == math.MaxInt64:
		klog.V(2).InfoS("No container memory limit; the Go runtime has no soft memory limit")
	default:
		klog.InfoS("Go runtime soft memory limit set", "bytes", limit, "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"))
	}
	return limit
}

// defaultGCPercent is the collector's pace unless GOGC is set: the heap
// may grow by half of what is live before a collection, not by all of it
// as Go's default lets it. The server allocates little per scrape, so the
// extra collections cost little CPU for a markedly smaller RSS (measured in
// docs/performance.md).
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless GOGC is set, in which case
// the runtime has applied GOGC already.
func setGCPercent() {
	if v, set := os.LookupEnv("GOGC"); set {
		klog.V(2).InfoS("GOGC is set", "GOGC", v)
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}
