package sqlstore

import "testing"

func TestClaimPlannerFollowsTheTraffic(t *testing.T) {
	var p claimPlanner
	if p.readFirst() {
		t.Fatal("a new store reads first; want write first (first attempts dominate)")
	}
	turn := func(found bool, want bool) int {
		for n := 1; n <= 100; n++ {
			p.observe(found)
			if p.readFirst() == want {
				return n
			}
		}
		t.Fatalf("after 100 claims (found=%v) readFirst is still %v", found, !want)
		return 0
	}
	if n := turn(true, true); n > 12 {
		t.Errorf("turned to reading first after %d retries in a row, want about 11", n)
	}
	for range 100 {
		p.observe(true)
	}
	if n := turn(false, false); n > 12 {
		t.Errorf("turned back to writing first after %d new keys in a row, want about 11", n)
	}

	// One retry in ten never tips it, wherever in the cycle it is.
	for i := range 1000 {
		p.observe(i%10 == 9)
		if p.readFirst() {
			t.Fatalf("one retry in ten turned the store to reading first at claim %d", i)
		}
	}
	// Nine in ten keep it reading first.
	for range 100 {
		p.observe(true)
	}
	for i := range 1000 {
		p.observe(i%10 != 9)
		if !p.readFirst() {
			t.Fatalf("nine retries in ten turned the store to writing first at claim %d", i)
		}
	}
}

func TestPinnedClaimOrderIgnoresTheTraffic(t *testing.T) {
	w := claimPlanner{order: WriteFirst}
	r := claimPlanner{order: ReadFirst}
	for range 100 {
		w.observe(true)
		r.observe(false)
	}
	if w.readFirst() || !r.readFirst() {
		t.Errorf("pinned orders moved: WriteFirst reads first %v, ReadFirst reads first %v", w.readFirst(), r.readFirst())
	}
}
