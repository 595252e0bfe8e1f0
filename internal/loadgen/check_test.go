package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/athena-go/athena/internal/testutil"
)

// The encoding/json checks the benchmark ran before the fastjson ones: the
// reference the fast checks must never be more lenient than.

func jsonCheckPoint(seq int64, data []byte) error {
	rows, err := decodeRows(data)
	if err != nil {
		return err
	}
	id := itemID(seq)
	if len(rows) != 1 || rows[0].ID != id || rows[0].Name != "item "+strconv.FormatInt(id, 10) ||
		rows[0].Price == nil || *rows[0].Price != float64(id)*1.25 {
		return fmt.Errorf("point fetch of id %d answered %.200s", id, data)
	}
	return nil
}

func jsonCheckRows(seq int64, data []byte) error {
	rows, err := decodeRows(data)
	if err != nil {
		return err
	}
	return checkGroup(groupOf(seq), len(rows), func(i int) (int64, int64) {
		g := int64(-1)
		if rows[i].Grp != nil {
			g = *rows[i].Grp
		}
		return rows[i].ID, g
	})
}

func jsonCheckInsert(seq int64, data []byte) error {
	rows, err := decodeRows(data)
	if err != nil {
		return err
	}
	if len(rows) != 1 || rows[0].ID != seq {
		return fmt.Errorf("insert of id %d answered %.200s", seq, data)
	}
	return nil
}

// jsonEnvelope is the REST op's envelope check with encoding/json.
func jsonEnvelope(out []byte) (json.RawMessage, error) {
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(out, &env); err != nil || env.Status != "success" {
		return nil, fmt.Errorf("envelope %.200s", out)
	}
	return env.Data, nil
}

// fastEnvelope is the REST op's envelope check with the decoder.
func fastEnvelope(d *decoder, seq int64, body []byte, chk check) error {
	data, err := d.envelope(body)
	if err != nil {
		return err
	}
	return chk(d, seq, data)
}

var checkKinds = []struct {
	name string
	fast check
	ref  func(int64, []byte) error
}{
	{"point", checkPoint, jsonCheckPoint},
	{"rows", checkRows, jsonCheckRows},
	{"insert", checkInsert, jsonCheckInsert},
}

// Replies as the gateway writes them.

func pointData(seq int64) string {
	id := itemID(seq)
	return fmt.Sprintf(`[{"id":%d,"name":"item %d","price":%s}]`, id, id, strconv.FormatFloat(float64(id)*1.25, 'g', -1, 64))
}

func rowsData(seq int64) string {
	g := groupOf(seq)
	var b strings.Builder
	b.WriteByte('[')
	for i := range int64(GroupRows) {
		if i > 0 {
			b.WriteByte(',')
		}
		id := g*GroupRows + 1 + (i*37)%GroupRows // any order
		fmt.Fprintf(&b, `{"id":%d,"grp":%d,"name":"item %d"}`, id, g, id)
	}
	b.WriteByte(']')
	return b.String()
}

func insertData(seq int64) string { return fmt.Sprintf(`[{"id":%d}]`, seq) }

func envelopeOf(data string) string {
	return `{"status":"success","message":"Fetched rows","data":` + data + `}`
}

func TestChecksAcceptGoodReplies(t *testing.T) {
	t.Parallel()
	var d decoder
	for _, seq := range []int64{1, 7, 99999, 100000, 123456789} {
		for _, tt := range []struct {
			chk  check
			ref  func(int64, []byte) error
			data string
		}{
			{checkPoint, jsonCheckPoint, pointData(seq)},
			{checkPoint, jsonCheckPoint, " [ {\"price\" : " + strconv.FormatFloat(float64(itemID(seq))*1.25, 'e', -1, 64) + ", \"id\":" + strconv.FormatInt(itemID(seq), 10) + ",\"name\":\"item " + strconv.FormatInt(itemID(seq), 10) + "\",\"extra\":[1,{}]}]\n"},
			{checkRows, jsonCheckRows, rowsData(seq)},
			{checkInsert, jsonCheckInsert, insertData(seq)},
			{checkInsert, jsonCheckInsert, `[{"ID":` + strconv.FormatInt(seq, 10) + `,"name":null}]`},
		} {
			testutil.NoError(t, tt.ref(seq, []byte(tt.data)))
			testutil.NoError(t, checkJSON(tt.chk, seq, []byte(tt.data)))
			testutil.NoError(t, fastEnvelope(&d, seq, []byte(envelopeOf(tt.data)), tt.chk))
		}
	}
}

