package scraper

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

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

// Decoder reads the Prometheus text format (0.0.4) that a kubelet serves on
// /metrics/resource. It accepts every input that expfmt's TextParser accepts
// and reads the same values from it (see decode_diff_test.go), but it is built
// for the steady state of a scrape loop: each label block it has seen is kept
// with the series it names, so a known series costs one map lookup and no
// allocation. A Decoder is used by one goroutine at a time, typically one per
// node, and is reused for every scrape of that node.
type Decoder struct {
	// blocks maps the raw bytes of a label block, braces included, to what
	// they name. Blocks are compared byte for byte, so a cached entry was
	// validated by a full parse of exactly these bytes.
	blocks map[string]*labelBlock
	// containers gives every (namespace, pod, container) one reference, so
	// blocks that spell the same container differently share it.
	containers map[containerKey]*containerRef
	gen        uint32
	scratch    []byte
}

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

// NewDecoder returns an empty decoder.
func NewDecoder() *Decoder {
	return &Decoder{
		blocks:     make(map[string]*labelBlock),
		containers: make(map[containerKey]*containerRef),
	}
}

// Decode parses one complete /metrics/resource answer into b, which is reset
// first. now (unix nanoseconds) stands in for samples without a timestamp. An
// input that does not end in a newline is rejected: it was cut off.
func (d *Decoder) Decode(data []byte, now int64, b *sample.Batch) error {
	b.Reset()
	d.gen++
	for lineNo := 1; len(data) > 0; lineNo++ {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			if skipBlank(data, 0) == len(data) {
				break // trailing blanks end the input as well as a newline does
			}
			return lineError(lineNo, data, errors.New("unexpected end of input: the last line has no newline, the answer was cut off"))
		}
		line := data[:nl]
		data = data[nl+1:]
		if err := d.line(line, now, b); err != nil {
			return lineError(lineNo, line, err)
		}
	}
	d.prune(len(b.Containers))
	return nil
}

func lineError(lineNo int, line []byte, err error) error {
	const maxShown = 80
	shown := line
	if len(shown) > maxShown {
		shown = shown[:maxShown]
	}
	return fmt.Errorf("line %d %q: %w", lineNo, shown, err)
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

func (d *Decoder) line(line []byte, now int64, b *sample.Batch) error {
	i := skipBlank(line, 0)
	if i == len(line) {
		return nil
	}
	if line[i] == '#' {
		return checkComment(line[i+1:])
	}
	// Fast path: an unquoted name, then labels, value and timestamp found
	// from the end of the line and a label block seen before.
	start := i
	if isNameStart(line[i], true) {
		for i < len(line) && isNameByte(line[i], true) {
			i++
		}
		if i == len(line) || line[i] == '{' || isBlank(line[i]) {
			if ok, err := d.knownSample(familyOf(line[start:i]), line[i:], now, b); ok {
				return err
			}
		}
	}
	return d.parseSample(line[start:], now, b)
}

// knownSample handles a sample line after its unquoted name. It reports
// ok=false when the line is not in the simple form, or its label block was
// not seen before; the caller then parses the line in full.
func (d *Decoder) knownSample(fam family, rest []byte, now int64, b *sample.Batch) (ok bool, err error) {
	// Last token, then an optional second-to-last: value [timestamp].
	end := len(rest)
	tokStart := lastTokenStart(rest, end)
	if tokStart == end || tokStart == 0 {
		return false, nil
	}
	valEnd, valStart := end, tokStart
	var ts []byte
	p := skipBlankBack(rest, tokStart)
	if p > 0 && rest[p-1] != '}' {
		// Two tokens after the labels: value and timestamp.
		ts = rest[tokStart:end]
		valEnd = p
		valStart = lastTokenStart(rest, p)
		if valStart == 0 {
			return false, nil
		}
		p = skipBlankBack(rest, valStart)
	}
	if bytes.IndexByte(rest[valStart:valEnd], '}') >= 0 {
		// The value is glued to the label block ("A {}0"): not the simple
		// form.
		return false, nil
	}
	blockStart := skipBlank(rest, 0)
	var blk *labelBlock
	if blockStart < p {
		if rest[blockStart] != '{' || rest[p-1] != '}' {
			return false, nil
		}
		blk = d.blocks[string(rest[blockStart:p])]
		if blk == nil {
			return false, nil
		}
		blk.gen = d.gen
	}
	return true, d.apply(fam, blk, rest[valStart:valEnd], ts, now, b)
}

// apply stores one sample's value into the batch.
func (d *Decoder) apply(fam family, blk *labelBlock, value, ts []byte, now int64, b *sample.Batch) error {
	if fam == famOther {
		// Only the syntax matters.
		if _, err := parseFloat(value); err != nil {
			return err
		}
		_, _, err := parseTimestamp(ts, now)
		return err
	}
	scale := 0 // decimal exponent turning the text into an integer unit
	switch fam {
	case famNodeCPU, famContainerCPU, famContainerStart:
		scale = 9 // seconds to nanoseconds
	}
	v, usable, err := parseScaled(value, scale)
	if err != nil {
		return err
	}
	at, ok, err := parseTimestamp(ts, now)
	if err != nil {
		return err
	}
	if fam == famScrapeError {
		b.KubeletError = b.KubeletError || (usable && v > 0)
		return nil
	}
	if !usable || !ok {
		b.Skipped++
		return nil
	}
	switch fam {
	case famNodeCPU:
		b.Node.CPU, b.Node.CPUTime = v, at
		b.Node.Fields |= sample.HasCPU
		return nil
	case famNodeMemory:
		b.Node.Memory, b.Node.MemoryTime = v, at
		b.Node.Fields |= sample.HasMemory
		return nil
	case famNodeSwap:
		b.Node.Swap = v
		b.Node.Fields |= sample.HasSwap
		return nil
	}
	if blk == nil || blk.container == nil || (fam == famContainerStart && v > math.MaxInt64) {
		// A container sample must name namespace, pod and container, and a
		// start time must fit in int64 nanoseconds.
		b.Skipped++
		return nil
	}
	c := d.containerOf(blk.container, b)
	switch fam {
	case famContainerCPU:
		c.CPU, c.CPUTime = v, at
		c.Fields |= sample.HasCPU
	case famContainerMemory:
		c.Memory, c.MemoryTime = v, at
		c.Fields |= sample.HasMemory
	case famContainerSwap:
		c.Swap = v
		c.Fields |= sample.HasSwap
	case famContainerStart:
		c.StartTime = int64(v)
	}
	return nil
}

// parseTimestamp converts an optional millisecond timestamp to unix
// nanoseconds; a missing one is now. usable is false for times before 1970
// or beyond what int64 nanoseconds hold.
func parseTimestamp(ts []byte, now int64) (at int64, usable bool, err error) {
	if ts == nil {
		return now, true, nil
	}
	ms, err := strconv.ParseInt(string(ts), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("expected integer as timestamp, got %q", ts)
	}
	if ms <= 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false, nil
	}
	return ms * int64(time.Millisecond), true, nil
}

