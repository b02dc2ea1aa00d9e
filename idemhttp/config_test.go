package idemhttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idempotency/idemhttp"
	"github.com/idemkit/idempotency/internal/testdb"
)

// TestConfigValidation: New refuses what cannot work, saying which field is
// wrong, and accepts the zero Config.
func TestConfigValidation(t *testing.T) {
	s := testdb.NewStore(t, testdb.Backends()[0])
	for _, tc := range []struct {
		cfg  idemhttp.Config
		want string // "" means valid
	}{
		{idemhttp.Config{}, ""},
		{idemhttp.Config{Methods: []string{"POST", "DELETE"}, Header: "x-key", FingerprintHeaders: []string{}, ReplayHeaders: []string{}}, ""},
		{idemhttp.Config{Methods: []string{"PO ST"}}, "Methods"},
		{idemhttp.Config{Header: "Idempotency Key"}, "Header"},
		{idemhttp.Config{FingerprintHeaders: []string{"a:b"}}, "FingerprintHeaders"},
		{idemhttp.Config{ReplayHeaders: []string{""}}, "ReplayHeaders"},
		{idemhttp.Config{ReplayHeaders: []string{"transfer-encoding"}}, "Transfer-Encoding"},
		{idemhttp.Config{ReplayHeaders: []string{"Idempotent-Replayed"}}, "Idempotent-Replayed"},
		{idemhttp.Config{MaxBodyBytes: -1}, "MaxBodyBytes"},
		{idemhttp.Config{MaxResponseBytes: -1}, "MaxResponseBytes"},
		{idemhttp.Config{TTL: -1}, "TTL"},
		{idemhttp.Config{Namespace: "a\x00b"}, "Namespace"},
	} {
		mw, err := idemhttp.New(s, tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want == "" && mw == nil:
			t.Errorf("%+v: nil middleware", tc.cfg)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one naming %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := idemhttp.New(nil, idemhttp.Config{}); err == nil {
		t.Error("New(nil store) succeeded")
	}
	mw, _ := idemhttp.New(s, idemhttp.Config{})
	defer func() {
		if recover() == nil {
			t.Error("wrapping a nil handler did not panic")
		}
	}()
	var nilHandler http.Handler
	mw(nilHandler)
}
