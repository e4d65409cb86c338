// Package smstest is a fake SMS provider for tests: a real HTTP server that
// answers as Africa's Talking's messaging API does, and can be made to fail
// (a status code), to stall (never answer), or to work again, so that tests
// of durable SMS jobs can take the provider down and bring it back.
//
// It is imported only by tests.
package smstest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Message is one SMS the provider accepted.
type Message struct{ To, Text string }

// AT is a fake Africa's Talking endpoint. The zero mode accepts everything.
type AT struct {
	URL string // the messaging endpoint, for sms.NewAfricasTalking

	srv      *httptest.Server
	mu       sync.Mutex
	status   int  // 0: accept; otherwise answer this HTTP status
	stall    bool // hold every request until Work or the end of the test
	release  chan struct{}
	sent     []Message
	requests int
}

// NewAT starts a fake provider, stopped when t ends.
func NewAT(t testing.TB) *AT {
	a := &AT{release: make(chan struct{})}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL + "/version1/messaging"
	t.Cleanup(func() {
		a.Work()
		a.srv.Close()
	})
	return a
}

func (a *AT) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Header.Get("apiKey") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.requests++
	status, stall, release := a.status, a.stall, a.release
	a.mu.Unlock()
	if stall {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		a.mu.Lock()
		status = a.status
		a.mu.Unlock()
	}
	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
		return
	}
	a.mu.Lock()
	a.sent = append(a.sent, Message{To: r.PostForm.Get("to"), Text: r.PostForm.Get("message")})
	n := len(a.sent)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":%q,"status":"Success","messageId":"ATXid_%d"}]}}`,
		r.PostForm.Get("to"), n)
}

// Fail makes the provider answer every request with HTTP status.
func (a *AT) Fail(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.stall = status, false
}

// Stall makes the provider hold every request without answering.
func (a *AT) Stall() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stall = true
}

// Work makes the provider accept messages again, releasing stalled
// requests (which then succeed).
func (a *AT) Work() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status = 0
	if a.stall {
		a.stall = false
		close(a.release)
		a.release = make(chan struct{})
	}
}

// Sent returns the messages accepted so far.
func (a *AT) Sent() []Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Message(nil), a.sent...)
}

// Requests is how many requests reached the provider, accepted or not.
func (a *AT) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}