func (d *Decoder) containerOf(ref *containerRef, b *sample.Batch) *sample.Container {
	if ref.gen != d.gen {
		ref.gen = d.gen
		ref.idx = int32(len(b.Containers))
		b.Containers = append(b.Containers, sample.Container{
			Namespace: ref.key.namespace,
			Pod:       ref.key.pod,
			Name:      ref.key.name,
		})
	}
	return &b.Containers[ref.idx]
}

// parseSample parses a sample line in full, following the grammar of
// expfmt's TextParser: the name may be quoted, or written inside the braces,
// and blanks may stand between tokens. A label block it has not seen before
// is remembered for knownSample.
func (d *Decoder) parseSample(line []byte, now int64, b *sample.Batch) error {
	var name []byte
	i := 0
	if line[0] != '{' {
		var err error
		name, i, err = d.readName(line, 0, true)
		if err != nil {
			return err
		}
		if len(name) == 0 {
			return errors.New("invalid metric name")
		}
		i = skipBlank(line, i)
	}
	var blk *labelBlock
	if i < len(line) && line[i] == '{' {
		blockStart := i
		var labels parsedLabels
		var err error
		i, err = d.readLabels(line, i, &name, &labels)
		if err != nil {
			return err
		}
		key := line[blockStart:i]
		if blk = d.blocks[string(key)]; blk == nil {
			blk = &labelBlock{}
			if labels.namespace != nil && labels.pod != nil && labels.container != nil {
				blk.container = d.containerRefOf(labels)
			}
			d.blocks[string(key)] = blk
		}
		blk.gen = d.gen
		i = skipBlank(line, i)
	}
	valStart := i
	for i < len(line) && !isBlank(line[i]) {
		i++
	}
	value := line[valStart:i]
	var ts []byte
	if i < len(line) {
		i = skipBlank(line, i)
		tsStart := i
		for i < len(line) && !isBlank(line[i]) {
			i++
		}
		ts = line[tsStart:i]
		if i < len(line) {
			return fmt.Errorf("spurious string after timestamp: %q", line[i:])
		}
		if len(ts) == 0 {
			return errors.New("expected integer as timestamp, got \"\"")
		}
	}
	if len(value) == 0 {
		return errors.New("expected float as value, got \"\"")
	}
	return d.apply(familyOf(name), blk, value, ts, now, b)
}

// parsedLabels holds the unescaped values of the labels a container needs;
// a nil slice means the label was absent.
type parsedLabels struct {
	namespace, pod, container []byte
}

