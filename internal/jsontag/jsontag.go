// Package jsontag reads encoding/json struct tags as encoding/json does, for
// the packages that mirror its rules (internal/canonical, internal/jsondec).
package jsontag

import (
	"strings"
	"unicode"
)

// ValidName reports whether encoding/json accepts s as the name in a json
// struct tag. It uses the Go field name instead of an empty or invalid one.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
