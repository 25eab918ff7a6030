// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package startmemory

import (
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// Release drops the pages of the executable's read-only mappings from the
// process's resident memory and returns the heap's free memory to the
// system. It returns the resident memory just before and just after; the
// pages the server still reads come back in the moments after.
func Release() (before, after Resident, err error) {
	if before, err = readResident(); err != nil {
		return Resident{}, Resident{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return Resident{}, Resident{}, fmt.Errorf("finding the executable: %w", err)
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return Resident{}, Resident{}, fmt.Errorf("reading the memory mappings: %w", err)
	}
	mappings, err := executableMappings(maps, exe)
	maps.Close()
	if err != nil {
		return Resident{}, Resident{}, err
	}
	if len(mappings) == 0 {
		return Resident{}, Resident{}, fmt.Errorf("no read-only mapping of %s in /proc/self/maps", exe)
	}
	for _, m := range mappings {
		// Cold first, so the page cache reclaims these pages before
		// others; kernels before 5.4 refuse it, which changes nothing else.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_COLD)
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return Resident{}, Resident{}, fmt.Errorf("dropping the pages of %s at %#x-%#x: %w", exe, m.start, m.end, errno)
		}
	}
	debug.FreeOSMemory()
	after, err = readResident()
	return before, after, err
}

// readResident reads the process's resident memory.
func readResident() (Resident, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Resident{}, fmt.Errorf("reading the resident memory: %w", err)
	}
	return parseStatus(status)
}
