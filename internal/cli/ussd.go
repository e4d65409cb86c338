package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/ussd"
)

// gatewaySettings are serve's USSD and SMS flags that are not
// app.GatewayOptions fields as they are; check reads them.
type gatewaySettings struct {
	Language   string // --ussd-language: en or sw
	Provider   string // --sms-provider: log or africastalking
	ATUsername string // --at-username (the API key is SALAMA_AT_API_KEY)
	ATSender   string // --at-sender: sender id or short code
	ATEndpoint string // --at-endpoint: "" for the live one or the sandbox
	ATSandbox  bool   // --at-sandbox
}

// gateway binds serve's flags for USSD and SMS.
func (f flags) gateway(o *app.GatewayOptions, s *gatewaySettings) {
	f.str(&o.Token, "gateway-token", "", "secret path segment of the USSD and SMS callbacks (/gw/TOKEN/ussd, /gw/TOKEN/sms), at least 20 characters, e.g. from `openssl rand -hex 24`; empty: the callbacks are not served. Prefer the environment variable")
	f.str(&o.USSDCode, "ussd-code", "", "the USSD code survivors dial, e.g. *384*123#; named in SMS nudges and help replies")
	f.str(&s.Language, "ussd-language", "en", "language of the first USSD screen and of SMS answers without a keyword: en or sw")
	f.str(&s.Provider, "sms-provider", "log", "log (log that a message would be sent, send nothing) or africastalking")
	f.str(&o.Nudge, "sms-nudge", sms.DefaultNudge, "the SMS that tells a survivor who chose SMS contact that a helper wrote; {ussd} is replaced by --ussd-code. Never include details: a shared phone's inbox keeps it")
	f.str(&s.ATUsername, "at-username", "", "Africa's Talking username (the API key is read from "+atAPIKeyEnv+" only)")
	f.str(&s.ATSender, "at-sender", "", "Africa's Talking sender id or short code; empty: the account's default")
	f.boolean(&s.ATSandbox, "at-sandbox", false, "use Africa's Talking's sandbox")
	f.str(&s.ATEndpoint, "at-endpoint", "", "Africa's Talking messaging endpoint, for an outbound proxy or a test provider; empty: the live one (or the sandbox with --at-sandbox)")
}

// check fills in the gateway options from the flags. With the log
// provider SMS stays nil: app logs messages with serve's logger then.
func (s gatewaySettings) check(o *app.GatewayOptions, atAPIKey string) error {
	o.Token, o.USSDCode = strings.TrimSpace(o.Token), strings.TrimSpace(o.USSDCode)
	l, ok := locale.ParseLang(s.Language)
	if !ok {
		return fmt.Errorf("--ussd-language: %q is not en or sw", s.Language)
	}
	o.Lang = l
	if o.Token != "" {
		if err := ussd.CheckToken(o.Token); err != nil {
			return fmt.Errorf("--gateway-token: %w", err)
		}
	}
	switch s.Provider {
	case "log":
	case "africastalking":
		endpoint := sms.ATEndpoint
		if s.ATSandbox {
			endpoint = sms.ATSandboxEndpoint
		}
		if e := strings.TrimSpace(s.ATEndpoint); e != "" {
			endpoint = e
		}
		at, err := sms.NewAfricasTalking(s.ATUsername, atAPIKey, s.ATSender, endpoint)
		if err != nil {
			return fmt.Errorf("--sms-provider africastalking: %w (--at-username, %s)", err, atAPIKeyEnv)
		}
		if o.USSDCode == "" && strings.Contains(o.Nudge, "{ussd}") {
			return errors.New("--sms-provider africastalking: set --ussd-code, which the nudge names")
		}
		o.SMS = at
	default:
		return fmt.Errorf("--sms-provider: %q is not log or africastalking", s.Provider)
	}
	return nil
}

// demoUSSDCode is the code a demo names in its SMS when none is set.
const demoUSSDCode = "*384*123#"

// newGatewayToken is a demo's gateway token: 24 random bytes in hex.
func newGatewayToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// printDemoGateway prints a demo's callback URLs, token included, and the
// simulator command that tries them, once the address is known.
func printDemoGateway(w io.Writer, scheme string, addr net.Addr, token, code string) {
	host := addr.String()
	if ap, err := netip.ParseAddrPort(host); err == nil && ap.Addr().IsUnspecified() {
		// Listening on every address: loopback reaches it from here.
		host = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port()).String()
	}
	base := scheme + "://" + host + "/gw/" + token
	fmt.Fprintln(w, "USSD and SMS callbacks (demo: a new gateway token at each start):")
	fmt.Fprintln(w, "  USSD: POST "+base+"/ussd")
	fmt.Fprintln(w, "  SMS:  POST "+base+"/sms")
	fmt.Fprintf(w, "Try the menus (the code %s) from another terminal:\n", code)
	fmt.Fprintln(w, "  salama ussd --url "+base+"/ussd")
}

