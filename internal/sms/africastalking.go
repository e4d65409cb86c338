package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Africa's Talking's messaging endpoints (version1, form-encoded).
const (
	ATEndpoint        = "https://api.africastalking.com/version1/messaging"
	ATSandboxEndpoint = "https://api.sandbox.africastalking.com/version1/messaging"
)

// AfricasTalking sends SMS through Africa's Talking's HTTP API: a form POST
// of username, to, message and (optionally) from, authenticated by the apiKey
// header. The API key is a secret: it is read from the environment, never a
// flag, and never printed.
type AfricasTalking struct {
	Username string
	APIKey   string
	// From is the sender id or short code registered with Africa's
	// Talking; empty uses the account's default.
	From string
	// Endpoint defaults to ATEndpoint; ATSandboxEndpoint for the sandbox,
	// an httptest server in tests.
	Endpoint string
	// Client defaults to one with a 15-second timeout.
	Client *http.Client
}

// NewAfricasTalking checks the settings and returns a sender.
func NewAfricasTalking(username, apiKey, from, endpoint string) (*AfricasTalking, error) {
	if username == "" || apiKey == "" {
		return nil, errors.New("sms: Africa's Talking needs a username and an API key")
	}
	if endpoint == "" {
		endpoint = ATEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("sms: Africa's Talking endpoint must be an http(s) URL")
	}
	return &AfricasTalking{Username: username, APIKey: apiKey, From: from, Endpoint: endpoint,
		Client: &http.Client{Timeout: 15 * time.Second}}, nil
}

// atResponse is the part of the answer we read.
type atResponse struct {
	SMSMessageData struct {
		Recipients []struct {
			StatusCode int    `json:"statusCode"`
			Status     string `json:"status"`
		} `json:"Recipients"`
	} `json:"SMSMessageData"`
}

// Send posts one message to one number.
func (a *AfricasTalking) Send(ctx context.Context, to, message string) error {
	form := url.Values{"username": {a.Username}, "to": {to}, "message": {message}}
	if a.From != "" {
		form.Set("from", a.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("sms: africastalking: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("apiKey", a.APIKey)
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error names the endpoint, not the form: safe to wrap.
		return fmt.Errorf("sms: africastalking: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("sms: africastalking: reading the answer: %w", err)
	}
	// A refusal (ErrRejected) is never retried; a server error, a timeout,
	// "too many requests" and an answer we cannot read are (the message
	// may or may not have gone: at least once, then).
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: africastalking: HTTP %d (check the username and API key)", ErrRejected, resp.StatusCode)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return fmt.Errorf("sms: africastalking: HTTP %d", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fmt.Errorf("%w: africastalking: HTTP %d", ErrRejected, resp.StatusCode)
	}
	var r atResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("sms: africastalking: unreadable answer (HTTP %d)", resp.StatusCode)
	}
	if len(r.SMSMessageData.Recipients) == 0 {
		return fmt.Errorf("%w: africastalking: no recipient accepted", ErrRejected)
	}
	for _, rc := range r.SMSMessageData.Recipients {
		switch rc.StatusCode {
		case 100, 101, 102: // Processed, Sent, Queued
		case 405, 500, 501, 502:
			// InsufficientBalance (the account can be topped up),
			// InternalServerError, GatewayError, RejectedByGateway: worth
			// another try later.
			return fmt.Errorf("sms: africastalking: status %d %s", rc.StatusCode, Truncate(asciiWord(rc.Status), 40))
		default:
			// The status is one of the provider's words (InvalidPhoneNumber,
			// InsufficientBalance …); keep only letters so nothing else
			// from the answer, such as the number, can reach a log.
			return fmt.Errorf("%w: africastalking: status %d %s", ErrRejected, rc.StatusCode, Truncate(asciiWord(rc.Status), 40))
		}
	}
	return nil
}

// asciiWord keeps the ASCII letters and digits of s, as they are.
func asciiWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
