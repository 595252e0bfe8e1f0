package admin

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/core/vocab"
)

// ClientStatistics is a row of client_statistics as the admin API shows it.
type ClientStatistics struct {
	ClientName      string     `json:"client_name"`
	TotalRequests   int64      `json:"total_requests"`
	SuccessCount    int64      `json:"success_count"`
	ErrorCount      int64      `json:"error_count"`
	TotalDurationUS int64      `json:"total_duration_us"`
	AvgDurationMS   float64    `json:"avg_duration_ms"`
	LastRequestAt   *time.Time `json:"last_request_at"`
}

// TableStatistics is a row of client_table_statistics.
type TableStatistics struct {
	TableName       string     `json:"table_name"`
	Operation       string     `json:"operation"`
	TotalOperations int64      `json:"total_operations"`
	SuccessCount    int64      `json:"success_count"`
	ErrorCount      int64      `json:"error_count"`
	TotalDurationUS int64      `json:"total_duration_us"`
	LastOperationAt *time.Time `json:"last_operation_at"`
}

// ClientStatisticsReport is one client's totals and per-table rows.
type ClientStatisticsReport struct {
	ClientStatistics
	Tables []TableStatistics `json:"tables"`
}

// OperationLogEntry is a row of gateway_operation_log.
type OperationLogEntry struct {
	ID         int64     `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	TableName  string    `json:"table_name"`
	Operation  string    `json:"operation"`
	Status     string    `json:"status"`
	ErrorCode  string    `json:"error_code,omitempty"`
	DurationUS int64     `json:"duration_us"`
}

// Drilldown is the reply of the drilldown route: one page of a client's
// operation log.
type Drilldown struct {
	ClientName string              `json:"client_name"`
	Total      int64               `json:"total"`
	Limit      int                 `json:"limit"`
	Offset     int                 `json:"offset"`
	Rows       []OperationLogEntry `json:"rows"`
}

// DrilldownQuery filters the drilldown. Empty strings match anything;
// Limit 0 means 100 (at most 1000).
type DrilldownQuery struct {
	TableName, Operation, Status string
	Limit, Offset                int
}

func clientStats(c usage.ClientStat) ClientStatistics {
	s := ClientStatistics{ClientName: c.ClientName, TotalRequests: c.Total, SuccessCount: c.Success, ErrorCount: c.Errors,
		TotalDurationUS: c.DurationUS, LastRequestAt: timePtr(c.LastAt)}
	if c.Total > 0 {
		s.AvgDurationMS = float64(c.DurationUS) / float64(c.Total) / 1000
	}
	return s
}

// Statistics lists client_statistics. Deltas still in the batcher are
// written first, so the answer includes every finished call.
func (s *Service) Statistics(ctx context.Context) ([]ClientStatistics, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if err := s.eng.Flush(ctx); err != nil {
		return nil, vocab.Classify(ctx, err)
	}
	cs, err := st.ClientStatistics(ctx)
	if err != nil {
		return nil, storeError(err, "statistics")
	}
	out := make([]ClientStatistics, len(cs))
	for i, c := range cs {
		out[i] = clientStats(c)
	}
	return out, nil
}

// RefreshStatistics rebuilds client_statistics and client_table_statistics
// from the log tables (after flushing the writers) and lists the result.
func (s *Service) RefreshStatistics(ctx context.Context) ([]ClientStatistics, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if err := s.eng.Flush(ctx); err != nil {
		return nil, vocab.Classify(ctx, err)
	}
	if err := st.RefreshStatistics(ctx, time.Now()); err != nil {
		return nil, storeError(err, "statistics")
	}
	return s.Statistics(ctx)
}

// ClientStatistics reports one client's totals and per-table rows.
func (s *Service) ClientStatistics(ctx context.Context, client string) (*ClientStatisticsReport, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if err := s.eng.Flush(ctx); err != nil {
		return nil, vocab.Classify(ctx, err)
	}
	c, ts, err := st.ClientStatistic(ctx, client)
	if err != nil {
		return nil, storeError(err, "statistics")
	}
	r := &ClientStatisticsReport{ClientStatistics: clientStats(c), Tables: make([]TableStatistics, len(ts))}
	for i, t := range ts {
		r.Tables[i] = TableStatistics{TableName: t.TableName, Operation: t.Operation, TotalOperations: t.Total, SuccessCount: t.Success,
			ErrorCount: t.Errors, TotalDurationUS: t.DurationUS, LastOperationAt: timePtr(t.LastAt)}
	}
	return r, nil
}

// StatisticsDrilldown pages through a client's operation log.
func (s *Service) StatisticsDrilldown(ctx context.Context, client string, q DrilldownQuery) (*Drilldown, error) {
	st, err := s.store()
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "limit: at most 1000")
	}
	if q.Offset < 0 {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "offset: must not be negative")
	}
	if q.Status != "" && q.Status != "success" && q.Status != "error" {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "status: expected success or error")
	}
	if err := s.eng.Flush(ctx); err != nil {
		return nil, vocab.Classify(ctx, err)
	}
	ls, total, err := st.OperationLogs(ctx, usage.DrilldownFilter{ClientName: client, TableName: q.TableName, Operation: q.Operation,
		Status: q.Status, Limit: q.Limit, Offset: q.Offset})
	if err != nil {
		return nil, storeError(err, "operation log")
	}
	d := &Drilldown{ClientName: client, Total: total, Limit: q.Limit, Offset: q.Offset, Rows: make([]OperationLogEntry, len(ls))}
	for i, l := range ls {
		d.Rows[i] = OperationLogEntry{ID: l.ID, CreatedAt: l.At, TableName: l.TableName, Operation: l.Operation, Status: l.Status,
			ErrorCode: l.ErrorCode, DurationUS: l.DurationUS}
	}
	return d, nil
}
