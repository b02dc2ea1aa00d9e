package idemhttp

// StoredKey returns the key under which the middleware records the request
// a client sent with key while its scope was scope: what an operator passes,
// with the middleware's namespace ([Config.Namespace], [DefaultNamespace]
// when empty), to an [idempotency.Inspector]'s Inspect and Forget, or to
// idemctl with -scope. scope is what [Config.Scope] returned for the
// client's requests ("" without a Scope); key is the header's value as the
// middleware reads it, unquoted when the client sent a quoted string.
//
// StoredKey does not validate key: a key the middleware would refuse (see
// [MaxKeyLen]) was never stored. It is a pure function, safe for
// concurrent use.
func StoredKey(scope, key string) string { return storedKey(scope, key) }
