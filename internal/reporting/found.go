package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/identifiers"
	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/store"
)

// Identifiers found in a chat export are never added to a report by
// themselves: a chat holds the numbers of friends, family and the survivor
// herself as well as the abuser's. The survivor sees them on her check
// page, after she has sent the report (a no-JS one-page form cannot show
// what is inside a file before it is sent, and a form drawn again loses
// the files chosen), and ticks those to add. What she adds is matched only
// if she agreed to matching on the report (ConsentMatch), as anything she
// typed.

// ErrNotOffered: an identifier posted back that is not one the check page
// offered.
var ErrNotOffered = errors.New("reporting: not an identifier found in a chat export")

// FoundIdentifiers lists the phone numbers, usernames and links found in
// the chat exports of the survivor's report (read when it arrived, sealed
// as their display copies) that the report does not name yet, each once.
func (c *CheckSession) FoundIdentifiers(ctx context.Context) ([]evidence.Found, error) {
	s := c.svc
	have, err := s.identifiersOf(ctx, c)
	if err != nil {
		return nil, err
	}
	atts, err := s.Store.Attachments(ctx, c.ReportID)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, id := range have {
		known[foundKey(id.Type, id.Platform, id.Value)] = true
	}
	var out []evidence.Found
	for _, a := range atts {
		sealed, err := s.Store.AttachmentDisplay(ctx, c.ReportID, a.ID)
		if err != nil || sealed == nil {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			continue
		}
		b, err := c.dk.Open(c.ReportID, report.DisplayField(a.ID), sealed)
		if err != nil {
			return nil, err
		}
		ct, js, _ := bytes.Cut(b, []byte("\n"))
		if string(ct) != evidence.Conversation {
			continue
		}
		var chat evidence.Chat
		if err := json.Unmarshal(js, &chat); err != nil {
			continue
		}
		for _, f := range chat.Found {
			if k := foundKey(f.Type, f.Platform, f.Value); !known[k] {
				known[k] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// foundKey is what makes two identifiers the same for the offer: their
// normalised form (so "+254 712 345 678" found is not offered again once
// "0712345678" was typed).
func foundKey(typ, platform, value string) string {
	r := identifiers.Normalise(typ, platform, value)
	if r.Normalised != "" {
		return r.Type + "\x00" + r.Normalised
	}
	return typ + "\x00" + strings.ToLower(value)
}

// AddFound adds to the report the identifiers the survivor ticked among
// those FoundIdentifiers offers (values posted back; anything else is
// ErrNotOffered and nothing is added), normalised and, when the report
// takes part in matching, blind-indexed, like the ones she typed.
func (c *CheckSession) AddFound(ctx context.Context, values []string) (int, error) {
	s := c.svc
	offered, err := c.FoundIdentifiers(ctx)
	if err != nil {
		return 0, err
	}
	var picked []evidence.Found
	for _, v := range values {
		i := slices.IndexFunc(offered, func(f evidence.Found) bool { return f.Value == v })
		if i < 0 {
			return 0, ErrNotOffered
		}
		if !slices.Contains(picked, offered[i]) {
			picked = append(picked, offered[i])
		}
	}
	if len(picked) == 0 {
		return 0, ErrEmpty
	}
	r, err := s.Store.Report(ctx, c.ReportID)
	if err != nil {
		return 0, err
	}
	have, err := s.identifiersOf(ctx, c)
	if err != nil {
		return 0, err
	}
	var blind []store.BlindID
	for _, f := range picked {
		have = append(have, s.index(Identifier{Type: f.Type, Platform: f.Platform, Value: f.Value}, r.ConsentMatch, &blind))
	}
	b, err := json.Marshal(have)
	if err != nil {
		return 0, err
	}
	sealed, err := c.dk.Seal(c.ReportID, report.FieldIdentifiers, b)
	if err != nil {
		return 0, err
	}
	if err := s.Store.AddIdentifiers(ctx, c.ReportID, report.FieldIdentifiers, sealed, blind); err != nil {
		return 0, err
	}
	if s.Audit != nil {
		consent := "no"
		if r.ConsentMatch {
			consent = "yes"
		}
		// The caseworker's log says that the report changed, and how
		// much, never what was added.
		if err := s.Audit.Record(ctx, audit.Event{Actor: audit.ActorSurvivor, OrgID: r.OrgID, Action: audit.IdentifiersAdded,
			ReportID: r.ID, Detail: fmt.Sprintf("count=%d consent=%s", len(picked), consent)}); err != nil {
			return 0, err
		}
	}
	return len(picked), nil
}

// identifiersOf opens the report's identifiers.
func (s *Service) identifiersOf(ctx context.Context, c *CheckSession) ([]Identifier, error) {
	fields, err := s.Store.ReportFields(ctx, c.ReportID)
	if err != nil {
		return nil, err
	}
	f, ok := fields[report.FieldIdentifiers]
	if !ok {
		return nil, nil
	}
	b, err := c.dk.Open(c.ReportID, report.FieldIdentifiers, f)
	if err != nil {
		return nil, err
	}
	var out []Identifier
	return out, json.Unmarshal(b, &out)
}
