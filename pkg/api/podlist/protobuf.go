// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package podlist

import "encoding/binary"

// Protobuf: the kubernetes envelope ("k8s\0" and a runtime.Unknown holding
// the list) around the generated messages of metrics.k8s.io, whose fields
// are all written, empty or not, except the ones noted.

const protobufPrefix = "k8s\x00"

// Field keys (field number << 3 | wire type) of the messages written, with
// the field numbers of apimachinery's and k8s.io/metrics' generated.proto.
const (
	wireVarint = 0
	wireBytes  = 2

	// runtime.Unknown, the envelope.
	unknownTypeMeta        = 1<<3 | wireBytes
	unknownRaw             = 2<<3 | wireBytes
	unknownContentEncoding = 3<<3 | wireBytes
	unknownContentType     = 4<<3 | wireBytes
	// runtime.TypeMeta.
	typeMetaAPIVersion = 1<<3 | wireBytes
	typeMetaKind       = 2<<3 | wireBytes
	// PodMetricsList.
	listMetadata = 1<<3 | wireBytes
	listItems    = 2<<3 | wireBytes
	// metav1.ListMeta; remainingItemCount (4) is left out when nil.
	listMetaSelfLink        = 1<<3 | wireBytes
	listMetaResourceVersion = 2<<3 | wireBytes
	listMetaContinue        = 3<<3 | wireBytes
	// PodMetrics.
	podMetadata   = 1<<3 | wireBytes
	podTimestamp  = 2<<3 | wireBytes
	podWindow     = 3<<3 | wireBytes
	podContainers = 4<<3 | wireBytes
	// metav1.ObjectMeta, up to its labels; the fields after them are
	// empty lists, maps or nil pointers, which are left out.
	metaName              = 1<<3 | wireBytes
	metaGenerateName      = 2<<3 | wireBytes
	metaNamespace         = 3<<3 | wireBytes
	metaSelfLink          = 4<<3 | wireBytes
	metaUID               = 5<<3 | wireBytes
	metaResourceVersion   = 6<<3 | wireBytes
	metaGeneration        = 7<<3 | wireVarint
	metaCreationTimestamp = 8<<3 | wireBytes
	metaLabels            = 11<<3 | wireBytes
	// metav1.Time.
	timeSeconds = 1<<3 | wireVarint
	timeNanos   = 2<<3 | wireVarint
	// metav1.Duration.
	durationNanos = 1<<3 | wireVarint
	// ContainerMetrics.
	containerName  = 1<<3 | wireBytes
	containerUsage = 2<<3 | wireBytes
	// An entry of a map field.
	mapKey   = 1<<3 | wireBytes
	mapValue = 2<<3 | wireBytes
	// resource.Quantity.
	quantityString = 1<<3 | wireBytes
)

