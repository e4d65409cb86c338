package console

import (
	"errors"
	"fmt"
	"testing"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/problem"
	"github.com/salama-ke/salama/internal/staff"
)

// Every problem casework or staff can refuse a request with has the
// console's words for it, so a caseworker never sees an error's text (issue 13: a user saw
// "Service." as an error when the page was chosen by matching text).
func TestEveryProblemHasWords(t *testing.T) {
	for _, k := range append(casework.ProblemKeys, staff.ProblemKeys...) {
		if problemWords[k] == "" {
			t.Errorf("no words for problem %q", k)
		}
	}
	wrapped := fmt.Errorf("saving: %w", problem.Invalid(casework.ErrInvalid, casework.ProblemEmpty, "text"))
	if got := problemText(wrapped, "fallback"); got != "Write something first." {
		t.Errorf("a wrapped problem shows %q", got)
	}
	if got := problemText(errors.New("casework: invalid value: empty"), "fallback"); got != "fallback" {
		t.Errorf("an error that only looks like a problem shows %q", got)
	}
	if got := problemWords[casework.ProblemTooLong]; got != "This is too long (at most 4,000 characters)." {
		t.Errorf("too long: %q", got)
	}
}
