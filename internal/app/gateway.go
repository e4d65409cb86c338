package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/ussd"
)

// GatewayOptions configure the feature-phone channels (SPEC §4.2, §4.3).
type GatewayOptions struct {
	// Token is the secret path segment of the gateway callbacks
	// (/gw/{token}/ussd and /gw/{token}/sms). Empty leaves them unmounted.
	Token string
	// USSDCode is the code survivors dial (*384*123#), named in SMS nudges
	// and help replies. Without it, nudges that name it are off.
	USSDCode string
	// Lang is the language of the first USSD screen and of SMS answers to
	// texts without a keyword; "" means English.
	Lang locale.Lang
	// SMS sends text messages; nil logs them instead (sms.LogSender).
	SMS sms.Sender
	// Nudge is the nudge's wording; "" means sms.DefaultNudge.
	Nudge string
	// USSDDeadline bounds the work of one USSD request; zero means
	// ussd.DefaultDeadline.
	USSDDeadline time.Duration
}

// gatewayRoutes are the callback patterns. The token is a path value, so
// the request log, which shows the pattern, never shows the token.
const (
	RouteUSSD = "POST /gw/{token}/ussd"
	RouteSMS  = "POST /gw/{token}/sms"
)

// setUpGateway builds the SMS sender and the nudger, and mounts the USSD
// and SMS callbacks when a token is set. Nudges and help replies are
// durable jobs (internal/sms): their kinds are registered here.
func (a *App) setUpGateway(o Options) error {
	g := o.Gateway // a.SMS is set already (setUpAlerts)
	code := strings.TrimSpace(g.USSDCode)
	wording := g.Nudge
	if wording == "" {
		wording = sms.DefaultNudge
	}
	_, logOnly := sms.Provider(a.SMS).(sms.LogSender)
	smsOn := g.Token != "" || !logOnly
	if code == "" && smsOn {
		// One clear line (docs/operating.md, "USSD and SMS").
		o.Logger.Warn("SMS is on but no --ussd-code is set: SMS help replies cannot tell survivors the code to dial to report " +
			"or check a report, and SMS nudges, which name it, are off. Set --ussd-code (SALAMA_USSD_CODE), e.g. *384*123#")
	}
	if code == "" && strings.Contains(wording, "{ussd}") {
		if !smsOn {
			o.Logger.Warn("SMS nudges are off: the wording names the USSD code, and no --ussd-code is set")
		}
	} else {
		n, err := sms.NewNudger(sms.NudgeConfig{Store: a.Store, Sender: a.SMS, Wording: wording, USSDCode: code, Secret: a.Secret,
			Log: o.Logger, Now: o.Now})
		if err != nil {
			return err
		}
		a.Nudger = n
		a.Casework.Nudge = n.Queue
		n.Register(a.Jobs)
	}
	if g.Token == "" {
		return nil
	}
	if err := ussd.CheckToken(g.Token); err != nil {
		return err
	}
	h, err := ussd.New(ussd.Config{Reports: ussd.FromReporting(a.Reporting, store.ChannelUSSD), Sessions: a.Store,
		Catalog: a.Catalog, Secret: a.Secret, Lang: g.Lang, Log: o.Logger, Now: o.Now, Deadline: g.USSDDeadline})
	if err != nil {
		return err
	}
	responder := sms.NewResponder(sms.Responder{Store: a.Store, Sender: a.SMS, Catalog: a.Catalog, USSDCode: code, Lang: g.Lang,
		Secret: a.Secret, Log: o.Logger, Now: o.Now, Services: func(ctx context.Context) ([]directory.Service, error) {
			svcs, _, err := a.Reporting.Directory(ctx)
			return svcs, err
		}})
	responder.Register(a.Jobs)
	a.Web.Mount(func(mux *http.ServeMux) {
		mux.Handle(RouteUSSD, ussd.Guard(g.Token, h))
		mux.Handle(RouteSMS, ussd.Guard(g.Token, responder))
	})
	a.GatewayMounted = true
	return nil
}
