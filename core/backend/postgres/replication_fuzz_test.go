package postgres_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/athena-go/athena/core/backend/postgres"
)

// pgoutput protocol 1 messages, built by hand.
func relationMsg(id uint32, ns, name string) []byte {
	b := []byte{'R'}
	b = binary.BigEndian.AppendUint32(b, id)
	b = append(append(b, ns...), 0)
	b = append(append(b, name...), 0)
	b = append(b, 'd')
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, 1)
	b = append(append(b, "id"...), 0)
	b = binary.BigEndian.AppendUint32(b, 23)
	return binary.BigEndian.AppendUint32(b, 0xffffffff)
}

func beginMsg() []byte { return append([]byte{'B'}, make([]byte, 20)...) }

func rowMsg(kind byte, id uint32) []byte {
	b := binary.BigEndian.AppendUint32([]byte{kind}, id)
	return append(b, 'N', 0, 1, 'n') // a tuple the decoder never reads
}

func commitMsg(end uint64) []byte {
	b := []byte{'C', 0}
	b = binary.BigEndian.AppendUint64(b, end-8)
	b = binary.BigEndian.AppendUint64(b, end)
	return binary.BigEndian.AppendUint64(b, 0)
}

func truncateMsg(ids ...uint32) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'T'}, uint32(len(ids)))
	b = append(b, 0)
	for _, id := range ids {
		b = binary.BigEndian.AppendUint32(b, id)
	}
	return b
}

// sep splits a fuzz input into messages.
var sep = []byte{0xff, 0xfe, 0xfd}

func TestDecodeStream(t *testing.T) {
	t.Parallel()
	commits, err := postgres.DecodeStream([][]byte{
		relationMsg(1, "public", "orders"), relationMsg(2, "public", "items"),
		beginMsg(), rowMsg('I', 2), rowMsg('U', 1), rowMsg('I', 2), commitMsg(100),
		beginMsg(), commitMsg(200), // touched nothing
		beginMsg(), truncateMsg(1), commitMsg(300),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 2 || !slices.Equal(commits[0].Tables, []string{"items", "orders"}) ||
		!slices.Equal(commits[1].Tables, []string{"orders"}) || commits[1].LSN != "0/12C" {
		t.Fatalf("commits = %+v", commits)
	}
	if _, err := postgres.DecodeStream([][]byte{beginMsg(), rowMsg('D', 9)}); err == nil {
		t.Fatal("a row of an unknown relation was accepted")
	}
	for _, short := range [][]byte{{}, {'I', 0}, {'C', 0, 0}, {'R', 0, 0, 0, 1}, {'T', 0, 0, 0, 9, 0}, {'M', 1}} {
		if _, err := postgres.DecodeStream([][]byte{short}); err == nil {
			t.Fatalf("short message %q was accepted", short)
		}
	}
}

// FuzzDecodeStream: no byte sequence from the server makes the decoder
// panic, and every commit it reports names sorted, distinct tables.
func FuzzDecodeStream(f *testing.F) {
	join := func(msgs ...[]byte) []byte { return bytes.Join(msgs, sep) }
	f.Add(join(relationMsg(1, "public", "orders"), beginMsg(), rowMsg('I', 1), commitMsg(100)))
	f.Add(join(relationMsg(7, "s", "t"), beginMsg(), truncateMsg(7, 7), commitMsg(64)))
	f.Add(join(beginMsg(), []byte{'M', 1, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 1, 'x'}, commitMsg(9)))
	f.Fuzz(func(t *testing.T, data []byte) {
		commits, _ := postgres.DecodeStream(bytes.Split(data, sep))
		for _, c := range commits {
			if len(c.Tables) == 0 || !slices.IsSorted(c.Tables) || len(slices.Compact(slices.Clone(c.Tables))) != len(c.Tables) {
				t.Fatalf("bad commit %+v", c)
			}
		}
	})
}
