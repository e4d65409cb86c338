package staff_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/totp"
)

// failures returns the login.failed entries after seq, as "actor reason".
func failures(e *apptest.Env, seq int64) []string {
	var out []string
	for _, en := range e.AuditSince(seq, string(audit.LoginFailed)) {
		out = append(out, en.Actor+" "+en.Detail)
	}
	return out
}

func TestLogin(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		acc := e.Account("demo-caseworker")
		uid := e.User("demo-caseworker").ID
		user := audit.UserActor(uid)

		head := e.AuditHead()
		cookie := e.Login("demo-caseworker")
		p, err := cw.Session(e.Ctx(), cookie)
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != uid || p.OrgID != e.IntakeOrg().Org.ID || p.Role != staff.RoleCaseworker || p.OrgName != e.IntakeOrg().Org.Name {
			t.Errorf("principal %+v", p)
		}
		if es := e.AuditSince(head, string(audit.LoginOK)); len(es) != 1 || es[0].Actor != user || es[0].Detail != "method=totp" {
			t.Errorf("login.ok entries: %+v", es)
		}
		// The username is matched as typed by people: case and spaces.
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), "  Demo-Caseworker ", acc.Password, totp.Code(acc.TOTP, e.Clock.Now())); err != nil {
			t.Errorf("login with a capitalised username: %v", err)
		}

		// Each way of failing is the same error, and a different trace.
		e.Clock.NextStep()
		code := totp.Code(acc.TOTP, e.Clock.Now())
		head = e.AuditHead()
		for _, tc := range []struct{ name, user, password, code, want string }{
			{"wrong password", "demo-caseworker", acc.Password + "x", code, user + " reason=wrong_password"},
			{"unknown user", "nobody-here", acc.Password, code, audit.ActorUnknown + " reason=unknown_user"},
			{"wrong code", "demo-caseworker", acc.Password, wrongCode(code), user + " reason=wrong_code"},
			{"no code", "demo-caseworker", acc.Password, "", user + " reason=wrong_code"},
			{"not a code", "demo-caseworker", acc.Password, code + "1", user + " reason=wrong_code"},
		} {
			if _, err := cw.Login(e.Ctx(), tc.user, tc.password, tc.code); !errors.Is(err, staff.ErrBadLogin) {
				t.Errorf("%s: %v, want ErrBadLogin", tc.name, err)
			}
			got := failures(e, head)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("%s: audit %q, want %q", tc.name, got, tc.want)
			}
			head = e.AuditHead()
			// Each case on its own: the back-off is TestBackoff's.
			e.App.Store.ClearLoginBackoff(e.Ctx(), e.App.Secret.MAC("login-backoff", []byte(tc.user)))
		}

		// The right code, once; the same step again is a replay, even with
		// the right password, and even within its 90 seconds.
		if _, err := cw.Login(e.Ctx(), "demo-caseworker", acc.Password, code); err != nil {
			t.Fatalf("login: %v", err)
		}
		if until, _ := cw.BackoffUntil(e.Ctx(), "demo-caseworker"); !until.IsZero() {
			t.Errorf("a good login left a wait until %v", until)
		}
		head = e.AuditHead()
		e.Clock.Add(10 * time.Second)
		if _, err := cw.Login(e.Ctx(), "demo-caseworker", acc.Password, code); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("replayed code: %v, want ErrBadLogin", err)
		}
		if got := failures(e, head); len(got) != 1 || got[0] != user+" reason=replayed_code" {
			t.Errorf("replay audit: %q", got)
		}
		// A code of the step before (skew) is a replay too: it is older
		// than the step last used.
		if _, err := cw.Login(e.Ctx(), "demo-caseworker", acc.Password, totp.Code(acc.TOTP, e.Clock.Now().Add(-totp.Period))); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("older code: %v, want ErrBadLogin", err)
		}
		// The next step's code works.
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), "demo-caseworker", acc.Password, totp.Code(acc.TOTP, e.Clock.Now())); err != nil {
			t.Errorf("next step: %v", err)
		}
	})
}

// wrongCode returns a six-digit code that is not c.
func wrongCode(c string) string {
	if c == "123456" {
		return "654321"
	}
	return "123456"
}

