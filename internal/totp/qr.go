package totp

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

const (
	// quietZone is the light margin, in modules, that ISO/IEC 18004 requires
	// around a QR code.
	quietZone = 4
	// qrMinPixels is the smallest width and height the SVG asks for. The
	// actual size is the next whole number of pixels per module, so modules
	// render evenly at 1x.
	qrMinPixels = 220
)

// QRSVG returns content (the [URI]) as a QR code at medium error correction,
// drawn as an SVG element to inline in a page: a light background and one
// path holding the dark modules, in a viewBox with a four-module quiet zone.
//
// It references nothing outside itself (no xmlns, no href, no script, no
// style attribute), so it passes a strict Content-Security-Policy; because
// it has no xmlns it is meant for inline HTML only, not to be served as an
// image/svg+xml file. It is aria-hidden: the page must show the secret as
// text beside it (SPEC §4.4), which is what a screen-reader user needs.
//
// The content carries the secret: see the package comment on caching.
func QRSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("totp: encoding QR code: %w", err)
	}
	q.DisableBorder = true
	return template.HTML(svg(q.Bitmap())), nil
}

// svg draws a square module matrix (true is dark). The output is made of
// fixed text and integers only, which is why QRSVG may call it HTML.
func svg(m [][]bool) string {
	n := len(m)
	total := n + 2*quietZone
	px := total * ((qrMinPixels + total - 1) / total)
	dim := strconv.Itoa(total)
	var b strings.Builder
	b.WriteString(`<svg width="` + strconv.Itoa(px) + `" height="` + strconv.Itoa(px) +
		`" viewBox="0 0 ` + dim + ` ` + dim + `" shape-rendering="crispEdges" aria-hidden="true">`)
	b.WriteString(`<rect width="` + dim + `" height="` + dim + `" fill="#fff"/>`)
	b.WriteString(`<path fill="#000" d="`)
	// One subpath per horizontal run of dark modules, a 1-module-high
	// rectangle "h len v1 h -len z". Each is reached by a move relative to
	// the start of the previous one (where "z" leaves the pen), which keeps
	// the numbers short; the first move starts from the origin.
	penX, penY := 0, 0
	for y, row := range m {
		for x := 0; x < n; {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < n && row[x] {
				x++
			}
			w := x - start
			fmt.Fprintf(&b, "m%d %dh%dv1h-%dz", start+quietZone-penX, y+quietZone-penY, w, w)
			penX, penY = start+quietZone, y+quietZone
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}
