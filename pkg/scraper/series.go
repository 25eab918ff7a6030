package scraper

import "encoding/binary"

// family is a metric family of the kubelet's /metrics/resource endpoint.
type family uint8

const (
	famOther family = iota // valid syntax, value not needed
	famNodeCPU
	famNodeMemory
	famNodeSwap
	famContainerCPU
	famContainerMemory
	famContainerSwap
	famContainerStart
	famScrapeError
)

// familyOf maps a metric name to the family it belongs to. pod_* series,
// container_swap_limit_bytes and the deprecated scrape_error are deliberately
// famOther: the Metrics API has no field for them.
func familyOf(name []byte) family {
	switch string(name) {
	case "container_cpu_usage_seconds_total":
		return famContainerCPU
	case "container_memory_working_set_bytes":
		return famContainerMemory
	case "container_start_time_seconds":
		return famContainerStart
	case "container_swap_usage_bytes":
		return famContainerSwap
	case "node_cpu_usage_seconds_total":
		return famNodeCPU
	case "node_memory_working_set_bytes":
		return famNodeMemory
	case "node_swap_usage_bytes":
		return famNodeSwap
	case "resource_scrape_error":
		return famScrapeError
	}
	return famOther
}

// A label block is the text between a sample's name and its value, braces
// included. The Decoder keeps each block it has parsed in full with the
// container it names, so a known series costs one map lookup and no
// allocation.

// containerRef is one container of the node's answers. Its namespace, pod
// and name are held in one string, its key in Decoder.containers (see
// containerKey), and sliced from it, so a container costs one small
// allocation for its names.
type containerRef struct {
	key string
	gen uint32 // decode generation in which idx is valid
	idx int32  // index in Batch.Containers
}

func (r *containerRef) names() (namespace, pod, name string) {
	nsLen, at := uvarint(r.key, 0)
	podLen, at := uvarint(r.key, at)
	podAt := at + nsLen
	nameAt := podAt + podLen
	return r.key[at:podAt], r.key[podAt:nameAt], r.key[nameAt:]
}

// containerKey spells namespace, pod and container as one string that no
// other triple spells: the lengths of the first two lead, as uvarints.
func containerKey(buf []byte, l parsedLabels) []byte {
	buf = binary.AppendUvarint(buf[:0], uint64(len(l.namespace)))
	buf = binary.AppendUvarint(buf, uint64(len(l.pod)))
	buf = append(buf, l.namespace...)
	buf = append(buf, l.pod...)
	return append(buf, l.container...)
}

// uvarint reads the uvarint that containerKey wrote at s[at:] and returns
// it with the index after it.
func uvarint(s string, at int) (v, next int) {
	var shift uint
	for {
		c := s[at]
		at++
		v |= int(c&0x7f) << shift
		if c < 0x80 {
			return v, at
		}
		shift += 7
	}
}

func (d *Decoder) containerRefOf(l parsedLabels) *containerRef {
	d.keyBuf = containerKey(d.keyBuf, l)
	ref := d.containers[string(d.keyBuf)]
	if ref == nil {
		key := string(d.keyBuf)
		ref = &containerRef{key: key}
		d.containers[key] = ref
	}
	return ref
}

// prune starts afresh once the blocks outnumber the live containers by far,
// so pods that left the node do not pile up: the next answer is parsed in
// full once, as the first was.
func (d *Decoder) prune(live int) {
	if len(d.blocks) <= 4*live+64 {
		return
	}
	d.blocks = make(map[string]*containerRef, len(d.blocks)/4)
	d.containers = make(map[string]*containerRef, live)
}
