package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// fetch gets path as raw bytes, gzipped or not, as the wire carried it.
func (s *site) fetch(method, path string, gz bool) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, nil)
	// Set either way: the transport would otherwise ask for gzip itself
	// and decode it out of sight.
	req.Header.Set("Accept-Encoding", "identity")
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); method == "GET" && (err != nil || n != len(b)) {
		s.t.Errorf("%s: Content-Length %q for %d bytes", path, resp.Header.Get("Content-Length"), len(b))
	}
	return resp, b
}

// gunzip decodes one gzip member strictly: the CRC-32 and length in its
// trailer are checked, and nothing may follow it.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	if rest, _ := io.ReadAll(zr); len(rest) != 0 {
		t.Fatal("bytes after the gzip member")
	}
	return out
}

// Pages the same for everyone are served from a cache of compressed parts
// (issue 17.2 and 17.3). What a browser decodes must be exactly the page it
// would get uncompressed, the form token must be fresh each time and work,
// and the Content-Length right.
func TestSharedPages(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, path := range []string{"/en/", "/sw/", "/", "/en/help", "/sw/help?county=nairobi&need=medical", "/en/report", "/sw/tip"} {
		plainResp, plain := s.fetch("GET", path, false)
		if plainResp.StatusCode != 200 || plainResp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s plain: %d %q", path, plainResp.StatusCode, plainResp.Header.Get("Content-Encoding"))
		}
		var pages [][]byte
		for range 3 {
			resp, b := s.fetch("GET", path, true)
			if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Fatalf("%s: Content-Encoding %q, Vary %q", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
			}
			pages = append(pages, gunzip(t, b))
		}
		tokens := map[string]bool{}
		for _, p := range append(pages, plain) {
			m := tokenRE.FindSubmatch(p)
			if m == nil {
				if strings.Contains(path, "report") || strings.Contains(path, "tip") {
					t.Fatalf("%s: no form token", path)
				}
				if !bytes.Equal(p, plain) {
					t.Errorf("%s: the gzipped page decodes to something else than the plain page", path)
				}
				continue
			}
			tokens[string(m[1])] = true
			if a, b := tokenRE.ReplaceAll(p, nil), tokenRE.ReplaceAll(plain, nil); !bytes.Equal(a, b) {
				t.Errorf("%s: the pages differ in more than the token", path)
			}
		}
		if len(tokens) != 0 && len(tokens) != 4 {
			t.Errorf("%s: %d different tokens in 4 forms", path, len(tokens))
		}
		if head, b := s.fetch("HEAD", path, true); len(b) != 0 || head.Header.Get("Content-Length") == "" {
			t.Errorf("%s HEAD: %d bytes, Content-Length %q", path, len(b), head.Header.Get("Content-Length"))
		}
	}
	// A token from a cached, gzipped form sends a report.
	_, b := s.fetch("GET", "/en/report", true)
	form := fullReport()
	form.Set("token", match(t, tokenRE, string(gunzip(t, b)), "token"))
	if _, receipt := s.report("en", form); receipt == "" {
		t.Fatal("no receipt")
	}
	// The landing page at / follows the browser's language.
	req, _ := http.NewRequest("GET", s.srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "sw-KE,sw;q=0.9")
	if r := s.do(req, ""); r.Header.Get("Content-Language") != "sw" || !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept-Language") {
		t.Errorf("/ in Kiswahili: Content-Language %q, Vary %q", r.Header.Get("Content-Language"), r.Header.Values("Vary"))
	}
}

// A page that changes with what was typed is never served from the cache:
// the form sent back with a problem carries the survivor's words.
func TestFormWithWordsNotShared(t *testing.T) {
	s := newSite(t, newSQLite(t))
	s.get("/en/report", "") // the fresh form is cached
	form := url.Values{"token": {s.token("en", "report")}, "narrative": {narrative}, "when": {"not-a-choice"}, "send": {"1"}}
	r := s.postMultipart("/en/report", form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Mathare group") {
		t.Fatalf("the form sent back lost the words: %d", r.StatusCode)
	}
	if fresh := s.get("/en/report", ""); strings.Contains(fresh.body, "Mathare group") {
		t.Fatal("another visitor's fresh form shows what someone typed")
	}
}
