package directory

// The national lines and the image-removal tools are built in: real numbers
// and addresses that every deployment shows, demo or not, and that no edit of
// the directory can change. Their names, descriptions and hours are in the
// catalogs under CatalogKey (e.g. "national.gbv-1195.name"); Name here is the
// line's own name, for anything that does not read the catalogs.

const nationalPrefix = "national."

// IDs of the built-in services.
const (
	LinePolice999    = "national.police-999"    // Kenya Police emergency
	LineEmergency112 = "national.emergency-112" // emergency, any mobile network
	LineGBV1195      = "national.gbv-1195"      // national GBV helpline, Healthcare Assistance Kenya
	LineChildline116 = "national.childline-116" // Childline Kenya
	ToolTakeItDown   = "national.takeitdown"    // NCMEC, images taken under 18
	ToolStopNCII     = "national.stopncii"      // SWGfL, intimate images of adults
	ToolIWF          = "national.iwf"           // Internet Watch Foundation, sexual images of children seen online
)

var builtins = []Service{
	{
		ID: LinePolice999, Name: "Police 999", Type: TypePoliceDesk,
		National: true, Ages: AgesAll, Languages: []string{"en", "sw"},
		Channels: Channels{Phone: "999"}, Free: true,
	},
	{
		ID: LineEmergency112, Name: "Emergency 112", Type: TypePoliceDesk,
		National: true, Ages: AgesAll, Languages: []string{"en", "sw"},
		Channels: Channels{Phone: "112"}, Free: true,
	},
	{
		ID: LineGBV1195, Name: "National GBV Helpline 1195 (Healthcare Assistance Kenya)", Type: TypeHelpline,
		National: true, Ages: AgesAll, Languages: []string{"en", "sw"},
		Channels: Channels{Phone: "1195"}, Free: true,
	},
	{
		ID: LineChildline116, Name: "Childline Kenya 116", Type: TypeHelpline,
		National: true, Ages: AgesChildren, Languages: []string{"en", "sw"},
		Channels: Channels{Phone: "116"}, Free: true,
	},
	{
		// Take It Down is for images taken before the person was 18, so
		// an adult may use it for images from their childhood.
		ID: ToolTakeItDown, Name: "Take It Down (NCMEC)", Type: TypeOnlineTakedown,
		National: true, Ages: AgesAll, Languages: []string{"en"},
		Channels: Channels{Website: "takeitdown.ncmec.org"}, Free: true,
	},
	{
		// StopNCII.org takes cases of people 18 and over only; it sends
		// younger people to Take It Down.
		ID: ToolStopNCII, Name: "StopNCII.org", Type: TypeOnlineTakedown,
		National: true, Ages: AgesAdults, Languages: []string{"en"},
		Channels: Channels{Website: "stopncii.org"}, Free: true,
	},
	{
		// The Internet Watch Foundation takes reports, without a name, of
		// sexual images and videos of children seen online, has them
		// assessed by its analysts and removed. It opened a reporting
		// portal for Kenya with the DCI's Anti-Human Trafficking and Child
		// Protection Unit in 2021. Its address is given as the IWF's
		// reporting site, which takes reports from any country: the
		// Kenya portal's own path could not be confirmed when this entry
		// was written (docs/using.md says so); this is the one place to put
		// it. Anyone may report, whatever their age: AgesAll.
		ID: ToolIWF, Name: "Internet Watch Foundation (IWF) reporting portal", Type: TypeOnlineTakedown,
		National: true, Ages: AgesAll, Languages: []string{"en"},
		Channels: Channels{Website: "report.iwf.org.uk"}, Free: true,
	},
}

func builtin(id string) (Service, bool) {
	for _, s := range builtins {
		if s.ID == id {
			return cloneService(s), true
		}
	}
	return Service{}, false
}

func mustBuiltin(ids ...string) []Service {
	out := make([]Service, 0, len(ids))
	for _, id := range ids {
		s, ok := builtin(id)
		if !ok {
			panic("directory: no built-in service " + id)
		}
		out = append(out, s)
	}
	return out
}

// NationalLines returns the national phone lines, the ones every page's
// footer carries: police 999, emergency 112, the GBV helpline 1195 and
// Childline Kenya 116, in that order. The slice is the caller's.
func NationalLines() []Service {
	return mustBuiltin(LinePolice999, LineEmergency112, LineGBV1195, LineChildline116)
}

// ImageRemovalTools returns Take It Down and StopNCII.org. Both make a hash
// of the image on the survivor's own device and never receive the image.
func ImageRemovalTools() []Service { return mustBuiltin(ToolTakeItDown, ToolStopNCII) }

// ChildImageReporting returns the IWF reporting portal: where anyone who saw
// sexual images of a child online reports the link, for removal.
func ChildImageReporting() []Service { return mustBuiltin(ToolIWF) }

// OnlineImageTools returns every built-in tool about images online, for the
// help page: Take It Down, StopNCII.org and the IWF reporting portal.
func OnlineImageTools() []Service { return mustBuiltin(ToolTakeItDown, ToolStopNCII, ToolIWF) }

// CatalogKey returns the catalog prefix of a built-in service ("national.gbv-1195",
// to which the caller adds ".name", ".desc" or ".hours"), and false for a
// service from the directory, whose words are its own. A changed copy of a
// built-in is not a built-in.
func (s Service) CatalogKey() (string, bool) {
	b, ok := builtin(s.ID)
	if !ok || !sameService(b, s) {
		return "", false
	}
	return s.ID, true
}
