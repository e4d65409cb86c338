// Package browsertest drives the public site in a real Chromium, the way a
// survivor's phone would: with JavaScript off (Tor Browser's safest setting)
// and on. It checks what only a browser can show: that a report, a receipt
// login, a reply and a withdrawal work without any script; that Quick exit
// replaces the page in the history; that no page asks any other host for
// anything; that nothing is left in cookies or web storage.
//
// The package has tests only. They need Chromium (SALAMA_TEST_CHROMIUM, or
// Debian's /usr/bin/chromium) and skip without it. Screenshots of every page
// go to SALAMA_TEST_ARTIFACTS when it is set.
package browsertest
