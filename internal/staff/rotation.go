package staff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// JobOrgRekey is the kind of the durable job that re-wraps an organisation's
// reports to its new key after a rotation (RewrapOrgKeys). Its payload names
// the organisation: {"org":"org_…"}.
const JobOrgRekey = "org.rekey"

// Rotation reasons, as audited.
const (
	RotateMemberDisabled = "member_disabled"
	RotateByOperator     = "operator"
)

// ErrNoOrgKey means a member proved who they are but holds no copy of their
// organisation's current key: they were disabled when it was replaced, or
// their account predates member key pairs and missed a rotation. An admin
// re-enables them (an account without a key pair is added again).
var ErrNoOrgKey = errors.New("staff: this account holds no key to the organisation's reports")

// rekeyPurpose names the network-secret key the job's copy of a retired
// organisation key is sealed under: one per organisation and generation.
func rekeyPurpose(orgID string, gen int) string {
	return "org-rekey/" + orgID + "/" + strconv.Itoa(gen)
}

func rekeyJob(orgID string, gen int, unique string) store.NewJob {
	payload, _ := json.Marshal(map[string]string{"org": orgID})
	return store.NewJob{Kind: JobOrgRekey, Payload: payload, UniqueKey: unique}
}

// rotateOrgKey replaces the key pair of organisation orgID, whose current
// private key cur (generation gen) the caller holds: an admin's session, or
// the recovery code at the command line. See docs/security.md,
// "Organisation key rotation", for the steps and why each survives a crash.
//
// In one transaction (store.RotateOrgKey): a new age key pair becomes
// current, its private key wrapped to every remaining member's holder key
// and to the recovery holder; nobody keeps a copy of the old one; the old
// one is wrapped to the new public key (so the remaining members read
// everything at once) and sealed for the job under a key derived from the
// network secret; the job is queued; every console session of the
// organisation ends except carry's, which goes on with the new key. disable,
// if not "", is a member disabled in the same transaction.
func (s *Service) rotateOrgKey(ctx context.Context, orgID string, cur *seal.OrgIdentity, gen int, disable string, carry *Principal) (*seal.OrgIdentity, int, int, error) {
	for attempt := 0; ; attempt++ {
		org, err := s.Store.Organisation(ctx, orgID)
		if err != nil {
			return nil, 0, 0, err
		}
		if org.KeyGen != gen || org.PublicKey != cur.Recipient().String() {
			return nil, 0, 0, store.ErrOrgKeyChanged
		}
		next, err := seal.GenerateOrgIdentity()
		if err != nil {
			return nil, 0, 0, err
		}
		newGen := gen + 1
		r := &store.OrgKeyRotation{OrgID: orgID, FromGen: gen, NewPublicKey: next.Recipient().String(),
			Copies: map[string][]byte{}, Disable: disable, Now: s.Now().UTC(),
			Job: rekeyJob(orgID, gen, fmt.Sprintf("%s:%s:%d", JobOrgRekey, orgID, newGen))}
		r.Job.RunAt = r.Now
		members, err := s.Store.Users(ctx, orgID)
		if err != nil {
			return nil, 0, 0, err
		}
		for _, m := range members {
			if m.Disabled || m.ID == disable || m.HolderKey == "" {
				continue
			}
			hr, err := seal.ParseHolderRecipient(m.HolderKey)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("staff: holder key of %s: %w", m.ID, err)
			}
			if r.Copies[m.ID], err = hr.WrapOrgIdentity(orgID, newGen, next); err != nil {
				return nil, 0, 0, err
			}
		}
		if org.RecoveryHolder != "" {
			hr, err := seal.ParseHolderRecipient(org.RecoveryHolder)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("staff: recovery holder key of %s: %w", orgID, err)
			}
			if r.Recovery, err = hr.WrapOrgIdentity(orgID, newGen, next); err != nil {
				return nil, 0, 0, err
			}
		}
		if r.Chain, err = next.Recipient().WrapOrgIdentity(orgID, gen, cur); err != nil {
			return nil, 0, 0, err
		}
		jk, err := s.Secret.Key(rekeyPurpose(orgID, gen))
		if err != nil {
			return nil, 0, 0, err
		}
		r.JobSealed, err = jk.WrapOrgIdentity(orgID, "rekey", cur)
		jk.Destroy()
		if err != nil {
			return nil, 0, 0, err
		}
		if carry != nil {
			r.Session = carry.sess.IDHash()
			if r.SessionSealed, err = carry.sess.Key.WrapOrgIdentity(orgID, "session", next); err != nil {
				return nil, 0, 0, err
			}
		}
		err = s.Store.RotateOrgKey(ctx, r)
		if errors.Is(err, store.ErrOrgKeyChanged) && attempt < 3 {
			// A member was added or enabled meanwhile (or another
			// rotation won): look again.
			continue
		}
		if err != nil {
			return nil, 0, 0, err
		}
		if carry != nil {
			carry.older = map[int]*seal.OrgIdentity{gen: cur}
			carry.orgKey, carry.keyGen = next, newGen
		}
		return next, newGen, len(r.Copies), nil
	}
}

// RotateOrgKey replaces an organisation's key pair from the command line,
// with its current private key recovered from the recovery code. It returns
// the new generation and how many members received the new key.
func (s *Service) RotateOrgKey(ctx context.Context, orgID string, cur *seal.OrgIdentity) (int, int, error) {
	org, err := s.Store.Organisation(ctx, orgID)
	if err != nil {
		return 0, 0, err
	}
	_, gen, n, err := s.rotateOrgKey(ctx, orgID, cur, org.KeyGen, "", nil)
	if err != nil {
		return 0, 0, err
	}
	if s.OnDirectoryChange != nil {
		s.OnDirectoryChange()
	}
	s.record(ctx, audit.ActorCLI, orgID, audit.OrgKeyRotated, "", fmt.Sprintf("reason=%s count=%d", RotateByOperator, n))
	return gen, n, nil
}