// TestBackoff: after three failures in a row each try waits, 30 s then
// doubling, never more than five minutes; refusals while waiting cost no
// argon2id and count nothing; a quiet quarter of an hour forgets; a good
// login clears. A username nobody has behaves exactly the same.
func TestBackoff(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		acc := e.Account("demo-admin")
		for _, name := range []string{acc.Username, "nobody-at-all"} {
			t.Run(name, func(t *testing.T) {
				waits := []time.Duration{0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
				for i, want := range waits {
					if _, err := cw.Login(e.Ctx(), name, "not the password", "000000"); !errors.Is(err, staff.ErrBadLogin) {
						t.Fatalf("failure %d: %v", i+1, err)
					}
					until, err := cw.BackoffUntil(e.Ctx(), name)
					if err != nil {
						t.Fatal(err)
					}
					if got := until.Sub(e.Clock.Now()); want == 0 && !until.IsZero() || want != 0 && got != want {
						t.Fatalf("after %d failures: wait %v, want %v", i+1, got, want)
					}
					if want == 0 {
						continue
					}
					// Trying before the time: refused, with the time,
					// without argon2id, and not counted.
					e.Clock.Add(want - time.Second)
					evals := e.App.KDF.Evaluations()
					_, err = cw.Login(e.Ctx(), name, "not the password", "000000")
					var w *staff.WaitError
					if !errors.As(err, &w) || !errors.Is(err, staff.ErrLocked) || !w.Until.Equal(until) {
						t.Fatalf("a try during the wait: %v", err)
					}
					if n := e.App.KDF.Evaluations() - evals; n != 0 {
						t.Errorf("a refused try ran argon2id %d times", n)
					}
					e.Clock.Add(time.Second)
				}
				// A quiet quarter of an hour forgets every failure.
				e.Clock.Add(15*time.Minute + time.Second)
				if _, err := cw.Login(e.Ctx(), name, "not the password", "000000"); !errors.Is(err, staff.ErrBadLogin) {
					t.Fatalf("after a quiet quarter: %v", err)
				}
				if until, _ := cw.BackoffUntil(e.Ctx(), name); !until.IsZero() {
					t.Errorf("one failure after a quiet quarter waits until %v", until)
				}
			})
		}
		// The right password and code after failures (but before the
		// wait): allowed, and the count is cleared.
		e.Clock.Add(time.Hour)
		for range 2 {
			cw.Login(e.Ctx(), acc.Username, "not the password", "000000")
		}
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), acc.Username, acc.Password, e.Code(acc.Username)); err != nil {
			t.Fatalf("good login after two failures: %v", err)
		}
		if until, _ := cw.BackoffUntil(e.Ctx(), acc.Username); !until.IsZero() {
			t.Errorf("a good login left a wait until %v", until)
		}
		// Locked: even the right password and code wait, and the refusal
		// neither spends the code nor counts.
		e.Clock.NextStep()
		for range 3 {
			cw.Login(e.Ctx(), acc.Username, "not the password", "000000")
		}
		head := e.AuditHead()
		if _, err := cw.Login(e.Ctx(), acc.Username, acc.Password, e.Code(acc.Username)); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("waiting account: %v, want ErrLocked", err)
		}
		if got := failures(e, head); len(got) != 1 || !strings.HasSuffix(got[0], "reason=locked") {
			t.Errorf("locked audit: %q", got)
		}
		if u := e.User(acc.Username); u.TOTPLastStep == totp.Step(e.Clock.Now()) {
			t.Errorf("a refusal while waiting spent the code")
		}
		e.Clock.Add(30 * time.Second)
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), acc.Username, acc.Password, e.Code(acc.Username)); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
}

