// Copyright 2026 The kubemetrics Authors.
// SPDX-License-Identifier: Apache-2.0

package scraper

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/kubemetrics/metrics-server/pkg/sample"
)

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
		if !validName(name) {
			return fmt.Errorf("invalid metric name %q", name)
		}
		i = skipBlank(line, i)
	}
	var ref *containerRef
	if i < len(line) && line[i] == '{' {
		blockStart := i
		var labels parsedLabels
		var err error
		i, err = d.readLabels(line, i, &name, &labels)
		if err != nil {
			return err
		}
		key := line[blockStart:i]
		var known bool
		if ref, known = d.blocks[string(key)]; !known {
			ref = d.remember(key, labels)
		}
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
	return d.apply(familyOf(name), ref, value, ts, now, b)
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
			if !validName(label) {
				return i, fmt.Errorf("invalid metric name %q", label)
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
		if !validName(label) {
			return i, fmt.Errorf("invalid label name %q", label)
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
// byte but a newline, and the escapes \\, \n and \". It returns a copy of
// the name.
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
			// Any byte goes inside quotes; the name must be UTF-8 as a
			// whole (see validName).
			if c == '\n' {
				return nil, i, fmt.Errorf("name %q contains unescaped new-line", name)
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

// validName: names are UTF-8, as expfmt's UTF-8 validation requires.
func validName(name []byte) bool { return len(name) > 0 && utf8.Valid(name) }

func isNameStart(c byte, metric bool) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '"' || (metric && c == ':')
}

// isNameByte reports whether c continues an unquoted name.
func isNameByte(c byte, metric bool) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9') || (metric && c == ':')
}
