package jsontag

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

// TestValidNameMatchesEncodingJSON checks ValidName against what
// encoding/json does with a field F tagged with each name: a valid name
// becomes the key, and an empty or invalid one gives way to "F".
func TestValidNameMatchesEncodingJSON(t *testing.T) {
	for _, name := range []string{
		"", "id", "ünï", "a-b.c:d", "a b", "!#$%&()*+-./:;<=>?@[]^_{|}~ ",
		"x\"y", "x\\y", "tab\t", "1", "a'b", "é€", "\u00a0",
	} {
		typ := reflect.StructOf([]reflect.StructField{{
			Name: "F", Type: reflect.TypeFor[int](),
			Tag: reflect.StructTag(`json:` + strconv.Quote(name)),
		}})
		b, err := json.Marshal(reflect.New(typ).Elem().Interface())
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]int
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		_, usedName := out[name]
		if got := ValidName(name); got != usedName {
			t.Errorf("ValidName(%q) = %v; encoding/json wrote %s", name, got, b)
		}
	}
}
