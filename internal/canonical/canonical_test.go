package canonical

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
)

type payment struct {
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Customer customer          `json:"customer"`
	Metadata map[string]string `json:"metadata"`
	Items    []item            `json:"items"`
	Capture  bool              `json:"capture"`
	Note     *string           `json:"note"`
}

type customer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

type item struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}

// paymentReordered has payment's JSON with fields declared in another order.
type paymentReordered struct {
	Note     *string           `json:"note"`
	Items    []item            `json:"items"`
	Capture  bool              `json:"capture"`
	Metadata map[string]string `json:"metadata"`
	Customer struct {
		Email string `json:"email"`
		ID    string `json:"id"`
	} `json:"customer"`
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

func samplePayment() payment {
	return payment{
		Amount:   1999,
		Currency: "EUR",
		Customer: customer{ID: "cus_123", Email: "jane@example.com"},
		Metadata: map[string]string{"order": "A-1", "channel": "web <beta> & co"},
		Items:    []item{{SKU: "sku-1", Qty: 2, Price: 9.995}, {SKU: "sku-2", Qty: 1, Price: 0.01}},
		Capture:  true,
	}
}

func TestStructMapAndReorderedStructAgree(t *testing.T) {
	p := samplePayment()
	var r paymentReordered
	r.Amount, r.Currency, r.Capture, r.Items, r.Metadata = p.Amount, p.Currency, p.Capture, p.Items, p.Metadata
	r.Customer.ID, r.Customer.Email = p.Customer.ID, p.Customer.Email
	m := map[string]any{
		"metadata": map[string]any{"channel": "web <beta> & co", "order": "A-1"},
		"items": []any{
			map[string]any{"qty": 2, "price": 9.995, "sku": "sku-1"},
			map[string]any{"sku": "sku-2", "price": 0.01, "qty": 1},
		},
		"customer": map[string]any{"email": "jane@example.com", "id": "cus_123"},
		"currency": "EUR",
		"amount":   1999,
		"capture":  true,
		"note":     nil,
	}
	raw := json.RawMessage(`{"note":null,"capture":true,"amount":1999.0,"currency":"EUR",
		"customer":{"id":"cus_123","email":"jane@example.com"},"items":[{"sku":"sku-1","qty":2,"price":9.995},
		{"sku":"sku-2","qty":1,"price":1e-2}],"metadata":{"order":"A-1","channel":"web \u003cbeta\u003e \u0026 co"}}`)

	want := `{"amount":1999,"capture":true,"currency":"EUR","customer":{"email":"jane@example.com","id":"cus_123"},` +
		`"items":[{"price":9.995,"qty":2,"sku":"sku-1"},{"price":0.01,"qty":1,"sku":"sku-2"}],` +
		`"metadata":{"channel":"web <beta> & co","order":"A-1"},"note":null}`
	wantFP := sha256.Sum256([]byte(want))
	for name, v := range map[string]any{"struct": p, "pointer": &p, "reordered": r, "map": m, "raw": raw} {
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		fp, err := Fingerprint(v)
		if err != nil || fp != hex.EncodeToString(wantFP[:]) {
			t.Errorf("%s: Fingerprint = %s, %v", name, fp, err)
		}
	}
}

// TestGoldenFingerprint pins the canonical form and its hash forever:
// fingerprints are stored in databases, so if this test ever fails the
// change must not ship under the same Version. The values were computed
// once with this implementation and checked by hand against RFC 8785.
func TestGoldenFingerprint(t *testing.T) {
	if Version != "jcs-sha256-1" {
		t.Fatalf("Version = %q; a new version needs new golden values", Version)
	}
	v := map[string]any{
		"amount":     json.RawMessage("9007199254740993"),
		"price":      json.RawMessage("1.50"),
		"big":        json.RawMessage("1E30"),
		"neg":        json.RawMessage("-0"),
		"tiny":       1e-7,
		"text":       "<é>\u2028\"\\\n\x01",
		"\ue000":     1,
		"\U0001F600": []any{true, false, nil, "", map[string]any{}},
	}
	const wantJSON = "{\"amount\":9007199254740993,\"big\":1e+30,\"neg\":0,\"price\":1.5," +
		"\"text\":\"<é>\u2028\\\"\\\\\\n\\u0001\",\"tiny\":1e-7," +
		"\"\U0001F600\":[true,false,null,\"\",{}],\"\ue000\":1}"
	const wantFingerprint = "9a0ca98d9810b1291da76ef65a42ca729391dcbbb5051602e0015f395b68e55e"
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantJSON {
		t.Errorf("Marshal:\n got %s\nwant %s", got, wantJSON)
	}
	fp, err := Fingerprint(v)
	if err != nil {
		t.Fatal(err)
	}
	if fp != wantFingerprint {
		t.Errorf("Fingerprint = %s, want %s", fp, wantFingerprint)
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestFingerprintFormat(t *testing.T) {
	p := samplePayment()
	a, err := Fingerprint(p)
	if err != nil {
		t.Fatal(err)
	}
	if !hex64.MatchString(a) {
		t.Errorf("Fingerprint = %q, want 64 lowercase hex digits", a)
	}
	for range 3 {
		if b, _ := Fingerprint(p); b != a {
			t.Errorf("Fingerprint not deterministic: %s != %s", a, b)
		}
	}
	p.Amount++
	if b, _ := Fingerprint(p); b == a {
		t.Error("different values share a fingerprint")
	}
}

func TestMarshalReturnsOwnedBytes(t *testing.T) {
	a, _ := Marshal("first")
	b, _ := Marshal("second")
	if string(a) != `"first"` || string(b) != `"second"` {
		t.Errorf("got %s and %s", a, b)
	}
	a[1] = 'X'
	if c, _ := Marshal("first"); string(c) != `"first"` {
		t.Errorf("pooled buffer leaked: %s", c)
	}
}

func TestNil(t *testing.T) {
	assertCanonical(t, "nil", nil, "null")
	assertCanonical(t, "nil map", map[string]int(nil), "null")
	assertCanonical(t, "nil pointer", (*payment)(nil), "null")
}

type cyclic struct {
	Next *cyclic `json:"next"`
}

type failing struct{}

var errFailing = errors.New("boom")

func (failing) MarshalJSON() ([]byte, error) { return nil, errFailing }

func TestUnsupported(t *testing.T) {
	loop := &cyclic{}
	loop.Next = loop
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	for name, v := range map[string]any{
		"func":              func() {},
		"chan":              make(chan int),
		"complex":           complex(1, 2),
		"NaN":               math.NaN(),
		"+Inf":              math.Inf(1),
		"-Inf":              []float64{math.Inf(-1)},
		"float32 NaN":       float32(math.NaN()),
		"cycle":             loop,
		"map cycle":         m,
		"slice cycle":       s,
		"in struct":         struct{ F func() }{},
		"MarshalJSON error": failing{},
		"invalid raw":       json.RawMessage(`{"a":}`),
		"overflow":          json.RawMessage(`1e999`),
	} {
		_, err := Marshal(v)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: Marshal err = %v, want ErrUnsupported", name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "idempotency: canonical: ") {
			t.Errorf("%s: message %q lacks the package prefix", name, err)
		}
		if _, err := Fingerprint(v); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: Fingerprint err = %v, want ErrUnsupported", name, err)
		}
	}
	// encoding/json's error stays reachable.
	_, err := Marshal(func() {})
	var ute *json.UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Errorf("err = %v, want a wrapped *json.UnsupportedTypeError", err)
	}
	if _, err := Marshal(failing{}); !errors.Is(err, errFailing) {
		t.Errorf("err = %v, want the MarshalJSON error wrapped", err)
	}
}