// readLabels parses a label block starting at line[i] == '{' and returns the
// index after its '}'. A metric name written inside the braces is stored in
// *name.
func (d *Decoder) readLabels(line []byte, i int, name *[]byte, out *parsedLabels) (int, error) {
	i++ // '{'
	nameInBraces := len(*name) == 0
	var seen [][]byte // label names, for the duplicate check
	for {
		i = skipBlank(line, i)
		if i == len(line) {
			return i, errors.New("unexpected end of label block")
		}
		if line[i] == '}' {
			if len(*name) == 0 {
				return i, errors.New("invalid metric name")
			}
			return i + 1, nil
		}
		label, next, err := d.readName(line, i, false)
		if err != nil {
			return i, err
		}
		if len(label) == 0 {
			return i, fmt.Errorf("invalid label name for metric %q", *name)
		}
		i = skipBlank(line, next)
		if i == len(line) {
			return i, errors.New("unexpected end of label block")
		}
		if line[i] != '=' {
			if !nameInBraces || len(*name) != 0 {
				if nameInBraces {
					return i, fmt.Errorf("multiple metric names for metric %q", *name)
				}
				return i, fmt.Errorf("expected '=' after label name, found %q", line[i])
			}
			if line[i] != ',' && line[i] != '}' {
				return i, fmt.Errorf("unexpected end of metric name %q", line[i])
			}
			*name = label
			if line[i] == ',' {
				i++
			}
			continue
		}
		if string(label) == "__name__" {
			return i, errors.New(`label name "__name__" is reserved`)
		}
		for _, s := range seen {
			if bytes.Equal(s, label) {
				return i, fmt.Errorf("duplicate label names for metric %q", *name)
			}
		}
		seen = append(seen, label)
		i = skipBlank(line, i+1)
		if i == len(line) || line[i] != '"' {
			return i, errors.New("expected '\"' at start of label value")
		}
		value, next, err := d.readQuoted(line, i+1)
		if err != nil {
			return i, err
		}
		if !utf8.Valid(value) {
			return i, fmt.Errorf("invalid label value %q", value)
		}
		switch string(label) {
		case "namespace":
			out.namespace = value
		case "pod":
			out.pod = value
		case "container":
			out.container = value
		}
		i = skipBlank(line, next)
		if i == len(line) {
			return i, errors.New("unexpected end of label block")
		}
		switch line[i] {
		case ',':
			i++
		case '}':
			if len(*name) == 0 {
				return i, errors.New("invalid metric name")
			}
			return i + 1, nil
		default:
			return i, fmt.Errorf("unexpected end of label value %q", value)
		}
	}
}

// readName reads a metric name (metric=true) or label name at line[i], quoted
// or not, as expfmt does: a quote toggles quoting, a quoted name may hold any
// ASCII byte and the escapes \\, \n and \". It returns a copy of the name.
func (d *Decoder) readName(line []byte, i int, metric bool) ([]byte, int, error) {
	if i >= len(line) || !isNameStart(line[i], metric) {
		return nil, i, nil
	}
	var name []byte
	quoted, escaped := false, false
	for {
		c := line[i]
		switch {
		case escaped:
			switch c {
			case '\\', '"':
				name = append(name, c)
			case 'n':
				name = append(name, '\n')
			default:
				return nil, i, fmt.Errorf("invalid escape sequence '\\%c'", c)
			}
			escaped = false
		case c == '"':
			quoted = !quoted
			if !quoted {
				return name, i + 1, nil
			}
		case c == '\\':
			escaped = true
		default:
			name = append(name, c)
		}
		i++
		if i == len(line) {
			if quoted {
				return nil, i, errors.New("unexpected end of quoted name")
			}
			return name, i, nil
		}
		c = line[i]
		if quoted {
			if c == '\n' {
				return nil, i, fmt.Errorf("name %q contains unescaped new-line", name)
			}
			if c >= utf8.RuneSelf {
				return name, i, nil
			}
		} else if !isNameByte(c, metric) && c != '"' {
			return name, i, nil
		}
	}
}

