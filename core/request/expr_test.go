package request_test

import (
	"testing"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
	"github.com/athena-go/athena/internal/testutil"
)

func TestParseExpr(t *testing.T) {
	t.Parallel()
	leaf := func(col string, op vocab.Op, v any) request.ExprNode {
		return request.ExprNode{Column: col, Operator: op, Value: v}
	}
	tests := []struct {
		name string
		in   string
		want []request.ExprNode
	}{
		{"single", "age.gt.30", []request.ExprNode{leaf("age", vocab.OpGt, "30")}},
		{"list", "age.gt.30,name.eq.bob", []request.ExprNode{leaf("age", vocab.OpGt, "30"), leaf("name", vocab.OpEq, "bob")}},
		{"wrapped in parens", "(age.gt.30,name.eq.bob)", []request.ExprNode{leaf("age", vocab.OpGt, "30"), leaf("name", vocab.OpEq, "bob")}},
		{"negated leaf", "age.not.eq.5", []request.ExprNode{{Not: true, Column: "age", Operator: vocab.OpEq, Value: "5"}}},
		{"is null", "email.is.null", []request.ExprNode{leaf("email", vocab.OpIs, nil)}},
		{"is true", "active.is.TRUE", []request.ExprNode{leaf("active", vocab.OpIs, true)}},
		{"in list", "id.in.(1,2,3)", []request.ExprNode{leaf("id", vocab.OpIn, []any{"1", "2", "3"})}},
		{"in quoted", `status.in.(open,"on hold","a\"b")`, []request.ExprNode{leaf("status", vocab.OpIn, []any{"open", "on hold", `a"b`})}},
		{"empty in", "id.in.()", []request.ExprNode{leaf("id", vocab.OpIn, []any{})}},
		{"like star", "name.like.*ann*", []request.ExprNode{leaf("name", vocab.OpLike, "%ann%")}},
		{"quoted comma", `name.eq."a,b"`, []request.ExprNode{leaf("name", vocab.OpEq, "a,b")}},
		{"value with dots", "email.eq.a.b@c.d", []request.ExprNode{leaf("email", vocab.OpEq, "a.b@c.d")}},
		{"nested groups", "or(age.lt.18,and(active.is.true,name.ilike.*x*))", []request.ExprNode{{
			Group: "or", Children: []request.ExprNode{
				leaf("age", vocab.OpLt, "18"),
				{Group: "and", Children: []request.ExprNode{leaf("active", vocab.OpIs, true), leaf("name", vocab.OpILike, "%x%")}},
			},
		}}},
		{"negated group", "not.and(a.eq.1,b.eq.2)", []request.ExprNode{{Not: true, Group: "and", Children: []request.ExprNode{leaf("a", vocab.OpEq, "1"), leaf("b", vocab.OpEq, "2")}}}},
		{"contains braces", "tags.cs.{a,b}", []request.ExprNode{leaf("tags", vocab.OpContains, []any{"a", "b"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := request.ParseExpr(tt.in)
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
			_, err := request.ParseExpr(tt.in)
			if err == nil {
				t.Fatalf("ParseExpr(%q): want error", tt.in)
			}
			testutil.Equal(t, "code", vocab.CodeOf(err), vocab.CodeBadRequest)
			testutil.Contains(t, "message", vocab.PublicMessage(err), tt.wantMsg)
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
		nodes, err := request.ParseExpr(s)
		if err != nil {
			if vocab.CodeOf(err) != vocab.CodeBadRequest {
				t.Fatalf("error code %s for %q", vocab.CodeOf(err), s)
			}
			return
		}
		var walk func([]request.ExprNode, int)
		walk = func(ns []request.ExprNode, depth int) {
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
