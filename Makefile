# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

# Kubernetes' metrics registry needs a vX.Y.Z version: untagged builds are
# v0.1.0-<commit>.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.1.0-$$(git rev-parse --short HEAD 2>/dev/null || echo dev))
GIT_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/kubemetrics/metrics-server/pkg/version
LDFLAGS := -s -w -X $(VERSION_PKG).gitVersion=$(VERSION) -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT) \
	-X $(VERSION_PKG).buildDate=$(BUILD_DATE)
BIN := _output/bin
TOOLS_DIR = $(shell hack/build-tools.sh | tail -n 1)
NODES ?= 3
PORT_BASE ?= 20000

.PHONY: help build image test-image tools run test test-e2e test-e2e-node test-e2e-previous soak fuzz bench bench-scale plot verify manifests lint-chart clean

help: ## Show the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build the metrics-server binary into _output/bin.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/metrics-server ./cmd/metrics-server

PLATFORMS ?= linux/amd64 linux/arm64

image: ## Build the linux/amd64 and linux/arm64 image as an OCI layout in _output/image, without Docker.
	@for p in $(PLATFORMS); do \
		echo ">> go build metrics-server for $$p"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -trimpath -ldflags "$(LDFLAGS)" \
			-o _output/bin/$${p%/*}-$${p#*/}/metrics-server ./cmd/metrics-server; \
	done
	go run ./hack/image --out=_output/image --version=$(VERSION) --revision=$(GIT_COMMIT) --created=$(BUILD_DATE) \
		$(foreach p,$(PLATFORMS),--binary=$(p)=_output/bin/$(subst /,-,$(p))/metrics-server)
	@echo "_output/image (OCI layout; e.g. skopeo copy oci:_output/image:metrics-server docker://REGISTRY/metrics-server:$(VERSION))"

test-image: image ## Check the image in _output/image and run its binary for this machine.
	IMAGE_LAYOUT=$(CURDIR)/_output/image go test -count=1 -run 'TestBuiltImage' -v ./hack/image

manifests: ## Render components.yaml and high-availability.yaml into _output/manifests.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; mkdir -p _output/manifests; \
	"$$tools/kubectl" kustomize manifests/overlays/release > _output/manifests/components.yaml; \
	"$$tools/kubectl" kustomize manifests/overlays/release-ha > _output/manifests/high-availability.yaml; \
	echo "_output/manifests/components.yaml _output/manifests/high-availability.yaml"

