package app

import (
	"context"
	"fmt"
	"io"

	"github.com/kubemetrics/metrics-server/pkg/version"
	"github.com/spf13/cobra"
	"k8s.io/apiserver/pkg/util/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/term"
	"k8s.io/klog/v2"
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
