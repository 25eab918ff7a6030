package api

import (
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// selectors returns the request's label selector (everything when absent)
// and field selector (nil when absent). The generic server has already
// rejected field selectors on fields other than metadata.name and
// metadata.namespace with 400.
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
	return fields.Set{"metadata.name": name, "metadata.namespace": namespace}
}
