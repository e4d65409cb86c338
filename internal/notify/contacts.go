package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
)

// Contact is an alert contact with its address opened, for the
// organisation's admins.
type Contact struct {
	store.AlertContact
	Address string
}

// Errors of AddContact.
var (
	ErrBadAddress  = errors.New("notify: not an email address or mobile number")
	ErrDuplicate   = errors.New("notify: that address is already an alert contact")
	ErrTooMany     = errors.New("notify: too many alert contacts")
	ErrContactGone = errors.New("notify: no such alert contact")
	ErrBadChannel  = errors.New("notify: channel must be email or sms")
)

// MaxContacts bounds an organisation's alert contacts.
const MaxContacts = 20

// purposeContact names the sealing of a contact's address
// (seal.NetworkSecret.Seal).
const purposeContact = "alert-contact"

// ParseAddress checks and normalises an address for channel: an email
// address alone (no display name; the domain lower-cased), or a mobile
// number, read as sms.NormalisePhone reads one, in E.164.
func ParseAddress(channel, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch channel {
	case store.AlertEmail:
		if s == "" || len(s) > 254 || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n<>\"") {
			return "", ErrBadAddress
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			return "", ErrBadAddress
		}
		local, domain, ok := strings.Cut(a.Address, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
			return "", ErrBadAddress
		}
		return local + "@" + strings.ToLower(domain), nil
	case store.AlertSMS:
		p, ok := sms.NormalisePhone(s)
		if !ok {
			return "", ErrBadAddress
		}
		return p, nil
	}
	return "", ErrBadChannel
}

// Contacts lists an organisation's alert contacts with their addresses.
func (s *Service) Contacts(ctx context.Context, orgID string) ([]Contact, error) {
	cs, err := s.st.AlertContacts(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(cs))
	for _, c := range cs {
		addr, err := s.secret.Open(purposeContact, c.ID, c.Sealed)
		if err != nil {
			return nil, fmt.Errorf("notify: alert contact %s does not open with this network secret: %w", c.ID, err)
		}
		out = append(out, Contact{AlertContact: c, Address: string(addr)})
	}
	return out, nil
}

// AddContact adds an alert contact to an organisation, audited as done by
// actor (audit.UserActor, or audit.ActorSystem for the demo).
func (s *Service) AddContact(ctx context.Context, actor, orgID, channel, address string) (*Contact, error) {
	addr, err := ParseAddress(channel, address)
	if err != nil {
		return nil, err
	}
	existing, err := s.Contacts(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxContacts {
		return nil, ErrTooMany
	}
	for _, c := range existing {
		if c.Channel == channel && strings.EqualFold(c.Address, addr) {
			return nil, ErrDuplicate
		}
	}
	c := store.AlertContact{ID: ids.New(), OrgID: orgID, Channel: channel, CreatedAt: s.now().UTC()}
	if c.Sealed, err = s.secret.Seal(purposeContact, c.ID, []byte(addr)); err != nil {
		return nil, err
	}
	rec, err := s.audit.Prepare(audit.Event{Actor: actor, OrgID: orgID, Action: audit.AlertContactChanged,
		Detail: "contact=" + c.ID + " channel=" + channel + " change=added"})
	if err != nil {
		return nil, err
	}
	if err := s.st.AddAlertContact(ctx, &c, rec); err != nil {
		return nil, err
	}
	return &Contact{AlertContact: c, Address: addr}, nil
}

// RemoveContact removes one of an organisation's alert contacts, audited.
// A contact of another organisation is ErrContactGone, as is one already
// removed.
func (s *Service) RemoveContact(ctx context.Context, actor, orgID, id string) error {
	c, err := s.st.AlertContact(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.OrgID != orgID {
		return ErrContactGone
	}
	if err != nil {
		return err
	}
	rec, err := s.audit.Prepare(audit.Event{Actor: actor, OrgID: orgID, Action: audit.AlertContactChanged,
		Detail: "contact=" + id + " channel=" + c.Channel + " change=removed"})
	if err != nil {
		return err
	}
	if err := s.st.RemoveAlertContact(ctx, orgID, id, rec); errors.Is(err, store.ErrNotFound) {
		return ErrContactGone
	} else if err != nil {
		return err
	}
	return nil
}
