package canonical

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type utf8Inner struct {
	Text string `json:"text"`
}

type utf8Outer struct {
	Name  string            `json:"name"`
	Inner *utf8Inner        `json:"inner,omitempty"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Any   any               `json:"any,omitempty"`
}

type badText struct{ s string }

func (b badText) MarshalText() ([]byte, error) { return []byte(b.s), nil }

type ptrText struct{ s string }

func (b *ptrText) MarshalText() ([]byte, error) { return []byte(b.s), nil }

type rawJSON struct{ s string }

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r.s), nil }

// TestInvalidUTF8NeverCollides: encoding/json turns every invalid byte into
// U+FFFD, so "a\xff", "a\xfe" and "a\uFFFD" would share a fingerprint. The
// invalid ones must fail wherever they hide; the valid one must work.
func TestInvalidUTF8NeverCollides(t *testing.T) {
	wrap := map[string]func(s string) any{
		"string":          func(s string) any { return s },
		"map key":         func(s string) any { return map[string]int{s: 1} },
		"map value":       func(s string) any { return map[string]string{"k": s} },
		"struct field":    func(s string) any { return utf8Outer{Name: s} },
		"nested pointer":  func(s string) any { return &utf8Outer{Inner: &utf8Inner{Text: s}} },
		"pointer chain":   func(s string) any { p := &s; pp := &p; return &pp },
		"slice":           func(s string) any { return utf8Outer{Tags: []string{"ok", s}} },
		"array":           func(s string) any { return [2]string{"ok", s} },
		"interface":       func(s string) any { return utf8Outer{Any: []any{1, s}} },
		"struct map key":  func(s string) any { return utf8Outer{Attrs: map[string]string{s: "v"}} },
		"MarshalText":     func(s string) any { return badText{s} },
		"ptr MarshalText": func(s string) any { return &[]ptrText{{s}} },
		"text map key":    func(s string) any { return map[badText]int{{s}: 1} },
		"string option": func(s string) any {
			return struct {
				S string `json:"s,string"`
			}{s}
		},
		"embedded": func(s string) any {
			type Embedded struct{ E string }
			return struct{ Embedded }{Embedded{s}}
		},
		"raw message":  func(s string) any { return json.RawMessage(`"` + s + `"`) },
		"raw name":     func(s string) any { return json.RawMessage(`{"` + s + `":1}`) },
		"MarshalJSON":  func(s string) any { return []rawJSON{{`"` + s + `"`}} },
		"raw escaped":  func(s string) any { return json.RawMessage(`"\n` + s + `"`) },
		"raw in field": func(s string) any { return utf8Outer{Any: json.RawMessage(`["` + s + `"]`)} },
	}
	for name, w := range wrap {
		valid, err := Marshal(w("a\uFFFD"))
		if err != nil {
			t.Errorf("%s: valid U+FFFD: %v", name, err)
			continue
		}
		if !strings.Contains(string(valid), "a\uFFFD") {
			t.Errorf("%s: valid U+FFFD lost: %s", name, valid)
		}
		for _, bad := range []string{"a\xff", "a\xfe", "a\xed\xa0\x80", "a\xc0\xaf", "a\xe2\x82"} {
			out, err := Marshal(w(bad))
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Errorf("%s: %q: got %s, %v; want ErrInvalidUTF8", name, bad, out, err)
			}
			if _, err := Fingerprint(w(bad)); !errors.Is(err, ErrInvalidUTF8) {
				t.Errorf("%s: %q: Fingerprint err = %v", name, bad, err)
			}
		}
	}
}

func TestInvalidUTF8ErrorNamesLocation(t *testing.T) {
	_, err := Marshal(&utf8Outer{Name: "ok", Inner: &utf8Inner{Text: "\xff"}})
	if err == nil || !strings.Contains(err.Error(), "value.inner.text") ||
		!strings.HasPrefix(err.Error(), "idempotency: canonical: ") ||
		!strings.Contains(err.Error(), "[]byte") {
		t.Errorf("err = %v", err)
	}
	_, err = Marshal(map[string][]string{"k": {"ok", "\xff"}})
	if err == nil || !strings.Contains(err.Error(), `value["k"][1]`) {
		t.Errorf("err = %v", err)
	}
}

// A map whose two invalid keys both become "a\uFFFD" reports the invalid
// UTF-8 rather than the duplicate name it causes.
func TestInvalidUTF8BeforeDuplicate(t *testing.T) {
	_, err := Marshal(map[string]int{"a\xff": 1, "a\xfe": 2})
	if !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("err = %v, want ErrInvalidUTF8", err)
	}
}

type zeroIfEmpty struct{ S string }

func (z zeroIfEmpty) IsZero() bool { return true }

// Fields that encoding/json leaves out must not be checked either, or a
// request would be rejected for data that is not part of it.
func TestInvalidUTF8InIgnoredFields(t *testing.T) {
	type A struct{ X string }
	type B struct{ X string }
	v := struct {
		Valid    string      `json:"valid"`
		Skipped  string      `json:"-"`
		private  string      // unexported: ignored
		OmitZero zeroIfEmpty `json:"oz,omitzero"`
		A                    // A.X and B.X annihilate each other
		B
	}{
		Valid:    "\uFFFD", // forces the walk
		Skipped:  "\xff",
		private:  "\xff",
		OmitZero: zeroIfEmpty{"\xff"},
		A:        A{"\xff"},
		B:        B{"\xfe"},
	}
	out, err := Marshal(v)
	if err != nil || string(out) != "{\"valid\":\"\uFFFD\"}" {
		t.Errorf("got %s, %v", out, err)
	}
	_ = v.private
}

// The walk follows encoding/json's choice of pointer-receiver marshalers:
// they apply to addressable values only.
func TestPointerReceiverTextMarshaler(t *testing.T) {
	// Not addressable: encoded as a struct with no exported fields.
	out, err := Marshal([]any{ptrText{"\xff"}, "\uFFFD"})
	if err != nil || string(out) != "[{},\"\uFFFD\"]" {
		t.Errorf("got %s, %v", out, err)
	}
	// Addressable through the pointer: MarshalText is used and checked.
	if _, err := Marshal(&struct{ P ptrText }{ptrText{"\xff"}}); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("err = %v, want ErrInvalidUTF8", err)
	}
}

func TestByteSlicesAreFine(t *testing.T) {
	out, err := Marshal(struct{ B []byte }{[]byte("\xff\xfe")})
	if err != nil || string(out) != `{"B":"//4="}` {
		t.Errorf("got %s, %v", out, err)
	}
}

// aliasMarshaler uses the common pattern of a MarshalJSON method calling
// json.Marshal on its own data, which replaces invalid UTF-8 before the
// parser can see it.
type aliasMarshaler struct {
	Name string `json:"name"`
}

func (a aliasMarshaler) MarshalJSON() ([]byte, error) {
	type plain aliasMarshaler
	return json.Marshal(plain(a))
}

type ptrAliasMarshaler struct{ Name string }

func (a *ptrAliasMarshaler) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"n": a.Name})
}

func TestInvalidUTF8BehindMarshalJSON(t *testing.T) {
	for _, v := range []any{
		aliasMarshaler{"a\xff"},
		[]aliasMarshaler{{"ok"}, {"a\xff"}},
		&ptrAliasMarshaler{"a\xff"},
		[]ptrAliasMarshaler{{"a\xff"}},
	} {
		if _, err := Marshal(v); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("%#v: err = %v, want ErrInvalidUTF8", v, err)
		}
	}
	out, err := Marshal(aliasMarshaler{"a\uFFFD"})
	if err != nil || string(out) != "{\"name\":\"a\uFFFD\"}" {
		t.Errorf("got %s, %v", out, err)
	}
}

// treeNode hides its parent pointer, a cycle, behind MarshalJSON.
type treeNode struct {
	Name     string
	Parent   *treeNode
	Children []*treeNode
}

func (n *treeNode) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"name": n.Name, "children": n.Children})
}

func TestWalkSurvivesHiddenCycles(t *testing.T) {
	root := &treeNode{Name: "root\uFFFD"}
	child := &treeNode{Name: "child", Parent: root}
	root.Children = []*treeNode{child, child}
	out, err := Marshal(root)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := "{\"children\":[{\"children\":null,\"name\":\"child\"},{\"children\":null,\"name\":\"child\"}],\"name\":\"root\uFFFD\"}"
	if string(out) != want {
		t.Errorf("got %s", out)
	}
	child.Name = "child\xff"
	if _, err := Marshal(root); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("err = %v, want ErrInvalidUTF8", err)
	}
}

// listNode hides a long chain behind MarshalJSON.
type listNode struct {
	Next *listNode
	Tag  [1]any
}

func (n *listNode) MarshalJSON() ([]byte, error) { return []byte(`"\ufffd"`), nil }

func TestWalkDepthBound(t *testing.T) {
	var head *listNode
	for range maxWalkDepth + 10 {
		head = &listNode{Next: head, Tag: [1]any{head}}
	}
	_, err := Marshal(head)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v, want ErrUnsupported", err)
	}
}
