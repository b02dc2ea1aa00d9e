package idempotency

import (
	"encoding/json"

	"github.com/idemkit/idempotency/internal/jsondec"
)

// Codec encodes responses for the store and decodes them on replay. A replay
// returns Unmarshal(Marshal(v)), so a Codec decides what "the same value"
// means: fields it drops are not replayed. Unmarshal must not keep data nor
// make v share its bytes: with Config.Cache every replay decodes the same
// cached bytes. Implementations must be safe for concurrent use.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default [Codec]: encoding/json. Its zero value is ready to
// use and safe for concurrent use. Unexported fields are not replayed, and
// numbers in interface values come back as float64. A Manager decodes its
// replays with a faster decoder of its own that returns exactly what
// encoding/json returns, and hands it whatever it does not handle; a Codec
// of your own that calls encoding/json is decoded by encoding/json alone.
type JSONCodec struct{}

// Marshal returns the JSON encoding of v.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// decoderOf returns how a Manager decodes a replay with c. A replay always
// decodes into a fresh zero value, which is what jsondec needs to produce
// encoding/json's result in a fraction of its time; JSONCodec.Unmarshal
// itself stays encoding/json, since its callers may pass any target.
func decoderOf(c Codec) func(data []byte, v any) error {
	switch c.(type) {
	case JSONCodec, *JSONCodec:
		return jsondec.Unmarshal
	}
	return c.Unmarshal
}
