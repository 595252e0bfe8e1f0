package jobs

import (
	"context"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// maxFinishBatch bounds how many terminal writes go in one FinishMany.
const maxFinishBatch = 64

// finishReq is one job's terminal write waiting for the finisher.
type finishReq struct {
	j    *vocab.Job
	done chan finishRes
}

type finishRes struct {
	ok  bool
	err error
}

// finishLoop stores the terminal states of the jobs that finish while it
// is busy in one FinishMany (issue #19): it takes a request, adds every
// other one already waiting (it never waits for more, so a lone job is
// written at once, with Finish), stores them together and answers each.
// It runs only for a store that is a BatchFinisher, and returns when reqs
// is closed, which workLoop does after its last job has ended.
func (q *Queue) finishLoop(reqs <-chan finishReq) {
	defer q.wg.Done()
	batch := make([]finishReq, 0, maxFinishBatch)
	js := make([]*vocab.Job, 0, maxFinishBatch)
	for r := range reqs {
		batch = append(batch[:0], r)
	more:
		for len(batch) < maxFinishBatch {
			select {
			case r, open := <-reqs:
				if !open {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
		if len(batch) == 1 {
			ok, err := q.cfg.Store.Finish(ctx, r.j)
			cancel()
			r.done <- finishRes{ok: ok, err: err}
			continue
		}
		js = js[:0]
		for _, r := range batch {
			js = append(js, r.j)
		}
		ok, errs := q.batch.FinishMany(ctx, js)
		cancel()
		for i, r := range batch {
			r.done <- finishRes{ok: ok[i], err: errs[i]}
		}
	}
}

// finishBatched hands j's terminal write to the finisher and waits for it.
func (q *Queue) finishBatched(j *vocab.Job) (bool, error) {
	done := make(chan finishRes, 1)
	q.finishCh <- finishReq{j: j, done: done}
	r := <-done
	return r.ok, r.err
}
