package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/identifiers"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
)

// Online-exploitation evidence on the report page (identifier matches,
// blurred screenshots, the evidence bundle) and the coordinators' clusters
// page. Templates: evidence.html (part of the report page), clusters.html.

// evidenceView is the report page's evidence part.
type evidenceView struct {
	Identifiers []identifierView
	// ExportConsent is casework.ExportConsent's ground, "" if no bundle
	// may be exported.
	ExportConsent string
	SigningKey    string
}

type identifierView struct {
	reporting.Identifier
	What, Note, MatchText string
	Matched               bool
	MatchCount            int
}

var identifierWords = map[string][2]string{ // type → label, "this …"
	identifiers.TypePhone:  {"Phone number", "number"},
	identifiers.TypeHandle: {"Username", "username"},
	identifiers.TypeLink:   {"Link", "link"},
}

// platformNames spell the platforms as they spell themselves.
var platformNames = map[string]string{
	identifiers.PlatformWhatsApp: "WhatsApp", identifiers.PlatformTelegram: "Telegram", identifiers.PlatformFacebook: "Facebook",
	identifiers.PlatformInstagram: "Instagram", identifiers.PlatformTikTok: "TikTok", identifiers.PlatformX: "X",
	identifiers.PlatformSnapchat: "Snapchat",
}

var flagText = map[string]string{
	identifiers.FlagPhoneInvalid:    "Not a valid phone number: kept as typed, not matched.",
	identifiers.FlagPhoneUnverified: "The right length, but in no range the numbering plan knows: check it.",
	identifiers.FlagHandleUnusual:   "Not a username the platform allows: perhaps a display name.",
	identifiers.FlagLinkInvalid:     "Not a web address: kept as typed, not matched.",
}

// evidence builds the report page's evidence part.
func (c *Console) evidence(r *http.Request, p *staff.Principal, cs *casework.Case) (*evidenceView, error) {
	matches, err := c.cw.IdentifierMatches(r.Context(), p, cs)
	if err != nil {
		return nil, err
	}
	v := &evidenceView{SigningKey: c.cw.SigningKey()}
	if v.ExportConsent, err = c.cw.ExportConsent(r.Context(), cs.Report); err != nil {
		return nil, err
	}
	for i, id := range cs.Identifiers {
		words, ok := identifierWords[id.Type]
		if !ok {
			words = [2]string{"Identifier", "identifier"}
		}
		iv := identifierView{Identifier: id, What: words[0], Note: flagText[id.Flag]}
		if name, ok := platformNames[id.Platform]; ok {
			iv.What += " on " + name
		}
		m := matches[i]
		iv.Matched, iv.MatchCount = m.Matched, m.Reports
		switch {
		case !cs.Report.ConsentMatch:
			iv.MatchText = "Not checked against other reports: the survivor did not agree to matching."
		case !m.Matched:
			iv.MatchText = "Not checked against other reports: it could not be put in a standard form."
		case m.Reports == 0:
			iv.MatchText = fmt.Sprintf("No other report names this %s yet.", words[1])
		default:
			orgs := strings.Join(m.Orgs, ", ")
			iv.MatchText = fmt.Sprintf("This %s appears in %d other report%s (%s).", words[1], m.Reports, plural(m.Reports), orgs)
		}
		v.Identifiers = append(v.Identifiers, iv)
	}
	return v, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// attachmentBlurred serves the blurred stand-in of a screenshot (a few
// pixels, which reveal nothing and are not recorded as a reveal).
func (c *Console) attachmentBlurred(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	data, err := c.cw.AttachmentPreview(r.Context(), p, r.PathValue("id"), r.PathValue("att"))
	switch {
	case errors.Is(err, casework.ErrNotFound), errors.Is(err, casework.ErrNoPreview):
		http.Error(w, "no preview", http.StatusNotFound)
		return
	case err != nil:
		c.log.Error("screenshot preview failed", "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(data)
}

// exportBundle sends the report's evidence bundle as a download.
func (c *Console) exportBundle(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	b, err := c.cw.ExportBundle(r.Context(), p, r.PathValue("id"))
	switch {
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "This report does not exist or is not your organisation's.")
		return
	case errors.Is(err, casework.ErrNoConsent):
		c.renderCase(w, r, p, http.StatusForbidden, "", "No evidence bundle: the survivor has not chosen the police. Only their own tick for the police gender desk on the report form, or their own yes to a referral to a police gender desk, allows it (or a child-protection override).")
		return
	case err != nil:
		c.log.Error("evidence export failed", "err", err)
		c.renderCase(w, r, p, http.StatusServiceUnavailable, "", "The evidence bundle could not be made. Please try again in a minute.")
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+b.FileName+`"`)
	w.Write(b.Data)
}

type clustersView struct {
	Clusters []clusterRow
}

type clusterRow struct {
	casework.Cluster
	KindLabel string
}

// clusters is the coordinators' page of identifiers named by several
// reports.
func (c *Console) clusters(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	cl, err := c.cw.Clusters(r.Context(), p)
	if err != nil {
		c.log.Error("clusters failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The clusters could not be loaded. Please try again in a minute.")
		return
	}
	var v clustersView
	for _, x := range cl {
		v.Clusters = append(v.Clusters, clusterRow{Cluster: x, KindLabel: kindLabel(x.Kind)})
	}
	c.render(w, http.StatusOK, "clusters", &view{Title: "Shared identifiers", P: p, Data: v})
}

// kindLabel words a blind-index kind for the clusters page.
func kindLabel(kind string) string {
	if p, ok := strings.CutPrefix(kind, "handle:"); ok {
		return "Username on " + cmp.Or(platformNames[p], "another platform")
	}
	return cmp.Or(map[string]string{identifiers.KindPhone: "Phone number", identifiers.KindLink: "Link"}[kind], kind)
}
