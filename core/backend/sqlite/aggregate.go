package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
	msqlite "modernc.org/sqlite"
)

// SQLite's sum of integers fails on overflow and its avg is a double, so
// aggregates over INTEGER and NUMERIC columns use two functions registered
// here: they add every value exactly (integers as big integers, doubles as
// their shortest decimal text, so 0.1 + 0.2 is 0.3) and return decimal text,
// read back as a JSON number. avg rounds half away from zero to at least 16
// decimal places (more when an input has more). REAL columns keep SQLite's
// double arithmetic, as PostgreSQL's float columns do.
func init() {
	for name, avg := range map[string]bool{sqlq.SQLiteExactSum: false, sqlq.SQLiteExactAvg: true} {
		err := msqlite.RegisterFunction(name, &msqlite.FunctionImpl{
			NArgs:         1,
			Deterministic: true,
			MakeAggregate: func(msqlite.FunctionContext) (msqlite.AggregateFunction, error) {
				return &exactSum{avg: avg, name: name}, nil
			},
		})
		if err != nil {
			panic(fmt.Sprintf("sqlite: register %s: %v", name, err))
		}
	}
}

// avgScale is the least number of decimal places of an exact avg.
const avgScale = 16

// exactSum accumulates in an int64 while it can, then in a big.Rat.
type exactSum struct {
	avg   bool
	name  string
	n     int64
	small int64
	big   *big.Rat // nil while small holds the whole sum
	scale int      // the most decimal places of an input
}

func (s *exactSum) Step(_ *msqlite.FunctionContext, args []driver.Value) error {
	switch v := args[0].(type) {
	case nil:
		return nil
	case int64:
		s.n++
		if s.big == nil {
			if r := s.small + v; (v > 0 && r < s.small) || (v < 0 && r > s.small) {
				s.big = new(big.Rat).SetInt64(s.small)
			} else {
				s.small = r
				return nil
			}
		}
		s.big.Add(s.big, new(big.Rat).SetInt64(v))
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %v cannot be summed exactly", s.fn(), v)
		}
		return s.addDecimal(strconv.FormatFloat(v, 'g', -1, 64))
	case string:
		return s.addDecimal(strings.TrimSpace(v))
	}
	return fmt.Errorf("%s: a column value is not a number", s.fn())
}

func (s *exactSum) fn() string {
	if s.avg {
		return "avg"
	}
	return "sum"
}

// addDecimal adds a decimal literal (digits, point, exponent; no fractions).
func (s *exactSum) addDecimal(text string) error {
	if text == "" || strings.ContainsAny(text, "/_xXpP") {
		return fmt.Errorf("%s: a column value is not a number", s.fn())
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return fmt.Errorf("%s: a column value is not a number", s.fn())
	}
	if sc := decimalPlaces(text); sc > s.scale {
		s.scale = sc
	}
	s.n++
	if s.big == nil {
		s.big = new(big.Rat).SetInt64(s.small)
	}
	s.big.Add(s.big, r)
	return nil
}

// decimalPlaces is the number of fraction digits text needs: those after
// the point minus a positive exponent, plus a negative one.
func decimalPlaces(text string) int {
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		mant = text[:i]
		e, err := strconv.Atoi(text[i+1:])
		if err != nil || e > 10000 || e < -10000 {
			return 0
		}
		exp = e
	}
	frac := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		frac = len(mant) - i - 1
	}
	if frac-exp < 0 {
		return 0
	}
	return frac - exp
}

func (s *exactSum) WindowInverse(*msqlite.FunctionContext, []driver.Value) error {
	return errors.New("exact aggregates are not window functions")
}

func (s *exactSum) WindowValue(*msqlite.FunctionContext) (driver.Value, error) {
	if s.n == 0 {
		return nil, nil // SQL: the sum and avg of no values are NULL
	}
	if s.big == nil && !s.avg {
		return strconv.FormatInt(s.small, 10), nil
	}
	sum := s.big
	if sum == nil {
		sum = new(big.Rat).SetInt64(s.small)
	}
	if !s.avg {
		return sum.FloatString(s.scale), nil
	}
	q := new(big.Rat).Quo(sum, new(big.Rat).SetInt64(s.n))
	return q.FloatString(max(avgScale, s.scale)), nil
}

func (s *exactSum) Final(*msqlite.FunctionContext) {}

// CheckAggregate reports a group or measure SQLite cannot compute.
func (b *Backend) CheckAggregate(p *core.FetchPlan) error {
	return sqlq.CheckAggregate(sqlq.SQLite, p)
}

// fetchAggregate runs an aggregate plan; the exact measures' decimal text
// is read back as numbers.
func (b *Backend) fetchAggregate(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	st, exact, err := sqlq.Aggregate(sqlq.SQLite, p)
	if err != nil {
		return nil, fmt.Errorf("sqlite: aggregate: %w", err)
	}
	rs, err := b.db.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: aggregate %s: %w", p.Table.Name, err))
	}
	r := newRows(ctx, rs, nil)
	for _, i := range exact {
		if i < len(r.kinds) {
			r.kinds[i] = kindDecimal
		}
	}
	return r, nil
}

// decimalValue reads an exact measure's decimal text as a JSON number.
func decimalValue(v any) any {
	if s, ok := v.(string); ok && json.Valid([]byte(s)) {
		return json.Number(s)
	}
	return v
}

var _ core.Aggregator = (*Backend)(nil)
