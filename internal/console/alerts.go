package console

import (
	"errors"
	"net/http"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/notify"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// The Alerts page: an organisation's admins choose who is told, by email or
// SMS, that a report is waiting (internal/notify). Every change is audited.

type alertsView struct {
	Contacts     []notify.Contact
	Email, SMS   string // how each channel leaves
	Channel      string // kept after a problem
	Address      string
	Max          int
	EmailChannel string
	SMSChannel   string
}

var alertsDone = map[string]string{"added": "Alert contact added.", "removed": "Alert contact removed."}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderAlerts(w, r, p, http.StatusOK, alertsView{}, alertsDone[r.URL.Query().Get("done")], "")
}

func (c *Console) renderAlerts(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, v alertsView, flash, problem string) {
	cs, err := c.cfg.Alerts.Contacts(r.Context(), p.OrgID)
	if err != nil {
		c.log.Error("alert contacts failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The alert contacts could not be loaded.")
		return
	}
	v.Contacts, v.Max = cs, notify.MaxContacts
	v.Email, v.SMS = c.cfg.Alerts.Channels()
	v.EmailChannel, v.SMSChannel = store.AlertEmail, store.AlertSMS
	if v.Channel == "" {
		v.Channel = store.AlertEmail
	}
	c.render(w, status, "alerts", &view{Title: "Alerts", P: p, Flash: flash, Problem: problem, Data: v})
}

func (c *Console) addAlertContact(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	channel, address := r.PostForm.Get("channel"), r.PostForm.Get("address")
	_, err := c.cfg.Alerts.AddContact(r.Context(), audit.UserActor(p.UserID), p.OrgID, channel, address)
	v := alertsView{Channel: channel, Address: address}
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/alerts?done=added", http.StatusSeeOther)
	case errors.Is(err, notify.ErrBadAddress):
		problem := "That is not an email address."
		if channel == store.AlertSMS {
			problem = "That is not a mobile number. Write it as 0712 345 678 or +254 712 345 678."
		}
		c.renderAlerts(w, r, p, http.StatusUnprocessableEntity, v, "", problem)
	case errors.Is(err, notify.ErrDuplicate):
		c.renderAlerts(w, r, p, http.StatusConflict, v, "", "That address is already on the list.")
	case errors.Is(err, notify.ErrTooMany):
		c.renderAlerts(w, r, p, http.StatusUnprocessableEntity, v, "", "The list is full. Remove an address first.")
	case errors.Is(err, notify.ErrBadChannel):
		c.renderAlerts(w, r, p, http.StatusUnprocessableEntity, v, "", "Choose email or SMS.")
	default:
		c.log.Error("adding an alert contact failed", "err", err)
		c.renderAlerts(w, r, p, http.StatusServiceUnavailable, v, "", "Something went wrong. Please try again.")
	}
}

func (c *Console) removeAlertContact(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	switch err := c.cfg.Alerts.RemoveContact(r.Context(), audit.UserActor(p.UserID), p.OrgID, r.PathValue("contact")); {
	case err == nil:
		http.Redirect(w, r, "/console/alerts?done=removed", http.StatusSeeOther)
	case errors.Is(err, notify.ErrContactGone):
		c.fail(w, r, p, http.StatusNotFound, "No such alert contact.")
	default:
		c.log.Error("removing an alert contact failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "Something went wrong. Please try again.")
	}
}
