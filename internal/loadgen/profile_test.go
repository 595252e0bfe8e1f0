package loadgen_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/athena-go/athena/internal/loadgen"
	"github.com/athena-go/athena/internal/testutil"
)

// synthProfile builds a CPU profile the way the Go runtime writes one
// (samples/count then cpu/nanoseconds, leaf first, inlined calls as extra
// lines of one location, innermost first). Each stack is a list of
// locations; a location is its functions, innermost first.
type synthProfile struct {
	p     *profile.Profile
	funcs map[string]*profile.Function
}

func newSynthProfile() *synthProfile {
	return &synthProfile{
		p: &profile.Profile{
			SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
			Period:        10_000_000,
			DurationNanos: 5_000_000_000,
		},
		funcs: map[string]*profile.Function{},
	}
}

// add records n samples (10 ms each) of a stack.
func (s *synthProfile) add(n int64, stack ...[]string) {
	var locs []*profile.Location
	for _, fs := range stack {
		loc := &profile.Location{ID: uint64(len(s.p.Location) + 1), Address: uint64(0x1000 + len(s.p.Location))}
		for _, name := range fs {
			f, ok := s.funcs[name]
			if !ok {
				f = &profile.Function{ID: uint64(len(s.p.Function) + 1), Name: name, SystemName: name}
				s.funcs[name] = f
				s.p.Function = append(s.p.Function, f)
			}
			loc.Line = append(loc.Line, profile.Line{Function: f})
		}
		s.p.Location = append(s.p.Location, loc)
		locs = append(locs, loc)
	}
	s.p.Sample = append(s.p.Sample, &profile.Sample{Location: locs, Value: []int64{n, n * 10_000_000}})
}

func (s *synthProfile) bytes(t *testing.T) []byte {
	t.Helper()
	testutil.NoError(t, s.p.CheckValid())
	var b bytes.Buffer
	testutil.NoError(t, s.p.Write(&b))
	return b.Bytes()
}

// frames turns function names into one location each.
func frames(names ...string) [][]string {
	out := make([][]string, len(names))
	for i, n := range names {
		out[i] = []string{n}
	}
	return out
}

const (
	ath  = "github.com/athena-go/athena/"
	ws   = "github.com/coder/websocket."
	pgxP = "github.com/jackc/pgx/v5/"
	sys6 = "internal/runtime/syscall/linux.Syscall6"
)