// An unknown username costs the same argon2id evaluation as a known one,
// at login and at enrolment, and fails the same way.
func TestUnknownUsernameCostsTheSame(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		kdf := e.App.KDF
		for _, tc := range []struct {
			name string
			try  func(user string) error
		}{
			{"login", func(user string) error { _, err := cw.Login(e.Ctx(), user, "a wrong password", "000000"); return err }},
			{"enrolment", func(user string) error {
				_, err := cw.BeginEnrolment(e.Ctx(), user, "AAAAA-BBBBB-CCCCC-DDDDD")
				return err
			}},
		} {
			for _, user := range []string{"demo-caseworker", "nobody-" + tc.name} {
				before := kdf.Evaluations()
				err := tc.try(user)
				if n := kdf.Evaluations() - before; n != 1 {
					t.Errorf("%s as %s: %d argon2id evaluations, want 1", tc.name, user, n)
				}
				if !errors.Is(err, staff.ErrBadLogin) {
					t.Errorf("%s as %s: %v, want ErrBadLogin", tc.name, user, err)
				}
			}
		}
	})
}

// Guesses sent in parallel each count: otherwise a burst of guesses would
// all store "one failure" and never reach the back-off.
func TestBackoffCountsParallelGuesses(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		const n = 12
		before := e.App.KDF.Evaluations()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				e.App.Staff.Login(e.Ctx(), "demo-caseworker", "a wrong guess", "000000")
			})
		}
		wg.Wait()
		b, err := e.App.Store.LoginBackoff(e.Ctx(), e.App.Secret.MAC("login-backoff", []byte("demo-caseworker")))
		if err != nil {
			t.Fatal(err)
		}
		// Guesses that came after the wait began were refused before
		// argon2id and are not failures; every guess that was checked is.
		checked := int(e.App.KDF.Evaluations() - before)
		if checked < 3 || b.Failures != checked {
			t.Errorf("%d parallel guesses, %d checked, stored as %d failures", n, checked, b.Failures)
		}
	})
}

func TestSessions(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		// Idle for longer than 30 minutes: gone, and deleted.
		cookie := e.Login("demo-caseworker")
		e.Clock.Add(29 * time.Minute)
		if _, err := cw.Session(e.Ctx(), cookie); err != nil {
			t.Fatalf("after 29 idle minutes: %v", err)
		}
		e.Clock.Add(29 * time.Minute) // the last request renewed it
		if _, err := cw.Session(e.Ctx(), cookie); err != nil {
			t.Fatalf("29 minutes after the last request: %v", err)
		}
		e.Clock.Add(30*time.Minute + time.Second)
		if _, err := cw.Session(e.Ctx(), cookie); !errors.Is(err, casework.ErrNoSession) {
			t.Fatalf("after 30 idle minutes: %v, want ErrNoSession", err)
		}
		e.Clock.Add(-time.Hour)
		if _, err := cw.Session(e.Ctx(), cookie); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("an expired session came back when the clock went back: %v", err)
		}
		e.Clock.Add(time.Hour)

		// In use all day: ends at 12 hours all the same.
		cookie = e.Login("demo-caseworker")
		for range 12 * 3 {
			e.Clock.Add(20 * time.Minute)
			if _, err := cw.Session(e.Ctx(), cookie); err != nil {
				t.Fatalf("session in use: %v", err)
			}
		}
		e.Clock.Add(time.Minute)
		if _, err := cw.Session(e.Ctx(), cookie); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("after 12 hours: %v, want ErrNoSession", err)
		}

		// Logout destroys the session.
		cookie = e.Login("demo-caseworker")
		p, err := cw.Session(e.Ctx(), cookie)
		if err != nil {
			t.Fatal(err)
		}
		head := e.AuditHead()
		if err := cw.Logout(e.Ctx(), p); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.Session(e.Ctx(), cookie); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("after logout: %v", err)
		}
		if es := e.AuditSince(head, string(audit.Logout)); len(es) != 1 {
			t.Errorf("logout entries: %+v", es)
		}

		// Malformed and tampered cookies open nothing; a tampered key of a
		// live session leaves a trace naming whose session it was.
		cookie = e.Login("demo-caseworker")
		for _, bad := range []string{"", "x", "!!!!", cookie[:len(cookie)-2], cookie + "AA"} {
			if _, err := cw.Session(e.Ctx(), bad); !errors.Is(err, casework.ErrNoSession) {
				t.Errorf("cookie %q: %v", bad, err)
			}
		}
		head = e.AuditHead()
		if _, err := cw.Session(e.Ctx(), apptest.FlipKeyByte(t, cookie)); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("tampered key: %v", err)
		}
		if got := failures(e, head); len(got) != 1 || got[0] != audit.UserActor(e.User("demo-caseworker").ID)+" reason=bad_cookie" {
			t.Errorf("tampered cookie audit: %q", got)
		}
		if _, err := cw.Session(e.Ctx(), cookie); err != nil {
			t.Errorf("the real cookie after a tampered one: %v", err)
		}

		// CSRF tokens are per session.
		p1, _ := cw.Session(e.Ctx(), cookie)
		p2 := e.Principal("demo-caseworker")
		if !cw.VerifyCSRF(p1, cw.CSRF(p1)) || cw.VerifyCSRF(p2, cw.CSRF(p1)) || cw.VerifyCSRF(p1, "") || cw.VerifyCSRF(p1, "%%%") {
			t.Error("CSRF tokens are not bound to their session")
		}
	})
}

