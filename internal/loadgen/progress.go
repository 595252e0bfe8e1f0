package loadgen

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line bar on w while a run goes: planned time done,
// and the cell running. Its goroutine redraws every 200ms until stop.
type progress struct {
	w     io.Writer
	total time.Duration
	start time.Time

	mu sync.Mutex
	// done and label are guarded by mu.
	done  time.Duration
	label string

	quit     chan struct{}
	finished chan struct{}
	stopOnce sync.Once
}

// startProgress starts the redraw loop; with a nil w it draws nothing.
func startProgress(w io.Writer, total time.Duration) *progress {
	p := &progress{w: w, total: max(total, time.Millisecond), start: time.Now(), quit: make(chan struct{}), finished: make(chan struct{})}
	if w == nil {
		close(p.finished)
		return p
	}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	p.mu.Lock()
	frac := float64(p.done) / float64(p.total)
	label := p.label
	p.mu.Unlock()
	frac = min(frac, 1)
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %3.0f%%  %s  %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac,
		time.Since(p.start).Truncate(time.Second), label)
}

func (p *progress) set(label string) {
	p.mu.Lock()
	p.label = label
	p.mu.Unlock()
}

func (p *progress) advance(d time.Duration) {
	p.mu.Lock()
	p.done += d
	p.mu.Unlock()
}

// stop clears the bar and waits for the redraw loop to end.
func (p *progress) stop() {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.finished
}
