package jsondec

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

// benchOrder is a payment-like request whose encoding is about 1 KiB:
// nested structs, a pointer, a map, a slice of structs.
type benchOrder struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	Customer    benchCustomer     `json:"customer"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Items       []lineItem        `json:"items,omitempty"`
	Capture     bool              `json:"capture"`
}

type benchCustomer struct {
	ID      string   `json:"id"`
	Email   string   `json:"email,omitempty"`
	Name    string   `json:"name,omitempty"`
	Address *address `json:"address,omitempty"`
}

func benchOrder1KiB(b *testing.B) []byte {
	o := benchOrder{
		Amount: 125_000, Currency: "USD", Description: "Order #10042 — annual subscription & add-ons",
		Customer: benchCustomer{
			ID: "cus_9s6XKzkNRiz8i3", Email: "jane.doe@example.com", Name: "Jane Doe",
			Address: &address{Line1: "1 Main Street", City: "Springfield", Country: "US"},
		},
		Metadata: map[string]string{"order_id": "10042", "channel": "web", "campaign": "spring-sale", "ip": "203.0.113.7"},
		Capture:  true,
	}
	for i := 0; ; i++ {
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		if len(data) >= 1000 {
			return data
		}
		o.Items = append(o.Items, lineItem{SKU: "SKU-" + strconv.Itoa(1000+i), Quantity: 1 + i%3, Price: 9.99 + float64(i)})
	}
}

// BenchmarkUnmarshal compares Unmarshal ("fast", which falls back if the
// fast path declines) with json.Unmarshal on the same input, each decoding
// into a fresh zero value as a replay does.
func BenchmarkUnmarshal(b *testing.B) {
	inputs := []struct {
		name string
		typ  reflect.Type
		data []byte
	}{
		{"response", reflect.TypeFor[response](),
			[]byte(`{"id":"ch_3N4c5D6e7F8g9H0i","status":"succeeded","amount":12999,"currency":"eur","created":1718000000}`)},
		{"order-1KiB", reflect.TypeFor[benchOrder](), benchOrder1KiB(b)},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			// A benchmark of the fallback would be misread as one of the
			// fast path; say so if that is what runs.
			if !fast(in.data, reflect.New(in.typ).Interface()) {
				b.Logf("fast path declined %s: \"fast\" measures the fallback", in.name)
			}
			b.Run("fast", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					if err := Unmarshal(in.data, reflect.New(in.typ).Interface()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("encoding-json", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in.data)))
				for b.Loop() {
					if err := json.Unmarshal(in.data, reflect.New(in.typ).Interface()); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
