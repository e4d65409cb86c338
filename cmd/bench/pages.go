package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"

	"github.com/salama-ke/salama/internal/web"
)

// The two languages every survivor-facing page exists in, with the
// Accept-Language a phone set to that language sends.
var langs = []struct{ Code, AcceptLanguage string }{
	{"en", "en-KE,en;q=0.9"},
	{"sw", "sw-KE,sw;q=0.9,en;q=0.8"},
}

// pageBudget is SPEC §8's "any public page, gzip over the wire, including
// its CSS ≤ 14 KB (one TCP initial window)". It is checked against the whole
// response as received (status line, headers and gzip body), since the
// headers travel in the same initial window.
var pageBudget = &Budget{Limit: 14 * KB, Source: "SPEC §8: any public page, gzip over the wire, ≤ 14 KB"}

// pageWeight fetches every public page in both languages, as a browser
// asking for gzip, and checks each against the initial-window budget.
func pageWeight(ctx context.Context, e *env) ([]Result, error) {
	var rows []Result
	for _, l := range langs {
		v := e.newVisitor(l.AcceptLanguage)
		defer v.close()
		p := "/" + l.Code
		for _, pg := range []struct{ name, path string }{
			{"landing", p + "/"},
			{"report form", p + "/report"},
			{"tip form", p + "/tip"},
			{"help", p + "/help"},
			{"help, filtered", p + "/help?county=nairobi&need=medical"},
			{"check", p + "/check"},
		} {
			x, err := v.get(ctx, pg.path)
			if err != nil {
				return nil, err
			}
			if err := x.expect(http.StatusOK, pg.path); err != nil {
				return nil, err
			}
			rows = append(rows, pageRow(pg.name+" "+pg.path, x))
		}

		// The confirmation page depends on what was reported: help-now
		// grows with every section that applies. Measure a typical report
		// and one that brings up every section.
		for _, r := range []struct {
			name string
			rep  report
		}{{"typical", typicalReport(l.Code)}, {"every help-now section", heaviestReport(l.Code)}} {
			form, err := v.get(ctx, p+"/report")
			if err != nil {
				return nil, err
			}
			x, _, err := v.submit(ctx, l.Code, form, r.rep)
			if err != nil {
				return nil, err
			}
			rows = append(rows, pageRow("confirmation ("+r.name+") POST "+p+"/report", x))
		}

		// The thread page, straight after logging in with a receipt.
		form, err := v.get(ctx, p+"/report")
		if err != nil {
			return nil, err
		}
		_, receipt, err := v.submit(ctx, l.Code, form, typicalReport(l.Code))
		if err != nil {
			return nil, err
		}
		x, err := v.logIn(ctx, l.Code, receipt)
		if err != nil {
			return nil, err
		}
		rows = append(rows, pageRow("thread after receipt login "+p+"/check/report", x))
	}
	return rows, nil
}

func pageRow(name string, x *exchange) Result {
	r := Result{Name: name, Value: float64(x.Received), Unit: "B", Budget: pageBudget,
		Detail: map[string]float64{"raw": float64(len(x.HTML)), "gzip_body": float64(len(x.Body)), "headers": float64(x.HeaderBytes())}}
	if !x.Gzipped {
		r.Note = "NOT gzipped"
	}
	return r
}

// flowBudgets are SPEC §8's "a whole web report, landing → form → receipt,
// all bytes: ≤ 3 requests, ≤ 30 KB", and "JavaScript needed to report: none;
// any optional script ≤ 2 KB".
var (
	flowRequests = &Budget{Limit: 3, Source: "SPEC §8: a whole web report, ≤ 3 requests"}
	flowBytes    = &Budget{Limit: 30 * KB, Source: "SPEC §8: a whole web report, all bytes, ≤ 30 KB"}
	scriptBytes  = &Budget{Limit: 2 * KB, Source: "SPEC §8: any optional script ≤ 2 KB"}
	scriptFiles  = &Budget{Limit: 0, Source: "SPEC §3.2, §8: nothing but the page is loaded"}
)

