package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"time"
)

// slowUpload is a survivor on 2G sending a report with a screenshot: the
// body arrives at SlowRate for minutes. Before issue 17 the server's write
// deadline (2 minutes from the start of the request) ran out while the
// body was still arriving: the report was stored and the survivor got no
// byte of her receipt. It starts with the bench, runs beside the other
// sections (2 KB/s is no load) and is reported by its section.
type slowUpload struct {
	done chan struct{}
	rows []Result
	err  error
}

// slowReceipt is the budget: the receipt arrives.
var slowReceipt = &Budget{Limit: 1, AtLeast: true, Source: "issue 17: a 2G upload longer than the write timeout still gets its receipt"}

func startSlowUpload(ctx context.Context, e *env) *slowUpload {
	u := &slowUpload{done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.rows, u.err = runSlowUpload(ctx, e)
	}()
	return u
}

func slowUploads(ctx context.Context, e *env) ([]Result, error) {
	if e.slow == nil {
		return nil, fmt.Errorf("the slow upload was not started")
	}
	select {
	case <-e.slow.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.slow.rows, e.slow.err
}

func runSlowUpload(ctx context.Context, e *env) ([]Result, error) {
	s := e.cfg.Sizes
	shot, err := noisePNG(s.SlowBytes)
	if err != nil {
		return nil, err
	}
	v := e.newVisitor("en-KE,en;q=0.9")
	defer v.close()
	v.client.Timeout = 0 // the phone waits as long as it takes
	v.xff = "2001:db8:510::1"
	form, err := v.get(ctx, "/en/report")
	if err != nil {
		return nil, err
	}
	body, contentType, err := reportBody(form, typicalReport("en"), shot)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/en/report",
		&throttled{r: bytes.NewReader(body), rate: s.SlowRate})
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Origin", v.base)
	t0 := time.Now()
	x, err := v.do(req)
	took := time.Since(t0)
	name := fmt.Sprintf("%s KB report with a screenshot at %s KB/s: receipt received", num(float64(len(body))/KB), num(float64(s.SlowRate)/KB))
	r := Result{Name: name, Unit: "", Budget: slowReceipt,
		Detail: map[string]float64{"sent": float64(len(body)), "wall_ms": ms(took)}}
	switch {
	case err != nil:
		r.Note = "no answer: " + err.Error()
	case x.Status != http.StatusOK:
		r.Note = fmt.Sprintf("status %d", x.Status)
	default:
		if _, err := find(receiptRE, x.HTML); err != nil {
			r.Note = "the answer has no receipt"
		} else {
			r.Value = 1
			r.Detail["received"] = float64(x.Received)
			r.Note = fmt.Sprintf("took %.0f s", took.Seconds())
			if took > 2*time.Minute {
				r.Note += ", longer than the 2-minute write timeout before issue 17"
			}
		}
	}
	return []Result{r}, nil
}

// throttled sends at rate bytes per second, in quarter-second steps, as a
// 2G link does.
type throttled struct {
	r    io.Reader
	rate int
	next time.Time
}

func (t *throttled) Read(p []byte) (int, error) {
	if now := time.Now(); t.next.After(now) {
		time.Sleep(t.next.Sub(now))
	}
	step := max(1, t.rate/4)
	n, err := t.r.Read(p[:min(len(p), step)])
	t.next = time.Now().Add(time.Duration(n) * time.Second / time.Duration(t.rate))
	return n, err
}

// noisePNG is a PNG of about size bytes that no compression shrinks: a
// photo-like screenshot's weight.
func noisePNG(size int) ([]byte, error) {
	w := 320
	h := max(1, size/(3*w))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	noise := make([]byte, 3*w*h)
	if _, err := rand.Read(noise); err != nil {
		return nil, err
	}
	for i := range w * h {
		img.SetNRGBA(i%w, i/w, color.NRGBA{noise[3*i], noise[3*i+1], noise[3*i+2], 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
