// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import "bytes"

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

// The kubelet spells a container's label block in one way: its labels in
// name order, values escaped as the text format escapes them.
const (
	blockOpen      = `{container="`
	blockNamespace = `",namespace="`
	blockPod       = `",pod="`
	blockClose     = `"}`
	blockDecor     = len(blockOpen) + len(blockNamespace) + len(blockPod) + len(blockClose)
)

// appendBlock appends the block the kubelet writes for the container l
// names; escape=false writes the values as they are instead.
func appendBlock(buf []byte, l parsedLabels, escape bool) []byte {
	value := func(buf, v []byte) []byte {
		if !escape {
			return append(buf, v...)
		}
		for _, c := range v {
			switch c {
			case '\\', '"':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			default:
				buf = append(buf, c)
			}
		}
		return buf
	}
	buf = append(buf, blockOpen...)
	buf = value(buf, l.container)
	buf = append(buf, blockNamespace...)
	buf = value(buf, l.namespace)
	buf = append(buf, blockPod...)
	buf = value(buf, l.pod)
	return append(buf, blockClose...)
}

// containerRef is one container of the node's answers. Its names are sliced
// from text, the container's block as the kubelet spells it with the values
// unescaped: where no value needs escaping, as with every name Kubernetes
// allows, text is the very string that keys the block in Decoder.blocks, so
// a container costs two small allocations, this and its text.
type containerRef struct {
	text           string
	nameLen, nsLen uint32
	gen            uint32 // decode generation in which idx is valid
	idx            int32  // index in Batch.Containers
}

func (r *containerRef) names() (namespace, pod, name string) {
	nameAt := len(blockOpen)
	nsAt := nameAt + int(r.nameLen) + len(blockNamespace)
	podAt := nsAt + int(r.nsLen) + len(blockPod)
	return r.text[nsAt : nsAt+int(r.nsLen)], r.text[podAt : len(r.text)-len(blockClose)], r.text[nameAt : nameAt+int(r.nameLen)]
}

// remember keeps a block that was parsed in full, with the container it
// names or nil. Blocks that spell one container differently (labels in
// another order, or more labels) share its reference, found under the
// kubelet's spelling, so their samples meet in one Batch container.
func (d *Decoder) remember(block []byte, l parsedLabels) *containerRef {
	if l.namespace == nil || l.pod == nil || l.container == nil {
		d.blocks[string(block)] = nil
		return nil
	}
	d.keyBuf = appendBlock(d.keyBuf[:0], l, true)
	ref := d.blocks[string(d.keyBuf)]
	if ref == nil {
		kubelets := string(d.keyBuf)
		ref = &containerRef{text: kubelets, nameLen: uint32(len(l.container)), nsLen: uint32(len(l.namespace))}
		if len(kubelets) != blockDecor+len(l.container)+len(l.namespace)+len(l.pod) {
			ref.text = string(appendBlock(nil, l, false)) // a value was escaped
		}
		d.blocks[kubelets] = ref
	}
	if !bytes.Equal(block, d.keyBuf) {
		d.blocks[string(block)] = ref
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
}
