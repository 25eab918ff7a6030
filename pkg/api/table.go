// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package api

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

type tableRow struct {
	object runtime.Object
	meta   *metav1.ObjectMeta
	usage  corev1.ResourceList
	window time.Duration
}

// buildTable renders rows with the columns upstream metrics-server uses:
// Name, one column per resource in name order, Window.
func buildTable(rows []tableRow, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	var resources []corev1.ResourceName
	seen := map[corev1.ResourceName]bool{}
	for _, r := range rows {
		for name := range r.usage {
			if !seen[name] {
				seen[name] = true
				resources = append(resources, name)
			}
		}
	}
	slices.Sort(resources)
	table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
		Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"],
	})
	for _, name := range resources {
		table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
			Name: string(name), Type: "string", Format: "quantity", Description: "Usage of " + string(name),
		})
	}
	table.ColumnDefinitions = append(table.ColumnDefinitions, metav1.TableColumnDefinition{
		Name: "Window", Type: "string", Format: "duration", Description: "Time window the usage was measured over",
	})
	includeObject := metav1.IncludeMetadata
	if opt, ok := tableOptions.(*metav1.TableOptions); ok && opt != nil && opt.IncludeObject != "" {
		includeObject = opt.IncludeObject
	}
	for _, r := range rows {
		cells := make([]any, 0, len(resources)+2)
		cells = append(cells, r.meta.Name)
		for _, name := range resources {
			q := r.usage[name]
			cells = append(cells, q.String())
		}
		cells = append(cells, r.window.String())
		row := metav1.TableRow{Cells: cells}
		switch includeObject {
		case metav1.IncludeMetadata:
			row.Object = runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: *r.meta}}
		case metav1.IncludeObject:
			row.Object = runtime.RawExtension{Object: r.object}
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}
