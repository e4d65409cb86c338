package console

import (
	"fmt"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/problem"
	"github.com/salama-ke/salama/internal/staff"
)

// problemWords are the console's words for each problem casework refuses a
// request with (casework.Problem*), by key. A page finds the problem in
// the error by its type (problem.Of) and shows these words: never the
// error's text. TestEveryProblemHasWords checks each key has its words.
var problemWords = map[string]string{
	casework.ProblemEmpty:         "Write something first.",
	casework.ProblemTooLong:       fmt.Sprintf("This is too long (at most %s characters).", thousands(casework.MaxText)),
	casework.ProblemCloseReason:   "Choose why the report is closed.",
	casework.ProblemNotAMember:    "Choose a member of your organisation.",
	casework.ProblemIncidentType:  "Choose an incident type from the list.",
	casework.ProblemContextFlag:   "Choose context flags from the list.",
	casework.ProblemDeclineReason: "Choose why the referral is declined.",
	casework.ProblemOutcome:       "Choose the referral's outcome.",
	casework.ProblemExportOptions: "Choose a layout, a format and at least one field, for a period that ends after it starts.",
	staff.ProblemUsername:         "A username is 3 to 40 characters: a–z, 0–9, dot, dash or underscore.",
	staff.ProblemRole:             "Choose a role.",
	staff.ProblemSelfDisable:      "You cannot disable yourself.",
	staff.ProblemSelfUnlock:       "You cannot unlock yourself.",
}

// problemText is the words for err's problem, or fallback when err holds
// none (or one without words, which the test prevents).
func problemText(err error, fallback string) string {
	if p, ok := problem.Of(err); ok {
		if words, ok := problemWords[p.Key]; ok {
			return words
		}
	}
	return fallback
}

// thousands writes n with a comma between thousands: 4,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
