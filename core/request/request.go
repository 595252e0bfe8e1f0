package request

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/athena-go/athena/core/vocab"
)

// Condition is one filter as the client sent it, before validation.
type Condition struct {
	Column   string
	Operator vocab.Op
	Value    any
}

// SortBy is the client's sort_by.
type SortBy struct {
	Column string
	Desc   bool
}

// PostProcessing holds the post-processing Fields of a fetch or update. They
// are decoded and checked here; postProcess applies them to the reply.
type PostProcessing struct {
	GroupBy             string
	TimeGranularity     string
	AggregationColumn   string
	AggregationStrategy string
	AggregationDedup    bool
}

// FetchRequest is a decoded /gateway/fetch body.
type FetchRequest struct {
	Table      string
	Columns    []string // nil means every column
	Conditions []Condition
	Limit      *int64
	Offset     *int64
	Sort       *SortBy
	StripNulls *bool
	Post       PostProcessing
	// Aggregate, when set, asks the database for groups and measures
	// instead of rows (see aggregate.go).
	Aggregate *Aggregate
}

// InsertRequest is a decoded /gateway/insert body.
type InsertRequest struct {
	Table         string
	Rows          []map[string]any
	Keys          [][]string // per row, its keys in the order the client sent them
	OnConflict    []string
	UpdateBody    map[string]any
	Returning     []string
	DefaultToNull bool
}

// UpdateRequest is a decoded /gateway/update body.
type UpdateRequest struct {
	Table      string
	Set        map[string]any
	Conditions []Condition
	Returning  []string
	StripNulls *bool
	Post       PostProcessing
}

// DeleteRequest is a decoded /gateway/delete body.
type DeleteRequest struct {
	Table      string
	ResourceID any // string or json.Number; nil when absent
	Conditions []Condition
	Returning  []string
}

// QueryRequest is a decoded /gateway/query or /query/sql body.
type QueryRequest struct {
	Query  string
	Driver string // /query/sql only
	DBName string // /query/sql only
}

func tableName(f Fields) (string, error) {
	t, err := f.Str("table_name")
	if err != nil {
		return "", err
	}
	if t == "" {
		if t, err = f.Str("view_name"); err != nil {
			return "", err
		}
	}
	if strings.TrimSpace(t) == "" {
		return "", vocab.Errorf(vocab.CodeBadRequest, "field table_name: required")
	}
	return t, nil
}

// DecodeFetch decodes a fetch body. Unknown Fields are ignored, because
// Athena clients send options this gateway does not use.
func DecodeFetch(body []byte) (*FetchRequest, error) {
	return decodeFetch(body, false)
}

// decodeFetch is DecodeFetch; valid says body is known to be valid JSON.
func decodeFetch(body []byte, valid bool) (*FetchRequest, error) {
	var members [16]Member // a body's members, on the stack when they fit
	f, err := decodeObject(members[:0], body, valid)
	if err != nil {
		return nil, err
	}
	r := &FetchRequest{}
	if r.Table, err = tableName(f); err != nil {
		return nil, err
	}
	if r.Columns, err = f.Names("columns"); err != nil {
		return nil, err
	}
	if r.Conditions, err = decodeConditions(f); err != nil {
		return nil, err
	}
	if r.Limit, err = f.Int("limit"); err != nil {
		return nil, err
	}
	if r.Offset, err = f.Int("offset"); err != nil {
		return nil, err
	}
	page, err := f.Int("current_page")
	if err != nil {
		return nil, err
	}
	size, err := f.Int("page_size")
	if err != nil {
		return nil, err
	}
	if page != nil || size != nil {
		if page == nil || size == nil {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "Fields current_page and page_size: give both or neither")
		}
		if *page < 1 {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field current_page: pages start at 1")
		}
		if *size < 1 {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field page_size: must be at least 1")
		}
		if *page-1 > maxSafeInt / *size {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field current_page: %d is too large", *page)
		}
		off := (*page - 1) * *size
		r.Limit, r.Offset = size, &off
	}
	if r.Sort, err = decodeSort(f); err != nil {
		return nil, err
	}
	if r.StripNulls, err = f.Bool("strip_nulls"); err != nil {
		return nil, err
	}
	if r.Post, err = decodePost(f); err != nil {
		return nil, err
	}
	if r.Aggregate, err = decodeAggregate(f); err != nil {
		return nil, err
	}
	if r.Aggregate != nil {
		if len(r.Columns) > 0 {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "Fields columns and aggregate: give one; an aggregate's columns are its group_by and measures")
		}
		if r.Post.GroupBy != "" || r.Post.AggregationColumn != "" || r.Post.TimeGranularity != "" {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "Fields group_by, time_granularity and aggregation_column post-process rows and do not combine with aggregate; put the groups in aggregate.group_by")
		}
	}
	return r, nil
}

