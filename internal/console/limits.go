package console

import (
	"net/http"
	"strings"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
)

// maxPassword is the longest password the login, enrolment and password
// forms are sized for: far past any passphrase.
const maxPassword = 1024

// bodyCaps are the caps on what a console form may send (see formbody), by
// route pattern: the characters its text fields may hold, at 12 bytes a
// character (4 UTF-8 bytes, each percent-encoded: the costliest way a
// browser sends text). A route not named here posts buttons and choices.
var bodyCaps = map[string]int{
	"/console/login":                   maxPassword + 200,
	"/console/enrol":                   200,
	"/console/enrol/finish":            2*maxPassword + 200,
	"/console/password":                3 * maxPassword,
	"/console/reports/{id}/note":       casework.MaxText,
	"/console/reports/{id}/message":    casework.MaxText,
	"/console/reports/{id}/referrals":  casework.MaxJustification + reporting.MaxNarrative + 200, // the reason, and the narrative as shared
	"/console/directory":               4000,                                                     // a service: names, two descriptions, hours, cost, channels, counties
	"/console/directory/services/{id}": 4000,
}

// bodyLimits are the caps for a route: its characters, the form's tokens,
// then a quarter more.
func bodyLimits(pattern string) formbody.Limits {
	if pattern == "/console/intake" {
		return intakeCaps()
	}
	chars := bodyCaps[pattern]
	return formbody.Limits{Text: (12*int64(chars) + 2<<10) * 5 / 4, Fields: 512}
}

// readForm reads a POSTed console form within its route's caps into
// r.PostForm. A body past them is refused without acting on it: for a note
// or a message, after the session and CSRF checks, with the report shown
// again and what arrived in the box.
func (c *Console) readForm(w http.ResponseWriter, r *http.Request, rt Route) (cut, ok bool) {
	f, err := formbody.Read(r, formbody.Options{Limits: bodyLimits(rt.Pattern)})
	if err != nil {
		c.fail(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return false, false
	}
	r.PostForm = f.Values
	return f.Cut, true
}

// tooLong answers a form that went past its route's caps.
func (c *Console) tooLong(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if p != nil && (strings.HasSuffix(r.URL.Path, "/note") || strings.HasSuffix(r.URL.Path, "/message")) {
		c.renderCase(w, r, p, http.StatusRequestEntityTooLarge, "",
			"This was too long to arrive whole, so nothing was saved. What arrived is in the box: please make it shorter (at most 4,000 characters).")
		return
	}
	c.fail(w, r, p, http.StatusRequestEntityTooLarge, "What you sent was too long to be read, so nothing was changed.")
}
