package wss

import (
	"encoding/binary"
	"testing"
)

// segments splits a byte stream into its frames' headers and payloads
// (RFC 6455 §5.2), as the ends of each: the reference frameCursor must
// never read across. A trailing incomplete part ends at the stream's end.
func segments(b []byte) []int {
	var ends []int
	at := 0
	for at < len(b) {
		if at+2 > len(b) {
			return append(ends, len(b))
		}
		hl := headerLen(b[at+1])
		if at+hl > len(b) {
			return append(ends, len(b))
		}
		var n uint64
		switch b[at+1] & 0x7f {
		case 126:
			n = uint64(binary.BigEndian.Uint16(b[at+2:]))
		case 127:
			n = binary.BigEndian.Uint64(b[at+2:])
		default:
			n = uint64(b[at+1] & 0x7f)
		}
		at += hl
		ends = append(ends, at)
		if n == 0 {
			continue
		}
		if n > uint64(len(b)-at) {
			return append(ends, len(b))
		}
		at += int(n)
		ends = append(ends, at)
	}
	return ends
}

// FuzzFrameCursor feeds client bytes to the cursor in reads of varying
// sizes, some from a buffer and some straight from the "socket": every
// read takes at least one byte and never crosses the end of a frame's
// header or payload.
func FuzzFrameCursor(f *testing.F) {
	masked := func(op byte, payload []byte) []byte {
		b := []byte{0x80 | op}
		switch {
		case len(payload) < 126:
			b = append(b, 0x80|byte(len(payload)))
		case len(payload) <= 0xffff:
			b = append(b, 0x80|126)
			b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
		default:
			b = append(b, 0x80|127)
			b = binary.BigEndian.AppendUint64(b, uint64(len(payload)))
		}
		return append(append(b, 1, 2, 3, 4), payload...)
	}
	var two []byte
	two = append(two, masked(1, []byte("{}"))...)
	two = append(two, masked(8, []byte{3, 232})...)
	f.Add(two, []byte{16, 3, 1})
	f.Add(masked(1, make([]byte, 300)), []byte{1, 1, 200, 7})
	f.Add(masked(2, make([]byte, 70000)), []byte{5, 255, 255})
	f.Add(append(masked(9, nil), masked(1, []byte(`{"action":"ping"}`))...), []byte{2})
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5}, []byte{3})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		ends := segments(stream)
		var cur frameCursor
		at, seg := 0, 0
		for i := 0; at < len(stream); i++ {
			size := 16
			if len(sizes) > 0 {
				size = int(sizes[i%len(sizes)]) + 1
			}
			p := make([]byte, size)
			var avail []byte
			if i%3 != 2 { // from a buffer; else straight from the socket
				avail = stream[at:min(len(stream), at+1+i%4096)]
			}
			n := cur.limit(p, avail)
			if n < 1 || n > len(p) || (avail != nil && n > len(avail)) {
				t.Fatalf("limit %d for a read of %d with %d bytes available", n, len(p), len(avail))
			}
			n = min(n, len(stream)-at) // the socket has no more
			cur.consume(stream[at : at+n])
			from := at
			at += n
			for seg < len(ends) && ends[seg] <= from {
				seg++
			}
			if seg < len(ends) && ends[seg] < at {
				t.Fatalf("read of %d..%d crosses a frame boundary at %d", from, at, ends[seg])
			}
		}
	})
}
