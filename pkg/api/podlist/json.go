// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import (
	"encoding/json"
	"strconv"
	"time"
)

// JSON: what encoding/json writes for a PodMetricsList, with the list's
// kind and apiVersion and a newline at the end.

func appendListJSON(b []byte, apiVersion string, items []Item, created int64) []byte {
	b = append(b, `{"kind":"PodMetricsList","apiVersion":`...)
	b = appendJSONString(b, apiVersion)
	b = append(b, `,"metadata":{},"items":[`...)
	createdText := appendJSONTime(nil, created)
	var e encoder
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendItemJSON(b, &items[i], createdText)
	}
	return append(b, "]}\n"...)
}

func (e *encoder) appendItemJSON(b []byte, it *Item, created []byte) []byte {
	// name and namespace are omitted when empty (omitempty).
	b = append(b, `{"metadata":{`...)
	if it.Name != "" {
		b = append(b, `"name":`...)
		b = appendJSONString(b, it.Name)
		b = append(b, ',')
	}
	if it.Namespace != "" {
		b = append(b, `"namespace":`...)
		b = appendJSONString(b, it.Namespace)
		b = append(b, ',')
	}
	b = append(b, `"creationTimestamp":`...)
	b = append(b, created...)
	if len(it.Labels) > 0 {
		b = append(b, `,"labels":{`...)
		for i, l := range e.sortedLabels(it.Labels) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, l.key)
			b = append(b, ':')
			b = appendJSONString(b, l.value)
		}
		b = append(b, '}')
	}
	b = append(b, `},"timestamp":`...)
	b = appendJSONTime(b, seconds(it.Usage.Timestamp))
	b = append(b, `,"window":`...)
	b = e.appendWindowJSON(b, it.Usage.Window)
	b = append(b, `,"containers":[`...)
	quantities := e.formatContainers(&it.Usage)
	for i := range it.Usage.Containers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, it.Usage.Containers[i].Name)
		b = append(b, `,"usage":{`...)
		q := &quantities[i]
		for j := range q.n {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, q.names[j]...)
			b = append(b, `":"`...)
			b = append(b, q.values[j]...)
			b = append(b, '"')
		}
		b = append(b, "}}"...)
	}
	return append(b, "]}"...)
}

func (e *encoder) appendWindowJSON(b []byte, window time.Duration) []byte {
	if e.windowText == nil || window != e.window {
		e.window, e.windowText = window, appendJSONString(e.windowText[:0], window.String())
	}
	return append(b, e.windowText...)
}

// appendJSONTime writes a metav1.Time: RFC 3339 in UTC, whole seconds.
func appendJSONTime(b []byte, sec int64) []byte {
	b = append(b, '"')
	b = time.Unix(sec, 0).UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendJSONString writes s as encoding/json does. Names and label values
// are plain ASCII; anything else is left to encoding/json, which escapes
// HTML characters, control characters and invalid UTF-8 its own way.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, err := json.Marshal(s)
			if err != nil {
				// A string always marshals; keep the output valid regardless.
				return strconv.AppendQuote(b, s)
			}
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
