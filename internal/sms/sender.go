package sms

import (
	"context"
	"errors"
	"log/slog"
	"unicode/utf8"
)

// Sender sends one text message. The number is E.164 ("+254712345678").
// Implementations must not log the number or the text, and their errors must
// carry neither.
type Sender interface {
	Send(ctx context.Context, to, message string) error
}

// Provider returns the sender underneath wrappers (a counter for the
// metrics) that have an Unwrap method, to say which provider is set.
func Provider(s Sender) Sender {
	for {
		u, ok := s.(interface{ Unwrap() Sender })
		if !ok {
			return s
		}
		s = u.Unwrap()
	}
}

// ErrRejected means the provider refused the message (a bad number, no
// credit, a blocked sender id); sending it again will not help.
var ErrRejected = errors.New("sms: the provider refused the message")

// Segments is how many SMS a message costs in the GSM 7-bit alphabet: one up
// to 160 characters, then 153 each (the rest carries the join header).
func Segments(message string) int {
	n := utf8.RuneCountInString(message)
	if n <= MaxSingle {
		return 1
	}
	return (n + 152) / 153
}

// LogSender sends nothing: it logs that a message would have gone, with its
// length in segments and never its number or text. It is the provider for
// development and tests.
type LogSender struct{ Log *slog.Logger }

// Send logs the message's size.
func (l LogSender) Send(ctx context.Context, to, message string) error {
	if to == "" {
		return ErrRejected
	}
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "sms sent", "provider", "log", "segments", Segments(message))
	return nil
}
