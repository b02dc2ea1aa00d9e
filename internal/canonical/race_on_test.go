//go:build race

package canonical

// raceEnabled reports whether the race detector is on; it makes sync.Pool
// drop items on purpose, so allocation counts mean nothing then.
const raceEnabled = true