// reportFlows walks the web report as a survivor does, in each language:
// the site's address, the Report button, the form sent. Both directions
// count, and so does what a browser fetches by itself (a favicon). The
// client runs no JavaScript, so a receipt at the end also shows that none
// is needed to report.
func reportFlows(ctx context.Context, e *env) ([]Result, error) {
	var rows []Result
	for _, l := range langs {
		v := e.newVisitor(l.AcceptLanguage)
		defer v.close()
		var steps []*exchange

		landing, err := v.get(ctx, "/")
		if err != nil {
			return nil, err
		}
		if err := landing.expect(http.StatusOK, "GET /"); err != nil {
			return nil, err
		}
		if got := landing.Header.Get("Content-Language"); got != l.Code {
			return nil, fmt.Errorf("GET / with Accept-Language %q: Content-Language %q, want %q", l.AcceptLanguage, got, l.Code)
		}
		steps = append(steps, landing)
		paths := []string{"GET /"}

		// A browser asks for /favicon.ico by itself when the page names no
		// icon, and follows any redirect: those requests count too.
		var icon []*exchange
		if !iconRE.Match(landing.HTML) {
			for path, hops := "/favicon.ico", 0; path != "" && hops < 5; hops++ {
				x, err := v.get(ctx, path)
				if err != nil {
					return nil, err
				}
				icon = append(icon, x)
				paths = append(paths, "GET "+path)
				path = ""
				if loc, err := url.Parse(x.Header.Get("Location")); err == nil && x.Status/100 == 3 {
					path = loc.RequestURI()
				}
			}
		}

		// Follow the Report button, not a path the bench made up.
		href := "/" + l.Code + "/report"
		if !bytes.Contains(landing.HTML, []byte(`href="`+href+`"`)) {
			return nil, fmt.Errorf("landing (%s) has no link to %s", l.Code, href)
		}
		form, err := v.get(ctx, href)
		if err != nil {
			return nil, err
		}
		if err := form.expect(http.StatusOK, "GET "+href); err != nil {
			return nil, err
		}
		steps = append(steps, form)
		paths = append(paths, "GET "+href)

		received, _, err := v.submit(ctx, l.Code, form, typicalReport(l.Code))
		if err != nil {
			return nil, err
		}
		steps = append(steps, received)
		paths = append(paths, "POST "+href)

		var sent, recv, inline, largest, external float64
		for _, x := range append(steps, icon...) {
			sent += float64(x.Sent)
			recv += float64(x.Received)
		}
		for _, x := range steps { // an icon is not run as a page
			in, ext := scripts(x.HTML)
			inline += float64(in)
			largest = max(largest, float64(in))
			external += float64(ext)
		}
		name := fmt.Sprintf("landing → form → receipt (%s)", l.Code)
		rows = append(rows,
			Result{Name: name + ": requests", Value: float64(len(steps) + len(icon)), Unit: "req", Budget: flowRequests,
				Note: strings.Join(paths, ", ")},
			Result{Name: name + ": bytes", Value: sent + recv, Unit: "B", Budget: flowBytes,
				Detail: map[string]float64{"sent": sent, "received": recv}},
			Result{Name: name + ": inline script", Value: inline, Unit: "B", Budget: scriptBytes,
				Detail: map[string]float64{"pages": float64(len(steps)), "largest_page": largest},
				Note:   "none needed: this flow ran without JavaScript"},
		)
		if external > 0 {
			rows = append(rows, Result{Name: name + ": script files", Value: external, Unit: "files", Budget: scriptFiles})
		}
	}
	return rows, nil
}

var (
	scriptRE = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	iconRE   = regexp.MustCompile(`(?i)<link\b[^>]*\brel="?(shortcut )?icon\b`)
)

// scripts returns the bytes of inline script in a page and how many
// scripts it loads from a file.
func scripts(html []byte) (inline, files int) {
	for _, m := range scriptRE.FindAllSubmatch(html, -1) {
		if bytes.Contains(bytes.ToLower(m[1]), []byte("src=")) {
			files++
			continue
		}
		inline += len(m[2])
	}
	return inline, files
}

// report is what a survivor fills in, in the order of the form's fields.
type report struct {
	About, Age, County, When, Danger string
	What, Help                       []string
	Narrative                        string
	ID                               [3]string // type, platform, value
	Files                            [][]byte  // screenshots; none chosen when empty
}

// typicalReport is a young adult threatened with her images, asking for
// counselling and for the images to be taken down.
func typicalReport(lang string) report {
	r := report{About: "me", Age: "18-24", County: "nairobi", When: "month", Danger: "no",
		What: []string{"sextortion"}, Help: []string{"counselling", "takedown"},
		ID: [3]string{"phone", "whatsapp", "+254 712 345 678"}}
	r.Narrative = "I met a man on Facebook who said he worked for a company in Nairobi and could get me a job. " +
		"After some weeks he asked for photos and I sent some. Now he says he will send them to my family and " +
		"post them in a WhatsApp group unless I pay him 20,000 shillings by Friday. He messages me every day " +
		"from a new number. I am afraid to tell my parents and I do not know what to do."
	if lang == "sw" {
		r.Narrative = "Nilikutana na mwanaume kwenye Facebook aliyesema anafanya kazi katika kampuni moja Nairobi " +
			"na angenitafutia kazi. Baada ya wiki kadhaa aliniomba picha na nikamtumia. Sasa anasema atazituma kwa " +
			"familia yangu na kuziweka kwenye kikundi cha WhatsApp nisipomlipa shilingi 20,000 kufikia Ijumaa. " +
			"Ananitumia ujumbe kila siku kutoka namba mpya. Naogopa kuwaambia wazazi wangu na sijui nifanye nini."
	}
	return r
}

