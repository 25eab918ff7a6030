# syntax=docker/dockerfile:1
# Copyright 2026 The kubemetrics Authors.
# SPDX-License-Identifier: Apache-2.0
# Multi-stage build: a static binary (CGO off) in a distroless, non-root
# image. The version ldflags are the Makefile's, so --version agrees.
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd ./cmd
COPY pkg ./pkg
ARG TARGETOS=linux TARGETARCH=amd64
ARG VERSION=v0.0.0-dev GIT_COMMIT=unknown BUILD_DATE=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags "-s -w -X github.com/kubemetrics/metrics-server/pkg/version.gitVersion=${VERSION} -X github.com/kubemetrics/metrics-server/pkg/version.gitCommit=${GIT_COMMIT} -X github.com/kubemetrics/metrics-server/pkg/version.buildDate=${BUILD_DATE}" \
    -o /metrics-server ./cmd/metrics-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /metrics-server /metrics-server
USER 65534:65534
ENTRYPOINT ["/metrics-server"]
