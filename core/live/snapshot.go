package live

import (
	"strconv"

	"github.com/athena-go/athena/core/vocab"
)

// AppendEnvelope appends the members of the success envelope that answers
// a subscription, after the caller's opening brace (and any members of its
// own), through the closing brace: the message, the rows (none when
// resumed: the missed events follow) and meta.cursor, key, mode, resumed
// and replayed. The socket's reply and the SSE live.snapshot event share
// it.
func (s *Snapshot) AppendEnvelope(b []byte) []byte {
	rows := s.Rows
	msg := "Subscribed: " + strconv.Itoa(s.RowCount) + " " + vocab.Plural(int64(s.RowCount), "row")
	if s.Resumed || rows == nil {
		rows = []byte("[]")
	}
	if s.Resumed {
		msg = "Resumed: " + strconv.Itoa(s.Replayed) + " missed " + vocab.Plural(int64(s.Replayed), "event") + " follow"
	}
	b = append(b, `"status":"success","message":`...)
	b = vocab.AppendString(b, msg)
	b = append(b, `,"data":`...)
	b = append(b, rows...)
	b = append(b, `,"meta":{"cursor":`...)
	b = vocab.AppendString(b, s.Cursor)
	b = append(b, `,"key":[`...)
	for i, k := range s.Key {
		if i > 0 {
			b = append(b, ',')
		}
		b = vocab.AppendString(b, k)
	}
	b = append(b, `],"mode":`...)
	b = vocab.AppendString(b, s.Mode)
	b = append(b, `,"resumed":`...)
	b = strconv.AppendBool(b, s.Resumed)
	b = append(b, `,"replayed":`...)
	b = strconv.AppendInt(b, int64(s.Replayed), 10)
	return append(b, "}}"...)
}
