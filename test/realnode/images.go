// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package realnode

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The suite's images, imported into containerd rather than pulled: pods
// use them with imagePullPolicy Never.
const (
	// PauseImage is containerd's sandbox image (see containerdConfig).
	PauseImage = "registry.k8s.io/pause:3.10"
	// BurnerImage runs test/realnode/burner.
	BurnerImage = "localhost/metrics-server-e2e/burner:v1"
)

// images maps each image to the package of its only binary.
var images = map[string]string{
	PauseImage:  "./test/realnode/pause",
	BurnerImage: "./test/realnode/burner",
}

// buildImage builds pkg (relative to the repository's root, root) as a
// static binary and writes an image of it alone, its entrypoint, to an
// image archive (docker save's format, which `ctr images import` reads)
// in dir; it returns the archive's path.
func buildImage(ctx context.Context, root, dir, ref, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "entrypoint", Mode: 0o755, Size: int64(len(binary)), ModTime: time.Unix(0, 0)}); err != nil {
		return "", err
	}
	if _, err := tw.Write(binary); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/entrypoint"}, WorkingDir: "/"})
	if err != nil {
		return "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", err
	}
	archive := bin + ".tar"
	return archive, tarball.WriteToFile(archive, tag, img)
}
