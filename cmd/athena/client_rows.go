package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// row is one result row: its values in column order, as the server sent
// them (JSON text; numbers keep every digit).
type row []json.RawMessage

// rowSet is rows under their column names, in the order the server sent
// them: Go maps would lose that order, so rows are decoded token by token.
type rowSet struct {
	cols []string
	idx  map[string]int
	rows []row
}

// add decodes a JSON array of row objects into rs, widening cols when a
// row names a new column (earlier rows get null there).
func (rs *rowSet) add(data json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return errors.New("rows: not a JSON array")
	}
	for dec.More() {
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return errors.New("rows: an element is not an object")
		}
		r := make(row, len(rs.cols))
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("rows: %w", err)
			}
			name, _ := t.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("rows: %w", err)
			}
			i, ok := rs.idx[name]
			if !ok {
				if rs.idx == nil {
					rs.idx = map[string]int{}
				}
				i = len(rs.cols)
				rs.cols = append(rs.cols, name)
				rs.idx[name] = i
			}
			for len(r) <= i {
				r = append(r, nil)
			}
			r[i] = v
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("rows: %w", err)
		}
		rs.rows = append(rs.rows, r)
	}
	return nil
}

// isRowArray reports whether data is a JSON array (of rows).
func isRowArray(data json.RawMessage) bool {
	d := bytes.TrimSpace(data)
	return len(d) > 0 && d[0] == '['
}

// cell renders a value for a table or CSV: strings unquoted, null empty,
// numbers and booleans as their JSON text, objects and arrays as compact
// JSON.
func cell(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	if v[0] == '{' || v[0] == '[' {
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			return b.String()
		}
	}
	return string(v)
}

// isNumber reports whether v is a JSON number.
func isNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}

// objectRow turns a JSON object into a one-row set (field order kept), for
// replies whose data is one record, such as a job.
func objectRow(data json.RawMessage) (*rowSet, error) {
	rs := &rowSet{}
	var b strings.Builder
	b.WriteByte('[')
	b.Write(data)
	b.WriteByte(']')
	if err := rs.add(json.RawMessage(b.String())); err != nil {
		return nil, err
	}
	return rs, nil
}