func sizeVarint(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// sizeField is the size of a length-delimited field of one-byte key.
func sizeField(n int) int { return 1 + sizeVarint(uint64(n)) + n }

// sizeVarintField is the size of a varint field of one-byte key.
func sizeVarintField(v uint64) int { return 1 + sizeVarint(v) }

func appendField(b []byte, key byte, n int) []byte {
	return binary.AppendUvarint(append(b, key), uint64(n))
}

func appendVarintField(b []byte, key byte, v uint64) []byte {
	return binary.AppendUvarint(append(b, key), v)
}

func appendString(b []byte, key byte, s string) []byte {
	return append(appendField(b, key, len(s)), s...)
}

// A metav1.Time: seconds, and nanos always zero.
func sizeTime(sec int64) int { return sizeVarintField(uint64(sec)) + sizeVarintField(0) }

func appendTime(b []byte, key byte, sec int64) []byte {
	b = appendField(b, key, sizeTime(sec))
	b = appendVarintField(b, timeSeconds, uint64(sec))
	return appendVarintField(b, timeNanos, 0)
}

func sizeMapEntry(key string, valueSize int) int {
	return sizeField(len(key)) + sizeField(valueSize)
}

func sizeObjectMeta(it *Item, created int64, labels []label) int {
	n := sizeField(len(it.Name)) + sizeField(0) + sizeField(len(it.Namespace)) +
		3*sizeField(0) + // selfLink, uid, resourceVersion
		sizeVarintField(0) + // generation
		sizeField(sizeTime(created))
	for _, l := range labels {
		n += sizeField(sizeMapEntry(l.key, len(l.value)))
	}
	return n
}

func appendObjectMeta(b []byte, it *Item, created int64, labels []label) []byte {
	b = appendString(b, metaName, it.Name)
	b = appendField(b, metaGenerateName, 0)
	b = appendString(b, metaNamespace, it.Namespace)
	b = appendField(b, metaSelfLink, 0)
	b = appendField(b, metaUID, 0)
	b = appendField(b, metaResourceVersion, 0)
	b = appendVarintField(b, metaGeneration, 0)
	b = appendTime(b, metaCreationTimestamp, created)
	for _, l := range labels {
		b = appendField(b, metaLabels, sizeMapEntry(l.key, len(l.value)))
		b = appendString(b, mapKey, l.key)
		b = appendString(b, mapValue, l.value)
	}
	return b
}

func sizeContainer(name string, q *usageQuantities) int {
	n := sizeField(len(name))
	for i := range q.n {
		n += sizeField(sizeMapEntry(q.names[i], sizeField(len(q.values[i]))))
	}
	return n
}

func appendContainer(b []byte, name string, q *usageQuantities) []byte {
	b = appendField(b, podContainers, sizeContainer(name, q))
	b = appendString(b, containerName, name)
	for i := range q.n {
		quantity := sizeField(len(q.values[i]))
		b = appendField(b, containerUsage, sizeMapEntry(q.names[i], quantity))
		b = appendString(b, mapKey, q.names[i])
		b = appendField(b, mapValue, quantity)
		b = appendField(b, quantityString, len(q.values[i]))
		b = append(b, q.values[i]...)
	}
	return b
}

// appendItemProtobuf writes one PodMetrics as an item of the list.
func (e *encoder) appendItemProtobuf(b []byte, it *Item, created int64) []byte {
	quantities := e.formatContainers(&it.Usage)
	labels := e.sortedLabels(it.Labels)
	meta := sizeObjectMeta(it, created, labels)
	timestamp := seconds(it.Usage.Timestamp)
	window := sizeVarintField(uint64(it.Usage.Window))
	size := sizeField(meta) + sizeField(sizeTime(timestamp)) + sizeField(window)
	for i := range it.Usage.Containers {
		size += sizeField(sizeContainer(it.Usage.Containers[i].Name, &quantities[i]))
	}
	b = appendField(b, listItems, size)
	b = appendField(b, podMetadata, meta)
	b = appendObjectMeta(b, it, created, labels)
	b = appendTime(b, podTimestamp, timestamp)
	b = appendField(b, podWindow, window)
	b = appendVarintField(b, durationNanos, uint64(it.Usage.Window))
	for i := range it.Usage.Containers {
		b = appendContainer(b, it.Usage.Containers[i].Name, &quantities[i])
	}
	return b
}

// appendListProtobuf writes a PodMetricsList of apiVersion in the
// kubernetes protobuf envelope. The list's size must be known before its
// items are written, so the items are written first, after room for the
// header, which is then moved next to them.
func appendListProtobuf(b []byte, apiVersion string, items []Item, created int64) []byte {
	const kind = "PodMetricsList"
	typeMeta := sizeField(len(apiVersion)) + sizeField(len(kind))
	listMeta := 3 * sizeField(0)
	// The header is at most this long: envelope prefix, TypeMeta, the raw
	// field's key and length, the list's ListMeta.
	headerRoom := len(protobufPrefix) + sizeField(typeMeta) + 1 + binary.MaxVarintLen64 + sizeField(listMeta)
	start := len(b)
	b = append(b, make([]byte, headerRoom)...)
	var e encoder
	for i := range items {
		b = e.appendItemProtobuf(b, &items[i], created)
	}
	itemsLen := len(b) - start - headerRoom

	header := make([]byte, 0, headerRoom)
	header = append(header, protobufPrefix...)
	header = appendField(header, unknownTypeMeta, typeMeta)
	header = appendString(header, typeMetaAPIVersion, apiVersion)
	header = appendString(header, typeMetaKind, kind)
	header = appendField(header, unknownRaw, sizeField(listMeta)+itemsLen)
	header = appendField(header, listMetadata, listMeta)
	header = appendField(header, listMetaSelfLink, 0)
	header = appendField(header, listMetaResourceVersion, 0)
	header = appendField(header, listMetaContinue, 0)
	// Move the items next to the header; contentEncoding and contentType
	// follow, empty.
	out := b[:start+len(header)]
	copy(out[start:], header)
	out = append(out, b[start+headerRoom:]...)
	out = appendField(out, unknownContentEncoding, 0)
	return appendField(out, unknownContentType, 0)
}