func TestChecksRejectBadReplies(t *testing.T) {
	t.Parallel()
	const seq = 7 // item 8, group 7, insert id 7
	good := rowsData(seq)
	tests := []struct {
		name string
		chk  check
		ref  func(int64, []byte) error
		data string
	}{
		{"point: wrong id", checkPoint, jsonCheckPoint, `[{"id":9,"name":"item 8","price":10}]`},
		{"point: wrong name", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 9","price":10}]`},
		{"point: escaped wrong name", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item \u0039","price":10}]`},
		{"point: wrong price", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10.5}]`},
		{"point: null price", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":null}]`},
		{"point: missing price", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8"}]`},
		{"point: price as string", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":"10"}]`},
		{"point: fractional id", checkPoint, jsonCheckPoint, `[{"id":8.0,"name":"item 8","price":10}]`},
		{"point: exponent id", checkPoint, jsonCheckPoint, `[{"id":8e0,"name":"item 8","price":10}]`},
		{"point: id overflow", checkPoint, jsonCheckPoint, `[{"id":18446744073709551624,"name":"item 8","price":10}]`},
		{"point: price overflow", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":1e400}]`},
		{"point: later key wins", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"ID":9}]`},
		{"point: later null price wins", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"Price":null}]`},
		{"point: wrong type in an overridden key", checkPoint, jsonCheckPoint, `[{"id":"8","id":8,"name":"item 8","price":10}]`},
		{"point: wrong type in an unchecked field", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"grp":"x"}]`},
		{"point: missing row", checkPoint, jsonCheckPoint, `[]`},
		{"point: extra row", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10},{"id":8,"name":"item 8","price":10}]`},
		{"point: extra null row", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10},null]`},
		{"point: null row", checkPoint, jsonCheckPoint, `[null]`},
		{"point: null", checkPoint, jsonCheckPoint, `null`},
		{"point: object", checkPoint, jsonCheckPoint, `{"id":8,"name":"item 8","price":10}`},
		{"point: row is an array", checkPoint, jsonCheckPoint, `[[8,"item 8",10]]`},
		{"point: truncated", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10}`},
		{"point: trailing garbage", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10}]x`},
		{"point: invalid number", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"x":01}]`},
		{"point: NaN", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"x":NaN}]`},
		{"point: control character", checkPoint, jsonCheckPoint, "[{\"id\":8,\"name\":\"item 8\",\"price\":10,\"x\":\"a\x01\"}]"},
		{"point: bad escape", checkPoint, jsonCheckPoint, `[{"id":8,"name":"item 8","price":10,"x":"\q"}]`},
		{"point: empty", checkPoint, jsonCheckPoint, ``},
		{"rows: missing row", checkRows, jsonCheckRows, good[:strings.LastIndexByte(good, ',')] + "]"},
		{"rows: extra row", checkRows, jsonCheckRows, good[:len(good)-1] + `,{"id":701,"grp":7,"name":"item 701"}]`},
		{"rows: repeated row", checkRows, jsonCheckRows, strings.Replace(good, `"id":702,`, `"id":701,`, 1)},
		{"rows: row of another group", checkRows, jsonCheckRows, strings.Replace(good, `"id":702,`, `"id":802,`, 1)},
		{"rows: wrong grp", checkRows, jsonCheckRows, strings.Replace(good, `"grp":7`, `"grp":8`, 1)},
		{"rows: null grp", checkRows, jsonCheckRows, strings.Replace(good, `"grp":7`, `"grp":null`, 1)},
		{"rows: missing grp", checkRows, jsonCheckRows, strings.Replace(good, `"grp":7,`, ``, 1)},
		{"rows: name is a number", checkRows, jsonCheckRows, strings.Replace(good, `"name":"item 701"`, `"name":701`, 1)},
		{"rows: truncated", checkRows, jsonCheckRows, good[:len(good)/2]},
		{"insert: wrong id", checkInsert, jsonCheckInsert, `[{"id":8}]`},
		{"insert: no id", checkInsert, jsonCheckInsert, `[{}]`},
		{"insert: null id", checkInsert, jsonCheckInsert, `[{"id":null}]`},
		{"insert: two rows", checkInsert, jsonCheckInsert, `[{"id":7},{"id":7}]`},
		{"insert: truncated", checkInsert, jsonCheckInsert, `[{"id":7}`},
	}
	var d decoder
	for _, tt := range tests {
		if err := tt.ref(seq, []byte(tt.data)); err == nil {
			t.Errorf("%s: encoding/json check accepted %s", tt.name, tt.data)
		}
		if err := checkJSON(tt.chk, seq, []byte(tt.data)); err == nil {
			t.Errorf("%s: check accepted %s", tt.name, tt.data)
		}
		if err := fastEnvelope(&d, seq, []byte(envelopeOf(tt.data)), tt.chk); err == nil {
			t.Errorf("%s: check accepted the envelope of %s", tt.name, tt.data)
		}
	}
}

func TestEnvelopeRejectsBadEnvelopes(t *testing.T) {
	t.Parallel()
	const seq = 7
	data := insertData(seq)
	for _, body := range []string{
		`{"status":"error","message":"no","data":` + data + `}`,
		`{"message":"no status","data":` + data + `}`,
		`{"status":"success"}`,
		`{"status":"success","data":null}`,
		`{"status":"success","data":` + data + `,"status":"error"}`,
		`{"status":"success","data":` + data + `,"Status":null,"STATUS":1}`,
		`{"status":"success","data":` + data + `,"data":[]}`,
		`{"status":"success","data":` + data,
		`[{"status":"success","data":` + data + `}]`,
		`null`,
		``,
	} {
		_, refErr := jsonEnvelope([]byte(body))
		if refErr == nil {
			refErr = jsonCheckInsert(seq, must(jsonEnvelope([]byte(body))))
		}
		if refErr == nil {
			t.Errorf("encoding/json accepted %s", body)
		}
		var d decoder
		if err := fastEnvelope(&d, seq, []byte(body), checkInsert); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
}

func must[T any](v T, _ error) T { return v }

// oldFrame is a server frame as the WebSocket reader decoded it with
// encoding/json.
type oldFrame struct {
	Type       string          `json:"type"`
	Event      string          `json:"event"`
	RequestID  string          `json:"request_id"`
	HTTPStatus int             `json:"http_status"`
	Status     string          `json:"status"`
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	Seq        int             `json:"seq"`
	Data       json.RawMessage `json:"data"`
	Meta       struct {
		RowCount int64 `json:"row_count"`
	} `json:"meta"`
}

// jsonFrame is the WebSocket reader's frame decode with encoding/json.
func jsonFrame(raw []byte) (*oldFrame, error) {
	f := new(oldFrame)
	err := json.Unmarshal(raw, f)
	return f, err
}

func TestFrameDecode(t *testing.T) {
	t.Parallel()
	var d decoder
	var f frame
	raw := `{"type":"reply","request_id":"r7","http_status":200,"status":"success","message":"Fetched 1 row","seq":3,` +
		`"data": [ {"id":8, "name":"item 8"} ],"meta":{"row_count":1,"x":"y"},"meta":{"other":1},"extra":[1,2]}`
	testutil.NoError(t, d.frame([]byte(raw), &f))
	testutil.Equal(t, "type", f.Type, "reply")
	testutil.Equal(t, "request_id", f.RequestID, "r7")
	testutil.Equal(t, "http_status", f.HTTPStatus, 200)
	testutil.Equal(t, "status", f.Status, "success")
	testutil.Equal(t, "message", f.Message, "Fetched 1 row")
	testutil.Equal(t, "seq", f.Seq, 3)
	testutil.Equal(t, "row_count", f.Meta.RowCount, int64(1))
	testutil.Equal(t, "data", string(f.raw()), `[{"id":8,"name":"item 8"}]`)
	testutil.NoError(t, checkInsert(f.dec, 8, f.data))
	f.release()
	for _, bad := range []string{
		`{"type":"reply","request_id":"r7"`,
		`{"type":"reply","request_id":7}`,
		`{"type":"reply","http_status":"200"}`,
		`{"type":"reply","http_status":200.5}`,
		`{"type":"reply","meta":[]}`,
		`{"type":"reply","meta":{"row_count":"1"}}`,
		`{"type":"reply","data":[1,}`,
		`[]`,
		`not json`,
	} {
		if _, err := jsonFrame([]byte(bad)); err == nil {
			t.Errorf("encoding/json decoded %s", bad)
		}
		if err := d.frame([]byte(bad), new(frame)); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

// FuzzChecksAgainstEncodingJSON holds the fast checks to the encoding/json
// ones: a reply the encoding/json check rejects, the fast check rejects
// too, alone and in its envelope.
func FuzzChecksAgainstEncodingJSON(f *testing.F) {
	for _, seq := range []int64{7, 99999} {
		f.Add(uint8(0), seq, []byte(pointData(seq)))
		f.Add(uint8(1), seq, []byte(rowsData(seq)))
		f.Add(uint8(2), seq, []byte(insertData(seq)))
	}
	f.Add(uint8(0), int64(7), []byte(`[{"id":8,"name":"item \u0038","price":1e1,"ID":8,"Name":"item 8","x":[{"y":null}]}]`))
	f.Add(uint8(2), int64(7), []byte(`[{"id":7,"id":null,"grp":"\ud800","price":-0.0e-1}]`))
	f.Fuzz(func(t *testing.T, kind uint8, seq int64, data []byte) {
		k := checkKinds[int(kind)%len(checkKinds)]
		refErr := k.ref(seq, data)
		fastErr := checkJSON(k.fast, seq, data)
		if refErr != nil && fastErr == nil {
			t.Fatalf("%s check of %d: encoding/json rejects %q (%v), the fast check accepts it", k.name, seq, data, refErr)
		}
		body := append(append([]byte(`{"status":"success","data":`), data...), '}')
		var d decoder
		envErr := fastEnvelope(&d, seq, body, k.fast)
		if refErr != nil && envErr == nil {
			t.Fatalf("%s check of %d: encoding/json rejects %q (%v), the fast envelope check accepts it", k.name, seq, data, refErr)
		}
	})
}

// FuzzEnvelopeAgainstEncodingJSON: a REST body the encoding/json envelope
// and check reject, the fast ones reject.
func FuzzEnvelopeAgainstEncodingJSON(f *testing.F) {
	f.Add(int64(7), []byte(envelopeOf(insertData(7))))
	f.Add(int64(7), []byte(`{"status":"success","data":[{"id":7}],"STATUS":"succesſ","Data":[{"id":7}]}`))
	f.Add(int64(7), []byte(`{"status":"error","code":"not_found","message":"no","data":null}`))
	f.Fuzz(func(t *testing.T, seq int64, body []byte) {
		data, refErr := jsonEnvelope(body)
		if refErr == nil {
			refErr = jsonCheckInsert(seq, data)
		}
		var d decoder
		if err := fastEnvelope(&d, seq, body, checkInsert); err == nil && refErr != nil {
			t.Fatalf("encoding/json rejects %q (%v), the fast envelope check accepts it", body, refErr)
		}
	})
}

// plainASCII says whether a decoded string is one both decoders agree on:
// fastjson keeps what it cannot unescape (lone surrogates, invalid UTF-8)
// where encoding/json writes U+FFFD. The checks only compare strings with
// such expectations.
func plainASCII(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsAny(s, "\\\uFFFD")
}

// FuzzFrameAgainstEncodingJSON: a frame the WebSocket reader decodes,
// encoding/json decodes too, into the same fields.
func FuzzFrameAgainstEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"type":"reply","request_id":"r7","http_status":200,"status":"success","message":"Fetched 1 row","data":[{"id":8,"name":"item 8","price":10}],"meta":{"row_count":1}}`))
	f.Add([]byte(`{"type":"chunk","request_id":"s1","seq":4,"data":[{"id":1,"name":"item 1"}]}`))
	f.Add([]byte(`{"type":"event","event":"deferred.completed","request_id":"d1","data":{"request_id":"j","status":"completed","result":{"status":"success","data":[]}}}`))
	f.Add([]byte(`{"Type":"reply","REQUEST_ID":"r\u0037","request_id":null,"meta":null,"meta":{"row_count":2},"data":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d decoder
		var got frame
		if err := d.frame(raw, &got); err != nil {
			return
		}
		want, err := jsonFrame(raw)
		if err != nil {
			t.Fatalf("decoded %q, encoding/json: %v", raw, err)
		}
		for _, s := range [][2]string{{got.Type, want.Type}, {got.Event, want.Event}, {got.RequestID, want.RequestID},
			{got.Status, want.Status}, {got.Code, want.Code}, {got.Message, want.Message}} {
			if s[0] != s[1] && plainASCII(s[0]) {
				t.Fatalf("%q: decoded %q, encoding/json %q", raw, s[0], s[1])
			}
		}
		if got.HTTPStatus != want.HTTPStatus || got.Seq != want.Seq || got.Meta.RowCount != want.Meta.RowCount {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", raw, got, want)
		}
		var compact bytes.Buffer
		if want.Data != nil {
			if err := json.Compact(&compact, want.Data); err != nil {
				t.Fatalf("%q: data %q: %v", raw, want.Data, err)
			}
		}
		if !bytes.Equal(got.raw(), compact.Bytes()) || (got.raw() == nil) != (want.Data == nil) {
			t.Fatalf("%q: data %q, encoding/json %q", raw, got.raw(), compact.Bytes())
		}
	})
}

// Benchmarks: each check with encoding/json (impl=json, the old code) and
// the decoder (impl=fast), on the gateway's replies; compare with
// benchstat -col /impl.

func BenchmarkReplyCheck(b *testing.B) {
	const seq = 4242
	for _, k := range []struct {
		name string
		data string
		fast check
		ref  func(int64, []byte) error
	}{
		{"point", pointData(seq), checkPoint, jsonCheckPoint},
		{"rows100", rowsData(seq), checkRows, jsonCheckRows},
		{"insert", insertData(seq), checkInsert, jsonCheckInsert},
	} {
		body := []byte(envelopeOf(k.data))
		b.Run("reply="+k.name+"/impl=json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			c0, _ := selfCPU()
			for b.Loop() {
				data, err := jsonEnvelope(body)
				if err == nil {
					err = k.ref(seq, data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0)
		})
		b.Run("reply="+k.name+"/impl=fast", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var d decoder
			c0, _ := selfCPU()
			for b.Loop() {
				if err := fastEnvelope(&d, seq, body, k.fast); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0)
		})
	}
}

// BenchmarkWSFrame is the WebSocket path of a reply: the reader's frame
// decode, then the request's check of its data.
func BenchmarkWSFrame(b *testing.B) {
	const seq = 4242
	for _, k := range []struct {
		name string
		data string
		fast check
		ref  func(int64, []byte) error
	}{
		{"point", pointData(seq), checkPoint, jsonCheckPoint},
		{"rows100", rowsData(seq), checkRows, jsonCheckRows},
	} {
		raw := []byte(`{"type":"reply","request_id":"r4242","http_status":200,"status":"success","message":"Fetched rows","data":` + k.data + `,"meta":{"row_count":1}}`)
		b.Run("reply="+k.name+"/impl=json", func(b *testing.B) {
			b.ReportAllocs()
			c0, _ := selfCPU()
			for b.Loop() {
				f, err := jsonFrame(raw)
				if err == nil {
					err = k.ref(seq, f.Data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0)
		})
		b.Run("reply="+k.name+"/impl=fast", func(b *testing.B) {
			b.ReportAllocs()
			c0, _ := selfCPU()
			for b.Loop() {
				f := new(frame)
				err := decoders.Get().(*decoder).frame(raw, f)
				if err == nil {
					err = k.fast(f.dec, seq, f.data)
				}
				f.release()
				if err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, c0)
		})
	}
}

// BenchmarkRESTClient is one REST point fetch's client side against a
// server that answers at once: net/http's client (impl=nethttp, the old
// code) and httpConn (impl=lean). The server's work is the same for both.
func BenchmarkRESTClient(b *testing.B) {
	body := envelopeOf(pointData(7))
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 30 Nov 2026 22:00:00 GMT\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	url := cannedServer(b, resp)
	req := pointBody(7)
	b.Run("impl=nethttp", func(b *testing.B) {
		b.ReportAllocs()
		w := &wire{}
		cl := &http.Client{Transport: &http.Transport{DialContext: w.dial, MaxIdleConnsPerHost: 1}}
		defer cl.CloseIdleConnections()
		c0, _ := selfCPU()
		for b.Loop() {
			r, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url+"/gateway/fetch", bytes.NewReader(req))
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Athena-Client", "bench")
			res, err := cl.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			out, err := readAllBody(res)
			if err != nil || res.StatusCode != http.StatusOK || len(out) != len(body) {
				b.Fatal(res.StatusCode, err)
			}
		}
		reportCPU(b, c0)
	})
	b.Run("impl=lean", func(b *testing.B) {
		b.ReportAllocs()
		ht, err := newHTTPTarget(Target{URL: url, Client: "bench"}, &wire{})
		if err != nil {
			b.Fatal(err)
		}
		h := newHTTPConn(ht)
		defer h.Close()
		c0, _ := selfCPU()
		for b.Loop() {
			status, out, err := h.do(b.Context(), http.MethodPost, "/gateway/fetch", req)
			if err != nil || status != http.StatusOK || len(out) != len(body) {
				b.Fatal(status, err)
			}
		}
		reportCPU(b, c0)
	})
}

func readAllBody(res *http.Response) ([]byte, error) {
	defer res.Body.Close()
	var buf bytes.Buffer
	_, err := buf.ReadFrom(res.Body)
	if err != nil {
		return nil, errors.Join(errors.New("read body"), err)
	}
	return buf.Bytes(), nil
}

// reportCPU reports the process's CPU time per op since c0 (getrusage): on
// a shared machine ns/op moves with the load, CPU per op much less.
func reportCPU(b *testing.B, c0 time.Duration) {
	if c1, ok := selfCPU(); ok && b.N > 0 {
		b.ReportMetric(float64(c1-c0)/float64(b.N)/1e3, "cpu-µs/op")
	}
}