// printGateway says at start whether the feature-phone channels are on.
// It never prints a token set by the operator; a demo's own is printed by
// printDemoGateway once the server listens.
func printGateway(w io.Writer, a *app.App, demo bool) {
	switch {
	case !a.GatewayMounted:
		fmt.Fprintln(w, "USSD and SMS callbacks are off: set --gateway-token (SALAMA_GATEWAY_TOKEN) to serve them.")
	case demo:
	default:
		fmt.Fprintln(w, "USSD callback: POST /gw/<gateway token>/ussd   SMS callback: POST /gw/<gateway token>/sms")
		fmt.Fprintln(w, "Try the menus: salama ussd --url http://HOST:PORT/gw/<gateway token>/ussd")
	}
	switch s := sms.Provider(a.SMS).(type) {
	case *sms.AfricasTalking:
		fmt.Fprintf(w, "SMS: Africa's Talking (%s)\n", s.Endpoint)
	default:
		fmt.Fprintln(w, "SMS: log provider (messages are logged as sent, not sent)")
	}
	if a.Nudger == nil {
		fmt.Fprintln(w, "SMS nudges: off (set --ussd-code)")
	}
}

// ussdCmd is the terminal simulator: it talks to a server's USSD callback
// as a phone and the gateway would, one screen at a time.
func ussdCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("ussd", stderr)
	var target, phone, code string
	f.str(&target, "url", "", "the USSD callback of a running server, e.g. http://127.0.0.1:8080/gw/TOKEN/ussd")
	f.str(&phone, "phone", "+254700000000", "the caller's number, as the gateway sends it")
	f.str(&code, "service-code", "*384*123#", "the code dialled, as the gateway sends it")
	f.Usage = func() {
		fmt.Fprintln(stderr, "Usage: salama ussd --url http://127.0.0.1:8080/gw/TOKEN/ussd [--phone +2547…]")
		fmt.Fprintln(stderr, "\nDials the menus of a running server (salama serve --demo --gateway-token TOKEN) like a")
		fmt.Fprintln(stderr, "feature phone: type a choice and Enter; 0 goes back, 00 to the menu; Ctrl-D hangs up.")
		fmt.Fprintln(stderr)
		f.PrintDefaults()
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(target)
	if target == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.Usage()
		return errors.New("--url must be the http(s) address of a USSD callback")
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	session := "SIM_" + hex.EncodeToString(id)
	client := &http.Client{Timeout: 20 * time.Second}
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 4096), 4096)
	var inputs []string
	for {
		form := url.Values{"sessionId": {session}, "serviceCode": {code}, "phoneNumber": {phone},
			"networkCode": {"63902"}, "text": {strings.Join(inputs, "*")}}
		resp, err := client.PostForm(u.String(), form)
		if err != nil {
			return fmt.Errorf("the gateway would end the session: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("the gateway would end the session: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("the gateway would end the session: HTTP %d (is the token in --url right?)", resp.StatusCode)
		}
		screen := string(body)
		kind, text, ok := strings.Cut(screen, " ")
		if !ok || (kind != "CON" && kind != "END") {
			return fmt.Errorf("the gateway would end the session: the answer does not start with CON or END")
		}
		printScreen(stdout, kind, text, utf8.RuneCountInString(screen))
		if kind == "END" {
			return nil
		}
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(stdout, "\n(hung up)")
			return in.Err()
		}
		line := strings.TrimRight(in.Text(), "\r")
		if !terminal(stdin) {
			fmt.Fprintln(stdout, line) // piped input: show what was "typed"
		}
		inputs = append(inputs, line)
	}
}

func printScreen(w io.Writer, kind, text string, n int) {
	note := fmt.Sprintf("%s, %d/160", kind, n)
	if n > 160 {
		note += ": TOO LONG for a phone"
	}
	rule := strings.Repeat("-", 36)
	fmt.Fprintf(w, "+%s+ %s\n", rule, note)
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "| %s\n", line)
	}
	fmt.Fprintf(w, "+%s+\n", rule)
}

// terminal reports whether r is an interactive terminal, which echoes what
// is typed by itself.
func terminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
