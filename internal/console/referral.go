package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/salama-ke/salama/internal/casework"
)

// createReferral proposes a referral from the report page.
func (c *Console) createReferral(w http.ResponseWriter, r *http.Request, p *casework.Principal) {
	f := r.PostForm
	err := c.cw.CreateReferral(r.Context(), p, r.PathValue("id"), casework.NewReferral{ServiceID: f.Get("service"),
		Fields: f["field"], Mode: f.Get("mode"), Justification: f.Get("justification"), HandoffMethod: f.Get("handoff")})
	c.actReferral(w, r, p, r.PathValue("id"), err)
}

// referralAction accepts, declines, completes or revokes a referral. The
// form carries the report whose page it was posted from, to go back to.
func (c *Console) referralAction(w http.ResponseWriter, r *http.Request, p *casework.Principal) {
	err := c.cw.ReferralAction(r.Context(), p, r.PathValue("rid"), r.PathValue("action"), r.PostForm.Get("reason"))
	c.actReferral(w, r, p, r.PostForm.Get("report"), err)
}

func (c *Console) actReferral(w http.ResponseWriter, r *http.Request, p *casework.Principal, reportID string, err error) {
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/reports/"+url.PathEscape(reportID)+"?done=referral#referrals", http.StatusSeeOther)
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "This referral or report does not exist or is not your organisation's.")
	case errors.Is(err, casework.ErrBadTransition):
		c.fail(w, r, p, http.StatusConflict, "That step is not possible now: the referral has moved on. Open the report again.")
	case errors.Is(err, casework.ErrInvalid):
		c.fail(w, r, p, http.StatusUnprocessableEntity, referralProblem(err))
	default:
		c.log.Error("referral failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The referral could not be saved. Please try again in a minute.")
	}
}

func referralProblem(err error) string {
	msg := err.Error()
	const prefix = "casework: invalid value: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		m := msg[len(prefix):]
		return string(m[0]-'a'+'A') + m[1:] + "."
	}
	return "Please check the referral and try again."
}
