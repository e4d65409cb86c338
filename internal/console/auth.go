package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"html/template"

	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/totp"
)

type loginView struct{ Username string }

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	v := &view{Title: "Log in", Data: loginView{}}
	if r.URL.Query().Get("ended") == "1" {
		v.Flash = "Your session has ended: you logged out, it was idle too long, or it is no longer valid. Please log in again."
	}
	c.render(w, http.StatusOK, "login", v)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	username := strings.TrimSpace(r.PostForm.Get("username"))
	again := func(status int, problem string) {
		c.render(w, status, "login", &view{Title: "Log in", Problem: problem, Data: loginView{Username: username}})
	}
	if ok, _ := c.logins.Allow(c.cfg.ClientAddr(r)); !ok {
		again(http.StatusTooManyRequests, "Too many attempts from this network. Please wait a minute.")
		return
	}
	cookie, err := c.staff.Login(r.Context(), username, r.PostForm.Get("password"), r.PostForm.Get("code"))
	switch {
	case errors.Is(err, staff.ErrBadLogin):
		again(http.StatusUnauthorized, "Wrong username, password or code.")
		return
	case errors.Is(err, staff.ErrLocked):
		again(http.StatusTooManyRequests, waitMessage(err, c.cw.Now()))
		return
	case errors.Is(err, staff.ErrMustEnrol):
		http.Redirect(w, r, "/console/enrol", http.StatusSeeOther)
		return
	case errors.Is(err, staff.ErrNoOrgKey):
		again(http.StatusForbidden, "Your account no longer holds a key to your organisation's reports: it was disabled when the organisation's key was replaced. Ask an admin of your organisation to enable it again.")
		return
	case err != nil:
		c.log.Error("console login failed", "err", err)
		again(http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.")
		return
	}
	c.setCookie(w, cookie)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

type enrolView struct {
	Username, Code, Token, Secret, URI string
	QR                                 template.HTML
}

func (c *Console) enrolForm(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	c.render(w, http.StatusOK, "enrol", &view{Title: "First login", Data: enrolView{}})
}

// enrolStart checks the enrolment code and shows the TOTP secret.
func (c *Console) enrolStart(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	username, code := strings.TrimSpace(r.PostForm.Get("username")), strings.TrimSpace(r.PostForm.Get("enrol_code"))
	if ok, _ := c.logins.Allow(c.cfg.ClientAddr(r)); !ok {
		c.render(w, http.StatusTooManyRequests, "enrol", &view{Title: "First login", Problem: "Too many attempts from this network. Please wait a minute.", Data: enrolView{Username: username}})
		return
	}
	e, err := c.staff.BeginEnrolment(r.Context(), username, code)
	if errors.Is(err, staff.ErrLocked) {
		c.render(w, http.StatusTooManyRequests, "enrol", &view{Title: "First login", Problem: waitMessage(err, c.cw.Now()), Data: enrolView{Username: username}})
		return
	}
	if err != nil {
		if !errors.Is(err, staff.ErrBadLogin) {
			c.log.Error("enrolment failed", "err", err)
		}
		c.render(w, http.StatusUnauthorized, "enrol", &view{Title: "First login", Problem: "Wrong username or enrolment code, or the code expired. Ask your organisation's admin for a new one.", Data: enrolView{Username: username}})
		return
	}
	c.showTOTP(w, http.StatusOK, "", username, code, e.Token, e.Secret)
}

func (c *Console) showTOTP(w http.ResponseWriter, status int, problem, username, code, token string, secret totp.Secret) {
	uri := totp.URI(secret, "Salama", username)
	qr, err := totp.QRSVG(uri)
	if err != nil {
		c.log.Error("QR code failed", "err", err)
	}
	c.render(w, status, "enrol_totp", &view{Title: "Set up your login", Problem: problem,
		Data: enrolView{Username: username, Code: code, Token: token, Secret: secret.Grouped(), URI: uri, QR: template.HTML(qr)}})
}

func (c *Console) enrolFinish(w http.ResponseWriter, r *http.Request, _ *staff.Principal) {
	f := r.PostForm
	username, code, token := f.Get("username"), f.Get("enrol_code"), f.Get("token")
	password := f.Get("password")
	if password != f.Get("password2") {
		c.enrolAgain(w, r, "The two passwords are not the same.")
		return
	}
	cookie, err := c.staff.FinishEnrolment(r.Context(), username, code, token, password, f.Get("code"))
	switch {
	case errors.Is(err, staff.ErrWeakPassword):
		c.enrolAgain(w, r, passwordMessage(err))
		return
	case errors.Is(err, staff.ErrLocked):
		c.enrolAgain(w, r, waitMessage(err, c.cw.Now()))
		return
	case errors.Is(err, staff.ErrBadLogin):
		c.enrolAgain(w, r, "That code from your app did not match. Check the time on your phone and try the new code.")
		return
	case err != nil:
		c.log.Error("enrolment failed", "err", err)
		c.fail(w, r, nil, http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.")
		return
	}
	c.setCookie(w, cookie)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// enrolAgain shows the TOTP step again with the same secret, if the token
// that carries it is still good; otherwise the first step.
func (c *Console) enrolAgain(w http.ResponseWriter, r *http.Request, problem string) {
	f := r.PostForm
	secret, ok := c.staff.EnrolmentSecret(f.Get("username"), f.Get("token"))
	if !ok {
		c.render(w, http.StatusUnprocessableEntity, "enrol", &view{Title: "First login", Problem: problem, Data: enrolView{Username: f.Get("username")}})
		return
	}
	c.showTOTP(w, http.StatusUnprocessableEntity, problem, f.Get("username"), f.Get("enrol_code"), f.Get("token"), secret)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	if err := c.staff.Logout(r.Context(), p); err != nil {
		c.log.Error("logout failed", "err", err)
	}
	c.clearCookie(w)
	c.render(w, http.StatusOK, "message", &view{Title: "Logged out", Flash: "You are logged out. Your session's keys were destroyed."})
}

func (c *Console) passwordForm(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.render(w, http.StatusOK, "password", &view{Title: "Change password", P: p})
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := r.PostForm
	problem := ""
	if f.Get("new") != f.Get("new2") {
		problem = "The two new passwords are not the same."
	} else {
		switch err := c.staff.ChangePassword(r.Context(), p, f.Get("old"), f.Get("new")); {
		case errors.Is(err, staff.ErrBadLogin):
			problem = "Your current password is wrong."
		case errors.Is(err, staff.ErrWeakPassword):
			problem = passwordMessage(err)
		case errors.Is(err, staff.ErrLocked):
			problem = waitMessage(err, c.cw.Now())
		case err != nil:
			c.log.Error("password change failed", "err", err)
			problem = "Something went wrong. Please try again in a minute."
		default:
			c.render(w, http.StatusOK, "password", &view{Title: "Change password", P: p, Flash: "Your password was changed. Any other session of yours has ended."})
			return
		}
	}
	c.render(w, http.StatusUnprocessableEntity, "password", &view{Title: "Change password", P: p, Problem: problem})
}

// waitMessage says when a login refused by the back-off may be tried again.
// It is the same for a username that exists and one that does not.
func waitMessage(err error, now time.Time) string {
	var w *staff.WaitError
	if !errors.As(err, &w) {
		return "Too many failed attempts with this username. Please wait a few minutes."
	}
	mins := int(math.Ceil(w.Until.Sub(now).Minutes()))
	in := "about a minute"
	if mins > 1 {
		in = fmt.Sprintf("about %d minutes", mins)
	}
	return fmt.Sprintf("Too many failed attempts with this username. Try again after %s (in %s). An admin of your organisation can unlock it at once.",
		w.Until.In(eat).Format("15:04"), in)
}

// passwordMessage says why a new password was refused.
func passwordMessage(err error) string {
	var p staff.PasswordProblem
	errors.As(err, &p)
	const tip = " A few unrelated words you will remember, in any language, make a good password."
	switch p {
	case staff.PasswordCommon:
		return "That password is one of the most common ones, or a small change of one (capitals, digits or symbols added, letters swapped for look-alikes). Guessers try those first." + tip
	case staff.PasswordPattern:
		return "That password is a pattern guessers try first: a keyboard row, a run like abcd or 1234, or the same characters repeated." + tip
	case staff.PasswordDigits:
		return "A password of only digits is too easy to guess: dates, phone numbers and PINs are tried first." + tip
	case staff.PasswordUsername:
		return "That password is mostly your username or the word Salama: guessers try those first." + tip
	}
	return fmt.Sprintf("Choose a password of at least %d characters.", staff.MinPassword) + tip
}