func TestDepthLimit(t *testing.T) {
	// A Go value nested deeper than the parser allows fails cleanly.
	var v any = 1
	for range maxDepth + 10 {
		v = []any{v}
	}
	if _, err := Marshal(v); !errors.Is(err, ErrUnsupported) {
		t.Errorf("deep Go value: err = %v, want ErrUnsupported", err)
	}
	// Exactly at the limit is fine.
	v = 1
	for range maxDepth {
		v = map[string]any{"a": v}
	}
	if _, err := Marshal(v); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
	// Raw JSON deeper than the limit is rejected (by encoding/json first).
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if _, err := Marshal(json.RawMessage(deep)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("deep raw JSON: err = %v, want ErrUnsupported", err)
	}
	// The parser enforces its limit on its own as well.
	st := getState()
	defer putState(st)
	if err := st.parse([]byte(deep)); !errors.Is(err, errTooDeep) {
		t.Errorf("parser: err = %v, want errTooDeep", err)
	}
}

func TestParserRejectsMalformedJSON(t *testing.T) {
	// encoding/json never hands these over, but the parser must not trust it.
	for _, in := range []string{
		``, ` `, `{`, `}`, `[`, `[1,]`, `[1 2]`, `{"a"}`, `{"a":1,}`, `{a:1}`, `{"a":1 "b":2}`,
		`"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`,
		`tru`, `nul`, `falsey`, `1 2`, `[1]]`, `"\`, `NaN`, `Infinity`, `{"a":1}x`,
	} {
		st := getState()
		err := st.parse([]byte(in))
		putState(st)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: err = %v, want ErrUnsupported", in, err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	p := samplePayment()
	want, err := Fingerprint(p)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				var v any = p
				if i%2 == 0 {
					v = &p
				}
				if got, err := Fingerprint(v); err != nil || got != want {
					t.Errorf("got %s, %v", got, err)
					return
				}
				if _, err := Marshal(map[string]string{"a\xff": "x"}); !errors.Is(err, ErrInvalidUTF8) {
					t.Errorf("err = %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestVersionedFingerprintIsVersionColonFingerprint(t *testing.T) {
	for _, v := range []any{nil, 1, "é", map[string]any{"b": 1, "a": []int{2}}, struct{ X string }{"x"}, "\xff"} {
		fp, ferr := Fingerprint(v)
		vfp, verr := VersionedFingerprint(v)
		if (ferr == nil) != (verr == nil) || (ferr != nil && ferr.Error() != verr.Error()) {
			t.Errorf("%#v: errors differ: %v / %v", v, ferr, verr)
			continue
		}
		if ferr == nil && vfp != Version+":"+fp {
			t.Errorf("%#v: VersionedFingerprint = %q, want %q", v, vfp, Version+":"+fp)
		}
	}
	var req any = struct {
		A string `json:"a"`
		N int    `json:"n"`
	}{"x", 1}
	if n := testing.AllocsPerRun(100, func() { _, _ = VersionedFingerprint(req) }); n > 1 && !raceEnabled {
		t.Errorf("VersionedFingerprint allocates %v times, want 1 (the string)", n)
	}
}
