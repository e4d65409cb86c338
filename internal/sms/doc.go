// Package sms owns Salama's text messages: the help numbers sent back to
// anyone who texts HELP or MSAADA (optionally with a county), the neutral
// nudge that tells a survivor who chose SMS contact that a caseworker wrote,
// and the providers that send them (Africa's Talking's HTTP API, and a
// log-only provider for development and tests). It also owns what every
// feature-phone screen shares with SMS: text in the GSM 7-bit alphabet, Kenyan
// phone numbers in E.164, and finding a county from the letters someone typed.
//
// Every SMS it sends is a durable job (internal/jobs): queued in the
// transaction of what causes it (the caseworker's message, the record of an
// inbound message's id), sent by a worker outside any request, retried with
// back-off on timeouts and server errors, never on a refusal (ErrRejected),
// and given up on, visibly, after a stated time (NudgeGiveUp, ReplyGiveUp).
// The number and text a job carries are sealed under a key derived from the
// network secret, and erased with the job's payload when it ends.
//
// An SMS stays in a shared phone's inbox, so this package never sends a
// receipt, a case detail or anything a survivor wrote: the nudge API takes a
// phone number and nothing else, and its wording is the network's, fixed at
// start. It never logs a phone number or a message's text, and the errors it
// returns carry neither.
package sms
