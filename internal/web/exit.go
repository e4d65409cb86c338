package web

import (
	"net/http"
	"strings"
)

// exitPath is Quick exit's route on this site.
const exitPath = "/exit"

// quickExit is Quick exit for a survivor logged in with their receipt: it
// deletes the session on the server, clears the cookie and sends the
// browser to the neutral site (SPEC §6 "Shown once"). Back, or "Check my
// report" in the same browser, then finds no session and shows the login
// form, never the report. A plain link reaches it, so it works with
// JavaScript off; the script's location.replace follows the same link.
//
// It is a GET that changes state, on purpose: Quick exit must be a plain
// link. What a third-party page can do with it:
//   - make the browser request it (a link, an image, a form): the cookie is
//     SameSite=Strict, so a request from another site carries none and ends
//     nothing. At worst the survivor's own click on such a link logs her
//     out, which loses nothing: the thread is on the server, and she types
//     her code again;
//   - use it as an open redirect: it takes no parameter, and always goes to
//     the operator's neutral site;
//   - have a browser prefetch it: a request marked as a prefetch ends
//     nothing and is answered with an error, so the browser discards it and
//     makes the real request when the link is followed.
//
// A request without a session cookie sets no cookie either (no cookie on
// public pages, SPEC §3.2).
func (s *Server) quickExit(w http.ResponseWriter, r *http.Request) {
	if isPrefetch(r) {
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	if c, err := r.Cookie(checkCookie); err == nil && c.Value != "" {
		if err := s.rep.EndSession(r.Context(), c.Value); err != nil {
			// The cookie goes below all the same, so this browser holds
			// no way back in; the row ends with the idle timeout.
			s.log.Error("quick exit: session not deleted", "err", err)
		}
		s.clearCookie(w)
	}
	http.Redirect(w, r, s.cfg.ExitURL, http.StatusSeeOther)
}

// isPrefetch reports whether the browser asks for a page it may never show
// (Sec-Purpose, and the older Purpose and X-Moz headers).
func isPrefetch(r *http.Request) bool {
	for _, h := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		if strings.Contains(strings.ToLower(r.Header.Get(h)), "prefetch") {
			return true
		}
	}
	return false
}
