package rest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/athena-go/athena/core"
)

// FuzzGatewayFetchBody posts arbitrary bytes as a fetch body through the
// handler to a SQLite-backed gateway: the reply must never be a panic or a
// 5xx, and must always be a JSON envelope. The seed corpus lives in
// testdata/fuzz/FuzzGatewayFetchBody.
func FuzzGatewayFetchBody(f *testing.F) {
	e := newEnv(f, envConfig{maxRows: 50, maxBody: 64 << 10})
	for _, q := range []string{
		"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT UNIQUE, tags JSON)",
		`INSERT INTO users (id, name, age, email, tags) VALUES (1,'ann',31,'ann@x','["a"]'), (2,'bob',25,NULL,NULL), (3,'cy',NULL,'cy@x','{"k":1}')`,
	} {
		if _, err := e.gw.Do(f.Context(), core.Call{Op: core.OpQuery, Client: "local", Body: mustJSON(f, map[string]any{"query": q})}); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{
		`{"table_name":"users"}`,
		`{"table_name":"users","columns":"id,name","limit":2,"offset":1,"sort_by":{"field":"age","direction":"desc"}}`,
		`{"table_name":"users","conditions":[{"operator":"or","value":"age.gt.30,and(name.ilike.*b*,email.is.null)"}]}`,
		`{"view_name":"users","current_page":2,"page_size":1,"strip_nulls":"true"}`,
		`{"table_name":"users","conditions":[{"operator":"in","column":"id","value":[1,"2",null]}]}`,
		`{"table_name":"users","conditions":[{"operator":"contains","column":"tags","value":["a"]}]}`,
		`{"table_name":"users","group_by":"name","aggregation_column":"age","aggregation_strategy":"cumulative_sum"}`,
		`{"table_name":"users;--","limit":1e309}`,
		`{"table_name":"users","conditions":[{"operator":"not","value":"not.or(id.eq.1,id.eq.(2)"}]}`,
		`[`, ``, `null`, `{"table_name":"users"}{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/gateway/fetch", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Athena-Client", "local")
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q for %q", ct, body)
		}
		var env struct {
			Status string          `json:"status"`
			Code   string          `json:"code"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("reply to %q is not a JSON envelope: %v: %s", body, err, rec.Body)
		}
		switch {
		case rec.Code == 200 && (env.Status != "success" || len(env.Data) == 0 || env.Data[0] != '['):
			t.Fatalf("200 reply to %q is not a success envelope with rows: %s", body, rec.Body)
		case rec.Code != 200 && (env.Status != "error" || env.Code == ""):
			t.Fatalf("%d reply to %q is not an error envelope: %s", rec.Code, body, rec.Body)
		}
	})
}
