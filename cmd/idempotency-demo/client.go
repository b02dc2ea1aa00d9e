package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// retryPause is how long the demo client waits before retrying a 409. Real
// clients honour Retry-After; the demo is in a hurry.
const retryPause = 100 * time.Millisecond

// client plays an API client that retries the way real ones do.
type client struct {
	base string
	http *http.Client
}

// response is what the client saw for one request.
type response struct {
	status   int
	replayed bool
	body     string
	err      error // transport error: timeout, connection reset
}

func (c *client) post(ctx context.Context, hc *http.Client, base, account, key string, amount int64) response {
	body, _ := json.Marshal(chargeRequest{Amount: amount, Currency: "usd"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/charges", bytes.NewReader(body))
	if err != nil {
		return response{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+account)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed") == "true", body: string(b)}
}

// tally counts what one scenario's client saw.
type tally struct {
	name       string
	sent       int
	executed   int // charges that actually ran on the server
	firstRuns  int // 2xx answers produced by running the handler
	replays    int // answers replayed from the store
	conflicts  int // 409: in flight
	mismatches int // 422: key reused for another request
	recovered  int // keys recovered after a crashed worker's lease
	transport  int // timeouts and dropped connections
	other      int
}

func (t *tally) add(r response) {
	t.sent++
	switch {
	case r.err != nil:
		t.transport++
	case r.status == http.StatusConflict:
		t.conflicts++
	case r.status == http.StatusUnprocessableEntity:
		t.mismatches++
	case r.status/100 == 2 && r.replayed:
		t.replays++
	case r.status/100 == 2:
		t.firstRuns++
	default:
		t.other++
	}
}

// untilSettled retries a request while it is in flight elsewhere (409).
func (c *client) untilSettled(ctx context.Context, t *tally, account, key string, amount int64) (response, error) {
	for {
		r := c.post(ctx, c.http, c.base, account, key, amount)
		t.add(r)
		if r.err != nil || r.status != http.StatusConflict {
			return r, r.err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(retryPause):
		}
	}
}

// burst sends one charge n times at once with the same key, as a client
// with an aggressive retry policy (or a double-clicked button) does.
func (c *client) burst(ctx context.Context, l *ledger, n int) (*tally, error) {
	t := &tally{name: fmt.Sprintf("%d concurrent copies of one charge", n)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := c.post(ctx, c.http, c.base, "acct_alice", "order-1001", 1999)
			mu.Lock()
			t.add(r)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	// The ones told 409 retry until the first charge is recorded.
	if _, err := c.untilSettled(ctx, t, "acct_alice", "order-1001", 1999); err != nil {
		return nil, err
	}
	t.executed = l.count("order-1001")
	return t, nil
}

// timeoutRetry gives up on a slow request and retries it.
func (c *client) timeoutRetry(ctx context.Context, l *ledger, networkDelay time.Duration) (*tally, error) {
	t := &tally{name: "client timeout, then retries"}
	impatient := &http.Client{Timeout: networkDelay / 4}
	r := c.post(ctx, impatient, c.base, "acct_alice", "order-1002", 4200)
	t.add(r)
	if r.err == nil {
		return nil, fmt.Errorf("the impatient request did not time out: %d", r.status)
	}
	r, err := c.untilSettled(ctx, t, "acct_alice", "order-1002", 4200)
	if err != nil {
		return nil, err
	}
	if !r.replayed {
		return nil, errors.New("the retry after a timeout was not a replay")
	}
	t.executed = l.count("order-1002")
	return t, nil
}

// mismatch reuses a key for another amount: a client bug, rejected.
func (c *client) mismatch(ctx context.Context, l *ledger) (*tally, error) {
	t := &tally{name: "key reused with another amount"}
	r := c.post(ctx, c.http, c.base, "acct_alice", "order-1001", 5000)
	t.add(r)
	if r.status != http.StatusUnprocessableEntity {
		return nil, fmt.Errorf("reusing a key for another amount answered %d, want 422", r.status)
	}
	return t, nil
}

// otherAccount sends the same key from another account: scopes keep them
// apart, so it is a new charge, not alice's replay.
func (c *client) otherAccount(ctx context.Context, l *ledger) (*tally, error) {
	t := &tally{name: "same key, another account"}
	r, err := c.untilSettled(ctx, t, "acct_bob", "order-1001", 1999)
	if err != nil {
		return nil, err
	}
	if r.replayed {
		return nil, errors.New("bob was replayed alice's charge")
	}
	t.executed = l.count("order-1001") - 1 // alice's charge is counted in the first row
	return t, nil
}
