package audit

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Action is what an entry records. Only the constants below are accepted:
// a new kind of event is a new constant here, reviewed like any change to
// what Salama keeps about people.
type Action string

// Console sessions and accounts.
const (
	LoginOK         Action = "login.ok"
	LoginFailed     Action = "login.failed" // actor "unknown" if no user matched
	Logout          Action = "logout"
	TOTPEnrolled    Action = "totp.enrolled"
	PasswordChanged Action = "password.changed"
	MemberAdded     Action = "member.added"    // detail: user=<id> role=<role>
	MemberDisabled  Action = "member.disabled" // detail: user=<id>
	MemberEnabled   Action = "member.enabled"  // detail: user=<id>
	MemberUnlocked  Action = "member.unlocked" // login back-off cleared by an admin; detail: user=<id>
	OrgKeyRecovered Action = "org_key.recovered"
	// OrgKeyRotated: the organisation's key pair was replaced (detail:
	// reason=member_disabled|operator count=<members who got the new key>
	// [user=<the member disabled>]); OrgKeyRewrapped: the job re-wrapped
	// every report to it and deleted the retired keys (detail: count=<n>).
	OrgKeyRotated   Action = "org_key.rotated"
	OrgKeyRewrapped Action = "org_key.rewrapped"
	// CasesExported: an organisation admin exported the organisation's
	// cases (detail: format=csv|json layout=gbvims|salama count=<rows>
	// sha256=<of the file> [fields=<sealed fields opened>]). Each report
	// whose sealed content went out also has a report.read entry with
	// reason=case_export, in the same transaction.
	CasesExported Action = "cases.exported"
)

// The deployment's keys (internal/keys, `salama keys rotate`).
const (
	// SigningKeyRotated: from this entry on, entries are signed by a new
	// key (detail: previous=<old public key, hex> key=<new public key,
	// hex>, and reason=lost when the old key was lost). The entry itself
	// is signed by the new key; its hash covers everything before it, so
	// the new key vouches for the history [Log.Verify] checks with the old.
	SigningKeyRotated Action = "keys.signing_key_rotated"
	// NetworkSecretRotated: the network secret was replaced and every
	// stored blind index re-keyed (detail: previous=<old fingerprint>
	// key=<new fingerprint> count=<rows re-keyed>, and reason=lost when
	// the old secret was lost and nothing could be re-keyed).
	NetworkSecretRotated Action = "keys.network_secret_rotated"
)

// The network's directory and routing (SPEC §5.1); not about one report.
const (
	// DirectoryChanged: a service added, edited or removed in the console
	// (detail: service=<id> org=<owner id> change=added|edited|removed), or
	// a child-protection mark given or removed (change=child_protection_marked
	// or child_protection_unmarked), or
	// a directory file imported (actor cli; one entry per organisation
	// whose services changed; detail: org=<id> count=<n> change=imported).
	DirectoryChanged Action = "directory.changed"
	// RoutingChanged: a routing rule added, edited, removed or moved
	// (detail: rule=<id> org=<target org id> change=added|edited|removed|moved_up|moved_down).
	RoutingChanged Action = "routing.changed"
	// AlertContactChanged: an organisation's staff alert contact added or
	// removed (detail: contact=<id> channel=email|sms change=added|removed).
	// The address itself is never in the log.
	AlertContactChanged Action = "alert_contact.changed"
)

// Casework on one report; these need a ReportID.
const (
	ReportRead            Action = "report.read"           // sealed content opened; detail: fields=<names>
	AttachmentRevealed    Action = "attachment.revealed"   // detail: attachment=<id>
	ReportExported        Action = "report.exported"       // evidence bundle; detail: sha256=<manifest hash>
	StatusChanged         Action = "report.status_changed" // detail: status=<from>→<to> reason=<reason>
	Assigned              Action = "report.assigned"       // detail: assignee=<user id>
	NoteAdded             Action = "report.note_added"     // detail: note=<id>
	MessageSent           Action = "report.message_sent"   // detail: message=<id>
	ClassificationChanged Action = "report.classification_changed"
	ReferralCreated       Action = "referral.created"   // detail: referral=<id> service=<id> type=<service type> consent=ask|phone|at_submission|override [scope=needs|police|legal] [narrative=original|edited]
	ReferralSent          Action = "referral.sent"      // detail: referral=<id> [consent=survivor] [narrative=original|edited]
	ReferralAccepted      Action = "referral.accepted"  // detail: referral=<id>
	ReferralDeclined      Action = "referral.declined"  // detail: referral=<id> reason=<code>
	ReferralCompleted     Action = "referral.completed" // detail: referral=<id> reason=<outcome code>
	ReferralRevoked       Action = "referral.revoked"   // detail: referral=<id> reason=sender|survivor_declined|survivor
	// ReferralOverride is a child-protection referral made without the
	// survivor's consent (SPEC §3): the written justification is sealed
	// with the report, the entry only says it happened.
	ReferralOverride Action = "referral.override"
	// ReferralRefused: a referral refused because it would go beyond what
	// the survivor agreed to, or to a service that does not fit her
	// (internal/referral, Check); nothing was disclosed. Detail:
	// [service=<id>] consent=<how it was to be given> reason=<code>.
	ReferralRefused Action = "referral.refused"
	// ReportTaken: a caseworker took a report on a survivor's behalf in the
	// console (detail: channel=intake_phone|intake_walk_in|intake_chat|intake_other).
	// The actor is the caseworker; the receipt they read out is never in it.
	ReportTaken     Action = "report.taken"
	ReportWithdrawn Action = "report.withdrawn" // by the survivor, with the receipt
	// IdentifiersAdded: the survivor, on her check page, added numbers or
	// usernames found in a chat export she sent. Detail: count=<n>
	// consent=yes|no (whether they take part in matching).
	IdentifiersAdded Action = "report.identifiers_added"
	ReportPurged     Action = "report.purged" // by retention (salama purge); detail: reason=retention_closed|retention_unopened
	// ReportEscalated: nobody in the receiving organisation opened the
	// report within the escalation period (retention); detail: reason=unopened.
	ReportEscalated Action = "report.escalated"
)

