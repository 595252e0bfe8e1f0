package core_test

import (
	"testing"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/internal/testutil"
)

func TestParseExpr(t *testing.T) {
	t.Parallel()
	leaf := func(col string, op core.Op, v any) core.ExprNode {
		return core.ExprNode{Column: col, Operator: op, Value: v}
	}
	tests := []struct {
		name string
		in   string
		want []core.ExprNode
	}{
		{"single", "age.gt.30", []core.ExprNode{leaf("age", core.OpGt, "30")}},
		{"list", "age.gt.30,name.eq.bob", []core.ExprNode{leaf("age", core.OpGt, "30"), leaf("name", core.OpEq, "bob")}},
		{"wrapped in parens", "(age.gt.30,name.eq.bob)", []core.ExprNode{leaf("age", core.OpGt, "30"), leaf("name", core.OpEq, "bob")}},
		{"negated leaf", "age.not.eq.5", []core.ExprNode{{Not: true, Column: "age", Operator: core.OpEq, Value: "5"}}},
		{"is null", "email.is.null", []core.ExprNode{leaf("email", core.OpIs, nil)}},
		{"is true", "active.is.TRUE", []core.ExprNode{leaf("active", core.OpIs, true)}},
		{"in list", "id.in.(1,2,3)", []core.ExprNode{leaf("id", core.OpIn, []any{"1", "2", "3"})}},
		{"in quoted", `status.in.(open,"on hold","a\"b")`, []core.ExprNode{leaf("status", core.OpIn, []any{"open", "on hold", `a"b`})}},
		{"empty in", "id.in.()", []core.ExprNode{leaf("id", core.OpIn, []any{})}},
		{"like star", "name.like.*ann*", []core.ExprNode{leaf("name", core.OpLike, "%ann%")}},
		{"quoted comma", `name.eq."a,b"`, []core.ExprNode{leaf("name", core.OpEq, "a,b")}},
		{"value with dots", "email.eq.a.b@c.d", []core.ExprNode{leaf("email", core.OpEq, "a.b@c.d")}},
		{"nested groups", "or(age.lt.18,and(active.is.true,name.ilike.*x*))", []core.ExprNode{{
			Group: "or", Children: []core.ExprNode{
				leaf("age", core.OpLt, "18"),
				{Group: "and", Children: []core.ExprNode{leaf("active", core.OpIs, true), leaf("name", core.OpILike, "%x%")}},
			},
		}}},
		{"negated group", "not.and(a.eq.1,b.eq.2)", []core.ExprNode{{Not: true, Group: "and", Children: []core.ExprNode{leaf("a", core.OpEq, "1"), leaf("b", core.OpEq, "2")}}}},
		{"contains braces", "tags.cs.{a,b}", []core.ExprNode{leaf("tags", core.OpContains, []any{"a", "b"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := core.ParseExpr(tt.in)
			testutil.NoError(t, err)
			testutil.Equal(t, tt.in, got, tt.want)
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantMsg string
	}{
		{"empty", "", "expected a column name"},
		{"no operator", "age", "expected .operator"},
		{"unknown operator", "age.between.1", `unknown operator "between"`},
		{"no value dot", "age.gt", "expected .value"},
		{"bad is", "a.is.maybe", "operator is takes null, true or false"},
		{"in without list", "id.in.1", "needs a list"},
		{"unclosed group", "or(a.eq.1", "missing )"},
		{"unterminated quote", `a.eq."x`, "unterminated quoted value"},
		{"trailing junk", "a.eq.1)", "unexpected"},
		{"injection", "id.eq.1);DROP TABLE users;--", "unexpected"},
		{"too deep", repeat("or(", 40) + "a.eq.1" + repeat(")", 40), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := core.ParseExpr(tt.in)
			if err == nil {
				t.Fatalf("ParseExpr(%q): want error", tt.in)
			}
			testutil.Equal(t, "code", core.CodeOf(err), core.CodeBadRequest)
			testutil.Contains(t, "message", core.PublicMessage(err), tt.wantMsg)
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"age.gt.30,name.eq.bob", "or(a.eq.1,and(b.is.null,c.in.(1,2)))", `x.eq."a\"b"`,
		"not.and(a.eq.1)", "id.in.(", "((((", `a.like.*"`, "tags.cs.{a,b}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nodes, err := core.ParseExpr(s)
		if err != nil {
			if core.CodeOf(err) != core.CodeBadRequest {
				t.Fatalf("error code %s for %q", core.CodeOf(err), s)
			}
			return
		}
		var walk func([]core.ExprNode, int)
		walk = func(ns []core.ExprNode, depth int) {
			if depth > 20 {
				t.Fatalf("depth %d beyond the limit for %q", depth, s)
			}
			for _, n := range ns {
				if n.Group == "" && n.Column == "" {
					t.Fatalf("leaf without a column for %q", s)
				}
				walk(n.Children, depth+1)
			}
		}
		walk(nodes, 0)
	})
}