// heaviestReport brings up every help-now section that can appear together:
// danger now, recent sexual violence, a child, images, and every need.
func heaviestReport(lang string) report {
	r := typicalReport(lang)
	r.About, r.Age, r.When, r.Danger = "child", "13-15", "72h", "yes"
	r.What = []string{"images_requested", "sextortion", "advertised", "trafficking", "sexual_violence"}
	r.Help = []string{"medical", "counselling", "legal", "shelter", "police", "takedown", "travel_home"}
	return r
}

// submit sends the report form as a browser does: multipart, every field in
// the form's order, empty text fields and the empty file input included.
func (v *visitor) submit(ctx context.Context, lang string, form *exchange, r report) (*exchange, string, error) {
	body, contentType, err := reportBody(form, r, nil)
	if err != nil {
		return nil, "", err
	}
	path := "/" + lang + "/report"
	x, err := v.post(ctx, path, contentType, body)
	if err != nil {
		return nil, "", err
	}
	if err := x.expect(http.StatusOK, "POST "+path); err != nil {
		return nil, "", err
	}
	receipt, err := find(receiptRE, x.HTML)
	if err != nil {
		return nil, "", fmt.Errorf("POST %s: receipt: %w", path, err)
	}
	return x, receipt, nil
}

// reportBody is the multipart body a browser sends for the form, with a
// screenshot (PNG) when shot is not nil.
func reportBody(form *exchange, r report, shot []byte) ([]byte, string, error) {
	token, err := find(tokenRE, form.HTML)
	if err != nil {
		return nil, "", fmt.Errorf("report form token: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// The length of Chrome's boundary, so the bytes sent are a browser's.
	if err := mw.SetBoundary("----WebKitFormBoundaryS4l4m4B3nchM4rk0"); err != nil {
		return nil, "", err
	}
	field := func(name, value string) { mw.WriteField(name, value) }
	field("token", token)
	field("about", r.About)
	for _, w := range r.What {
		field("what", w)
	}
	field("age", r.Age)
	field("county", r.County)
	field("country", "")
	field("when", r.When)
	field("danger", r.Danger)
	for _, h := range r.Help {
		field("help", h)
	}
	field("narrative", r.Narrative)
	for _, row := range [][3]string{r.ID, {}} { // the form offers two rows
		field("id_type", row[0])
		field("id_platform", row[1])
		field("id_value", row[2])
	}
	field("contact", "code")
	field("phone", "")
	field("safe_times", "")
	field("share", "ask")
	field("stats", "yes")
	// Screenshots come last, as the form has them.
	files := r.Files
	if shot != nil {
		files = append(files[:len(files):len(files)], shot)
	}
	if len(files) == 0 {
		if _, err := mw.CreateFormFile("files", ""); err != nil { // no screenshot chosen
			return nil, "", err
		}
	}
	for _, f := range files {
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="files"; filename="Screenshot_20261130-2114.png"`)
		h.Set("Content-Type", "image/png")
		fw, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		fw.Write(f)
	}
	field("send", "1")
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return body.Bytes(), mw.FormDataContentType(), nil
}

// logIn types the receipt on /check and returns the thread page the
// redirect leads to.
func (v *visitor) logIn(ctx context.Context, lang, receipt string) (*exchange, error) {
	path := "/" + lang + "/check"
	form, err := v.get(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := form.expect(http.StatusOK, "GET "+path); err != nil {
		return nil, err
	}
	token, err := find(tokenRE, form.HTML)
	if err != nil {
		return nil, fmt.Errorf("GET %s: login token: %w", path, err)
	}
	x, err := v.post(ctx, path, "application/x-www-form-urlencoded", []byte(url.Values{"receipt": {receipt}, "token": {token}}.Encode()))
	if err != nil {
		return nil, err
	}
	if err := x.expect(http.StatusSeeOther, "POST "+path); err != nil {
		return nil, err
	}
	loc := x.Header.Get("Location")
	if !strings.HasPrefix(loc, "/"+lang+"/check/report") {
		return nil, fmt.Errorf("POST %s: redirected to %q", path, loc)
	}
	thread, err := v.get(ctx, loc)
	if err != nil {
		return nil, err
	}
	return thread, thread.expect(web.StatusReport, "GET "+loc)
}

var (
	tokenRE   = regexp.MustCompile(`name="token" value="([^"]+)"`)
	receiptRE = regexp.MustCompile(`class="receipt"[^>]*>\s*(\d{4} \d{4} \d{4} \d{4})\s*<`)
)

func find(re *regexp.Regexp, html []byte) (string, error) {
	m := re.FindSubmatch(html)
	if m == nil {
		return "", errNoMatch
	}
	return string(m[1]), nil
}
