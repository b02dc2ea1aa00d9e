package orders

import (
	"testing"
)

func TestKey(t *testing.T) {
	o := OrderPlaced{OrderID: "ord-1"}
	if k, err := Key("msg-1", o); k != "msg-1" || err != nil {
		t.Errorf("with a message ID: %q, %v; want the message ID", k, err)
	}
	if k, err := Key("", o); k != "order:ord-1" || err != nil {
		t.Errorf("without a message ID: %q, %v; want order:ord-1", k, err)
	}
	if k, err := Key("", OrderPlaced{}); err == nil {
		t.Errorf("without a message ID or an order ID: %q, want an error", k)
	}
}

func TestSample(t *testing.T) {
	msgs := Sample("r", 10)
	if len(msgs) != 10+2+1 {
		t.Fatalf("%d messages, want 10 orders, 2 copies and a reused ID", len(msgs))
	}
	ids := map[string][]OrderPlaced{}
	for _, m := range msgs {
		ids[m.MessageID] = append(ids[m.MessageID], m.Order)
	}
	if len(ids) != 10 {
		t.Errorf("%d message IDs, want 10", len(ids))
	}
	first := ids[msgs[0].MessageID]
	if len(first) != 2 || first[0] == first[1] {
		t.Errorf("the first ID carries %v, want two different bodies", first)
	}
	if fifth := ids["msg-r-5"]; len(fifth) != 2 || fifth[0] != fifth[1] {
		t.Errorf("the fifth ID carries %v, want one body twice", fifth)
	}
}

func TestFault(t *testing.T) {
	s := Settings{FailEvery: 4}
	failed := 0
	for _, m := range Sample("f", 400) {
		if s.Fault(m.Order, false) != nil {
			t.Fatalf("a redelivery of %s failed", m.Order.OrderID)
		}
		if s.Fault(m.Order, true) != nil {
			failed++
			if s.Fault(m.Order, true) == nil {
				t.Fatalf("%s failed once and then not: every consumer must pick the same orders", m.Order.OrderID)
			}
		}
	}
	if failed < 50 || failed > 170 {
		t.Errorf("%d of about 480 first deliveries failed with -fail-every 4", failed)
	}
	if (&Settings{}).Fault(OrderPlaced{OrderID: "x"}, true) != nil {
		t.Error("without -fail-every a delivery failed")
	}
}
