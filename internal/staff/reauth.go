package staff

import (
	"context"
	"fmt"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/totp"
)

// Reauthenticate confirms, before a sensitive action, that whoever holds a
// console session is its user now: their password and a current code from
// their authenticator. The code is spent as at login (a code, or any older
// one, used once never works again, not even the one that opened the
// session), and failures count towards the same back-off as failed logins.
//
// The password is asked as well as the code because the TOTP secret is
// sealed under the key the password derives (SPEC §6): nothing a session
// holds can check a code, by design. It also means that a session left open
// on a shared computer does not export anything. why is the audit reason of
// a failure, a code like "export".
func (s *Service) Reauthenticate(ctx context.Context, p *Principal, password, code, why string) error {
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	key := s.backoffKey(u.Username)
	if err := s.backoff(ctx, key, now); err != nil {
		s.record(ctx, audit.UserActor(u.ID), u.OrgID, audit.LoginFailed, "", "reason="+why+"_locked")
		return err
	}
	kek, err := s.checkPassword(ctx, u, key, password)
	if err != nil {
		return err
	}
	defer kek.Destroy()
	secret, err := kek.OpenSecret(u.ID, "totp", u.TOTPSealed)
	if err != nil {
		return fmt.Errorf("staff: TOTP secret of %s: %w", u.ID, err)
	}
	step, ok := totp.Verify(totp.Secret(secret), code, now, u.TOTPLastStep)
	reason := why + "_wrong_code"
	if ok {
		if ok, err = s.Store.UseTOTPStep(ctx, u.ID, step); err != nil {
			return err
		}
		reason = why + "_replayed_code"
	} else if _, valid := totp.Verify(totp.Secret(secret), code, now, 0); valid {
		reason = why + "_replayed_code"
	}
	if !ok {
		s.fail(ctx, u, key, reason)
		return ErrBadLogin
	}
	_, err = s.Store.ClearLoginBackoff(ctx, key)
	return err
}
