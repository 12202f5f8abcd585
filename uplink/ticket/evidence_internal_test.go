package ticket

import (
	"reflect"
	"testing"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestEvidenceOfCopiesEveryField: a field added to the engine's evidence
// must be added to the contract's (and docs) or this fails, and every
// field is carried over by the conversion.
func TestEvidenceOfCopiesEveryField(t *testing.T) {
	re, te := reflect.TypeFor[rules.Evidence](), reflect.TypeFor[Evidence]()
	if re.NumField() != te.NumField() {
		t.Fatalf("rules.Evidence has %d fields, ticket.Evidence %d", re.NumField(), te.NumField())
	}
	f := func(v float64) *float64 { return &v }
	in := rules.Evidence{Point: "p", Value: f(1), Unit: "u", Threshold: f(2), Slope: f(3), Window: "5m",
		ValueAtAlarm: f(4), Snapshot: map[string]*float64{"q": f(5)}}
	rv := reflect.ValueOf(in)
	for i := range re.NumField() {
		if rv.Field(i).IsZero() {
			t.Fatalf("test input leaves rules.Evidence.%s zero", re.Field(i).Name)
		}
	}
	out := reflect.ValueOf(*evidenceOf(in))
	for i := range re.NumField() {
		name := re.Field(i).Name
		got := out.FieldByName(name)
		if !got.IsValid() {
			t.Fatalf("ticket.Evidence has no field %s", name)
		}
		if !reflect.DeepEqual(got.Interface(), rv.Field(i).Interface()) {
			t.Errorf("%s: got %v, want %v", name, got.Interface(), rv.Field(i).Interface())
		}
	}
}
