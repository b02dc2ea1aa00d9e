package idempotency

// SetOnJoin installs a hook called each time a duplicate call joins an
// in-process flight, so tests can wait for followers without sleeping.
func SetOnJoin[Req, Resp any](m *Manager[Req, Resp], fn func()) { m.core.flights.onJoin = fn }

// SetTxOnJoin is SetOnJoin for a TxManager.
func SetTxOnJoin[Req, Resp, Tx any](m *TxManager[Req, Resp, Tx], fn func()) {
	m.core.flights.onJoin = fn
}
