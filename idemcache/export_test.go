package idemcache

// Settle runs the maintenance that otter otherwise runs soon after writes,
// so that a test sees the bounds applied.
func Settle(c *Cache) { c.c.CleanUp() }

// WeightedSize is the total weight of c's entries.
func WeightedSize(c *Cache) uint64 { return c.c.WeightedSize() }
