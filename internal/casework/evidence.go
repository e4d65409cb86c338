package casework

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Online-exploitation evidence in the console (SPEC §5.2, §5.3): identifier
// matches across the network, screenshots shown from their display copy,
// and, in bundle.go, the evidence bundle.

// ErrNoPreview means a screenshot cannot be shown: it has no display copy
// and none can be made from the original (damaged, or too large to decode
// safely). The original is still in the evidence bundle.
var ErrNoPreview = errors.New("casework: this screenshot cannot be shown")

// IdentifierMatch is what the console says next to one identifier of a
// report: how many other reports in the network name it, and which
// organisations hold them. Never which reports, never their content.
type IdentifierMatch struct {
	// Matched is false when the identifier takes no part in matching: the
	// survivor did not agree to it, or the value could not be normalised.
	Matched bool
	Reports int      // other reports naming it
	Orgs    []string // their organisations' names, sorted
	// OwnOrg says one of them is the principal's own organisation.
	OwnOrg bool
}

// IdentifierMatches returns, for each of c.Identifiers in order, how many
// other reports name it. An identifier with several keys (a profile link
// names a username too) counts the key with the most reports: every report
// that shares the link also shares the username derived from it, so that is
// the union. c must come from Open by the same principal.
func (s *Service) IdentifierMatches(ctx context.Context, p *staff.Principal, c *Case) ([]IdentifierMatch, error) {
	out := make([]IdentifierMatch, len(c.Identifiers))
	if c.Report.OrgID != p.OrgID || len(c.Identifiers) == 0 {
		return out, nil
	}
	rows, err := s.Store.Matches(ctx, c.Report.ID)
	if err != nil || len(rows) == 0 {
		return out, err
	}
	byBlind := map[string]store.Match{}
	for _, m := range rows {
		byBlind[m.Kind+"\x00"+string(m.Blind)] = m
	}
	orgs, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	for i, id := range c.Identifiers {
		var best *store.Match
		for _, k := range id.Keys {
			m, ok := byBlind[k.Kind+"\x00"+string(s.Secret.BlindIndex(k.Kind, k.Value))]
			if ok && (best == nil || m.Reports > best.Reports) {
				best = &m
			}
		}
		if best == nil {
			continue
		}
		out[i] = IdentifierMatch{Matched: true, Reports: best.Reports}
		for _, org := range best.OrgIDs {
			out[i].Orgs = append(out[i].Orgs, cmp.Or(names[org], "an organisation no longer in the network"))
			out[i].OwnOrg = out[i].OwnOrg || org == p.OrgID
		}
		slices.Sort(out[i].Orgs)
	}
	return out, nil
}

// Cluster is an identifier named by several reports, as a coordinator sees
// it: a short label derived from its blind index (never the identifier), its
// kind, and how many reports each organisation holds.
type Cluster struct {
	Label   string // the first 12 hex digits of the blind index
	Kind    string // "phone", "handle:telegram", "link"
	Reports int
	PerOrg  []OrgCount
	Latest  time.Time // when the newest of them arrived
}

// OrgCount is one organisation's share of a cluster.
type OrgCount struct {
	Org     string
	Reports int
}

// Clusters lists, for coordinators, the identifiers named by two or more
// reports across the network: how many and where, so that a coordinator can
// bring the organisations together. It opens nothing.
func (s *Service) Clusters(ctx context.Context, p *staff.Principal) ([]Cluster, error) {
	if !p.Can(staff.RoleCoordinator) {
		return nil, ErrForbidden
	}
	rows, err := s.Store.Clusters(ctx, 2)
	if err != nil {
		return nil, err
	}
	orgs, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	out := make([]Cluster, 0, len(rows))
	for _, r := range rows {
		c := Cluster{Label: hex.EncodeToString(r.Blind)[:12], Kind: r.Kind, Reports: r.Reports, Latest: r.Latest}
		for org, n := range r.PerOrg {
			c.PerOrg = append(c.PerOrg, OrgCount{Org: cmp.Or(names[org], org), Reports: n})
		}
		slices.SortFunc(c.PerOrg, func(a, b OrgCount) int { return cmp.Or(cmp.Compare(b.Reports, a.Reports), cmp.Compare(a.Org, b.Org)) })
		out = append(out, c)
	}
	return out, nil
}

// displayCopy opens a screenshot's display copy (decoded and re-encoded
// without metadata when the report arrived). A report that has none (stored
// before display copies existed, or a referral's copy) gets one made from
// the original now, never stored; ErrNoPreview if that cannot be done.
func (s *Service) displayCopy(ctx context.Context, dk *seal.DataKey, reportID string, att store.Attachment) (contentType string, data []byte, err error) {
	sealed, err := s.Store.AttachmentDisplay(ctx, reportID, att.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, ErrNotFound
	}
	if err != nil {
		return "", nil, err
	}
	if sealed != nil {
		b, err := dk.Open(reportID, report.DisplayField(att.ID), sealed)
		if err != nil {
			return "", nil, err
		}
		ct, data, _ := bytes.Cut(b, []byte("\n"))
		if evidence.KindOf(string(ct)) != evidence.KindImage {
			return "", nil, ErrNoPreview // a chat's conversation: see Conversation
		}
		return string(ct), data, nil
	}
	b, err := dk.Open(reportID, report.AttachmentField(att.ID), att.Sealed)
	if err != nil {
		return "", nil, err
	}
	octype, original, _ := bytes.Cut(b, []byte("\n"))
	if evidence.KindOf(string(octype)) != evidence.KindImage {
		return "", nil, ErrNoPreview // nothing is made from a PDF, a voice note or a chat on the server
	}
	ct, data, err := s.Images.Display(ctx, original)
	if errors.Is(err, evidence.ErrNotImage) || errors.Is(err, evidence.ErrTooLarge) || errors.Is(err, evidence.ErrDamaged) {
		return "", nil, ErrNoPreview
	}
	return ct, data, err
}

// AttachmentPreview returns the blurred stand-in of a screenshot that the
// console shows until a caseworker chooses to look: a few pixels of colour,
// from which nothing can be made out. It is not recorded as a reveal (the
// report's opening is already audited); Attachment, which shows the
// screenshot itself, is.
func (s *Service) AttachmentPreview(ctx context.Context, p *staff.Principal, reportID, attID string) ([]byte, error) {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, err
	}
	atts, err := s.Store.Attachments(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(atts, func(a store.Attachment) bool { return a.ID == attID })
	if i < 0 {
		return nil, ErrNotFound
	}
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	_, display, err := s.displayCopy(ctx, dk, r.ID, atts[i])
	if err != nil {
		return nil, err
	}
	pv, err := s.Images.Preview(ctx, display)
	if err != nil {
		return nil, ErrNoPreview
	}
	return pv, nil
}

// SigningKey is the public half of the key evidence bundles are signed
// with, for the console to show: a police officer checks a bundle against
// it.
func (s *Service) SigningKey() string {
	if s.Signing == nil {
		return ""
	}
	return s.Signing.Public().String()
}

// newDecoder is the default screenshot decoder: it shares the KDF's slots,
// so that argon2id and decoding together stay within their memory bound.
func newDecoder(k *seal.KDF) *evidence.Decoder {
	slots := evidence.Slots(nil)
	if k != nil {
		slots = k
	}
	return evidence.NewDecoder(slots, evidence.DefaultQueue, evidence.DefaultWait)
}
