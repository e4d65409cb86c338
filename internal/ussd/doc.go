// Package ussd owns Salama on feature phones: the USSD menus a survivor
// dials (report, check my report, help numbers, language) behind an Africa's
// Talking-compatible callback, their sessions, and the secret-path guard that
// every gateway callback (USSD and SMS) goes through.
//
// The gateway posts every input of the session so far in one field, joined
// by '*', with each request. The session's state in the database (under a
// keyed hash of the gateway's session id and the caller's number, for at
// most three minutes of inactivity) holds only the menu position and the structured answers: a
// receipt typed to check a report, or a reply typed to a caseworker, is read
// again from the gateway's request each time it is needed and never stored.
// Nor is the caller's phone number, unless the survivor chose to be contacted
// on it; then it goes, sealed, into the report like a number typed on the web.
//
// It must never log a phone number, a receipt, the text of a request or the
// gateway's token, and it must answer every request it is given with a
// screen (CON … or END …), never an error page: a feature phone shows a
// failed request as "connection problem or invalid MMI code" and the
// survivor is left with nothing. Every request's work runs under a deadline
// well inside the gateway's 10 seconds (DefaultDeadline), and waits for
// argon2id only as long as lets the evaluation end inside it; one that
// cannot says Salama is busy.
package ussd
