package web

import (
	"io"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/reporting"
)

// sent is a report or tip form as it arrived, decoded, with what stands in
// the way of storing it.
type sent struct {
	in       reporting.Input
	problems reporting.Problems
	// notice is the catalog key of the message above the form and status
	// its HTTP status, when the form must come back instead of being
	// stored ("" and 0 when it may be stored).
	notice string
	status int
	// redraw: "Add another" or the other language was pressed; the form
	// comes back as it is (in the language of the address it was sent to).
	redraw bool
	// filesSent: screenshots arrived (or were held), kept or not; if the
	// form comes back and they cannot be held for its page, the survivor
	// is asked to choose them again.
	filesSent bool
	release   func()
}

// readForm reads a report or tip form. The order protects the server
// without losing a survivor's words:
//
//  1. The per-address limit on posts is applied before the body is read:
//     a refused request still has its text read (within the form's text
//     cap, to show it again) but its screenshots are dropped unread into
//     memory.
//  2. The body is read as a stream within caps derived from the longest
//     honest answer (reporting.FormLimits): text and fields, and each
//     screenshot up to the upload limit, held in memory only after its
//     bytes are reserved from the upload budget shared by every request.
//     Nothing is written to disk.
//  3. Only then is it decoded and checked, field by field.
//
// What arrived is always in in, for the form to show again.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request, kind string) (*sent, bool) {
	allowed, _ := s.posts.Allow(s.clientAddr(r))
	lim := reporting.FormLimits(kind, s.cfg.MaxUpload)
	f, err := formbody.Read(r, formbody.Options{
		Limits: lim,
		Memory: s.uploads,
		// Screenshots are held for any form but a refused request: a
		// form that comes back (Add another, a language switch, a
		// problem) keeps them for its page (heldFiles).
		KeepFiles: func(url.Values) bool { return allowed },
	})
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "problem.unreadable_form")
		return nil, false
	}
	if f.Cut && r.ContentLength > 0 && r.ContentLength <= 2*lim.Body() {
		// A browser sends the whole body before it reads the answer: read
		// the rest (up to twice the cap) and drop it, so that she gets the
		// page with her words rather than a connection cut mid-send (a
		// screenshot of a few megabytes too many, say). Nothing of it is
		// kept. A body declared bigger than that is not waited for.
		io.Copy(io.Discard, r.Body)
	}
	in, problems := reporting.Decode(f.Values, kind)
	out := &sent{in: in, problems: problems, filesSent: f.FilesSent > 0,
		redraw: (f.Values.Get("add_row") != "" || f.Values.Get("switch_lang") != "") && f.Values.Get("send") == ""}
	out.release = func() {
		f.Release()
		if len(f.Files) > 0 {
			// The screenshots, and the copies sealing them made, are
			// garbage now: megabytes each. Give them back to the system
			// at once rather than at the collector's and the scavenger's
			// pace, so that memory follows the upload budget.
			debug.FreeOSMemory()
		}
	}
	busy := f.Busy
	switch {
	case f.TooMany:
		problems["files"] = "problem.too_many_files"
	case f.TooBig:
		problems["files"] = "problem.file_too_big"
	case len(f.Files) > 0:
		// A chat export is read here, in one of the slots argon2id and
		// decodes share: when none comes in time, the form comes back
		// as when the upload budget is full.
		files, problem, err := s.rep.Uploads(r.Context(), f.Files)
		if err != nil {
			busy = true
		}
		if problem != "" {
			problems["files"] = problem
		}
		out.in.Files = files
	}
	if ref := f.Values.Get("held"); ref != "" {
		// Screenshots the page kept from an earlier round of this form.
		out.filesSent = true
		held, ok := s.held.take(ref, in.Token)
		switch {
		case !ok:
			problems["files"] = "problem.held_lost"
		case f.Values.Get("drop_held") != "":
			// She chose to remove them.
		default:
			out.in.Files = append(held, out.in.Files...)
			if len(out.in.Files) > reporting.MaxFiles {
				problems["files"] = "problem.too_many_files"
			}
		}
	}
	switch {
	case f.Cut:
		// Past the caps: what arrived is shown, nothing is acted on.
		out.notice, out.status = "problem.cut", http.StatusRequestEntityTooLarge
	case !allowed:
		out.notice, out.status = "problem.slow_down", http.StatusTooManyRequests
	case busy && s.restarting(r):
		// The wait for upload memory ended because the grace period
		// did: say so, not "many people are sending".
		w.Header().Set("Retry-After", "60")
		out.notice, out.status = "problem.restarting", http.StatusServiceUnavailable
	case busy:
		out.notice, out.status = "problem.busy", http.StatusServiceUnavailable
	case out.redraw:
		out.status = http.StatusOK
	case len(problems) > 0:
		out.notice, out.status = "problem.check_marked", http.StatusUnprocessableEntity
	}
	return out, true
}
