package canonical

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"
)

type benchAddress struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

type benchCustomer struct {
	ID      string        `json:"id"`
	Email   string        `json:"email,omitempty"`
	Name    string        `json:"name,omitempty"`
	Address *benchAddress `json:"address,omitempty"`
}

type benchItem struct {
	SKU       string  `json:"sku"`
	Name      string  `json:"name"`
	Quantity  int     `json:"quantity"`
	UnitPrice int64   `json:"unit_price"`
	TaxRate   float64 `json:"tax_rate"`
}

type benchRequest struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	Customer    benchCustomer     `json:"customer"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Items       []benchItem       `json:"items,omitempty"`
	Capture     bool              `json:"capture"`
}

// benchRequests returns realistic payment requests whose JSON is about
// 100 B, 1 KiB and 64 KiB.
func benchRequests() []struct {
	name string
	req  *benchRequest
} {
	small := &benchRequest{
		Amount:      1999,
		Currency:    "EUR",
		Description: "Tea",
		Customer:    benchCustomer{ID: "cus_9s6XKzkNRiz8i3"},
		Capture:     true,
	}
	sized := func(target int) *benchRequest {
		r := &benchRequest{
			Amount:      125_000,
			Currency:    "USD",
			Description: "Order #10042 — annual subscription & add-ons",
			Customer: benchCustomer{
				ID: "cus_9s6XKzkNRiz8i3", Email: "jane.doe@example.com", Name: "Jane Doe",
				Address: &benchAddress{Line1: "1 Main Street", City: "Springfield", PostalCode: "12345", Country: "US"},
			},
			Metadata: map[string]string{"order_id": "10042", "channel": "web", "campaign": "spring-sale", "ip": "203.0.113.7"},
			Capture:  true,
		}
		addItem := func() {
			i := len(r.Items)
			r.Items = append(r.Items, benchItem{
				SKU: "SKU-" + strconv.Itoa(1000+i), Name: "Widget, size " + strconv.Itoa(i%7),
				Quantity: 1 + i%3, UnitPrice: int64(999 + 250*i), TaxRate: 0.19,
			})
		}
		size := func() int { b, _ := json.Marshal(r); return len(b) }
		addItem()
		// Jump close to the target, then step; items grow slowly in size.
		if s := size(); s < target {
			item, _ := json.Marshal(r.Items[0])
			for range (target - s) / (len(item) + 8) {
				addItem()
			}
		}
		for size() < target {
			addItem()
		}
		return r
	}
	return []struct {
		name string
		req  *benchRequest
	}{
		{"100B", small},
		{"1KiB", sized(1024)},
		{"64KiB", sized(64 * 1024)},
	}
}

// benchEach runs op on every benchmark request, with the size of its
// canonical form as the bytes processed per op.
func benchEach(b *testing.B, op func(req any) error) {
	for _, tc := range benchRequests() {
		b.Run(tc.name, func(b *testing.B) {
			out, _ := Marshal(tc.req)
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if err := op(tc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	benchEach(b, func(req any) error { _, err := Marshal(req); return err })
}

func BenchmarkFingerprint(b *testing.B) {
	benchEach(b, func(req any) error { _, err := Fingerprint(req); return err })
}

// BenchmarkFingerprintSlowPath is Fingerprint without the fast path: what
// every call cost before it, and what values it declines still cost.
func BenchmarkFingerprintSlowPath(b *testing.B) {
	benchEach(b, func(req any) error {
		st := getState()
		defer putState(st)
		if err := st.canonicalizeSlow(req); err != nil {
			return err
		}
		sum := sha256.Sum256(st.out)
		_ = hex.EncodeToString(sum[:])
		return nil
	})
}

// BenchmarkBaselineJSONSHA256 is the cost floor: a plain, non-canonical
// json.Marshal followed by SHA-256 and hex encoding.
func BenchmarkBaselineJSONSHA256(b *testing.B) {
	benchEach(b, func(req any) error {
		out, err := json.Marshal(req)
		sum := sha256.Sum256(out)
		_ = hex.EncodeToString(sum[:])
		return err
	})
}

func TestBenchRequestSizes(t *testing.T) {
	for _, tc := range benchRequests() {
		out, err := Marshal(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", tc.name, len(out))
	}
}
