package casework

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/problem"

	"github.com/salama-ke/salama/internal/directory"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/caseexport"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// CaseExport is an export ready to send.
type CaseExport struct {
	FileName    string // salama-cases-gbvims-20260301.csv
	ContentType string
	Data        []byte
	Rows        int
}

// exportPage is how many reports one query of an export reads.
const exportPage = 500

// ExportCases exports the principal's organisation's cases (issue 15):
// organisation admins only, after Reauthenticate with a fresh code. It
// never includes another organisation's reports, nor a withdrawn or purged
// one; a referral received from another organisation is included once the
// organisation accepted it (docs/gbvims-export.md), with only what the
// survivor agreed to share, which is all its copy holds.
//
// The export is built whole (at most caseexport.MaxBytes) before anything
// is recorded or returned; then the audit log gets, in one transaction, a
// report.read entry for each report whose sealed content it carries and a
// cases.exported entry with the file's size and SHA-256. No export leaves
// without them.
func (s *Service) ExportCases(ctx context.Context, p *staff.Principal, password, code string, o caseexport.Options) (*CaseExport, error) {
	if !p.Can(staff.RoleOrgAdmin) {
		return nil, ErrForbidden
	}
	o, err := o.Check()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", problem.Invalid(ErrInvalid, ProblemExportOptions, ""), err)
	}
	if err := s.Staff.Reauthenticate(ctx, p, password, code, "export"); err != nil {
		return nil, err
	}
	users, err := s.Store.Users(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	usernames := map[string]string{}
	for _, u := range users {
		usernames[u.ID] = u.Username
	}
	orgs, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	orgNames := map[string]string{}
	for _, org := range orgs {
		orgNames[org.ID] = org.Name
	}
	svcs, err := directory.Stored(ctx, s.Store)
	if err != nil {
		return nil, err
	}
	svcTypes := map[string]string{}
	for _, svc := range svcs {
		svcTypes[svc.ID] = string(svc.Type)
	}
	// The organisation's referrals, made and received, by report.
	refs, err := s.Store.ReferralsOf(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	made, received := map[string][]store.Referral{}, map[string]store.Referral{}
	for _, ref := range refs {
		if ref.FromOrg == p.OrgID {
			made[ref.ReportID] = append(made[ref.ReportID], ref)
		}
		if ref.ToOrg == p.OrgID && ref.ReferredReportID != "" {
			received[ref.ReferredReportID] = ref
		}
	}
	sealed := o.SealedFields()
	from, to := o.From, o.To
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // To is inclusive: the whole day
	}
	w := caseexport.NewWriter(o)
	var opened []*store.PendingAudit
	var last store.Report
	for {
		page, err := s.Store.ExportPage(ctx, p.OrgID, from, to, last.CreatedAt, last.ID, exportPage)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			c := caseexport.Case{Report: r, Assignee: usernames[r.AssignedTo]}
			if r.Kind == "referral" {
				ref, ok := received[r.ID]
				if !ok || ref.State != store.ReferralAccepted && ref.State != store.ReferralCompleted {
					continue // not (or no longer) this organisation's case
				}
				c.ReferredFrom = orgNames[ref.FromOrg]
			}
			for _, ref := range made[r.ID] {
				c.Referrals = append(c.Referrals, caseexport.Referral{ServiceType: svcTypes[ref.ServiceID], State: ref.State, Reason: ref.Reason})
			}
			if len(sealed) > 0 {
				got, err := s.openForExport(ctx, p, &r, sealed, &c)
				if err != nil {
					return nil, err
				}
				if len(got) > 0 {
					e, err := s.Audit.Prepare(audit.Event{Actor: audit.UserActor(p.UserID), OrgID: p.OrgID, Action: audit.ReportRead,
						ReportID: r.ID, Detail: "fields=" + strings.Join(got, ",") + " reason=case_export"})
					if err != nil {
						return nil, err
					}
					opened = append(opened, e)
				}
			}
			if err := w.Add(c); errors.Is(err, caseexport.ErrTooLarge) {
				return nil, ErrTooLarge
			} else if err != nil {
				return nil, err
			}
		}
		if len(page) < exportPage {
			break
		}
		last = page[len(page)-1]
	}
	data, err := w.Bytes()
	if errors.Is(err, caseexport.ErrTooLarge) {
		return nil, ErrTooLarge
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	detail := fmt.Sprintf("format=%s layout=%s count=%d sha256=%s", o.Format, o.Layout, w.Rows(), hex.EncodeToString(sum[:]))
	if len(sealed) > 0 {
		detail += " fields=" + strings.Join(sealed, ",")
	}
	done, err := s.Audit.Prepare(audit.Event{Actor: audit.UserActor(p.UserID), OrgID: p.OrgID, Action: audit.CasesExported, Detail: detail})
	if err != nil {
		return nil, err
	}
	if err := s.Store.AppendAuditBatch(ctx, append(opened, done)); err != nil {
		return nil, err // no export without its audit entries
	}
	now := s.Now().In(eat)
	return &CaseExport{FileName: fmt.Sprintf("salama-cases-%s-%s.%s", o.Layout, now.Format("20060102-1504"), o.Format),
		ContentType: o.ContentType(), Data: data, Rows: w.Rows()}, nil
}

// ErrTooLarge means an export would be larger than caseexport.MaxBytes.
var ErrTooLarge = errors.New("casework: the export is too large; choose a shorter period or fewer fields")

// openForExport opens the sealed fields an export asked for that the report
// holds, into c, and returns the names of those it opened.
func (s *Service) openForExport(ctx context.Context, p *staff.Principal, r *store.Report, want []string, c *caseexport.Case) ([]string, error) {
	fields, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var got []string
	var dk *seal.DataKey
	defer func() {
		if dk != nil {
			dk.Destroy()
		}
	}()
	open := func(name string) ([]byte, error) {
		v, ok := fields[name]
		if !ok {
			return nil, nil
		}
		if dk == nil {
			if dk, err = s.dataKey(ctx, p, r); err != nil {
				return nil, err
			}
		}
		got = append(got, name)
		return dk.Open(r.ID, name, v)
	}
	for _, f := range want {
		switch f {
		case caseexport.FieldNarrative:
			b, err := open(report.FieldNarrative)
			if err != nil {
				return nil, err
			}
			c.Narrative = string(b)
		case caseexport.FieldCountry:
			b, err := open(report.FieldCountry)
			if err != nil {
				return nil, err
			}
			c.Country = string(b)
		case caseexport.FieldIdentifiers:
			b, err := open(report.FieldIdentifiers)
			if err != nil {
				return nil, err
			}
			if b == nil {
				continue
			}
			var ids []reporting.Identifier
			if err := json.Unmarshal(b, &ids); err != nil {
				return nil, err
			}
			for _, id := range ids {
				v := id.Normalised
				if v == "" {
					v = id.Value
				}
				c.Identifiers = append(c.Identifiers, v)
			}
		}
	}
	slices.Sort(got)
	return got, nil
}

// ExportPeriod reads a date typed on the export form (YYYY-MM-DD, East Africa
// Time); "" is no bound.
func ExportPeriod(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.ParseInLocation(time.DateOnly, s, eat)
	return t, err == nil
}
