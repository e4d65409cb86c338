// Package problem is the one error type whose face a person may read: a
// refusal of what they asked for (an empty message, a role that does not
// exist, a closing without a reason), carrying the catalog key of the
// words that explain it, the form field at fault and the HTTP status.
//
// A page shows a Problem by its Key, found with errors.As, never by the
// error's text: the text is for logs and tests, and may change. Anything
// that is not a Problem is a failure of the system, logged, and shown as
// "try again". It must never carry what a survivor wrote or any other
// sealed value: only codes.
package problem

import (
	"errors"
	"net/http"
)

// Problem is a refusal with a safe, translatable face.
type Problem struct {
	// Key names the message in the catalog of the page that shows it
	// (the console's problem messages, or the survivor pages' locale
	// catalog).
	Key string
	// Field is the form field at fault, "" for the request as a whole.
	Field string
	// Status is the HTTP status of the page that shows it.
	Status int
	// Kind is the sentinel the problem is a case of (for errors.Is), such
	// as casework.ErrInvalid (staff.ErrInvalid, the same value); nil for none.
	Kind error
}

// Invalid returns a Problem with status 422 (Unprocessable Entity): the
// values sent break a rule, and the form comes back with them.
func Invalid(kind error, key, field string) *Problem {
	return &Problem{Key: key, Field: field, Status: http.StatusUnprocessableEntity, Kind: kind}
}

func (p *Problem) Error() string {
	s := "problem " + p.Key
	if p.Field != "" {
		s += " (field " + p.Field + ")"
	}
	if p.Kind != nil {
		s = p.Kind.Error() + ": " + s
	}
	return s
}

func (p *Problem) Unwrap() error { return p.Kind }

// Of returns the Problem in err's chain, if there is one.
func Of(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}
