// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// selectors returns the request's label selector (everything when absent)
// and field selector (nil when absent). The generic server has already
// rejected field selectors on other fields than metadata.name,
// metadata.namespace (and spec.nodeName for pods) with 400.
func selectors(options *metainternalversion.ListOptions) (labels.Selector, fields.Selector) {
	sel := labels.Everything()
	var fieldSel fields.Selector
	if options != nil {
		if options.LabelSelector != nil {
			sel = options.LabelSelector
		}
		if options.FieldSelector != nil && !options.FieldSelector.Empty() {
			fieldSel = options.FieldSelector
		}
	}
	return sel, fieldSel
}

func objectFields(name, namespace string) fields.Set {
	return fields.Set{fieldName: name, fieldNamespace: namespace}
}

func podFields(name, namespace, node string) fields.Set {
	return fields.Set{fieldName: name, fieldNamespace: namespace, fieldNodeName: node}
}
