// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command burner is the real-node suite's workload: it uses a set amount
// of CPU and holds a set amount of memory until it is stopped, so the
// suite has a container whose usage it knows and can read from its cgroup.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// period is the duty cycle the CPU is burned in: busy for its share of
// each period, asleep for the rest.
const period = 10 * time.Millisecond

func main() {
	millicores := flag.Int("millicores", 200, "CPU to use, in thousandths of a core (at most 1000)")
	memory := flag.Int64("memory-bytes", 32<<20, "memory to allocate and keep touched")
	exitAfter := flag.Duration("exit-after", 0, "exit successfully after this long (0: run until stopped), as an init container does")
	flag.Parse()
	if *millicores < 0 || *millicores > 1000 || *memory < 0 {
		fmt.Fprintln(os.Stderr, "--millicores must be within [0, 1000] and --memory-bytes not negative")
		os.Exit(2)
	}
	held := make([]byte, *memory)
	for i := 0; i < len(held); i += 4096 {
		held[i] = 1 // each page resident
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	busy := period * time.Duration(*millicores) / 1000
	fmt.Printf("burning %dm, holding %d bytes\n", *millicores, len(held))
	var deadline <-chan time.Time
	if *exitAfter > 0 {
		deadline = time.After(*exitAfter)
	}
	for {
		start := time.Now()
		for time.Since(start) < busy {
		}
		select {
		case <-stop:
			fmt.Println("stopped", len(held))
			return
		case <-deadline:
			fmt.Println("done", len(held))
			return
		case <-time.After(period - time.Since(start)):
		}
	}
}
