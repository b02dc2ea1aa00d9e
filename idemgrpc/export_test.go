package idemgrpc

import (
	"crypto/sha256"

	"google.golang.org/protobuf/proto"

	"github.com/idemkit/idempotency"
)

// StoredFingerprint is the fingerprint the interceptor stores for a call of
// method with req, for tests that write records by hand.
func StoredFingerprint(method string, req proto.Message) (string, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	fp, err := idempotency.Fingerprint(fingerprint{Method: []byte(method), RequestSHA256: sum[:]})
	if err != nil {
		return "", err
	}
	return idempotency.FingerprintVersion + ":" + fp, nil
}
