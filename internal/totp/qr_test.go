package totp

import (
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// enrolmentURI is a realistic enrolment URI: its length decides the version.
var enrolmentURI = URI(rfcSecret, "Salama Kenya", "wanjiru.kamau@shirika.example.org")

// parseSVG checks that out is well-formed XML made only of the elements and
// attributes QRSVG is allowed to emit, and returns the module matrix drawn
// by its path (quiet zone removed) and the viewBox side.
func parseSVG(t *testing.T, out string) (m [][]bool, side int) {
	t.Helper()
	for _, banned := range []string{"<script", "style=", "http", "href", "xmlns", "url(", "<image", "<foreignObject", "<text"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(banned)) {
			t.Fatalf("SVG contains %q", banned)
		}
	}
	allowed := map[string]map[string]bool{
		"svg":  {"width": true, "height": true, "viewBox": true, "shape-rendering": true, "aria-hidden": true},
		"rect": {"width": true, "height": true, "fill": true},
		"path": {"fill": true, "d": true},
	}
	counts := map[string]int{}
	var d, viewBox string
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attrs, ok := allowed[el.Name.Local]
			if !ok || el.Name.Space != "" {
				t.Fatalf("unexpected element %v", el.Name)
			}
			counts[el.Name.Local]++
			for _, a := range el.Attr {
				if !attrs[a.Name.Local] || a.Name.Space != "" {
					t.Fatalf("unexpected attribute %v on %s", a.Name, el.Name.Local)
				}
				switch a.Name.Local {
				case "d":
					d = a.Value
				case "viewBox":
					viewBox = a.Value
				}
			}
		case xml.CharData:
			if strings.TrimSpace(string(el)) != "" {
				t.Fatalf("unexpected text %q", el)
			}
		case xml.EndElement:
		default:
			t.Fatalf("unexpected token %T", tok)
		}
	}
	if counts["svg"] != 1 || counts["path"] != 1 || counts["rect"] != 1 {
		t.Fatalf("element counts %v; want one svg, one rect, one path", counts)
	}
	if !strings.HasPrefix(out, "<svg ") || !strings.Contains(out, `shape-rendering="crispEdges"`) {
		t.Fatalf("SVG head: %.120s", out)
	}

	f := strings.Fields(viewBox)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] {
		t.Fatalf("viewBox %q", viewBox)
	}
	side, _ = strconv.Atoi(f[2])
	n := side - 2*quietZone
	if n < 21 {
		t.Fatalf("viewBox side %d leaves a %d-module symbol", side, n)
	}
	m = make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
	}
	// Runs: a relative move from the previous run's start (the origin for
	// the first), then a closed 1-high rectangle.
	run := regexp.MustCompile(`^m(-?\d+) (-?\d+)h(\d+)v1h-(\d+)z`)
	penX, penY := 0, 0
	for rest := d; rest != ""; {
		g := run.FindStringSubmatch(rest)
		if g == nil {
			t.Fatalf("path data not made of runs at %.40q", rest)
		}
		rest = rest[len(g[0]):]
		dx, _ := strconv.Atoi(g[1])
		dy, _ := strconv.Atoi(g[2])
		w, _ := strconv.Atoi(g[3])
		if g[3] != g[4] || w < 1 {
			t.Fatalf("run %q does not close", g[0])
		}
		penX, penY = penX+dx, penY+dy
		x, y := penX-quietZone, penY-quietZone
		if x < 0 || y < 0 || y >= n || x+w > n {
			t.Fatalf("run %q enters the quiet zone", g[0])
		}
		for i := x; i < x+w; i++ {
			if m[y][i] {
				t.Fatalf("module %d,%d drawn twice", i, y)
			}
			m[y][i] = true
		}
	}
	return m, side
}

