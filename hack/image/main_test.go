// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image is what a test reads back from one platform's image.
type image struct {
	config *v1.ConfigFile
	files  map[string]*tar.Header
	// entrypoint is the content of the entrypoint file.
	entrypoint []byte
}

// readLayout opens an OCI image layout and returns each platform's image,
// checking the structure every image of ours has.
func readLayout(t *testing.T, dir string) map[string]image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != RefName {
		t.Fatalf("layout index: %+v, want one index named %s", topManifest.Manifests, RefName)
	}
	index, err := top.ImageIndex(topManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := index.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", mt, types.OCIImageIndex)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		img, err := index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 1 {
			t.Fatalf("%s: %d layers, want 1", d.Platform, len(layers))
		}
		got := image{config: cfg, files: map[string]*tar.Header{}}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got.files[h.Name] = h
			if "/"+h.Name == Entrypoint {
				if got.entrypoint, err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
		platform := d.Platform.OS + "/" + d.Platform.Architecture
		if cfg.OS+"/"+cfg.Architecture != platform {
			t.Errorf("%s: config says %s/%s", platform, cfg.OS, cfg.Architecture)
		}
		if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != Entrypoint {
			t.Errorf("%s: entrypoint %q, want [%s]", platform, got, Entrypoint)
		}
		if cfg.Config.User != User {
			t.Errorf("%s: user %q, want %s", platform, cfg.Config.User, User)
		}
		for _, l := range []string{"version", "revision", "source", "created"} {
			if cfg.Config.Labels["org.opencontainers.image."+l] == "" {
				t.Errorf("%s: no org.opencontainers.image.%s label", platform, l)
			}
		}
		if h := got.files[strings.TrimPrefix(Entrypoint, "/")]; h == nil || h.Mode&0o111 == 0 || h.Uid != 0 {
			t.Errorf("%s: entrypoint file %+v, want an executable owned by root", platform, h)
		}
		if h := got.files["etc/passwd"]; h == nil {
			t.Errorf("%s: no /etc/passwd", platform)
		}
		images[platform] = got
	}
	return images
}

// TestWritesTwoPlatformLayout builds an image from stand-in binaries and
// reads it back.
func TestWritesTwoPlatformLayout(t *testing.T) {
	dir := t.TempDir()
	bins := binaries{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		f := filepath.Join(dir, strings.ReplaceAll(p, "/", "-"))
		if err := os.WriteFile(f, []byte("binary for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
		bins[p] = f
	}
	out := filepath.Join(dir, "layout")
	if err := run(out, bins, labels("v1.2.3", "abc123", "https://example.com/src"), "2026-12-02T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	images := readLayout(t, out)
	if len(images) != 2 {
		t.Fatalf("%d platforms, want 2", len(images))
	}
	for p, img := range images {
		if string(img.entrypoint) != "binary for "+p {
			t.Errorf("%s: entrypoint holds %q", p, img.entrypoint)
		}
		if v := img.config.Config.Labels["org.opencontainers.image.version"]; v != "v1.2.3" {
			t.Errorf("%s: version label %q", p, v)
		}
	}
}

// TestBuiltImage checks the image `make image` wrote (IMAGE_LAYOUT) and runs
// its binary for this machine's platform; `make test-image` sets it.
func TestBuiltImage(t *testing.T) {
	dir := os.Getenv("IMAGE_LAYOUT")
	if dir == "" {
		t.Skip("IMAGE_LAYOUT not set; run `make test-image`")
	}
	images := readLayout(t, dir)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if _, ok := images[p]; !ok {
			t.Errorf("no %s image", p)
		}
	}
	native, ok := images[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		t.Fatalf("no image for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := filepath.Join(t.TempDir(), "metrics-server")
	if err := os.WriteFile(bin, native.entrypoint, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v: %s", bin, err, out)
	}
	want := native.config.Config.Labels["org.opencontainers.image.version"]
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("--version printed %q, the image's version label is %q", got, want)
	}
	if out, err := exec.Command(bin, "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "--kubelet-preferred-address-types") {
		t.Errorf("--help: %v: %.300s", err, out)
	}
	if dst := os.Getenv("IMAGE_EXTRACT_TO"); dst != "" {
		if err := os.WriteFile(dst, native.entrypoint, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