func decodePost(f Fields) (PostProcessing, error) {
	var p PostProcessing
	var err error
	if p.GroupBy, err = f.Str("group_by"); err != nil {
		return p, err
	}
	if p.TimeGranularity, err = f.Str("time_granularity"); err != nil {
		return p, err
	}
	switch p.TimeGranularity {
	case "", "day", "hour", "minute":
	default:
		return p, vocab.Errorf(vocab.CodeBadRequest, "field time_granularity: must be day, hour or minute, got %q", p.TimeGranularity)
	}
	if p.AggregationColumn, err = f.Str("aggregation_column"); err != nil {
		return p, err
	}
	if p.AggregationStrategy, err = f.Str("aggregation_strategy"); err != nil {
		return p, err
	}
	switch p.AggregationStrategy {
	case "", "cumulative_sum":
	default:
		return p, vocab.Errorf(vocab.CodeBadRequest, "field aggregation_strategy: must be cumulative_sum, got %q", p.AggregationStrategy)
	}
	if p.AggregationStrategy != "" && p.AggregationColumn == "" {
		return p, vocab.Errorf(vocab.CodeBadRequest, "field aggregation_strategy: needs aggregation_column")
	}
	dedup, err := f.Bool("aggregation_dedup")
	if err != nil {
		return p, err
	}
	p.AggregationDedup = dedup != nil && *dedup
	return p, nil
}

func decodeSort(f Fields) (*SortBy, error) {
	raw, ok := f.Get("sort_by")
	if !ok || IsNull(raw) {
		return nil, nil
	}
	switch jsonKind(raw) {
	case "a string":
		var s string
		_ = json.Unmarshal(raw, &s)
		if s == "" {
			return nil, nil
		}
		return &SortBy{Column: s}, nil
	case "an object":
	default:
		return nil, TypeError("sort_by", "an object {field, direction}", raw)
	}
	var sf Fields
	if err := json.Unmarshal(raw, &sf); err != nil {
		return nil, TypeError("sort_by", "an object {field, direction}", raw)
	}
	col, err := sf.Str("field")
	if err != nil {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field sort_by.field: expected a string")
	}
	if col == "" {
		if col, err = sf.Str("column"); err != nil {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field sort_by.column: expected a string")
		}
	}
	if col == "" {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field sort_by: needs field or column")
	}
	dir, err := sf.Str("direction")
	if err != nil {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field sort_by.direction: expected a string")
	}
	// Athena: "asc" and "ascending" sort ascending, anything else descending.
	// An absent direction is ascending, as in SQL.
	d := strings.ToLower(strings.TrimSpace(dir))
	desc := d != "" && d != "asc" && d != "ascending"
	return &SortBy{Column: col, Desc: desc}, nil
}

// maxConditions bounds the filters one request may carry.
const maxConditions = 256

