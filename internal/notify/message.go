package notify

// alert is what one alert says, by email and by SMS.
type alert struct {
	Subject, Body, SMS string
}

// alertFor builds an alert. It takes the reason and the console's address
// and nothing else: no report, no organisation, nothing that could put a
// word about anyone into a mailbox or an SMS inbox.
func alertFor(why, publicURL string) alert {
	var head, sms string
	switch why {
	case whyDiskLow:
		return diskLowAlert(publicURL)
	case whyDigest:
		head, sms = "New reports are waiting in Salama", "Salama: new reports are waiting."
	case whyEscalated:
		head, sms = "A report is still waiting in Salama", "Salama: a report is still waiting."
	default:
		head, sms = "A new report is waiting in Salama", "Salama: a new report is waiting."
	}
	body := head + ".\n\n"
	if publicURL != "" {
		console := publicURL + "/console/"
		body += "Open the console to read it:\n" + console + "\n\n"
		sms += " " + console
	} else {
		body += "Open the Salama console to read it.\n\n"
	}
	body += "This message says nothing about the report, on purpose. Please do not reply to it.\n"
	return alert{Subject: head, Body: body, SMS: sms}
}

// diskLowAlert says the server refuses new reports for lack of disk space.
// Like every alert it names no report and no organisation.
func diskLowAlert(publicURL string) alert {
	head := "Salama is running out of disk space"
	sms := "Salama: the server is short of disk space and refuses new reports. Tell whoever runs it."
	body := head + ".\n\nNew reports are refused until space is freed on the server: survivors are asked to try again later " +
		"(receipts, replies and the console still work). Please tell whoever runs the Salama server now.\n\n"
	if publicURL != "" {
		body += "The console's Health page shows the free space:\n" + publicURL + "/console/health\n\n"
	}
	body += "Please do not reply to this message.\n"
	return alert{Subject: head, Body: body, SMS: sms}
}