func TestQRSVGStructure(t *testing.T) {
	out, err := QRSVG(enrolmentURI)
	if err != nil {
		t.Fatal(err)
	}
	m, side := parseSVG(t, string(out))
	n := len(m)

	// Size: a version-v symbol is 17+4v modules. The URI is byte-mode data;
	// at level M a version holds this many bytes (ISO/IEC 18004 table 7).
	if (n-17)%4 != 0 {
		t.Fatalf("symbol side %d is no QR version", n)
	}
	version := (n - 17) / 4
	capacityM := []int{0, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213}
	if version >= len(capacityM) {
		t.Fatalf("version %d for %d bytes", version, len(enrolmentURI))
	}
	if l := len(enrolmentURI); l > capacityM[version] || l <= capacityM[version-1] {
		t.Errorf("version %d for %d bytes: not the smallest that fits at level M", version, l)
	}

	// Width and height: a whole number of pixels per module, at least 220.
	for _, attr := range []string{"width", "height"} {
		g := regexp.MustCompile(` ` + attr + `="(\d+)"`).FindStringSubmatch(string(out))
		px, _ := strconv.Atoi(g[1])
		if px < qrMinPixels || px%side != 0 {
			t.Errorf("%s %d for a %d-module viewBox", attr, px, side)
		}
	}

	// Finder patterns in three corners, with their light separators.
	finder := func(x0, y0 int) {
		for y := -1; y <= 7; y++ {
			for x := -1; x <= 7; x++ {
				xx, yy := x0+x, y0+y
				if xx < 0 || yy < 0 || xx >= n || yy >= n {
					continue
				}
				ring := max(abs(x-3), abs(y-3))
				want := ring != 2 && ring != 4
				if m[yy][xx] != want {
					t.Fatalf("finder at %d,%d: module %d,%d is %v", x0, y0, xx, yy, m[yy][xx])
				}
			}
		}
	}
	finder(0, 0)
	finder(n-7, 0)
	finder(0, n-7)

	// Timing patterns alternate, dark on even indexes.
	for i := 8; i < n-8; i++ {
		if m[6][i] != (i%2 == 0) || m[i][6] != (i%2 == 0) {
			t.Fatalf("timing pattern broken at %d", i)
		}
	}
	// The dark module beside the bottom-left finder.
	if !m[n-8][8] {
		t.Error("dark module missing")
	}

	// Format information, both copies: valid BCH code, level M.
	bit := func(x, y int) int {
		if m[y][x] {
			return 1
		}
		return 0
	}
	var first, second int
	for i := 0; i <= 5; i++ {
		first |= bit(8, i) << i
	}
	first |= bit(8, 7)<<6 | bit(8, 8)<<7 | bit(7, 8)<<8
	for i := 9; i < 15; i++ {
		first |= bit(14-i, 8) << i
	}
	for i := 0; i < 8; i++ {
		second |= bit(n-1-i, 8) << i
	}
	for i := 8; i < 15; i++ {
		second |= bit(8, n-15+i) << i
	}
	if first != second {
		t.Fatalf("format copies differ: %015b %015b", first, second)
	}
	format := first ^ 0x5412
	data := format >> 10
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	if data<<10|rem != format {
		t.Fatalf("format information %015b fails its BCH check", first)
	}
	if level := data >> 3; level != 0 { // ISO/IEC 18004: L=01, M=00, Q=11, H=10
		t.Errorf("error correction level bits %02b, want 00 (M)", level)
	}

	// A masked symbol is roughly half dark.
	dark := 0
	for _, row := range m {
		for _, v := range row {
			if v {
				dark++
			}
		}
	}
	if ratio := float64(dark) / float64(n*n); ratio < 0.35 || ratio > 0.65 {
		t.Errorf("dark ratio %.2f", ratio)
	}
}

func TestQRSVGDeterministic(t *testing.T) {
	a, err := QRSVG(enrolmentURI)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := QRSVG(enrolmentURI)
	if a != b {
		t.Error("same content, different SVG")
	}
	other, _ := QRSVG(URI(Secret("abcdefghijklmnopqrst"), "Salama Kenya", "wanjiru.kamau@shirika.example.org"))
	if other == a {
		t.Error("different secrets, same SVG")
	}
}

func TestQRSVGLimits(t *testing.T) {
	if _, err := QRSVG(strings.Repeat("x", 3000)); err == nil {
		t.Error("3000 bytes encoded: beyond version 40 at level M")
	}
	// Tiny and odd content still gives a well-formed symbol.
	for _, c := range []string{"1", "<>&\"'", "\x00\xff"} {
		out, err := QRSVG(c)
		if err != nil {
			t.Fatalf("QRSVG(%q): %v", c, err)
		}
		parseSVG(t, string(out))
	}
}

// A real decoder reads the symbol back, when zbarimg (Debian: zbar-tools)
// is installed; the structural test above runs everywhere.
func TestQRSVGDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	for _, content := range []string{
		enrolmentURI,
		URI(rfcSecret, "Salama Kenya: Console", "jane doe:admin"),
		URI(rfcSecret, "Shirika la Msaada kwa Waathiriwa wa Unyanyasaji Mtandaoni", strings.Repeat("a", 60)+"@example.org"),
	} {
		out, err := QRSVG(content)
		if err != nil {
			t.Fatal(err)
		}
		m, side := parseSVG(t, string(out))
		const scale = 6
		img := image.NewGray(image.Rect(0, 0, side*scale, side*scale))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		for y, row := range m {
			for x, dark := range row {
				if !dark {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						img.SetGray((x+quietZone)*scale+dx, (y+quietZone)*scale+dy, color.Gray{})
					}
				}
			}
		}
		file := filepath.Join(t.TempDir(), "qr.png")
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if s := strings.TrimSuffix(string(got), "\n"); s != content {
			t.Errorf("decoded %q, want %q", s, content)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