lint-chart: ## helm lint the chart with its default and every ci/ values file.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	"$$tools/helm" lint charts/metrics-server; \
	for v in charts/metrics-server/ci/*.yaml; do "$$tools/helm" lint charts/metrics-server --values "$$v"; done

tools: ## Build (once) the pinned kube-apiserver, kube-controller-manager, kubectl, etcd, helm and KWOK.
	@hack/build-tools.sh

run: build ## Run a local cluster with simulated kubelets and the metrics server until Ctrl-C; REAL_NODES=1 adds a real node (root).
	@if [[ "$(REAL_NODES)" == 1 ]]; then hack/node-packages.sh; fi
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	go run ./hack/local-up --tools-dir="$$tools" --metrics-server=$(BIN)/metrics-server \
		--nodes=$(NODES) --port-base=$(PORT_BASE) $(if $(filter 1,$(REAL_NODES)),--real-node) -- $(ARGS)

test: ## Unit tests with the race detector, including the differential and fuzz-seed tests.
	go test -race -count=1 ./...

test-monitoring: ## The alerts' promtool tests and checks, and the alerts' and dashboard's queries read with Prometheus' parser.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	"$$tools/promtool" check rules charts/metrics-server/files/prometheus-rules.yaml && \
	"$$tools/promtool" test rules test/monitoring/alerts_test.yaml && \
	go -C hack/tools/prometheus test ./...

test-e2e: build ## End-to-end tests against a real local control plane.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	E2E_TOOLS_DIR="$$tools" E2E_METRICS_SERVER="$(CURDIR)/$(BIN)/metrics-server" \
		go test -tags e2e -count=1 -p 1 -timeout 40m -v ./test/e2e/ ./test/e2e/kwok/

test-e2e-node: build ## End-to-end tests against one real node (kubelet, containerd, runc) on this machine; needs root, installs Debian's containerd and runc.
	@hack/node-packages.sh
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	E2E_TOOLS_DIR="$$tools" E2E_METRICS_SERVER="$(CURDIR)/$(BIN)/metrics-server" \
		go test -tags e2e -count=1 -timeout 20m -v ./test/e2e/node/

# The tests run against the older control plane of the compatibility matrix.
PREVIOUS_TESTS ?= ^(TestKubectlTopNodes|TestKubectlTopPods|TestRawQueries|TestHealthEndpoints|TestHPA)$$

test-e2e-previous: build ## The kubectl top, get --raw, health and HPA end-to-end tests against the older control plane (hack/tools/previous).
	@tools="$$(hack/build-tools.sh previous | tail -n 1)"; \
	E2E_TOOLS_DIR="$$tools" E2E_METRICS_SERVER="$(CURDIR)/$(BIN)/metrics-server" \
		go test -tags e2e -count=1 -timeout 30m -v -run '$(PREVIOUS_TESTS)' ./test/e2e/

soak: build ## A long run (SOAK_DURATION, default 30m; SOAK_NODES, default 200) under churn and hostile kubelets, judged against the simulator's truth; not in CI. SOAK_REPORT=<file> keeps the figures.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	E2E_TOOLS_DIR="$$tools" E2E_METRICS_SERVER="$(CURDIR)/$(BIN)/metrics-server" \
		go test -tags e2e -count=1 -timeout 0 -v -run TestSoak ./test/e2e/soak/

fuzz: ## Fuzz the kubelet decoder against expfmt, the kubelet transport against net/http, the store against a reference and the pod list encoders against the codecs, FUZZTIME each (default 60s).
	go test ./pkg/scraper -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $${FUZZTIME:-60s}
	go test ./pkg/scraper/internal/kubelethttp -run '^$$' -fuzz '^FuzzTransportFraming$$' -fuzztime $${FUZZTIME:-60s}
	go test ./pkg/storage -run '^$$' -fuzz '^FuzzStoreWrite$$' -fuzztime $${FUZZTIME:-60s}
	go test ./pkg/api/podlist -run '^$$' -fuzz FuzzListEncoding -fuzztime $${FUZZTIME:-60s}

bench: ## Micro-benchmarks of the hot paths.
	go test ./pkg/... -run '^$$' -bench . -benchmem -count $${COUNT:-6}

bench-scale: build ## Whole-process scale benchmark; SCALE_NODES (5000), SCALE_PODS (30), SCALE_CONTAINERS (2); SCALE_REPORT=docs/performance.md records the row; SCALE_COMPARE=<binary> measures another server after it.
	@tools="$$(hack/build-tools.sh | tail -n 1)"; \
	go run ./hack/bench-scale --tools-dir="$$tools" --metrics-server=$(BIN)/metrics-server \
		--nodes=$${SCALE_NODES:-5000} --pods-per-node=$${SCALE_PODS:-30} --containers=$${SCALE_CONTAINERS:-2} \
		--report="$${SCALE_REPORT:-}" --compare="$${SCALE_COMPARE:-}"

plot: ## Draw docs/scale.png from the bench-scale rows of docs/performance.md.
	cd hack/plot && go run . ../../docs/performance.md ../../docs/scale.png

verify: ## gofmt, go vet, and the licence header on every Go and shell file.
	hack/verify-licence.sh
	@test -z "$$(gofmt -l cmd pkg test hack)" || { gofmt -l cmd pkg test hack; exit 1; }
	go vet ./...
	go vet -tags e2e ./test/...

clean: ## Remove build output.
	rm -rf _output
