package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// stamp formats a time of the store's clock for people.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// stampJSON formats a time for -json output; "" for the zero time.
func stampJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ago says how far t is from now: "in 1h2m3s" or "1h2m3s ago".
func ago(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d > 0:
		return "in " + roughly(d)
	case d < 0:
		return roughly(-d) + " ago"
	}
	return "now"
}

// roughly rounds d to what a person reads: milliseconds under a minute,
// seconds above.
func roughly(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

// show prints s as it is when every rune is printable, quoted otherwise
// (and when empty or with spaces at an end), so that a key never breaks a
// line or hides a byte.
func show(s string) string {
	if s == "" || s != strings.TrimSpace(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return strconv.Quote(s)
		}
	}
	return s
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
