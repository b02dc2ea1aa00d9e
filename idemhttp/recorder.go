package idemhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// ErrHijackCovered is returned by Hijack on the ResponseWriter that a covered
// handler receives: what is written to a hijacked connection cannot be
// recorded. Serve upgrades (WebSocket and the like) on routes or methods the
// middleware does not cover.
var ErrHijackCovered = errors.New("idemhttp: cannot hijack the connection of a request covered by the idempotency middleware: its response could not be recorded; do not cover this route or method")

// recorder is the ResponseWriter a covered handler writes to. It buffers the
// response so it can be recorded before the client sees it, and so that a
// response that will not be recorded (a 5xx) still reaches the client whole.
//
// It commits (sends the status, headers and what is buffered to the client,
// then passes every later write straight through) when the handler flushes,
// so streaming handlers keep working, and when the body outgrows the limit,
// so memory stays bounded. A committed response is still recorded if it
// completes within the limit; replays send it in one piece.
type recorder struct {
	w      http.ResponseWriter
	method string
	header http.Header // the handler's
	status int         // 0 until the final WriteHeader
	// final is the header as it was at the final WriteHeader: like
	// net/http, later changes to the handler's header have no effect.
	final http.Header
	body  bytes.Buffer
	limit int

	// over: the body went past limit; it is not recorded and no longer
	// kept.
	over bool
	// committed: the status and headers went to the client; writes go
	// straight through from now on.
	committed bool
}

func newRecorder(w http.ResponseWriter, method string, limit int) *recorder {
	// The handler sees the headers set by middleware outside this one, as
	// it would without it.
	return &recorder{w: w, method: method, header: w.Header().Clone(), limit: limit}
}

// Header returns the response headers the handler sets.
func (rec *recorder) Header() http.Header {
	if rec.header == nil {
		rec.header = make(http.Header)
	}
	return rec.header
}

// WriteHeader behaves as net/http's: an invalid code panics, informational
// codes (1xx but 101) go to the client at once and are not recorded, and a
// second final status is ignored.
func (rec *recorder) WriteHeader(code int) {
	if rec.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		replaceHeader(rec.w.Header(), rec.Header())
		rec.w.WriteHeader(code)
		return
	}
	rec.status = code
	rec.final = rec.Header().Clone()
}

// Write buffers p, or sends it on once the response is committed.
func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 { // as net/http: an empty write succeeds, whatever the status
		return 0, nil
	}
	if !bodyAllowedForStatus(rec.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if !rec.committed && rec.body.Len()+len(p) <= rec.limit {
		return rec.body.Write(p)
	}
	if !rec.committed {
		rec.commitWith(p)
	}
	rec.keep(p)
	return rec.w.Write(p)
}

// keep adds p to the copy that will be recorded, or gives up on recording
// once the body is over the limit.
func (rec *recorder) keep(p []byte) {
	if rec.over {
		return
	}
	if rec.body.Len()+len(p) > rec.limit {
		rec.over = true
		rec.body = bytes.Buffer{}
		return
	}
	rec.body.Write(p)
}

// FlushError commits the response and flushes the client's connection.
func (rec *recorder) FlushError() error {
	if !rec.committed {
		if rec.status == 0 {
			rec.WriteHeader(http.StatusOK)
		}
		rec.commitWith(nil)
	}
	return http.NewResponseController(rec.w).Flush()
}

// Flush is FlushError for the [http.Flusher] interface.
func (rec *recorder) Flush() { _ = rec.FlushError() }

// Hijack refuses: a hijacked connection's bytes cannot be recorded.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, ErrHijackCovered
}

// Unwrap returns the client's ResponseWriter, so [http.ResponseController]
// reaches its deadlines and full-duplex setting.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.w }

// commitWith sends the status, headers and buffered body to the client,
// before next, the write that made it commit (nil for a flush), which the
// caller sends. The buffer is kept: it is the start of what will be
// recorded.
func (rec *recorder) commitWith(next []byte) {
	rec.committed = true
	rec.settle(next)
	replaceHeader(rec.w.Header(), rec.final)
	rec.w.WriteHeader(rec.status)
	if rec.body.Len() > 0 {
		_, _ = rec.w.Write(rec.body.Bytes()) // a failure shows again on the handler's next write
	}
}

// settle makes the response's final form explicit, as net/http would make
// it when it sends the headers, so the recorded response replays byte for
// byte: a 200 when the handler wrote nothing, and a Content-Type. net/http
// sniffs a missing Content-Type from the first bytes it sends (the buffered
// body, or else next, the write about to be sent); a replay sends the body
// at once, so the sniffed type (or, when there is nothing to sniff, an
// explicit "no Content-Type") is fixed here.
func (rec *recorder) settle(next []byte) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	h := rec.final
	if _, ok := h["Content-Type"]; ok || !bodyAllowedForStatus(rec.status) ||
		h.Get("Content-Encoding") != "" || h.Get("Transfer-Encoding") != "" {
		return
	}
	// net/http sniffs the first 512 bytes it sends: the buffered body,
	// then the write about to be sent.
	sniff := rec.body.Bytes()
	if len(sniff) < sniffLen && len(next) > 0 {
		sniff = append(sniff[:len(sniff):len(sniff)], next[:min(len(next), sniffLen-len(sniff))]...)
	}
	switch {
	case len(sniff) > 0:
		h.Set("Content-Type", http.DetectContentType(sniff))
	case rec.committed:
		h["Content-Type"] = nil
	}
}

// sniffLen is how much of a body net/http looks at to guess its type.
const sniffLen = 512

// finish sends the response to the client, unless it already streamed.
func (rec *recorder) finish() {
	if rec.committed {
		return
	}
	rec.settle(nil)
	replaceHeader(rec.w.Header(), rec.final)
	writeBuffered(rec.w, rec.method, rec.status, rec.body.Bytes())
}

// recorded returns what is stored for the response: its status, the
// headers in allow, and its body. Call it after settle.
func (rec *recorder) recorded(allow []string) recordedResponse {
	rr := recordedResponse{Status: rec.status, Body: rec.body.Bytes()}
	for _, name := range allow {
		vals, ok := rec.final[name]
		if !ok {
			continue
		}
		if rr.Header == nil {
			rr.Header = make(http.Header, len(allow))
		}
		rr.Header[name] = vals
	}
	return rr
}

// writeRecorded replays rr to w: its headers over those already set, the
// Idempotent-Replayed header, its status and its body.
func writeRecorded(w http.ResponseWriter, method string, rr recordedResponse) {
	h := w.Header()
	for name, vals := range rr.Header {
		h[name] = vals
	}
	h.Set(ReplayedHeader, "true")
	writeBuffered(w, method, rr.Status, rr.Body)
}

// writeBuffered sends a whole response whose body is known, with a
// Content-Length, so the first response and its replays are framed alike
// whatever their size.
func writeBuffered(w http.ResponseWriter, method string, status int, body []byte) {
	h := w.Header()
	if bodyAllowedForStatus(status) && method != http.MethodHead &&
		h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if len(body) > 0 && bodyAllowedForStatus(status) {
		_, _ = w.Write(body) // the client went away: nothing left to tell it
	}
}

// replaceHeader makes dst hold exactly src's headers.
func replaceHeader(dst, src http.Header) {
	clear(dst)
	for name, vals := range src {
		dst[name] = vals
	}
}

// bodyAllowedForStatus is net/http's rule: 1xx, 204 and 304 have no body.
func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}
