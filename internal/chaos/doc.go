// Package chaos runs idempotency's calls under faults, the way Jepsen tests
// databases, and checks every history afterwards: several worker processes,
// each with a pool and many goroutines, call Manager.Do and TxManager.Do on
// a key space small enough that keys collide constantly, through a TCP
// proxy that cuts or stalls their connections; the database server may be
// restarted and a worker killed mid-call. Every fn appends one row to an
// effects ledger (for TxManager through its transaction, for Manager in a
// transaction of its own), and every call logs its answer.
//
// The check, per key: TxManager committed exactly one effect per recorded
// outcome and none without one; a Manager key has more than one effect only
// where a run's outcome was provably lost; every caller answered with a
// value got the recorded one; no key stays claimed once the faults stopped
// and a lease passed; and the answers are linearizable (porcupine) against a
// sequential model of one key.
//
// The test (go test ./internal/chaos with IDEMPOTENCY_TEST_CHAOS=1) runs a
// short version; internal/cmd/idemchaos runs long ones.
package chaos
