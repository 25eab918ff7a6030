// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminalChildEnv makes the test binary play local-up under a terminal:
// take the terminal, say so, and exit 0 on Ctrl-C.
const terminalChildEnv = "LOCAL_UP_TERMINAL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(terminalChildEnv) != "" {
		giveBack, err := takeTerminal(int(os.Stdin.Fd()))
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		fmt.Println("ready")
		<-ctx.Done()
		giveBack()
		fmt.Println("stopped")
		return
	}
	os.Exit(m.Run())
}

// TestCtrlCEndsMakeRunCleanly: make runs local-up in a terminal, as `make
// run` does; Ctrl-C typed there reaches local-up alone, which stops and
// exits 0, and make then exits 0 too. Before, make got the SIGINT as well
// and, whatever its recipe did, died by it.
func TestCtrlCEndsMakeRunCleanly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	master, slave, err := openPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer master.Close()
	makefile := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(makefile, []byte("run:\n\t@exec $(CHILD)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-s", "-f", makefile, "CHILD="+os.Args[0])
	cmd.Env = append(os.Environ(), terminalChildEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own with the terminal as its controlling one, as a
	// shell starts make: make's group in the terminal's foreground.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	var output []string
	wait := func(want string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the terminal closed before %q; it showed %q", want, output)
				}
				output = append(output, line)
				if strings.HasSuffix(line, want) { // after the echoed ^C
					return
				}
			case <-timeout:
				_ = cmd.Process.Kill()
				t.Fatalf("no %q within 30 s; the terminal showed %q", want, output)
			}
		}
	}
	wait("ready")
	if _, err := master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	wait("stopped")
	if err := cmd.Wait(); err != nil {
		t.Errorf("make after Ctrl-C: %v (the terminal showed %q), want exit status 0", err, output)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}
