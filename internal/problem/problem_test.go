package problem_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/salama-ke/salama/internal/problem"
)

var errInvalid = errors.New("casework: invalid value")

func TestProblemIsFoundByTypeThroughWrapping(t *testing.T) {
	err := fmt.Errorf("saving: %w", problem.Invalid(errInvalid, "message.empty", "text"))
	p, ok := problem.Of(err)
	if !ok || p.Key != "message.empty" || p.Field != "text" || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("Of(%v) = %+v, %v", err, p, ok)
	}
	if !errors.Is(err, errInvalid) {
		t.Error("a problem of a kind is not errors.Is that kind")
	}
	if _, ok := problem.Of(errors.New("disk full")); ok {
		t.Error("a plain error is taken for a problem")
	}
	if got := p.Error(); got != "casework: invalid value: problem message.empty (field text)" {
		t.Errorf("Error() = %q", got)
	}
}