func decodeConditions(f Fields) ([]Condition, error) {
	raw, ok := f.Get("conditions")
	if !ok || IsNull(raw) {
		return nil, nil
	}
	if jsonKind(raw) != "an array" {
		return nil, TypeError("conditions", "an array of conditions", raw)
	}
	var itemsIn [8]json.RawMessage
	items, ok := splitArray(itemsIn[:0], raw)
	if !ok {
		// Decoded into a variable of its own: &items would move itemsIn
		// to the heap.
		var long []json.RawMessage
		if json.Unmarshal(raw, &long) != nil {
			return nil, TypeError("conditions", "an array of conditions", raw)
		}
		items = long
	}
	if len(items) > maxConditions {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field conditions: at most %d conditions, got %d", maxConditions, len(items))
	}
	out := make([]Condition, 0, len(items))
	for i, item := range items {
		c, err := decodeCondition(item)
		if err != nil {
			return nil, vocab.Prefixed(err, fmt.Sprintf("conditions[%d]: ", i))
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeCondition(raw json.RawMessage) (Condition, error) {
	if jsonKind(raw) != "an object" {
		return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field conditions: each condition must be an object")
	}
	var members [4]Member
	cf, ok := splitObject(members[:0], raw)
	if !ok {
		var long Fields // not &cf, which would move members to the heap
		if json.Unmarshal(raw, &long) != nil {
			return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field conditions: each condition must be an object")
		}
		cf = long
	}

	if _, ok := cf.Get("eq_column"); ok {
		col, err := cf.Str("eq_column")
		if err != nil {
			return Condition{}, err
		}
		if col == "" {
			return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field eq_column: required")
		}
		v, err := condValue(cf, "eq_value")
		if err != nil {
			return Condition{}, err
		}
		return Condition{Column: col, Operator: vocab.OpEq, Value: v}, nil
	}
	op, err := cf.Str("operator")
	if err != nil {
		return Condition{}, err
	}
	if op == "" {
		return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field operator: required (or use eq_column/eq_value)")
	}
	o, ok := parseOp(op)
	if !ok {
		return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field operator: unknown operator %q", vocab.Truncate(op, 32))
	}
	col, err := cf.Str("column")
	if err != nil {
		return Condition{}, err
	}
	v, err := condValue(cf, "value")
	if err != nil {
		return Condition{}, err
	}
	switch o {
	case vocab.OpNot, vocab.OpOr:
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			if col != "" && o == vocab.OpNot {
				break // {operator: not, column, value}: handled in planning
			}
			return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field value: operator %s needs an expression string such as \"age.gt.30,name.eq.bob\"", o)
		}
	default:
		if col == "" {
			return Condition{}, vocab.Errorf(vocab.CodeBadRequest, "field column: required for operator %s", o)
		}
	}
	return Condition{Column: col, Operator: o, Value: v}, nil
}

func condValue(f Fields, name string) (any, error) {
	raw, ok := f.Get(name)
	if !ok {
		return nil, nil
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field %s: malformed value", name)
	}
	return v, nil
}

var opNames = map[string]vocab.Op{
	"eq": vocab.OpEq, "neq": vocab.OpNeq, "gt": vocab.OpGt, "gte": vocab.OpGte, "lt": vocab.OpLt, "lte": vocab.OpLte,
	"like": vocab.OpLike, "ilike": vocab.OpILike, "is": vocab.OpIs, "in": vocab.OpIn,
	"contains": vocab.OpContains, "containedBy": vocab.OpContainedBy, "containedby": vocab.OpContainedBy,
	"cs": vocab.OpContains, "cd": vocab.OpContainedBy, "not": vocab.OpNot, "or": vocab.OpOr,
}

func parseOp(s string) (vocab.Op, bool) {
	o, ok := opNames[s]
	return o, ok
}

// DecodeInsert decodes an insert body.
func DecodeInsert(body []byte) (*InsertRequest, error) {
	f, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &InsertRequest{}
	if r.Table, err = tableName(f); err != nil {
		return nil, err
	}
	raw, ok := f.Get("insert_body")
	if !ok || IsNull(raw) {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field insert_body: required (an object or an array of objects)")
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, TypeError("insert_body", "an object or an array of objects", raw)
	}
	switch b := v.(type) {
	case map[string]any:
		r.Rows = []map[string]any{b}
		r.Keys = [][]string{objectKeys(raw)}
	case []any:
		if len(b) == 0 {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field insert_body: the array is empty")
		}
		var raws []json.RawMessage
		_ = json.Unmarshal(raw, &raws)
		for i, item := range b {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, vocab.Errorf(vocab.CodeBadRequest, "field insert_body[%d]: expected an object", i)
			}
			r.Rows = append(r.Rows, m)
			r.Keys = append(r.Keys, objectKeys(raws[i]))
		}
	default:
		return nil, TypeError("insert_body", "an object or an array of objects", raw)
	}
	for i, row := range r.Rows {
		if len(row) == 0 {
			return nil, vocab.Errorf(vocab.CodeBadRequest, "field insert_body[%d]: the object is empty", i)
		}
	}
	if r.OnConflict, err = f.Names("on_conflict"); err != nil {
		return nil, err
	}
	if r.UpdateBody, err = f.Object("update_body"); err != nil {
		return nil, err
	}
	if r.Returning, err = f.Names("columns"); err != nil {
		return nil, err
	}
	dtn, err := f.Bool("default_to_null")
	if err != nil {
		return nil, err
	}
	r.DefaultToNull = dtn != nil && *dtn
	return r, nil
}

