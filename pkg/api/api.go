// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

// Package api serves the metrics.k8s.io API group: NodeMetrics and
// PodMetrics read from the store, joined with the nodes and Running pods the
// informers know. Pod lists are answered by package podlist.
package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/metrics/pkg/apis/metrics/install"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	"k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kubemetrics/metrics-server/pkg/api/compression"
	generatedopenapi "github.com/kubemetrics/metrics-server/pkg/api/generated/openapi"
	"github.com/kubemetrics/metrics-server/pkg/api/podlist"
	"github.com/kubemetrics/metrics-server/pkg/storage"
	"github.com/kubemetrics/metrics-server/pkg/version"
)

var (
	// Scheme holds the metrics.k8s.io types in all served versions.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes them.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)
	// The generic server's own answers (Status, APIVersions, ...).
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := []runtime.Object{
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{},
	}
	Scheme.AddUnversionedTypes(schema.GroupVersion{Group: "", Version: "v1"}, unversioned...)
	// Pods may also be selected by node (spec.nodeName), which the scrape
	// tells; nodes keep the default metadata.name/metadata.namespace.
	for _, version := range []string{"v1", "v1beta1"} {
		gvk := schema.GroupVersionKind{Group: metrics.GroupName, Version: version, Kind: "PodMetrics"}
		if err := Scheme.AddFieldLabelConversionFunc(gvk, podFieldLabel); err != nil {
			panic(err)
		}
	}
}

// Field selectors a pod list accepts.
const (
	fieldName      = "metadata.name"
	fieldNamespace = "metadata.namespace"
	fieldNodeName  = "spec.nodeName"
)

func podFieldLabel(label, value string) (string, string, error) {
	switch label {
	case fieldName, fieldNamespace, fieldNodeName:
		return label, value, nil
	}
	return "", "", fmt.Errorf("%q is not a known field selector: only %q, %q, %q", label, fieldName, fieldNamespace, fieldNodeName)
}

// Store is what the API reads usage from.
type Store interface {
	Node(name string) (storage.Usage, bool)
	Pod(key storage.PodKey, node string, buf []storage.ContainerUsage) (storage.PodUsage, bool)
	// PodReader reads the usage of the pods of one list.
	PodReader(pods int) *storage.PodReader
	// Version changes whenever the usage served may have changed.
	Version() uint64
}

// Install adds metrics.k8s.io v1 and v1beta1, served by the same storage,
// to the server.
func Install(server *genericapiserver.GenericAPIServer, nodes *NodeStorage, pods *PodStorage) error {
	info := genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	resources := map[string]rest.Storage{"nodes": nodes, "pods": pods}
	info.VersionedResourcesStorageMap[metricsv1.SchemeGroupVersion.Version] = resources
	info.VersionedResourcesStorageMap[v1beta1.SchemeGroupVersion.Version] = resources
	return server.InstallAPIGroup(&info)
}

// Clock is the time source for creation timestamps and freshness.
type Clock interface{ Now() time.Time }

// Configure sets what the generic apiserver needs to serve this API: the
// OpenAPI definitions of its types, and the handler chain, with pod lists
// marked when the answer is to be transformed (see
// podlist.WithTransformedAnswers) and the API's large answers gzipped by
// package compression.
func Configure(c *genericapiserver.Config) {
	title, ver := "Kubernetes metrics-server", strings.Split(version.Get().GitVersion, "-")[0]
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, openapi.NewDefinitionNamer(Scheme))
	c.OpenAPIConfig.Info.Title, c.OpenAPIConfig.Info.Version = title, ver
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, openapi.NewDefinitionNamer(Scheme))
	c.OpenAPIV3Config.Info.Title, c.OpenAPIV3Config.Info.Version = title, ver
	c.BuildHandlerChainFunc = func(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
		handler := compression.WithGzip(metrics.GroupName, podlist.WithTransformedAnswers(apiHandler))
		return genericapiserver.DefaultBuildHandlerChain(handler, c)
	}
}
