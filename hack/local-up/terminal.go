// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// takeTerminal moves this process into a process group of its own and puts
// that group in the foreground of the terminal on fd (standard input), so
// that Ctrl-C reaches this process alone. It stops the cluster and exits 0;
// make, which would otherwise get the SIGINT too, then ends with that 0
// instead of dying by the signal after a clean stop. The returned function
// gives the terminal back to the group that had it. Without a terminal it
// changes nothing.
func takeTerminal(fd int) (giveBack func(), err error) {
	previous, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return func() {}, nil // not a terminal
	}
	if err := unix.Setpgid(0, 0); err != nil {
		return nil, fmt.Errorf("a process group of its own: %w", err)
	}
	// A process group in the background that sets the foreground is
	// stopped by SIGTTOU unless it ignores it; as is one that gives the
	// terminal back.
	signal.Ignore(syscall.SIGTTOU)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp()); err != nil {
		return nil, fmt.Errorf("the terminal's foreground: %w", err)
	}
	return func() { _ = unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, previous) }, nil
}
