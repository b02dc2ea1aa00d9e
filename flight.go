package idempotency

import "sync"

// outcome is a recorded result that a flight's leader shares with the
// duplicates waiting on it. Its zero value means "nothing to share".
type outcome struct {
	settled  bool // a final answer: replayed or recorded
	mismatch bool
	state    State
	payload  []byte
}

// flight is one in-process execution that duplicates wait on.
type flight struct {
	id   string
	fp   string // the leader's request
	done chan struct{}
	out  outcome // written by the leader before done is closed

	// running is closed once the leader holds the key and runs fn (or
	// has ended): until then it is only reading, and a duplicate that may
	// not wait can still take the leader's replay.
	running chan struct{}
	ran     bool // running is closed; the leader's goroutine only
}

// claimed marks the leader as holding the key. Only the leader calls it.
func (f *flight) claimed() {
	if !f.ran {
		f.ran = true
		close(f.running)
	}
}

// flightGroup tracks in-process executions, so that duplicates in one
// process share one execution without polling the store. A flight's id is
// chosen by its user: Manager keys flights by key and request, TxManager by
// key alone. Its zero value is ready to use.
type flightGroup struct {
	mu      sync.Mutex
	flights map[string]*flight
	onJoin  func() // test hook: called when a duplicate joins a flight
}

// join returns the flight id and whether the caller, whose request is fp,
// leads it.
func (g *flightGroup) join(id, fp string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.flights[id]; ok {
		if g.onJoin != nil {
			g.onJoin()
		}
		return f, false
	}
	if g.flights == nil {
		g.flights = make(map[string]*flight)
	}
	f := &flight{id: id, fp: fp, done: make(chan struct{}), running: make(chan struct{})}
	g.flights[id] = f
	return f, true
}

// finish publishes the leader's outcome and wakes the flight's followers.
func (g *flightGroup) finish(f *flight, out outcome) {
	g.mu.Lock()
	delete(g.flights, f.id)
	g.mu.Unlock()
	f.out = out
	close(f.done)
}
