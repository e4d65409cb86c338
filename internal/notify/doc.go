// Package notify owns staff alerts: telling an organisation's people, by
// email and SMS, that a report is waiting for them in the console. It keeps
// each organisation's alert contacts (sealed under a key derived from the
// network secret), turns the store's events (a new report however it
// arrived, an escalation of one nobody opened) into deliveries, and sends
// them: email through SMTP with STARTTLS or implicit TLS, SMS through the
// network's SMS provider, or a log line when none is configured.
//
// When: an urgent report (danger now, a child involved, sexual violence
// within 72 hours: the urgency the report was stored with) at once; other
// reports in a digest at the end of each hour, at most one an hour per
// organisation and only if one of them is still unopened; an escalated
// report at once.
//
// Every step is a durable job (internal/jobs): the event is queued in the
// transaction that stores the report, each delivery is a job of its own,
// retried with back-off on timeouts and temporary failures, never on a
// permanent refusal, and given up on after SendGiveUp, which the contact's
// row and `salama jobs` then show.
//
// What it must never do: put a word of a report in an alert. An alert says
// that a report is waiting and links to the console, nothing more: no
// category, county, urgency, case reference or count, in the subject, the
// body or the SMS, because mailboxes and phones are read over shoulders,
// synced to other devices and kept for years. It never logs an address
// (deliveries are logged by organisation and contact id), and its errors
// carry none.
package notify
