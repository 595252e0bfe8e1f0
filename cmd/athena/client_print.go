package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// printer writes rows in one output format, batch by batch, so a streamed
// result is printed as its chunks arrive and never held whole. A table's
// column widths are those of the first batch, widened (never narrowed) by
// later ones: each line is final once printed, which suits a pager.
type printer struct {
	w        io.Writer
	format   outputFormat
	expanded bool // table: one block per row (\x)

	cols    []string
	widths  []int
	numeric []bool // right-aligned: every value so far is a number
	n       int64  // rows printed
	csv     *csv.Writer
}

// batch prints the rows of rs.
func (p *printer) batch(rs *rowSet) error {
	if p.cols == nil {
		p.cols = append([]string{}, rs.cols...)
		p.widths = make([]int, len(p.cols))
		p.numeric = make([]bool, len(p.cols))
		for i, c := range p.cols {
			p.widths[i] = displayWidth(c)
			p.numeric[i] = true
		}
	}
	rows := p.align(rs)
	switch p.format {
	case formatJSON, formatNDJSON:
		return p.jsonRows(rows)
	case formatCSV:
		return p.csvRows(rows)
	}
	if p.expanded {
		return p.expandedRows(rows)
	}
	return p.tableRows(rows)
}

// align reorders rs's values into p's columns (a later batch may order
// them differently, or lack some).
func (p *printer) align(rs *rowSet) []row {
	same := len(rs.cols) == len(p.cols)
	for i := 0; same && i < len(p.cols); i++ {
		same = rs.cols[i] == p.cols[i]
	}
	if same {
		return rs.rows
	}
	out := make([]row, len(rs.rows))
	for k, r := range rs.rows {
		nr := make(row, len(p.cols))
		for i, c := range p.cols {
			if j, ok := rs.idx[c]; ok && j < len(r) {
				nr[i] = r[j]
			}
		}
		out[k] = nr
	}
	return out
}

func (p *printer) jsonRows(rows []row) error {
	var b bytes.Buffer
	for _, r := range rows {
		switch {
		case p.format == formatNDJSON:
		case p.n == 0:
			b.WriteString("[\n  ")
		default:
			b.WriteString(",\n  ")
		}
		b.WriteByte('{')
		for i, c := range p.cols {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(c)
			b.Write(k)
			b.WriteByte(':')
			v := json.RawMessage("null")
			if i < len(r) && len(r[i]) > 0 {
				v = r[i]
			}
			if err := json.Compact(&b, v); err != nil {
				return fmt.Errorf("encode row: %w", err)
			}
		}
		b.WriteByte('}')
		if p.format == formatNDJSON {
			b.WriteByte('\n')
		}
		p.n++
	}
	_, err := p.w.Write(b.Bytes())
	return err
}

func (p *printer) csvRows(rows []row) error {
	if p.csv == nil {
		p.csv = csv.NewWriter(p.w)
		if len(p.cols) > 0 {
			if err := p.csv.Write(p.cols); err != nil {
				return err
			}
		}
	}
	rec := make([]string, len(p.cols))
	for _, r := range rows {
		for i := range p.cols {
			rec[i] = ""
			if i < len(r) {
				rec[i] = cell(r[i])
			}
		}
		if err := p.csv.Write(rec); err != nil {
			return err
		}
		p.n++
	}
	p.csv.Flush()
	return p.csv.Error()
}

// tableRows prints rows aligned, psql-style; the header comes with the
// first batch.
func (p *printer) tableRows(rows []row) error {
	cells := make([][]string, len(rows))
	for k, r := range rows {
		cells[k] = make([]string, len(p.cols))
		for i := range p.cols {
			var v json.RawMessage
			if i < len(r) {
				v = r[i]
			}
			s := printable(cell(v))
			cells[k][i] = s
			p.widths[i] = max(p.widths[i], displayWidth(s))
			if s != "" && !isNumber(v) {
				p.numeric[i] = false
			}
		}
	}
	var b strings.Builder
	if p.n == 0 && len(p.cols) > 0 {
		p.line(&b, p.cols, false)
		for i, w := range p.widths {
			if i > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.Repeat("-", w+2))
		}
		b.WriteByte('\n')
	}
	for _, c := range cells {
		p.line(&b, c, true)
		p.n++
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// line writes one table line; values of numeric columns are right-aligned.
func (p *printer) line(b *strings.Builder, cells []string, values bool) {
	var l strings.Builder
	for i, s := range cells {
		if i > 0 {
			l.WriteString(" |")
		}
		l.WriteByte(' ')
		pad := strings.Repeat(" ", max(0, p.widths[i]-displayWidth(s)))
		if values && p.numeric[i] {
			l.WriteString(pad + s)
		} else {
			l.WriteString(s + pad)
		}
	}
	b.WriteString(strings.TrimRight(l.String(), " "))
	b.WriteByte('\n')
}

// expandedRows prints one block per row: a record header, then one
// "column | value" line per column.
func (p *printer) expandedRows(rows []row) error {
	keyW := 0
	for _, c := range p.cols {
		keyW = max(keyW, displayWidth(c))
	}
	var b strings.Builder
	for _, r := range rows {
		p.n++
		vals := make([]string, len(p.cols))
		valW := 0
		for i := range p.cols {
			if i < len(r) {
				vals[i] = printable(cell(r[i]))
			}
			valW = max(valW, displayWidth(vals[i]))
		}
		head := fmt.Sprintf("-[ RECORD %d ]", p.n)
		b.WriteString(head + strings.Repeat("-", max(0, min(keyW+3+valW, 79)-len(head))) + "\n")
		for i, c := range p.cols {
			b.WriteString(strings.TrimRight(c+strings.Repeat(" ", keyW-displayWidth(c))+" | "+vals[i], " ") + "\n")
		}
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// end finishes the output: it closes a JSON array (an empty one when no
// row came).
func (p *printer) end() error {
	if p.format != formatJSON {
		return nil
	}
	if p.n == 0 {
		_, err := io.WriteString(p.w, "[]\n")
		return err
	}
	_, err := io.WriteString(p.w, "\n]\n")
	return err
}

// printable escapes control characters, so one value stays on one line of
// a table.
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// displayWidth is how many terminal columns s takes: East Asian wide and
// fullwidth characters take two, combining marks none.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

// printValue prints a reply's data that is not a row array (one record
// such as a job, or a write's summary): indented JSON, one compact line
// for ndjson, and one row (a table or CSV line) otherwise.
func printValue(w io.Writer, format outputFormat, data json.RawMessage) error {
	data = bytes.TrimSpace(data)
	switch format {
	case formatJSON:
		var b bytes.Buffer
		if err := json.Indent(&b, data, "", "  "); err != nil {
			return fmt.Errorf("encode reply: %w", err)
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return err
	case formatNDJSON:
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return fmt.Errorf("encode reply: %w", err)
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return err
	}
	if len(data) == 0 || data[0] != '{' {
		_, err := fmt.Fprintln(w, cell(data))
		return err
	}
	rs, err := objectRow(data)
	if err != nil {
		return err
	}
	p := &printer{w: w, format: format, expanded: format == formatTable}
	if err := p.batch(rs); err != nil {
		return err
	}
	return p.end()
}
