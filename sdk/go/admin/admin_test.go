package admin

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEveryOperationHasAMethod: client.gen.go was generated from this
// openapi.json — every operation of the document has its …WithResponse
// method. (A document changed without `go generate` fails here; the main
// module's sdk test keeps openapi.json equal to console/openapi.json.)
func TestEveryOperationHasAMethod(t *testing.T) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(&ClientWithResponses{})
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			var o struct {
				OperationID string `json:"operationId"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.OperationID == "" {
				t.Fatalf("%s %s has no operationId", method, path)
			}
			name := strings.ToUpper(o.OperationID[:1]) + o.OperationID[1:] + "WithResponse"
			// An operation whose body is not JSON (a CSV upload) has only
			// the …WithBodyWithResponse form.
			_, ok := typ.MethodByName(name)
			if !ok {
				_, ok = typ.MethodByName(strings.TrimSuffix(name, "WithResponse") + "WithBodyWithResponse")
			}
			if !ok {
				t.Errorf("%s %s (%s): no %s; run go generate ./admin", strings.ToUpper(method), path, o.OperationID, name)
			}
			n++
		}
	}
	if n < 40 {
		t.Fatalf("only %d operations in openapi.json", n)
	}
}
