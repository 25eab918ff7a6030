package api

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubemetrics/metrics-server/pkg/storage"
)

// Pod lists are written straight from the store's usage to the bytes the
// generic apiserver's codecs would produce for a PodMetricsList, in
// protobuf and in JSON: building and encoding 150,000 PodMetrics objects (a
// ResourceList map per container, a Quantity formatted several times per
// value by the generated marshallers) was over a third of the server's CPU
// at 5,000 nodes. encode_test.go holds both writers to the codecs' bytes.

// podItem is one pod of a list answer.
type podItem struct {
	name, namespace string
	labels          map[string]string
	usage           storage.PodUsage
}

// quantityBuf holds one formatted quantity; the longest int64 with a
// suffix fits.
type quantityBuf [24]byte

// Quantities are formatted as resource.Quantity's canonical form does
// (CanonicalizeBytes), which allocates for every binary value: decimal
// values take the largest power-of-1000 suffix that keeps the number whole;
// binary values below 1024 are written in decimal, others take the largest
// power-of-1024 suffix that keeps the number whole. encode_test.go and
// FuzzPodListEncoding hold them to resource.Quantity.

var decimalSuffixes = map[int]string{-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}

var binarySuffixes = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}

// formatCPU formats nanocores (DecimalSI).
func formatCPU(dst *quantityBuf, nanocores uint64) []byte {
	return formatDecimal(dst, clampInt64(nanocores), -9)
}

// formatDecimal formats v × 10^exponent, v ≥ 0, exponent a multiple of 3.
func formatDecimal(dst *quantityBuf, v int64, exponent int) []byte {
	if v == 0 {
		return append(dst[:0], '0')
	}
	for v%10 == 0 {
		v /= 10
		exponent++
	}
	// Back to a multiple of 3; v only grows by factors just taken out.
	switch exponent % 3 {
	case 1, -2:
		v *= 10
		exponent--
	case 2, -1:
		v *= 100
		exponent -= 2
	}
	return append(strconv.AppendInt(dst[:0], v, 10), decimalSuffixes[exponent]...)
}

// formatBytes formats a byte count (BinarySI).
func formatBytes(dst *quantityBuf, bytes uint64) []byte {
	v := clampInt64(bytes)
	if v < 1024 {
		return formatDecimal(dst, v, 0)
	}
	power := 0
	for v%1024 == 0 {
		v /= 1024
		power++
	}
	return append(strconv.AppendInt(dst[:0], v, 10), binarySuffixes[power]...)
}

// usageQuantities are a container's usage formatted, in the order of their
// names (cpu < memory < swap), as both encodings sort map keys.
type usageQuantities struct {
	names  [3]string
	values [3][]byte
	n      int
	bufs   [3]quantityBuf
}

func (q *usageQuantities) set(u *storage.Usage) {
	q.n = 0
	if u.HasCPU {
		q.names[q.n], q.values[q.n] = "cpu", formatCPU(&q.bufs[q.n], u.CPU)
		q.n++
	}
	if u.HasMemory {
		q.names[q.n], q.values[q.n] = "memory", formatBytes(&q.bufs[q.n], u.Memory)
		q.n++
	}
	if u.HasSwap {
		q.names[q.n], q.values[q.n] = "swap", formatBytes(&q.bufs[q.n], u.Swap)
		q.n++
	}
}

// Protobuf: the kubernetes envelope ("k8s\0" and a runtime.Unknown holding
// the list) around the generated messages of metrics.k8s.io, whose fields
// are all written, empty or not, except the ones noted.

const protobufPrefix = "k8s\x00"