func TestEnrolment(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		admin := e.Principal("demo-admin")
		code, err := cw.AddMember(e.Ctx(), admin, staff.NewUser{Username: "New.Member", DisplayName: "New Member", Role: staff.RoleCaseworker})
		if err != nil {
			t.Fatal(err)
		}
		u := e.User("new.member")
		if !u.Enrolling() || u.TOTPSealed != nil || u.Role != "caseworker" || u.OrgID != admin.OrgID {
			t.Fatalf("new member %+v", u)
		}
		if es := e.AuditSince(0, string(audit.MemberAdded)); es[len(es)-1].Detail != "user="+u.ID+" role=caseworker" || es[len(es)-1].Actor != audit.UserActor(admin.UserID) {
			t.Errorf("member.added entry %+v", es[len(es)-1])
		}

		// Logging in with the code says "enrol first"; anything else is a
		// bad login.
		if _, err := cw.Login(e.Ctx(), "new.member", code, "000000"); !errors.Is(err, staff.ErrMustEnrol) {
			t.Errorf("login with the enrolment code: %v", err)
		}
		if _, err := cw.BeginEnrolment(e.Ctx(), "new.member", "AAAAA-BBBBB-CCCCC-DDDDD"); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("wrong enrolment code: %v", err)
		}
		if _, err := cw.BeginEnrolment(e.Ctx(), "demo-caseworker", code); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("enrolment of an enrolled user: %v", err)
		}
		// Typed loosely: lower case, spaces for dashes.
		en, err := cw.BeginEnrolment(e.Ctx(), " new.member", strings.ToLower(strings.ReplaceAll(code, "-", " ")))
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		if len(en.Secret) != totp.SecretSize || en.Token == "" {
			t.Fatalf("enrolment %+v", en)
		}
		if s, ok := cw.EnrolmentSecret("new.member", en.Token); !ok || s.Base32() != en.Secret.Base32() {
			t.Error("the token does not carry the secret back")
		}

		now := func() string { return totp.Code(en.Secret, e.Clock.Now()) }
		uid := audit.UserActor(e.User("new.member").ID)
		for _, tc := range []struct {
			name, token, password, code string
			want                        error
		}{
			{"short password", en.Token, "eleven char", now(), staff.ErrWeakPassword},
			{"wrong code", en.Token, "a long enough password", wrongCode(now()), staff.ErrBadLogin},
			{"forged token", forge(en.Token), "a long enough password", now(), staff.ErrBadLogin},
			{"another user's token", otherToken(t, e, admin), "a long enough password", now(), staff.ErrBadLogin},
		} {
			head := e.AuditHead()
			if _, err := cw.FinishEnrolment(e.Ctx(), "new.member", code, tc.token, tc.password, tc.code); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if got := failures(e, head); tc.name == "wrong code" && (len(got) != 1 || got[0] != uid+" reason=wrong_code") {
				t.Errorf("wrong code at enrolment: audit %q", got)
			}
		}
		if !e.User("new.member").Enrolling() {
			t.Fatal("a failed finish enrolled the member")
		}

		password := "correct horse battery staple"
		cookie, err := cw.FinishEnrolment(e.Ctx(), "new.member", code, en.Token, password, now())
		if err != nil {
			t.Fatalf("finish: %v", err)
		}
		p, err := cw.Session(e.Ctx(), cookie)
		if err != nil || p.OrgID != admin.OrgID {
			t.Fatalf("session after enrolment: %v %+v", err, p)
		}
		u = e.User("new.member")
		if u.Enrolling() || u.TOTPSealed == nil || u.TOTPLastStep != totp.Step(e.Clock.Now()) {
			t.Errorf("after enrolment %+v", u)
		}
		// The member reads their organisation's reports.
		page, err := e.App.Casework.Inbox(e.Ctx(), p, "new", "", "", "", 50)
		if err != nil || len(page.Reports) == 0 {
			t.Fatalf("inbox after enrolment: %v, %d reports", err, len(page.Reports))
		}
		if _, err := e.App.Casework.Open(e.Ctx(), p, page.Reports[0].ID); err != nil {
			t.Errorf("open after enrolment: %v", err)
		}

		// The code is spent; the enrolment code no longer logs in at all.
		if _, err := cw.BeginEnrolment(e.Ctx(), "new.member", code); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("enrolment code after use: %v", err)
		}
		if _, err := cw.FinishEnrolment(e.Ctx(), "new.member", code, en.Token, "another long password", now()); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("finishing twice: %v", err)
		}
		// The enrolment step's code is spent too.
		if _, err := cw.Login(e.Ctx(), "new.member", password, now()); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("login with the enrolment step's code: %v", err)
		}
		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), "new.member", password, now()); err != nil {
			t.Errorf("login after enrolment: %v", err)
		}

		// An enrolment code expires after seven days.
		late, err := cw.AddMember(e.Ctx(), admin, staff.NewUser{Username: "late.member", Role: staff.RoleCaseworker})
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Add(7*24*time.Hour + time.Second)
		if _, err := cw.BeginEnrolment(e.Ctx(), "late.member", late); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("expired enrolment code: %v", err)
		}
	})
}

