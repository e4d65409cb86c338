package ussd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/testkit"
)

// memSessions is Sessions in memory, with the store's compare-and-swap.
type memSessions struct {
	mu   sync.Mutex
	rows map[string]memRow
	fail error
}

type memRow struct {
	state   string
	expires time.Time
}

func (m *memSessions) USSDSession(_ context.Context, idHash []byte, now time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return "", m.fail
	}
	r, ok := m.rows[string(idHash)]
	if !ok || !r.expires.After(now) {
		return "", store.ErrNotFound
	}
	return r.state, nil
}

func (m *memSessions) PutUSSDSession(_ context.Context, idHash []byte, old, state string, now, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.rows == nil {
		m.rows = map[string]memRow{}
	}
	r, ok := m.rows[string(idHash)]
	live := ok && r.expires.After(now)
	if (old == "" && live) || (old != "" && (!live || r.state != old)) {
		return store.ErrConflict
	}
	m.rows[string(idHash)] = memRow{state: state, expires: expires}
	return nil
}

func (m *memSessions) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.rows {
		out = append(out, r.state)
	}
	return out
}

// fakeReports is Reports in memory.
type fakeReports struct {
	mu        sync.Mutex
	bySeed    map[string]*reporting.Submission
	inputs    []reporting.Input // every report stored
	reports   map[seal.Receipt]*fakeReport
	failWrite bool
	opens     int
	resumes   int
	// slow makes Open wait for its context, as argon2id does when the
	// queue is long.
	slow bool
}

type fakeReport struct {
	status  string
	newest  *reporting.Message
	replies []string
}

func newFakeReports() *fakeReports {
	return &fakeReports{bySeed: map[string]*reporting.Submission{}, reports: map[seal.Receipt]*fakeReport{}}
}

func (f *fakeReports) SubmitOnce(_ context.Context, in reporting.Input, seed []byte) (*reporting.Submission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrite {
		return nil, errors.New("database down")
	}
	if s, ok := f.bySeed[string(seed)]; ok {
		again := *s
		again.Again = true
		return &again, nil
	}
	r, _ := seal.NewReceipt()
	rep := &store.Report{ID: fmt.Sprint(len(f.inputs)), Channel: store.ChannelUSSD, Status: store.StatusNew, About: in.About,
		Categories: in.What, County: in.County, DangerNow: in.Danger, Help: in.Help, ContactPref: in.ContactPref, ChildInvolved: in.Child()}
	s := &reporting.Submission{Receipt: r, Report: rep}
	f.bySeed[string(seed)] = s
	f.inputs = append(f.inputs, in)
	f.reports[r] = &fakeReport{status: store.StatusNew}
	return s, nil
}

// add makes a report to check, with a caseworker's message if msg is set.
func (f *fakeReports) add(status, msg string) seal.Receipt {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, _ := seal.NewReceipt()
	fr := &fakeReport{status: status}
	if msg != "" {
		fr.newest = &reporting.Message{At: time.Date(2026, 3, 12, 11, 5, 0, 0, time.UTC), Text: msg}
	}
	f.reports[r] = fr
	return r
}

func (f *fakeReports) Open(ctx context.Context, r seal.Receipt) (Opened, error) {
	if f.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	fr, ok := f.reports[r]
	if !ok {
		return nil, reporting.ErrNoReport
	}
	return &fakeOpened{f: f, r: fr}, nil
}

// Resume opens a wrap made by fakeOpened.WrapKey: the report's id sealed
// under k, standing in for its data key.
func (f *fakeReports) Resume(_ context.Context, reportID string, k *seal.Key, wrapped []byte) (Opened, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := k.OpenSecret("fake", reportID, wrapped)
	if err != nil || string(b) != reportID {
		return nil, reporting.ErrNoSession
	}
	for _, fr := range f.reports {
		if fmt.Sprintf("fake-%p", fr) == reportID {
			f.resumes++
			return &fakeOpened{f: f, r: fr}, nil
		}
	}
	return nil, reporting.ErrNoReport
}

func (f *fakeReports) Services(context.Context) ([]directory.Service, error) {
	return []directory.Service{
		{ID: "nbi-clinic", Name: "Nairobi Women's Clinic (example)", Type: directory.TypeMedicalPEP, Counties: []string{"nairobi"},
			Ages: directory.AgesAll, Channels: directory.Channels{Phone: "0700 000 101 / 0700 000 102"}, Free: true},
		{ID: "nbi-legal", Name: "Haki Legal Aid Nairobi – a very long name that does not fit on any screen", Type: directory.TypeLegalAid,
			Counties: []string{"nairobi"}, Ages: directory.AgesAll, Channels: directory.Channels{Phone: "0700 000 103"}},
		{ID: "msa-shelter", Name: "Pwani Safe House", Type: directory.TypeShelter, Counties: []string{"mombasa"},
			Ages: directory.AgesAll, Channels: directory.Channels{Phone: "0700 000 104"}},
	}, nil
}