// TestProfileCategories checks the attribution of every category over a
// synthetic profile whose answer is known: a sample counts once, GC,
// the control plane and live queries win from anywhere on the stack,
// otherwise the innermost frame that has a category decides.
func TestProfileCategories(t *testing.T) {
	t.Parallel()
	s := newSynthProfile()
	// GC: a mark assist inside request decoding.
	s.add(3, frames("runtime.scanobject", "runtime.gcDrainN", "runtime.gcAssistAlloc", "runtime.mallocgc",
		ath+"core/request.DecodeFetch", ath+"wss.(*conn).run")...)
	// GC: starting a cycle wakes Ps (the scheduler's code, but for GC).
	s.add(1, frames("runtime.futexwakeup", "runtime.startm", "runtime.wakep", "runtime.startTheWorldWithSema",
		"runtime.gcStart", "runtime.mallocgc", ath+"core/request.DecodeFetch")...)
	// GC: a background mark worker.
	s.add(2, frames("runtime.markBits.isMarked", "runtime.gcDrain", "runtime.gcBgMarkWorker")...)
	// Control plane: its own driver round trip (pgconn under sqlstore),
	// and a generic batcher whose type arguments hold slashes and dots.
	s.add(4, frames(sys6, "net.(*conn).Write", pgxP+"pgconn.(*PgConn).Exec", pgxP+"stdlib.(*Conn).ExecContext",
		"database/sql.(*DB).ExecContext", ath+"core/store/sqlstore.(*Control).InsertRequestLogs",
		ath+"core/usage.(*Batcher[go.shape.struct { Path string \"json:\\\"a/b.c\\\"\" }]).flush")...)
	s.add(1, frames("runtime.memmove", ath+"core/usage.(*Batcher[go.shape.struct { X net/url.URL }]).run")...)
	// Control plane, leaf upward: the deferred-job queue's own code.
	s.add(1, frames("runtime.selectgo", ath+"core/jobs.(*Queue).run")...)
	// Live queries: the change feed reading through pgconn.
	s.add(2, frames(sys6, pgxP+"pgconn.(*PgConn).ReceiveMessage", ath+"core/backend/postgres.(*reader).run",
		ath+"core/backend/postgres.(*Backend).feedOnce")...)
	// Backend driver: a data-plane query.
	s.add(5, frames(sys6, "net.(*conn).Write", pgxP+"pgconn.(*PgConn).flushWithPotentialWriteReadDeadlock",
		pgxP+"pgxpool.(*Pool).Query", ath+"core/backend/postgres.(*Backend).Fetch", ath+"core.(*Gateway).runFetch")...)
	// WebSocket write: the coalescer's syscall under coder/websocket.
	s.add(2, frames(sys6, "net.(*conn).Write", ath+"wss.(*coalescer).flushLocked", ath+"wss.(*coalescer).Write",
		ws+"(*Conn).writeFrame", ws+"(*Conn).Write", ath+"wss.(*conn).drain")...)
	// WebSocket write: a writer of wss's by its name.
	s.add(1, frames(sys6, "net.(*conn).Write", ath+"wss.(*bufWriter).Flush", ath+"wss.(*conn).drain")...)
	// WebSocket write: masking has no category of its own; its caller does.
	s.add(1, frames(ws+"mask", ws+"(*msgWriter).Write", ath+"wss.(*conn).drain")...)
	// WebSocket read.
	s.add(1, frames(ws+"readFrameHeader", ws+"(*Conn).readLoop", ws+"(*Conn).Reader", ath+"wss.(*conn).readLoop")...)
	// Request decode: encoding/json under core/request; recursion in
	// the JSON checker counts once in the cumulative share.
	s.add(2, frames("encoding/json.(*decodeState).object", "encoding/json.Unmarshal", ath+"core/request.DecodeObject",
		ath+"core/request.DecodeFetch", ath+"core.newOp", ath+"core.(*Gateway).Do", ath+"wss.(*conn).run")...)
	s.add(1, frames(ath+"core/vocab.(*jsonChecker).value", ath+"core/vocab.(*jsonChecker).object",
		ath+"core/vocab.(*jsonChecker).value", ath+"core/vocab.CheckJSON", ath+"wss.DecodeRequest", ath+"wss.(*conn).handle",
		ath+"wss.(*conn).readLoop")...)
	// Planning: an allocation in the SQL builder.
	s.add(2, frames("runtime.mallocgc", ath+"core/sqlq.(*builder).where", ath+"core/sqlq.Select",
		ath+"core.(*Gateway).planFetch", ath+"core.(*Gateway).fetch")...)
	// Reply encoding, through an inlined call: one location whose lines
	// are AppendString (innermost) inlined into AppendRow.
	s.add(2, [][]string{{ath + "core/vocab.AppendString", ath + "core/vocab.AppendRow"}, {ath + "core.collect"},
		{ath + "core.(*Gateway).runFetch"}}...)
	// HTTP server: header parsing and the REST reply's write.
	s.add(3, frames("net/textproto.readMIMEHeader", "net/http.(*conn).readRequest", "net/http.(*conn).serve")...)
	s.add(1, frames(sys6, "net.(*conn).Write", "net/http.(*response).finishRequest", "net/http.(*conn).serve")...)
	// Other gateway code: no category of its own but ours.
	s.add(1, frames("context.WithTimeout", ath+"core.(*Gateway).run", ath+"core.(*Gateway).Do", ath+"wss.(*conn).run")...)
	// Scheduler.
	s.add(4, frames("runtime.epollwait", "runtime.netpoll", "runtime.findRunnable", "runtime.schedule", "runtime.park_m",
		"runtime.mcall")...)
	// Other.
	s.add(1, frames("runtime.nanotime1")...)

	p, err := loadgen.AnalyzeProfile(s.bytes(t))
	testutil.NoError(t, err)
	const total = 41.0
	want := map[string]float64{
		loadgen.CatGC: 6, loadgen.CatControl: 6, loadgen.CatLive: 2, loadgen.CatDriver: 5,
		loadgen.CatWSWrite: 4, loadgen.CatWSRead: 1, loadgen.CatDecode: 3, loadgen.CatPlan: 2,
		loadgen.CatEncode: 2, loadgen.CatHTTP: 4, loadgen.CatGateway: 1, loadgen.CatSchedule: 4, loadgen.CatOther: 1,
	}
	testutil.Equal(t, "samples", p.Samples, int64(total))
	testutil.Equal(t, "duration", p.Seconds, 5.0)
	if math.Abs(p.CPUSeconds-total/100) > 1e-9 {
		t.Errorf("cpu seconds %v, want %v", p.CPUSeconds, total/100)
	}
	testutil.Equal(t, "categories", len(p.Categories), len(loadgen.ProfileCategories))
	var sum float64
	for i, c := range p.Categories {
		testutil.Equal(t, "category order", c.Name, loadgen.ProfileCategories[i])
		if math.Abs(c.Share-want[c.Name]/total) > 1e-9 {
			t.Errorf("%s: share %.4f (%.0f samples), want %.0f samples", c.Name, c.Share, c.Share*total, want[c.Name])
		}
		sum += c.Share
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares sum to %v", sum)
	}

	// Flat: the leaf (the inlined AppendString, not AppendRow); cum: once
	// per sample, recursion included.
	share := func(list []loadgen.FuncShare, fn string) (loadgen.FuncShare, bool) {
		for _, f := range list {
			if f.Function == fn {
				return f, true
			}
		}
		return loadgen.FuncShare{}, false
	}
	testutil.Equal(t, "top flat", len(p.TopFlat), 15)
	testutil.Equal(t, "top cum", len(p.TopCum), 15)
	top := p.TopFlat[0]
	testutil.Equal(t, "top flat function", top.Function, sys6)
	if math.Abs(top.Flat-15/total) > 1e-9 || math.Abs(top.Cum-15/total) > 1e-9 {
		t.Errorf("top flat %+v, want 15 of %v samples flat and cum", top, total)
	}
	for i := 1; i < len(p.TopFlat); i++ {
		if p.TopFlat[i].Flat > p.TopFlat[i-1].Flat {
			t.Errorf("top flat out of order at %d: %+v", i, p.TopFlat)
		}
	}
	if f, ok := share(p.TopCum, ath+"wss.(*conn).run"); !ok || math.Abs(f.Cum-6/total) > 1e-9 || f.Flat != 0 {
		t.Errorf("wss.(*conn).run in top cum: %+v %v, want cum 6 of %v samples, flat 0", f, ok, total)
	}
	if f, ok := share(p.TopFlat, ath+"core/vocab.AppendString"); !ok || math.Abs(f.Flat-2/total) > 1e-9 {
		t.Errorf("the inlined leaf AppendString: %+v %v, want flat 2 of %v samples", f, ok, total)
	}
	if _, ok := share(p.TopFlat, ath+"core/vocab.AppendRow"); ok {
		t.Error("AppendRow, which AppendString was inlined into, counted as a leaf")
	}

	// The report prints the categories and the top functions.
	var rep loadgen.Report
	rep.AddProfile(loadgen.GatewayNew, p)
	var table, html bytes.Buffer
	testutil.NoError(t, rep.WriteTable(&table))
	for _, s := range []string{"where the gateway's CPU went", loadgen.CatControl, "14.6%", "top 15 functions by flat share", sys6} {
		testutil.Contains(t, "table", table.String(), s)
	}
	testutil.NoError(t, rep.WriteHTML(&html))
	testutil.Contains(t, "html", html.String(), "Where the gateway's CPU went")
	testutil.Contains(t, "html", html.String(), "core/vocab.AppendString")
}