// readQuoted reads a label value from line[i] up to its closing quote and
// returns the unescaped value and the index after the quote. A value without
// a backslash is returned without copying.
func (d *Decoder) readQuoted(line []byte, i int) ([]byte, int, error) {
	rest := line[i:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return nil, len(line), errors.New("unterminated label value")
	}
	if bytes.IndexByte(rest[:q], '\\') < 0 {
		return rest[:q], i + q + 1, nil
	}
	d.scratch = d.scratch[:0]
	for j := 0; j < len(rest); j++ {
		c := rest[j]
		switch c {
		case '"':
			return append([]byte(nil), d.scratch...), i + j + 1, nil
		case '\\':
			j++
			if j == len(rest) {
				return nil, len(line), errors.New("unterminated label value")
			}
			switch rest[j] {
			case '"', '\\':
				d.scratch = append(d.scratch, rest[j])
			case 'n':
				d.scratch = append(d.scratch, '\n')
			default:
				return nil, i + j, fmt.Errorf("invalid escape sequence '\\%c'", rest[j])
			}
		default:
			d.scratch = append(d.scratch, c)
		}
	}
	return nil, len(line), errors.New("unterminated label value")
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

// checkComment validates a comment line (after '#') as far as expfmt does
// where it matters: a TYPE line for a consumed family must name a type whose
// samples are plain values.
func checkComment(c []byte) error {
	i := skipBlank(c, 0)
	j := i
	for j < len(c) && !isBlank(c[j]) {
		j++
	}
	if string(c[i:j]) != "TYPE" {
		return nil
	}
	i = skipBlank(c, j)
	j = i
	for j < len(c) && isNameByte(c[j], true) {
		j++
	}
	if familyOf(c[i:j]) == famOther || j == len(c) || !isBlank(c[j]) {
		return nil
	}
	typ := c[skipBlank(c, j):]
	for _, plain := range []string{"counter", "gauge", "untyped", ""} {
		if bytes.EqualFold(typ, []byte(plain)) {
			return nil
		}
	}
	return fmt.Errorf("unexpected type %q for metric %q", typ, c[i:j])
}

// parseFloat parses a sample value as expfmt does.
func parseFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, fmt.Errorf("expected float as value, got %q", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("expected float as value, got %q", b)
	}
	return f, nil
}

// parseScaled parses a non-negative decimal value times 10^scale, rounded to
// the nearest integer. Decimal text is converted exactly, without the
// rounding of a float64: a CPU counter printed as 4321.77 seconds becomes
// exactly 4321770000000 nanoseconds. Other forms go through strconv.
// usable is false for NaN, infinities, negative or too large values.
func parseScaled(b []byte, scale int) (v uint64, usable bool, err error) {
	if v, ok := parseDecimalScaled(b, scale); ok {
		return v, true, nil
	}
	f, err := parseFloat(b)
	if err != nil {
		return 0, false, err
	}
	f *= math.Pow10(scale)
	if !(f >= 0) || f >= math.MaxUint64 {
		return 0, false, nil
	}
	return uint64(math.Round(f)), true, nil
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// parseDecimalScaled handles the forms a kubelet prints: digits, an
// optional fraction and an optional exponent, at most 19 significant digits.
// It reports ok=false for anything else, including values it cannot hold.
func parseDecimalScaled(b []byte, scale int) (uint64, bool) {
	i := 0
	if i < len(b) && b[i] == '+' {
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	sawDigit := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		sawDigit = true
		if mant == 0 && b[i] == '0' {
			continue
		}
		if digits == 19 {
			return 0, false
		}
		mant = mant*10 + uint64(b[i]-'0')
		digits++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			sawDigit = true
			exp--
			if mant == 0 && b[i] == '0' {
				continue
			}
			if digits == 19 {
				return 0, false
			}
			mant = mant*10 + uint64(b[i]-'0')
			digits++
		}
	}
	if !sawDigit {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		neg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			neg = b[i] == '-'
			i++
		}
		e, n := 0, 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e < 10000 {
				e = e*10 + int(b[i]-'0')
			}
			n++
		}
		if n == 0 {
			return 0, false
		}
		if neg {
			e = -e
		}
		exp += e
	}
	if i != len(b) {
		return 0, false
	}
	if mant == 0 {
		return 0, true
	}
	exp += scale
	switch {
	case exp >= 0:
		if exp >= len(pow10) {
			return 0, false
		}
		hi, lo := mulU64(mant, pow10[exp])
		if hi != 0 {
			return 0, false
		}
		return lo, true
	case -exp >= len(pow10):
		return 0, true // rounds to zero: mant < 10^19 < 0.5 * 10^(-exp)
	default:
		div := pow10[-exp]
		q, r := mant/div, mant%div
		if r >= div-r { // round half up
			q++
		}
		return q, true
	}
}

func mulU64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t&mask32 + a0*b1
	hi = a1*b1 + t>>32 + w1>>32
	lo = a * b
	return hi, lo
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlank(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}

func skipBlankBack(b []byte, i int) int {
	for i > 0 && isBlank(b[i-1]) {
		i--
	}
	return i
}

// lastTokenStart returns where the non-blank token ending at end starts.
func lastTokenStart(b []byte, end int) int {
	i := end
	for i > 0 && !isBlank(b[i-1]) {
		i--
	}
	return i
}

func isNameStart(c byte, metric bool) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '"' || (metric && c == ':')
}

// isNameByte reports whether c continues an unquoted name.
func isNameByte(c byte, metric bool) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9') || (metric && c == ':')
}
