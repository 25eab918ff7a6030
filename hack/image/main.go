// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Command image writes the metrics-server container image as an OCI image
// layout, without a Docker engine or a base image to download: one index
// with a linux/amd64 and a linux/arm64 image, each a single layer holding
// the static binary at /metrics-server (upstream's entrypoint) and the
// passwd and group entries of the non-root user 65534 it runs as.
//
//	go run ./hack/image --out=_output/image --version=v0.1.0 \
//	    --binary=linux/amd64=_output/bin/linux-amd64/metrics-server \
//	    --binary=linux/arm64=_output/bin/linux-arm64/metrics-server
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts, as upstream's image has them.
const (
	Entrypoint = "/metrics-server"
	User       = "65534:65534"
	// RefName is the layout's tag for the index (annotation
	// org.opencontainers.image.ref.name).
	RefName = "metrics-server"
)

type binaries map[string]string // platform (os/arch) → file

func (b binaries) String() string { return fmt.Sprint(map[string]string(b)) }

func (b binaries) Set(v string) error {
	platform, file, ok := strings.Cut(v, "=")
	if !ok || strings.Count(platform, "/") != 1 {
		return fmt.Errorf("want os/arch=file, got %q", v)
	}
	b[platform] = file
	return nil
}

func main() {
	bins := binaries{}
	var out, version, revision, source, created string
	flag.Var(bins, "binary", "os/arch=path of a static metrics-server binary for that platform (repeat per platform)")
	flag.StringVar(&out, "out", "_output/image", "folder of the OCI image layout (replaced)")
	flag.StringVar(&version, "version", "", "image version label")
	flag.StringVar(&revision, "revision", "", "source revision label")
	flag.StringVar(&source, "source", "https://github.com/kubemetrics/metrics-server", "source repository label")
	flag.StringVar(&created, "created", "", "creation time, RFC 3339 (default: now)")
	flag.Parse()
	if err := run(out, bins, labels(version, revision, source), created); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func labels(version, revision, source string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "metrics-server",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
		"org.opencontainers.image.source":   source,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
}

func run(out string, bins binaries, labels map[string]string, created string) error {
	if len(bins) == 0 {
		return errors.New("no --binary given")
	}
	when := time.Now().UTC().Truncate(time.Second)
	if created != "" {
		var err error
		if when, err = time.Parse(time.RFC3339, created); err != nil {
			return fmt.Errorf("--created: %w", err)
		}
	}
	labels["org.opencontainers.image.created"] = when.Format(time.RFC3339)
	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range slices.Sorted(maps.Keys(bins)) {
		img, p, err := platformImage(platform, bins[platform], labels, when)
		if err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	lp, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendIndex(index, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": RefName}))
}

func platformImage(platform, file string, labels map[string]string, created time.Time) (v1.Image, *v1.Platform, error) {
	osName, arch, _ := strings.Cut(platform, "/")
	binary, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	layerTar, err := rootFS(binary, created)
	if err != nil {
		return nil, nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = osName, arch, v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{Entrypoint}
	cfg.Config.User = User
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/"}
	cfg.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, nil, err
	}
	return img, &v1.Platform{OS: osName, Architecture: arch}, nil
}

// rootFS is the image's only layer: the binary and the non-root user's
// account entries, owned by root and not writable by the user.
func rootFS(binary []byte, modTime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/", 0o755, nil},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
		{"tmp/", 0o1777, nil},
		{strings.TrimPrefix(Entrypoint, "/"), 0o755, binary},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: modTime, Typeflag: tar.TypeReg, Size: int64(len(f.data)), Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
