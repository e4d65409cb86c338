package ussd

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
)

// MinTokenLength is the shortest gateway token accepted: the token is the
// only thing that keeps strangers from posting to the callbacks.
const MinTokenLength = 20

// ErrWeakToken is returned for a gateway token shorter than MinTokenLength.
var ErrWeakToken = errors.New("ussd: the gateway token must be at least 20 characters (for example: openssl rand -hex 24)")

// CheckToken refuses a token too short to be secret.
func CheckToken(token string) error {
	if len(token) < MinTokenLength {
		return ErrWeakToken
	}
	return nil
}

// Guard serves h only when the request's {token} path segment is token.
// The two are compared as SHA-256 digests in constant time, so neither the
// time taken nor the length tells a guesser anything. Any other request gets
// a bare 404, the same as a path that does not exist; the request log shows
// only the route pattern (".../{token}/..."), never the token.
func Guard(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.PathValue("token")))
		if token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// FromReporting adapts the reporting service to the menus.
func FromReporting(s *reporting.Service, channel string) Reports {
	return reportsAdapter{s: s, channel: channel}
}

type reportsAdapter struct {
	s       *reporting.Service
	channel string
}

func (a reportsAdapter) SubmitOnce(ctx context.Context, in reporting.Input, seed []byte) (*reporting.Submission, error) {
	return a.s.SubmitOnce(ctx, in, a.channel, seed)
}

func (a reportsAdapter) Open(ctx context.Context, r seal.Receipt) (Opened, error) {
	c, err := a.s.OpenWithReceipt(ctx, r)
	if err != nil {
		return nil, err
	}
	return opened{c}, nil
}

func (a reportsAdapter) Resume(ctx context.Context, reportID string, k *seal.Key, wrapped []byte) (Opened, error) {
	c, err := a.s.ResumeWithKey(ctx, reportID, k, wrapped)
	if err != nil {
		return nil, err
	}
	return opened{c}, nil
}

func (a reportsAdapter) Services(ctx context.Context) ([]directory.Service, error) {
	svcs, _, err := a.s.Directory(ctx)
	return svcs, err
}

// opened is a survivor's report open on a USSD screen: the CheckSession
// does the work; ReportID is its field, read as the interface asks.
type opened struct{ *reporting.CheckSession }

func (o opened) ReportID() string { return o.CheckSession.ReportID }