// actions lists every Action and whether it is about one report.
var actions = map[Action]bool{
	LoginOK: false, LoginFailed: false, Logout: false, TOTPEnrolled: false,
	PasswordChanged: false, CasesExported: false, MemberAdded: false, MemberDisabled: false, MemberEnabled: false, MemberUnlocked: false, OrgKeyRecovered: false, OrgKeyRotated: false, OrgKeyRewrapped: false,
	DirectoryChanged: false, RoutingChanged: false, AlertContactChanged: false, SigningKeyRotated: false, NetworkSecretRotated: false,

	ReportRead: true, AttachmentRevealed: true, ReportExported: true, StatusChanged: true,
	Assigned: true, NoteAdded: true, MessageSent: true, ClassificationChanged: true,
	ReferralCreated: true, ReferralSent: true, ReferralAccepted: true, ReferralDeclined: true,
	ReferralOverride: true, ReferralRefused: true, ReferralCompleted: true, ReferralRevoked: true, ReportTaken: true, ReportWithdrawn: true, ReportPurged: true, ReportEscalated: true,
	IdentifiersAdded: true,
}

// Actors that are not a console user (a user is "user:<id>", see UserActor).
const (
	ActorSystem   = "system"   // the server itself: retention, jobs
	ActorSurvivor = "survivor" // whoever holds the receipt; never more than that
	ActorCLI      = "cli"      // an operator at the command line
	ActorUnknown  = "unknown"  // a failed login that matched no user
)

// UserActor is the actor for a console user.
func UserActor(userID string) string { return "user:" + userID }

// detailKeys are the keys a Detail may use. Values name states, codes, ids
// and counts; see the package documentation for what they must never hold.
var detailKeys = []string{
	"assignee",       // user id
	"attachment",     // attachment id
	"category",       // classification code
	"change",         // what happened to a directory service or routing rule: added / edited / removed / moved_up / moved_down / imported
	"classification", // from→to, codes
	"consent",        // how consent was given: yes / no / override / ask / phone / at_submission / survivor
	"channel",        // an alert contact's channel: email / sms; how a report a caseworker took reached them: intake_phone …
	"contact",        // alert contact id
	"count",          // a number
	"fields",         // names of the sealed fields opened, comma-separated
	"files",          // number of files in an export
	"format",         // csv / json, of a case export
	"layout",         // gbvims / salama, of a case export
	"key",            // a new key: a signing public key or a network secret fingerprint, hex
	"message",        // message id
	"narrative",      // what a referral shares of the narrative: original / edited (never the text)
	"method",         // password / totp / recovery
	"note",           // note id
	"org",            // organisation id (the other party of a referral)
	"previous",       // the key a rotation replaced, as "key"
	"reason",         // a reason code, never free text
	"referral",       // referral id
	"role",           // caseworker / supervisor / admin
	"rule",           // routing rule id
	"scope",          // which of the survivor's choices when reporting covers a referral: needs / police / legal
	"service",        // directory service id
	"sha256",         // hash of an exported manifest
	"status",         // from→to
	"type",           // a directory service type
	"user",           // user id (the member acted upon)
}

// Limits on an entry's fields, in bytes.
const (
	maxID        = 128
	maxDetail    = 256
	maxDetailVal = 72 // room for a SHA-256 in hex
)

// validate checks an event against the rules in the package documentation.
// Its errors name the field, never its value.
func (ev Event) validate() error {
	about, ok := actions[ev.Action]
	if !ok {
		return fmt.Errorf("%w: unknown action", ErrInvalidEvent)
	}
	if ev.Actor == "" {
		return fmt.Errorf("%w: no actor", ErrInvalidEvent)
	}
	for _, f := range []struct{ name, v string }{{"actor", ev.Actor}, {"organisation id", ev.OrgID}, {"report id", ev.ReportID}} {
		if len(f.v) > maxID || !isToken(f.v) {
			return fmt.Errorf("%w: %s must be an identifier of at most %d bytes", ErrInvalidEvent, f.name, maxID)
		}
	}
	if about && ev.ReportID == "" {
		return fmt.Errorf("%w: action %s needs a report id", ErrInvalidEvent, ev.Action)
	}
	return validDetail(ev.Detail)
}

// isToken reports whether s is printable UTF-8 without spaces.
func isToken(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func validDetail(d string) error {
	if d == "" {
		return nil
	}
	if len(d) > maxDetail {
		return fmt.Errorf("%w: detail longer than %d bytes", ErrInvalidEvent, maxDetail)
	}
	for _, pair := range strings.Split(d, " ") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || !slices.Contains(detailKeys, k) {
			return fmt.Errorf("%w: detail must be key=value pairs with known keys", ErrInvalidEvent)
		}
		if v == "" || len(v) > maxDetailVal || !isToken(v) || strings.Contains(v, "=") {
			return fmt.Errorf("%w: detail value for %s must be 1 to %d bytes without spaces or '='", ErrInvalidEvent, k, maxDetailVal)
		}
	}
	return nil
}
