package idemgrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// outcomeKind says what a recorded outcome holds.
type outcomeKind byte

const (
	// kindMessage: the handler's response, Payload its protobuf encoding
	// and TypeName its message's full name.
	kindMessage outcomeKind = 1
	// kindStatus: the handler's final error, Payload the protobuf encoding
	// of its google.rpc.Status (code, message and details).
	kindStatus outcomeKind = 2
	// kindNil: the handler returned neither a response nor an error,
	// which gRPC sends as an empty message; no type name, no payload.
	kindNil outcomeKind = 3
)

// recorded is what the interceptor stores for a key and replays.
type recorded struct {
	Kind     outcomeKind
	TypeName string
	Payload  []byte
}

// outcomeCodec stores a recorded outcome in a small binary format: the
// payload is protobuf bytes, which JSON would inflate by a third (base64).
//
// Format, version 1: the byte 1; the kind byte; the type name as a string
// (empty for a status); then the payload, which runs to the end. A string is
// a uvarint length and that many bytes.
type outcomeCodec struct{}

const codecVersion = 1

var errCorrupt = errors.New("idemgrpc: recorded outcome is corrupt or was written by something else than idemgrpc; use another Config.Namespace for other users of the store")

func (outcomeCodec) Marshal(v any) ([]byte, error) {
	r, ok := v.(recorded)
	if !ok {
		return nil, fmt.Errorf("idemgrpc: codec cannot encode %T", v)
	}
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(r.TypeName)+len(r.Payload))
	b = append(b, codecVersion, byte(r.Kind))
	b = binary.AppendUvarint(b, uint64(len(r.TypeName)))
	b = append(b, r.TypeName...)
	return append(b, r.Payload...), nil
}

func (outcomeCodec) Unmarshal(data []byte, v any) error {
	r, ok := v.(*recorded)
	if !ok {
		return fmt.Errorf("idemgrpc: codec cannot decode into %T", v)
	}
	if len(data) < 2 || data[0] != codecVersion {
		return errCorrupt
	}
	kind := outcomeKind(data[1])
	if kind != kindMessage && kind != kindStatus && kind != kindNil {
		return errCorrupt
	}
	data = data[2:]
	n, w := binary.Uvarint(data)
	if w <= 0 || n > uint64(len(data)-w) {
		return errCorrupt
	}
	name := string(data[w : w+int(n)])
	if (kind == kindMessage) == (name == "") || (kind == kindNil && len(data) > w+int(n)) {
		return errCorrupt
	}
	*r = recorded{Kind: kind, TypeName: name, Payload: data[w+int(n):]}
	return nil
}
