package console

import (
	"errors"
	"net/http"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

type membersView struct {
	Members  []store.User
	Waiting  map[string]string // user id → until when their logins wait after failures
	Rewrap   int               // report keys not yet re-wrapped after a key rotation
	Roles    []staff.Role
	NewCode  string // the enrolment code just created, shown once
	NewUser  string
	Username string // kept after a problem
	Name     string
}

func (c *Console) members(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderMembers(w, r, p, http.StatusOK, membersView{}, "", "")
}

func (c *Console) renderMembers(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, v membersView, flash, problem string) {
	ms, err := c.staff.Members(r.Context(), p)
	if err != nil {
		c.log.Error("members failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The members could not be loaded.")
		return
	}
	v.Members, v.Roles, v.Waiting = ms, staff.Roles, map[string]string{}
	if v.Rewrap, err = c.staff.RotationLeft(r.Context(), p); err != nil {
		c.log.Error("members failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The members could not be loaded.")
		return
	}
	for _, m := range ms {
		until, err := c.staff.BackoffUntil(r.Context(), m.Username)
		if err != nil {
			c.log.Error("members failed", "err", err)
			c.fail(w, r, p, http.StatusServiceUnavailable, "The members could not be loaded.")
			return
		}
		if !until.IsZero() {
			v.Waiting[m.ID] = until.In(eat).Format("15:04")
		}
	}
	if p.Role != staff.RoleCoordinator {
		v.Roles = []staff.Role{staff.RoleCaseworker, staff.RoleOrgAdmin}
	}
	c.render(w, status, "members", &view{Title: "Members", P: p, Flash: flash, Problem: problem, Data: v})
}

func (c *Console) addMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := r.PostForm
	n := staff.NewUser{Username: f.Get("username"), DisplayName: f.Get("name"), Role: staff.Role(f.Get("role"))}
	code, err := c.staff.AddMember(r.Context(), p, n)
	v := membersView{Username: n.Username, Name: n.DisplayName}
	switch {
	case err == nil:
		c.renderMembers(w, r, p, http.StatusOK, membersView{NewCode: code, NewUser: n.Username}, "Member added.", "")
	case errors.Is(err, staff.ErrUsernameTaken):
		c.renderMembers(w, r, p, http.StatusConflict, v, "", "That username is taken.")
	case errors.Is(err, casework.ErrInvalid):
		c.renderMembers(w, r, p, http.StatusUnprocessableEntity, v, "", problemText(err, "Check the username and the role."))
	case errors.Is(err, casework.ErrForbidden):
		c.fail(w, r, p, http.StatusNotFound, "This page does not exist.")
	default:
		c.log.Error("adding member failed", "err", err)
		c.renderMembers(w, r, p, http.StatusServiceUnavailable, v, "", "Something went wrong. Please try again.")
	}
}

func (c *Console) disableMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.setDisabled(w, r, p, true)
}

func (c *Console) enableMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.setDisabled(w, r, p, false)
}

func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request, p *staff.Principal, disabled bool) {
	switch err := c.staff.SetMemberDisabled(r.Context(), p, r.PathValue("id"), disabled); {
	case err == nil:
		http.Redirect(w, r, "/console/members", http.StatusSeeOther)
	case errors.Is(err, store.ErrOrgKeyChanged):
		c.renderMembers(w, r, p, http.StatusConflict, membersView{}, "", "The organisation's key was just replaced by someone else. Please log in again and retry.")
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "No such member.")
	case errors.Is(err, casework.ErrInvalid):
		c.renderMembers(w, r, p, http.StatusUnprocessableEntity, membersView{}, "", problemText(err, "That member cannot be changed."))
	case errors.Is(err, casework.ErrForbidden):
		c.renderMembers(w, r, p, http.StatusForbidden, membersView{}, "", "Only a network coordinator can disable or enable a coordinator.")
	default:
		c.log.Error("disabling member failed", "err", err)
		c.renderMembers(w, r, p, http.StatusServiceUnavailable, membersView{}, "", "Something went wrong.")
	}
}

// unlockMember clears a member's login back-off, so they can try again at
// once.
func (c *Console) unlockMember(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	switch cleared, err := c.staff.UnlockMember(r.Context(), p, r.PathValue("id")); {
	case err == nil && cleared:
		c.renderMembers(w, r, p, http.StatusOK, membersView{}, "Unlocked: they can log in again now.", "")
	case err == nil:
		c.renderMembers(w, r, p, http.StatusOK, membersView{}, "There were no failed logins to clear.", "")
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "No such member.")
	case errors.Is(err, casework.ErrInvalid):
		c.renderMembers(w, r, p, http.StatusUnprocessableEntity, membersView{}, "", problemText(err, "That member cannot be changed."))
	case errors.Is(err, casework.ErrForbidden):
		c.renderMembers(w, r, p, http.StatusForbidden, membersView{}, "", "Only a network coordinator can unlock a coordinator.")
	default:
		c.log.Error("unlocking member failed", "err", err)
		c.renderMembers(w, r, p, http.StatusServiceUnavailable, membersView{}, "", "Something went wrong.")
	}
}