func sizeVarint(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// sizeField is the size of a length-delimited field of one-byte tag.
func sizeField(n int) int { return 1 + sizeVarint(uint64(n)) + n }

func appendField(b []byte, tag byte, n int) []byte {
	return binary.AppendUvarint(append(b, tag), uint64(n))
}

func appendString(b []byte, tag byte, s string) []byte {
	return append(appendField(b, tag, len(s)), s...)
}

// timeMessage is a metav1.Time: seconds, and nanos always zero.
func sizeTime(sec int64) int { return 1 + sizeVarint(uint64(sec)) + 2 }

func appendTime(b []byte, tag byte, sec int64) []byte {
	b = appendField(b, tag, sizeTime(sec))
	b = binary.AppendUvarint(append(b, 0x08), uint64(sec))
	return append(b, 0x10, 0x00)
}

func sizeMapEntry(key string, valueSize int) int {
	return sizeField(len(key)) + sizeField(valueSize)
}

func sizeObjectMeta(it *podItem, created int64, labels []label) int {
	n := sizeField(len(it.name)) + sizeField(0) + sizeField(len(it.namespace)) +
		3*sizeField(0) + // selfLink, uid, resourceVersion
		2 + // generation 0
		sizeField(sizeTime(created))
	for _, l := range labels {
		n += sizeField(sizeMapEntry(l.key, len(l.value)))
	}
	return n
}

func appendObjectMeta(b []byte, it *podItem, created int64, labels []label) []byte {
	b = appendString(b, 0x0a, it.name)
	b = append(b, 0x12, 0)
	b = appendString(b, 0x1a, it.namespace)
	b = append(b, 0x22, 0, 0x2a, 0, 0x32, 0, 0x38, 0)
	b = appendTime(b, 0x42, created)
	for _, l := range labels {
		b = appendField(b, 0x5a, sizeMapEntry(l.key, len(l.value)))
		b = appendString(b, 0x0a, l.key)
		b = appendString(b, 0x12, l.value)
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
	b = appendField(b, 0x22, sizeContainer(name, q))
	b = appendString(b, 0x0a, name)
	for i := range q.n {
		value := sizeField(len(q.values[i]))
		b = appendField(b, 0x12, sizeMapEntry(q.names[i], value))
		b = appendString(b, 0x0a, q.names[i])
		b = appendField(b, 0x12, value)
		b = appendField(b, 0x0a, len(q.values[i]))
		b = append(b, q.values[i]...)
	}
	return b
}

// podEncoder keeps the scratch space of one answer's encoding.
type podEncoder struct {
	labels     []label
	quantities []usageQuantities
	// window and windowText are the last window written in JSON: most
	// pods share it.
	window     time.Duration
	windowText []byte
}

type label struct{ key, value string }

func (e *podEncoder) formatContainers(u *storage.PodUsage) []usageQuantities {
	e.quantities = e.quantities[:0]
	for i := range u.Containers {
		e.quantities = append(e.quantities, usageQuantities{})
		e.quantities[i].set(&u.Containers[i].Usage)
	}
	return e.quantities
}

// sortedLabels are a pod's labels sorted by key, as both encodings write
// maps.
func (e *podEncoder) sortedLabels(labels map[string]string) []label {
	e.labels = e.labels[:0]
	for k, v := range labels {
		e.labels = append(e.labels, label{k, v})
	}
	slices.SortFunc(e.labels, func(a, b label) int { return strings.Compare(a.key, b.key) })
	return e.labels
}

func (e *podEncoder) appendWindowJSON(b []byte, window time.Duration) []byte {
	if e.windowText == nil || window != e.window {
		e.window, e.windowText = window, appendJSONString(e.windowText[:0], window.String())
	}
	return append(b, e.windowText...)
}

// appendPodItemProtobuf writes one PodMetrics as field 2 of the list.
func (e *podEncoder) appendPodItemProtobuf(b []byte, it *podItem, created int64) []byte {
	quantities := e.formatContainers(&it.usage)
	labels := e.sortedLabels(it.labels)
	meta := sizeObjectMeta(it, created, labels)
	timestamp := seconds(it.usage.Timestamp)
	window := 1 + sizeVarint(uint64(it.usage.Window))
	size := sizeField(meta) + sizeField(sizeTime(timestamp)) + sizeField(window)
	for i := range it.usage.Containers {
		size += sizeField(sizeContainer(it.usage.Containers[i].Name, &quantities[i]))
	}
	b = appendField(b, 0x12, size)
	b = appendField(b, 0x0a, meta)
	b = appendObjectMeta(b, it, created, labels)
	b = appendTime(b, 0x12, timestamp)
	b = appendField(b, 0x1a, window)
	b = binary.AppendUvarint(append(b, 0x08), uint64(it.usage.Window))
	for i := range it.usage.Containers {
		b = appendContainer(b, it.usage.Containers[i].Name, &quantities[i])
	}
	return b
}

// appendPodListProtobuf writes a PodMetricsList of apiVersion in the
// kubernetes protobuf envelope. The list's size must be known before its
// items are written, so the items are written first, after room for the
// header, which is then moved next to them.
func appendPodListProtobuf(b []byte, apiVersion string, items []podItem, created int64) []byte {
	const kind = "PodMetricsList"
	typeMeta := sizeField(len(apiVersion)) + sizeField(len(kind))
	listMeta := 3 * sizeField(0)
	// The header is at most this long: envelope prefix, TypeMeta, the raw
	// field's tag and length, the list's ListMeta.
	const maxVarint = binary.MaxVarintLen64
	headerRoom := len(protobufPrefix) + sizeField(typeMeta) + 1 + maxVarint + sizeField(listMeta)
	start := len(b)
	b = append(b, make([]byte, headerRoom)...)
	var e podEncoder
	for i := range items {
		b = e.appendPodItemProtobuf(b, &items[i], created)
	}
	itemsLen := len(b) - start - headerRoom

	raw := sizeField(listMeta) + itemsLen
	header := make([]byte, 0, headerRoom)
	header = append(header, protobufPrefix...)
	header = appendField(header, 0x0a, typeMeta)
	header = appendString(header, 0x0a, apiVersion)
	header = appendString(header, 0x12, kind)
	header = appendField(header, 0x12, raw)
	header = appendField(header, 0x0a, listMeta)
	header = append(header, 0x0a, 0, 0x12, 0, 0x1a, 0)
	// Move the items next to the header; contentEncoding and contentType
	// follow, empty.
	out := b[:start+len(header)]
	copy(out[start:], header)
	out = append(out, b[start+headerRoom:]...)
	return append(out, 0x1a, 0, 0x22, 0)
}

// JSON: what encoding/json writes for a v1beta1 PodMetricsList, with the
// list's kind and apiVersion and a newline at the end.

func appendPodListJSON(b []byte, apiVersion string, items []podItem, created int64) []byte {
	b = append(b, `{"kind":"PodMetricsList","apiVersion":`...)
	b = appendJSONString(b, apiVersion)
	b = append(b, `,"metadata":{},"items":[`...)
	createdText := appendJSONTime(nil, created)
	var e podEncoder
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendPodItemJSON(b, &items[i], createdText)
	}
	return append(b, "]}\n"...)
}

func (e *podEncoder) appendPodItemJSON(b []byte, it *podItem, created []byte) []byte {
	// name and namespace are omitted when empty (omitempty).
	b = append(b, `{"metadata":{`...)
	if it.name != "" {
		b = append(b, `"name":`...)
		b = appendJSONString(b, it.name)
		b = append(b, ',')
	}
	if it.namespace != "" {
		b = append(b, `"namespace":`...)
		b = appendJSONString(b, it.namespace)
		b = append(b, ',')
	}
	b = append(b, `"creationTimestamp":`...)
	b = append(b, created...)
	if len(it.labels) > 0 {
		b = append(b, `,"labels":{`...)
		for i, l := range e.sortedLabels(it.labels) {
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
	b = appendJSONTime(b, seconds(it.usage.Timestamp))
	b = append(b, `,"window":`...)
	b = e.appendWindowJSON(b, it.usage.Window)
	b = append(b, `,"containers":[`...)
	quantities := e.formatContainers(&it.usage)
	for i := range it.usage.Containers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, it.usage.Containers[i].Name)
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

// seconds truncates unix nanoseconds to the whole seconds both encodings
// keep of a metav1.Time.
func seconds(unixNano int64) int64 { return time.Unix(0, unixNano).Unix() }
