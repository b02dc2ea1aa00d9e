package idempotency

import "encoding/json"

// Codec encodes responses for the store and decodes them on replay. A replay
// returns Unmarshal(Marshal(v)), so a Codec decides what "the same value"
// means: fields it drops are not replayed. Implementations must be safe for
// concurrent use.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default [Codec]: encoding/json. Its zero value is ready to
// use and safe for concurrent use. Unexported fields are not replayed, and
// numbers in interface values come back as float64.
type JSONCodec struct{}

// Marshal returns the JSON encoding of v.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