// forge flips a bit of the MAC at the end of an enrolment token.
func forge(token string) string {
	b := []byte(token)
	i := len(b) - 3
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// otherToken is an enrolment token drawn for another member.
func otherToken(t *testing.T, e *apptest.Env, admin *staff.Principal) string {
	t.Helper()
	code, err := e.App.Staff.AddMember(e.Ctx(), admin, staff.NewUser{Username: "other.member", Role: staff.RoleCaseworker})
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.App.Staff.BeginEnrolment(e.Ctx(), "other.member", code)
	if err != nil {
		t.Fatal(err)
	}
	return en.Token
}

func TestMembers(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		worker, admin, coord := e.Principal("demo-caseworker"), e.Principal("demo-admin"), e.Principal("demo-coordinator")

		for _, tc := range []struct {
			name string
			p    *staff.Principal
			n    staff.NewUser
			want error
		}{
			{"caseworker adds", worker, staff.NewUser{Username: "member1", Role: staff.RoleCaseworker}, casework.ErrForbidden},
			{"admin adds a coordinator", admin, staff.NewUser{Username: "member2", Role: staff.RoleCoordinator}, casework.ErrForbidden},
			{"admin adds an admin", admin, staff.NewUser{Username: "member3", Role: staff.RoleOrgAdmin}, nil},
			{"coordinator adds a coordinator", coord, staff.NewUser{Username: "member4", Role: staff.RoleCoordinator}, nil},
			{"taken username", admin, staff.NewUser{Username: "DEMO-CASEWORKER", Role: staff.RoleCaseworker}, staff.ErrUsernameTaken},
			{"short username", admin, staff.NewUser{Username: "ab", Role: staff.RoleCaseworker}, casework.ErrInvalid},
			{"username with a space", admin, staff.NewUser{Username: "a b c", Role: staff.RoleCaseworker}, casework.ErrInvalid},
			{"unknown role", admin, staff.NewUser{Username: "member5", Role: "supervisor"}, casework.ErrInvalid},
		} {
			code, err := cw.AddMember(e.Ctx(), tc.p, tc.n)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if (err == nil) != (code != "") {
				t.Errorf("%s: code %q with error %v", tc.name, code, err)
			}
		}
		if _, err := cw.Members(e.Ctx(), worker); !errors.Is(err, casework.ErrForbidden) {
			t.Errorf("caseworker lists members: %v", err)
		}
		ms, err := cw.Members(e.Ctx(), admin)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.OrgID != admin.OrgID {
				t.Errorf("members of %s list %s of %s", admin.OrgID, m.Username, m.OrgID)
			}
		}

		childID := e.User("demo-child-caseworker").ID
		workerID := e.User("demo-caseworker").ID
		coordID := e.User("demo-coordinator").ID
		for _, tc := range []struct {
			name   string
			p      *staff.Principal
			target string
			want   error
		}{
			{"caseworker disables", worker, e.User("member3").ID, casework.ErrForbidden},
			{"another organisation's member", admin, childID, casework.ErrNotFound},
			{"no such member", admin, "usr_nonexistent", casework.ErrNotFound},
			{"oneself", admin, admin.UserID, casework.ErrInvalid},
			{"admin disables the coordinator", admin, coordID, casework.ErrForbidden},
		} {
			if err := cw.SetMemberDisabled(e.Ctx(), tc.p, tc.target, true); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if _, err := cw.Session(e.Ctx(), e.Login("demo-child-caseworker")); err != nil {
			t.Errorf("the other organisation's member was touched: %v", err)
		}

		// Disabling ends every session at once and refuses logins;
		// enabling lets the member log in again (with a new session).
		c1, c2 := e.Login("demo-caseworker"), e.Login("demo-caseworker")
		head := e.AuditHead()
		if err := cw.SetMemberDisabled(e.Ctx(), admin, workerID, true); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{c1, c2} {
			if _, err := cw.Session(e.Ctx(), c); !errors.Is(err, casework.ErrNoSession) {
				t.Errorf("session of a disabled member: %v", err)
			}
		}
		e.Clock.NextStep()
		acc := e.Account("demo-caseworker")
		if _, err := cw.Login(e.Ctx(), acc.Username, acc.Password, e.Code(acc.Username)); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("login of a disabled member: %v", err)
		}
		if got := failures(e, head); len(got) != 1 || !strings.HasSuffix(got[0], "reason=disabled") {
			t.Errorf("disabled login audit: %q", got)
		}
		if es := e.AuditSince(head, string(audit.MemberDisabled)); len(es) != 1 || es[0].Detail != "user="+workerID {
			t.Errorf("member.disabled entries %+v", es)
		}
		if err := cw.SetMemberDisabled(e.Ctx(), admin, workerID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.Session(e.Ctx(), c1); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("re-enabling revived an old session: %v", err)
		}
		if _, err := cw.Session(e.Ctx(), e.Login("demo-caseworker")); err != nil {
			t.Errorf("login after re-enabling: %v", err)
		}
		// Disabling replaced the organisation's key: every other session
		// of the organisation ended. The coordinator logs in again, and
		// may disable another coordinator.
		if _, err := cw.Session(e.Ctx(), e.Login("demo-coordinator")); err != nil {
			t.Fatal(err)
		}
		coord = e.Principal("demo-coordinator")
		if err := cw.SetMemberDisabled(e.Ctx(), coord, e.User("member4").ID, true); err != nil {
			t.Errorf("coordinator disables a coordinator: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		cw := e.App.Staff
		acc := e.Account("demo-caseworker")
		mine := e.Login("demo-caseworker")
		p, err := cw.Session(e.Ctx(), mine)
		if err != nil {
			t.Fatal(err)
		}
		other := e.Login("demo-caseworker") // say, left open on an office computer
		colleague := e.Login("demo-admin")
		before := e.User(acc.Username)

		if err := cw.ChangePassword(e.Ctx(), p, "not my password", "a new long password"); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("wrong old password: %v", err)
		}
		for _, weak := range []string{"too short", "password1234", "P@ssw0rd2024", "qwertyuiop12", "0712345678901", "demo-caseworker1"} {
			if err := cw.ChangePassword(e.Ctx(), p, acc.Password, weak); !errors.Is(err, staff.ErrWeakPassword) {
				t.Errorf("weak new password %q: %v", weak, err)
			}
		}
		// Refusals end no session.
		if _, err := cw.Session(e.Ctx(), other); err != nil {
			t.Fatalf("a refused change ended another session: %v", err)
		}
		head := e.AuditHead()
		newPassword := "a new long password, rewrapped"
		if err := cw.ChangePassword(e.Ctx(), p, acc.Password, newPassword); err != nil {
			t.Fatal(err)
		}
		if es := e.AuditSince(head, string(audit.PasswordChanged)); len(es) != 1 {
			t.Errorf("password.changed entries %+v", es)
		}
		after := e.User(acc.Username)
		if string(after.KDFSalt) == string(before.KDFSalt) || string(after.HolderWrap) == string(before.HolderWrap) ||
			string(after.TOTPSealed) == string(before.TOTPSealed) || string(after.Verifier) == string(before.Verifier) {
			t.Error("the password change did not re-derive and re-seal everything")
		}
		// The organisation key stays wrapped to the member's own key pair,
		// which the new password now opens.
		if after.HolderKey != before.HolderKey || string(after.OrgKeyWrap) != string(before.OrgKeyWrap) {
			t.Error("the password change replaced the member's key pair")
		}

		e.Clock.NextStep()
		if _, err := cw.Login(e.Ctx(), acc.Username, acc.Password, e.Code(acc.Username)); !errors.Is(err, staff.ErrBadLogin) {
			t.Errorf("old password: %v", err)
		}
		acc.Password = newPassword
		e.SetAccount(acc)
		// The TOTP secret came along: same app, new password.
		np := e.Principal(acc.Username)
		ids := e.DemoReports()
		c, err := e.App.Casework.Open(e.Ctx(), np, ids[0])
		if err != nil || c.Narrative == "" {
			t.Errorf("open with the new password's key: %v", err)
		}
		// The session that made the change still works; every other
		// session of the user ended at once; a colleague's did not.
		if _, err := cw.Session(e.Ctx(), mine); err != nil {
			t.Errorf("the session that changed the password: %v", err)
		}
		if _, err := e.App.Casework.Open(e.Ctx(), p, ids[0]); err != nil {
			t.Errorf("open with the session that changed the password: %v", err)
		}
		if _, err := cw.Session(e.Ctx(), other); !errors.Is(err, casework.ErrNoSession) {
			t.Errorf("another session of the user after the change: %v, want ErrNoSession", err)
		}
		if _, err := cw.Session(e.Ctx(), colleague); err != nil {
			t.Errorf("a colleague's session after the change: %v", err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		password string
		want     error
	}{
		{"eleven char", staff.PasswordShort},
		{"password1234", staff.PasswordCommon},
		{"Password1234!", staff.PasswordCommon},
		{"P@ssw0rd2024", staff.PasswordCommon},
		{"iloveyou12345", staff.PasswordCommon},
		{"iloveyouiloveyou", staff.PasswordCommon},
		{"!!football!!99", staff.PasswordCommon},
		{"Sunsh1ne.2024", staff.PasswordCommon},
		{"12345678ab!!", staff.PasswordCommon},
		{"qwertyuiop12", staff.PasswordPattern},
		{"abcdefghijkl", staff.PasswordPattern},
		{"aaaaaaaaaaaa", staff.PasswordPattern},
		{"abababababab", staff.PasswordPattern},
		{"zyxwvutsrqpo", staff.PasswordPattern},
		{"123456789012", staff.PasswordDigits},
		{"+254 712 345 678", staff.PasswordDigits},
		{"31/12/1999 25/12", staff.PasswordDigits},
		{"salamasalama", staff.PasswordPattern},
		{"kenyakenyakenya", staff.PasswordCommon},
		{"jane.wanjiku2024", staff.PasswordUsername},
		{"Salama2024!!", staff.PasswordUsername},
		{"correct horse battery staple", nil},
		{"mama yangu mpendwa sana", nil},
		{"Nairobi rain at 6pm", nil},
		{"tembo wa kijani anacheza", nil},
		{"jane.wanjiku likes long walks", nil},
		{"KQ7M-XR4P-2HWN-8TCJ", nil}, // a demo password's shape
	} {
		err := staff.CheckPassword(tc.password, "jane.wanjiku")
		if err != tc.want {
			t.Errorf("%q: %v, want %v", tc.password, err, tc.want)
		}
		if tc.want != nil && !errors.Is(err, staff.ErrWeakPassword) {
			t.Errorf("%q: %v is not ErrWeakPassword", tc.password, err)
		}
	}
}
