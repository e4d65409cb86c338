package console

import (
	"strings"

	"github.com/salama-ke/salama/internal/report"
)

// labels are the console's words for stored codes other than a report's
// answers, whose words are report.English. The console is for caseworkers
// and is in English; what survivors read is in the catalogs.
var labels = map[string]string{
	"new": "New", "in_review": "In review", "referred": "Referred", "closed": "Closed", "withdrawn": "Withdrawn",
	"code": "Only with their code", "phone": "SMS or call",
	"resolved": "Resolved", "referred_elsewhere": "Referred elsewhere", "no_contact": "No contact possible",
	"survivor_request": "Survivor asked", "duplicate": "Duplicate", "not_in_scope": "Not in scope",
	"rape": "Rape", "sexual_assault": "Sexual assault", "physical_assault": "Physical assault", "forced_marriage": "Forced marriage",
	"denial_of_resources": "Denial of resources, opportunities or services", "psychological_abuse": "Psychological / emotional abuse",
	"online": "Online", "commercial_sexual_exploitation": "Commercial sexual exploitation", "child_sexual_abuse": "Child sexual abuse",
	"caseworker": "Caseworker", "org_admin": "Organisation admin", "coordinator": "Network coordinator",
	"report": "Report", "tip": "Tip", "web": "Web", "ussd": "USSD",
	"intake_phone": "a caseworker, by phone", "intake_walk_in": "a caseworker, in person", "intake_chat": "a caseworker, by chat", "intake_other": "a caseworker",
	"outside":  "Outside Kenya",
	"referral": "Referral",
	// Referrals.
	"awaiting_consent": "Waiting for the survivor's consent", "sent": "Sent", "accepted": "Accepted", "declined": "Declined",
	"completed": "Completed", "revoked": "Revoked",
	"consent:survivor": "Survivor agreed on the check page", "consent:phone": "Survivor agreed by phone",
	"consent:at_submission": "Survivor agreed to referrals when reporting", "consent:override": "Child-protection override",
	"consent:":  "Consent asked, not given yet",
	"situation": "Their answers (whom, what, age, county, when, danger, help)", "narrative": "Their own words",
	"identifiers": "Numbers, usernames, links", "contact": "How to reach them", "screenshots": "Screenshots",
	"no_capacity": "No capacity now", "not_eligible": "Not the help we give", "outside_area": "Outside our area",
	"survivor_unreachable": "Could not reach the survivor", "service_given": "Help given",
	"survivor_did_not_come": "Survivor did not come", "referred_on": "Referred on", "sender": "Revoked by the sender",
	"survivor_declined": "Survivor said no", "no_longer_fits": "the service changed before the survivor's yes: nothing was sent", "phone_call": "Phone call", "in_person": "In person", "escorted": "Escorted there", "letter": "Letter",
	// Why an SMS nudge failed (internal/sms).
	"nudge_bad_number": "the number they gave is not a mobile number", "nudge_rejected": "the SMS provider refused it",
	"nudge_gave_up": "the SMS provider could not be reached for 24 hours",
	"nudge_stopped": "their number texted STOP: no SMS goes to it until it texts START",
	// Service types.
	"medical_pep": "Medical / PEP", "legal_aid": "Legal aid", "police_desk": "Police gender desk", "online_takedown": "Online takedown",
	"child_protection": "Child protection", "repatriation": "Repatriation and reintegration", "economic_support": "Economic support", "helpline": "Helpline",
}

// label returns the console's words for a code; county slugs become their
// names (nairobi → Nairobi, taita-taveta → Taita Taveta).
func label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	if l, ok := report.English(code); ok {
		return l
	}
	if code == "" {
		return "—"
	}
	words := strings.Split(code, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}
