package report

// english is the staff's English for every answer above: the console and
// the case export show these (caseworkers and data officers read
// English); survivors read the catalogs' words in their own language.
var english = map[string]string{
	AboutMe: "Themself", AboutChild: "A child", AboutAdult: "Another adult",

	CategoryImagesRequested: "Asked or forced to send images", CategorySextortion: "Images shared or threatened (sextortion)",
	CategoryAdvertised: "Advertised or sold online", CategoryTrafficking: "Trafficking",
	CategorySexualViolence: "Sexual violence", CategoryOther: "Something else",

	AgeUnder13: "Under 13", Age13to15: "13-15", Age16to17: "16-17", Age18to24: "18-24", Age25Plus: "25 or older",

	WhenOngoing: "Still happening", When72h: "In the last 72 hours", WhenMonth: "In the last month", WhenLonger: "Longer ago",

	string(NeedMedical): "Medical care", string(NeedCounselling): "Counselling", string(NeedLegal): "Legal advice",
	string(NeedShelter): "Safe place to stay", string(NeedPolice): "Help reporting to police",
	string(NeedTakedown): "Images taken down", string(NeedTravelHome): "Travel home", string(NeedRecordOnly): "Just recorded",
}

// English returns the staff's English words for an answer (a category, an
// age band, a need…), and false for anything that is not one.
func English(code string) (string, bool) {
	w, ok := english[code]
	return w, ok
}
