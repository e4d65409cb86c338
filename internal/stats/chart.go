package stats

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
)

// Charts are inline SVG drawn on the server: no script, nothing fetched,
// no style attribute (the Content-Security-Policy allows only hashed
// stylesheets); colours and sizes are SVG presentation attributes. Each
// chart repeats figures of a table on the same page, with the same
// suppression, and is named for screen readers by its <title>.

const (
	colBar    = "#0b5d52"
	colMuted  = "#c8c8c8"
	colInk    = "#1d1d1f"
	chartFont = "12"
)

// MonthChart draws the reports of each month as bars; a suppressed month is
// a flat grey bar labelled "<k" or "x".
func (f *Figures) MonthChart(t T) template.HTML {
	if f.Month == nil || len(f.Months) == 0 {
		return ""
	}
	const w, h, top, bottom, side = 640, 200, 18, 22, 4
	plot := float64(h - top - bottom)
	n := len(f.Months)
	slot := float64(w-2*side) / float64(n)
	peak := f.K
	for r := range f.Month.Rows {
		if f.Month.Marks[r][0] == Shown {
			peak = max(peak, f.Month.Cells[r][0])
		}
	}
	var b strings.Builder
	title := t("stats.chart_months", f.Year)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" font-size="%s" text-anchor="middle"><title>%s</title>`, w, h, chartFont, html.EscapeString(title))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`, side, h-bottom, w-side, h-bottom, colMuted)
	for r := range f.Month.Rows {
		x := float64(side) + slot*float64(r)
		bw := slot * 0.7
		v, m := f.Month.Cells[r][0], f.Month.Marks[r][0]
		bh, fill := 2.0, colMuted
		if m == Shown {
			bh, fill = max(2, plot*float64(v)/float64(peak)), colBar
		}
		y := float64(h-bottom) - bh
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(x+(slot-bw)/2), num(y), num(bw), num(bh), fill)
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s">%s</text>`, num(x+slot/2), num(y-4), colInk, html.EscapeString(Text(v, m, f.Month.kOf(r, f.K))))
		fmt.Fprintf(&b, `<text x="%s" y="%d" fill="%s">%s</text>`, num(x+slot/2), h-6, colInk, html.EscapeString(t("stats.mon."+strconv.Itoa(int(f.Months[r].Month())))))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// CategoryChart draws the year's total for each kind of harm as horizontal
// bars; nil unless the totals are published.
func (f *Figures) CategoryChart(t T) template.HTML {
	if f.Pub == nil || !f.Pub.ShowTotals {
		return ""
	}
	const w, row, label, side = 640, 26, 190, 4
	h := row*len(Categories) + 4
	peak := f.K
	for _, c := range Categories {
		if f.Pub.TotalMarks[c] == Shown {
			peak = max(peak, f.Pub.Totals[c])
		}
	}
	bar := float64(w - label - side - 40)
	var b strings.Builder
	title := t("stats.chart_categories", f.Year)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" font-size="%s"><title>%s</title>`, w, h, chartFont, html.EscapeString(title))
	for i, c := range Categories {
		y := float64(row*i + 4)
		v, m := f.Pub.Totals[c], f.Pub.TotalMarks[c]
		bw, fill := 2.0, colMuted
		if m == Shown {
			bw, fill = max(2, bar*float64(v)/float64(peak)), colBar
		}
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, label-6, num(y+15), colInk, html.EscapeString(t(ColKey(c))))
		fmt.Fprintf(&b, `<rect x="%d" y="%s" width="%s" height="18" fill="%s"/>`, label, num(y+2), num(bw), fill)
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s">%s</text>`, num(float64(label)+bw+4), num(y+15), colInk, html.EscapeString(Text(v, m, f.K)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// num writes a coordinate with at most one decimal.
func num(x float64) string { return strconv.FormatFloat(float64(int(x*10+0.5))/10, 'f', -1, 64) }