// objectKeys returns the keys of a JSON object in document order, so
// inserted columns follow the order the client wrote them.
func objectKeys(raw json.RawMessage) []string {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// DecodeUpdate decodes an update body.
func DecodeUpdate(body []byte) (*UpdateRequest, error) {
	f, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &UpdateRequest{}
	if r.Table, err = tableName(f); err != nil {
		return nil, err
	}
	if r.Set, err = f.Object("update_body"); err != nil {
		return nil, err
	}
	if len(r.Set) == 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field update_body: required (an object of column: value)")
	}
	if r.Conditions, err = decodeConditions(f); err != nil {
		return nil, err
	}
	if len(r.Conditions) == 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field conditions: required; an update without conditions would change every row")
	}
	if r.Returning, err = f.Names("columns"); err != nil {
		return nil, err
	}
	if r.StripNulls, err = f.Bool("strip_nulls"); err != nil {
		return nil, err
	}
	if r.Post, err = decodePost(f); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeDelete decodes a delete body.
func DecodeDelete(body []byte) (*DeleteRequest, error) {
	f, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &DeleteRequest{}
	if r.Table, err = tableName(f); err != nil {
		return nil, err
	}
	if raw, ok := f.Get("resource_id"); ok && !IsNull(raw) {
		v, err := decodeValue(raw)
		if err != nil {
			return nil, TypeError("resource_id", "a string or a number", raw)
		}
		switch id := v.(type) {
		case string:
			if id != "" {
				r.ResourceID = id
			}
		case json.Number:
			r.ResourceID = id
		default:
			return nil, TypeError("resource_id", "a string or a number", raw)
		}
	}
	if r.Conditions, err = decodeConditions(f); err != nil {
		return nil, err
	}
	if r.ResourceID == nil && len(r.Conditions) == 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "Fields resource_id and conditions: give at least one; a delete without them would remove every row")
	}
	if r.Returning, err = f.Names("columns"); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeQuery decodes a /gateway/query or /query/sql body.
func DecodeQuery(body []byte) (*QueryRequest, error) {
	f, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &QueryRequest{}
	if r.Query, err = f.Str("query"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.Query) == "" {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "field query: required")
	}
	if r.Driver, err = f.Str("driver"); err != nil {
		return nil, err
	}
	if r.DBName, err = f.Str("db_name"); err != nil {
		return nil, err
	}
	return r, nil
}

// Decode decodes body as op's request, once for the whole call: a
// *FetchRequest, *InsertRequest, *UpdateRequest, *DeleteRequest, or a
// *QueryRequest for query and sql. The error names the offending field.
func Decode(op vocab.Operation, body []byte) (any, error) {
	return decode(op, body, false)
}

// DecodeValid is Decode of a body known to be valid JSON as
// vocab.ValidJSON accepts it (vocab.Call.BodyValid): a fetch body is not
// checked again.
func DecodeValid(op vocab.Operation, body []byte) (any, error) {
	return decode(op, body, true)
}

func decode(op vocab.Operation, body []byte, valid bool) (any, error) {
	switch op {
	case vocab.OpFetch:
		return orNil(decodeFetch(body, valid))
	case vocab.OpInsert:
		return orNil(DecodeInsert(body))
	case vocab.OpUpdate:
		return orNil(DecodeUpdate(body))
	case vocab.OpDelete:
		return orNil(DecodeDelete(body))
	case vocab.OpQuery, vocab.OpSQL:
		return orNil(DecodeQuery(body))
	}
	return nil, vocab.Errorf(vocab.CodeBadRequest, "unknown operation %q", vocab.Truncate(string(op), 32))
}

// orNil keeps a failed decode from becoming a typed nil inside an any.
func orNil[T any](v *T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