type fakeOpened struct {
	f *fakeReports
	r *fakeReport
}

func (o *fakeOpened) Latest(context.Context) (*reporting.Latest, error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	l := &reporting.Latest{Status: o.r.status, Newest: o.r.newest}
	if o.r.newest != nil {
		l.FromHelpers = 1
	}
	return l, nil
}

func (o *fakeOpened) Reply(_ context.Context, text string) error {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	if o.f.failWrite {
		return errors.New("database down")
	}
	o.r.replies = append(o.r.replies, text)
	return nil
}

func (o *fakeOpened) Close() {}

func (o *fakeOpened) WrapKey(k *seal.Key) ([]byte, error) {
	return k.SealSecret("fake", o.ReportID(), []byte(o.ReportID()))
}

// ReportID names the fake report by its address: unique while it lives.
func (o *fakeOpened) ReportID() string { return fmt.Sprintf("fake-%p", o.r) }

// rig is a handler over fakes, with a settable clock.
type rig struct {
	t        testing.TB
	h        *Handler
	reports  *fakeReports
	sessions *memSessions
	clock    *testkit.Clock
	logs     testkit.LogBuffer
}

func newRig(t testing.TB, lang locale.Lang) *rig {
	t.Helper()
	g := &rig{t: t, reports: newFakeReports(), sessions: &memSessions{},
		clock: testkit.NewClock(time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC))}
	g.start(lang, seal.NewNetworkSecretForTest())
	return g
}

// start puts a new handler, in lang, over the rig's fakes, clock and log.
func (g *rig) start(lang locale.Lang, secret *seal.NetworkSecret) {
	g.t.Helper()
	h, err := New(Config{Reports: g.reports, Sessions: g.sessions, Catalog: testCatalog(), Secret: secret,
		Lang: lang, Now: g.clock.Now, Log: slog.New(slog.NewTextHandler(&g.logs, nil))})
	if err != nil {
		g.t.Fatal(err)
	}
	g.h = h
}

// restart is a restart of the server (or a second one): a new handler, in
// lang, with the same network secret and the same sessions and reports.
func (g *rig) restart(lang locale.Lang) {
	g.t.Helper()
	g.start(lang, g.h.Secret)
}

// neverHolds fails the test if any of texts (session states, logs) holds
// one of secrets; what names the texts in the failure.
func neverHolds(t testing.TB, what string, texts []string, secrets ...string) {
	t.Helper()
	for _, text := range texts {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q: %s", what, secret, text)
			}
		}
	}
}

// phone is a session on one handset: it keeps the session id and builds
// the text as the gateway does.
type phone struct {
	g       *rig
	id, num string
	inputs  []string
	screens []Response
}

var sessionCounter struct {
	sync.Mutex
	n int
}

func (g *rig) dial(num string) *phone {
	sessionCounter.Lock()
	sessionCounter.n++
	id := fmt.Sprintf("ATUid_test_%d", sessionCounter.n)
	sessionCounter.Unlock()
	p := &phone{g: g, id: id, num: num}
	p.send()
	return p
}

func (p *phone) send() Response {
	r := p.g.h.Answer(context.Background(), Request{SessionID: p.id, ServiceCode: "*384*7#", Phone: p.num, Network: "63902", Text: strings.Join(p.inputs, "*")})
	checkScreen(p.g.t, r)
	p.screens = append(p.screens, r)
	return r
}

// press types one answer and returns the next screen.
func (p *phone) press(in string) Response {
	p.inputs = append(p.inputs, in)
	return p.send()
}

func (p *phone) last() Response { return p.screens[len(p.screens)-1] }

// fork is another phone in exactly this phone's session state, under a new
// session id, calling from num: a walk through the menus explores each
// branch from where it left off instead of dialling again.
func (p *phone) fork(num string) *phone {
	sessionCounter.Lock()
	sessionCounter.n++
	id := fmt.Sprintf("ATUid_fork_%d", sessionCounter.n)
	sessionCounter.Unlock()
	q := &phone{g: p.g, id: id, num: num, inputs: slices.Clone(p.inputs), screens: slices.Clone(p.screens)}
	m := p.g.sessions
	m.mu.Lock()
	defer m.mu.Unlock()
	if row, ok := m.rows[string(p.g.h.sessionKey(p.id, p.num))]; ok {
		// The state is copied as it is: a receipt already checked in it
		// is bound to this session's key, so the fork must type it again.
		m.rows[string(p.g.h.sessionKey(id, num))] = row
	}
	return q
}

var testCatalog = sync.OnceValue(locale.MustLoad)