// RewrapOrgKeys is the re-wrap job's work for one organisation: every report
// data key still wrapped to a retired generation of the organisation's key
// is unwrapped with that generation's key (the job's sealed copy) and
// wrapped to the current public key, a batch per transaction; when none is
// left, the retired keys are deleted. Each step can be cut short at any
// point and run again: a batch commits whole or not at all, a wrap is only
// replaced if it is still of the old generation, and until the last step
// every retired key stays reachable through the chain from the current one.
// It returns how many wraps it replaced and whether the rotation finished.
// With no job copy of a retired key (after a restore), it waits for the
// next login of a member of the organisation (handOverRekey).
func (s *Service) RewrapOrgKeys(ctx context.Context, orgID string) (int, bool, error) {
	copies, err := s.Store.OrgKeyJobCopies(ctx, orgID)
	if err != nil {
		return 0, false, err
	}
	old := map[int]*seal.OrgIdentity{}
	for g, c := range copies {
		jk, err := s.Secret.Key(rekeyPurpose(orgID, g))
		if err != nil {
			return 0, false, err
		}
		k, err := jk.UnwrapOrgIdentity(orgID, "rekey", c)
		jk.Destroy()
		if err != nil {
			return 0, false, fmt.Errorf("staff: the job's copy of generation %d of %s's key does not open (another network secret?): %w", g, orgID, err)
		}
		old[g] = k
	}
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		org, err := s.Store.Organisation(ctx, orgID)
		if err != nil {
			return n, false, err
		}
		batch := s.RekeyBatch
		if batch <= 0 {
			batch = 200
		}
		stale, err := s.Store.StaleReportWraps(ctx, "org:"+orgID, org.KeyGen, batch)
		if err != nil {
			return n, false, err
		}
		if len(stale) == 0 {
			done, err := s.Store.FinishOrgKeyRotation(ctx, orgID, org.KeyGen)
			if errors.Is(err, store.ErrOrgKeyChanged) || err == nil && !done {
				continue // rotated again, or a wrap came back: look again
			}
			if err != nil {
				return n, false, err
			}
			s.record(ctx, audit.ActorSystem, orgID, audit.OrgKeyRewrapped, "", fmt.Sprintf("count=%d", n))
			return n, true, nil
		}
		pub, err := seal.ParseOrgRecipient(org.PublicKey)
		if err != nil {
			return n, false, err
		}
		for i := range stale {
			k := old[stale[i].Gen]
			if k == nil {
				// No job copy of this generation: wait for a login to
				// hand it over.
				return n, false, nil
			}
			dk, err := k.UnwrapDataKey(stale[i].Wrap)
			if err != nil {
				return n, false, fmt.Errorf("staff: report %s's key does not open with generation %d: %w", stale[i].ReportID, stale[i].Gen, err)
			}
			stale[i].Wrap, err = pub.WrapDataKey(dk)
			dk.Destroy()
			if err != nil {
				return n, false, err
			}
		}
		m, err := s.Store.RewrapReports(ctx, orgID, org.KeyGen, org.PublicKey, stale)
		if errors.Is(err, store.ErrOrgKeyChanged) {
			continue // rotated again meanwhile: wrap to the newest key
		}
		if err != nil {
			return n, false, err
		}
		n += m
		if s.AfterRekeyBatch != nil {
			if err := s.AfterRekeyBatch(m); err != nil {
				return n, false, err
			}
		}
	}
}

// handOverRekey gives the re-wrap job the retired keys it lacks: after a
// restore (backups never carry the job's copies) a rotation in progress
// waits for a member of the organisation to log in with the current key,
// from which every retired one is reached through the chain.
func (s *Service) handOverRekey(ctx context.Context, orgID string, key *seal.OrgIdentity, gen int) error {
	chain, err := s.Store.OrgKeyChain(ctx, orgID)
	if err != nil || len(chain) == 0 {
		return err
	}
	copies, err := s.Store.OrgKeyJobCopies(ctx, orgID)
	if err != nil {
		return err
	}
	k := key
	for g := gen - 1; g >= 1; g-- {
		c, ok := chain[g]
		if !ok {
			break
		}
		if k, err = k.UnwrapOrgIdentity(orgID, g, c); err != nil {
			return err
		}
		if _, ok := copies[g]; ok {
			continue
		}
		jk, err := s.Secret.Key(rekeyPurpose(orgID, g))
		if err != nil {
			return err
		}
		sealed, err := jk.WrapOrgIdentity(orgID, "rekey", k)
		jk.Destroy()
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		job := rekeyJob(orgID, g, "")
		job.RunAt = now
		if _, err := s.Store.PutOrgKeyJobCopy(ctx, orgID, g, sealed, job, now); err != nil {
			return err
		}
	}
	return nil
}

// RotationLeft counts the principal's organisation's report keys still
// wrapped to a retired key after a rotation (0 when none is in progress),
// for the Members page.
func (s *Service) RotationLeft(ctx context.Context, p *Principal) (int, error) {
	if !p.Can(RoleOrgAdmin) {
		return 0, ErrForbidden
	}
	return s.Store.CountStaleReportWraps(ctx, "org:"+p.OrgID, p.keyGen)
}
