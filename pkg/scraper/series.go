package scraper

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

type containerKey struct{ namespace, pod, name string }

type containerRef struct {
	key containerKey
	gen uint32 // decode generation in which idx is valid
	idx int32  // index in Batch.Containers
}

type labelBlock struct {
	container *containerRef // nil unless the block names a container
	gen       uint32        // last decode that used it, for pruning
}

func (d *Decoder) containerRefOf(l parsedLabels) *containerRef {
	key := containerKey{string(l.namespace), string(l.pod), string(l.container)}
	ref := d.containers[key]
	if ref == nil {
		ref = &containerRef{key: key}
		d.containers[key] = ref
	}
	return ref
}

// prune forgets blocks and containers not seen in the latest decode once they
// outnumber the live ones, so pods that left the node do not pile up.
func (d *Decoder) prune(live int) {
	if len(d.blocks) <= 4*live+64 {
		return
	}
	for k, blk := range d.blocks {
		if blk.gen != d.gen {
			delete(d.blocks, k)
		}
	}
	for k, ref := range d.containers {
		if ref.gen != d.gen {
			delete(d.containers, k)
		}
	}
}