func TestAnalyzeProfileRejects(t *testing.T) {
	t.Parallel()
	heap := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}}
	var b bytes.Buffer
	testutil.NoError(t, heap.Write(&b))
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"not a profile", []byte("hello"), "parse cpu profile"},
		{"heap profile", b.Bytes(), "not a cpu profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadgen.AnalyzeProfile(tt.raw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AnalyzeProfile: %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzProfileFunctionNames: whatever the function names of a profile
// (type arguments with slashes and dots, no package, empty, odd bytes),
// the analysis neither fails nor panics, every sample lands in exactly
// one category, and the shares sum to one.
func FuzzProfileFunctionNames(f *testing.F) {
	for _, seed := range [][2]string{
		{ath + "core/usage.(*Batcher[go.shape.struct { X net/url.URL }]).run", "runtime.mallocgc"},
		{"main.main", ""},
		{"[", "a/b/c"},
		{"x.(*T[a/b.c]).M[...]", ath + "wss.(*coalescer).Write"},
		{"/", "."},
		{"github.com/coder/websocket", "github.com/coder/websocket.(*Conn).Read"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, leaf, caller string) {
		s := newSynthProfile()
		s.add(2, frames(leaf, caller)...)
		s.add(1, frames(caller)...)
		p, err := loadgen.AnalyzeProfile(s.bytes(t))
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, c := range p.Categories {
			sum += c.Share
		}
		if math.Abs(sum-1) > 1e-9 || p.Samples != 3 {
			t.Errorf("leaf %q, caller %q: shares sum to %v over %d samples", leaf, caller, sum, p.Samples)
		}
	})
}
