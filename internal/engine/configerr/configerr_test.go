package configerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestList(t *testing.T) {
	t.Parallel()
	a, b := &FieldError{"a", "x"}, &FieldError{"b.c", "y"}
	tests := []struct {
		desc string
		err  error
		want []*FieldError
	}{
		{"nil", nil, nil},
		{"one", a, []*FieldError{a}},
		{"joined", errors.Join(a, b), []*FieldError{a, b}},
		{"nested and wrapped", errors.Join(fmt.Errorf("ctx: %w", a), errors.Join(b)), []*FieldError{a, b}},
		{"other errors left out", errors.Join(errors.New("plain"), b), []*FieldError{b}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := List(tt.err)
			if len(got) != len(tt.want) {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("List[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if a.Error() != "a: x" {
		t.Fatal(a.Error())
	}
}
