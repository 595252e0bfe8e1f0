package core

import (
	"context"
	"fmt"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// planAggregate checks an aggregate's columns against t and resolves
// sort_by to an output position. The backend then says whether it can
// answer the plan (Aggregator); one that cannot compute aggregates at all
// gets a 400 naming it.
func (c *client) planAggregate(ctx context.Context, t *Table, a *request.Aggregate, sort *request.SortBy) (*AggPlan, error) {
	p := &AggPlan{}
	names := make(map[string]int, len(a.GroupBy)+len(a.Measures))
	for i, g := range a.GroupBy {
		col, err := c.column(ctx, t, g.Column)
		if err != nil {
			return nil, vocab.Prefixed(err, fmt.Sprintf("field aggregate.group_by[%d]: ", i))
		}
		p.Groups = append(p.Groups, AggGroup{Column: col, Bucket: g.Bucket, Name: g.Name})
		names[g.Name] = len(names)
	}
	for _, m := range a.Measures {
		am := AggMeasure{Name: m.Name, Func: m.Func}
		if m.Column != "" {
			col, err := c.column(ctx, t, m.Column)
			if err != nil {
				return nil, vocab.Prefixed(err, "field aggregate.measures."+m.Name+": ")
			}
			am.Column = col
		}
		p.Measures = append(p.Measures, am)
		names[m.Name] = len(names)
	}
	if sort != nil {
		i, ok := names[sort.Column]
		if sn := snakeCandidate(c.snake, sort.Column); !ok && sn != "" {
			// A camelCase reply names output "total_amount" totalAmount.
			i, ok = names[sn]
		}
		if !ok {
			return nil, Errorf(CodeBadRequest, "field sort_by: %q is neither a group nor a measure of the aggregate; sort by an output name", vocab.Truncate(sort.Column, 64))
		}
		p.Sort = []AggSort{{Index: i, Desc: sort.Desc}}
	}
	return p, nil
}

// checkAggregate asks the backend whether it can compute p.
func (c *client) checkAggregate(p *FetchPlan) error {
	ag, ok := c.backend.(Aggregator)
	if !ok {
		return Errorf(CodeBadRequest, "field aggregate: the %s backend of client %q does not compute aggregates", c.backend.Kind(), c.spec.Name)
	}
	return ag.CheckAggregate(p)
}
