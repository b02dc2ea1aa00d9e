package sqlstore

import "strconv"

// ClaimOrders are the fixed orders a test runs a suite in.
var ClaimOrders = []ClaimOrder{WriteFirst, ReadFirst}

// ForceClaimOrder changes s's claim order, so that tests cover both
// protocols whatever the traffic. Not safe while s is in use.
func ForceClaimOrder(s *Store, order ClaimOrder) { s.plan.order = order }

// ReadsFirst reports whether s's next claim would read first.
func ReadsFirst(s *Store) bool { return s.plan.readFirst() }

// KeyLock names the lock a claim inside a transaction takes for (ns, key):
// MySQL's named lock, or PostgreSQL's advisory lock key in decimal.
func KeyLock(s *Store, ns, key string) string {
	if s.dialect == MySQL {
		return mysqlLockName(s.table, ns, key)
	}
	return strconv.FormatInt(pgLockKey(s.table, ns, key), 10)
}
