package app_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/web"
)

// TestOnionLocation: with --onion-address, the survivors' pages announce
// the onion service to Tor Browser, on the same path; the console, posts
// and /healthz do not.
func TestOnionLocation(t *testing.T) {
	const onion = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
	origin, err := web.OnionOrigin("http://" + onion + "/")
	if err != nil || origin != "http://"+onion {
		t.Fatalf("OnionOrigin: %q, %v", origin, err)
	}
	for _, bad := range []string{"salama.example.org", "abc.onion", "http://" + onion[:20] + ".onion"} {
		if _, err := web.OnionOrigin(bad); err == nil {
			t.Errorf("%q accepted as an onion address", bad)
		}
	}
	e := apptest.New(t, storetest.NewDB(t, store.SQLite), func(o *app.Options) { o.Web.OnionOrigin = origin })
	srv := httptest.NewServer(e.App.Handler())
	defer srv.Close()
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/en/report?x=1", origin + "/en/report?x=1"},
		{"GET", "/sw/help", origin + "/sw/help"},
		{"GET", "/", origin + "/"},
		{"GET", "/console/login", ""},
		{"GET", "/healthz", ""},
		{"POST", "/en/check", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Onion-Location"); got != tc.want {
			t.Errorf("%s %s: Onion-Location %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
